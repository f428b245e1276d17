// `config show`: the resolved configuration as commented TOML (every key) or as JSON.
import type { TomlValue } from 'smol-toml';
import { CONFIG_KEYS, CONFIG_TABLES, type KeySpec, type ResolvedConfig } from './schema.js';
import { HIDDEN, maskUrl } from '../urls.js';
import { isTable } from './values.js';

/** A TOML basic string: `"`, `\` and control characters escaped (TOML forbids them raw). */
function tomlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${s.replace(/["\\\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '"':
        return '\\"';
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    }
  })}"`;
}

function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k);
}

/** A TOML value as a literal on one line (tables inline). */
export function tomlLiteral(v: TomlValue): string {
  if (typeof v === 'string') return tomlString(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(tomlLiteral).join(', ')}]`;
  if (isTable(v)) {
    const entries = Object.entries(v).map(([k, x]) => `${tomlKey(k)} = ${tomlLiteral(x)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return v.toISOString();
}

/** `text` as `# ` comment lines of at most ~100 columns. */
function comment(text: string): string[] {
  const out: string[] = [];
  let cur = '#';
  for (const word of text.split(/\s+/)) {
    if (cur.length > 1 && cur.length + 1 + word.length > 100) {
      out.push(cur);
      cur = '#';
    }
    cur += ` ${word}`;
  }
  out.push(cur);
  return out;
}

function keyLines(spec: KeySpec, cfg: ResolvedConfig): string[] {
  const value = tomlLiteral(spec.toToml(cfg));
  const parsedDefault = spec.parse(spec.default);
  const lines = comment(spec.doc);
  // Say what changed: compare as TOML so that "24h" and "1d" count as the same default.
  if (parsedDefault.ok) {
    const def = tomlLiteral(spec.toToml(setDefault(spec, parsedDefault.value)));
    if (def !== value) lines.push(`# (default: ${def})`);
  }
  lines.push(`${tomlKey(spec.path[spec.path.length - 1] ?? '')} = ${value}`);
  return lines;
}

/** A minimal config object holding only `value` at `spec.field`, for `spec.toToml`. */
function setDefault(spec: KeySpec, value: unknown): ResolvedConfig {
  const parts = spec.field.split('.');
  let obj: unknown = value;
  for (const part of parts.reverse()) obj = { [part]: obj };
  return obj as ResolvedConfig;
}

/**
 * The resolved configuration as a TOML document that `loadConfig` accepts and that resolves to an
 * equal config: every key with its doc as a comment (and its default when the value differs), in
 * CONFIG_KEYS order, headed by the files it came from.
 */
export function renderConfigToml(cfg: ResolvedConfig): string {
  const out: string[] = [];
  out.push(
    cfg.sources.length === 0
      ? '# pkgwatch configuration: built-in defaults (no configuration file was found)'
      : `# pkgwatch configuration, resolved from: ${cfg.sources.join(', ')}`,
  );
  const groups = new Map<string, KeySpec[]>();
  for (const spec of CONFIG_KEYS) {
    const table = spec.path.slice(0, -1).join('.');
    groups.set(table, [...(groups.get(table) ?? []), spec]);
  }
  // Top-level keys must come before the first table header.
  for (const spec of groups.get('') ?? []) out.push('', ...keyLines(spec, cfg));
  for (const table of CONFIG_TABLES) {
    const specs = groups.get(table.key);
    if (specs === undefined) continue;
    out.push('', ...comment(table.doc), `[${table.path.map(tomlKey).join('.')}]`);
    for (const [i, spec] of specs.entries()) out.push(...(i === 0 ? [] : ['']), ...keyLines(spec, cfg));
  }
  return `${out.join('\n')}\n`;
}

/**
 * The commented configuration the Debian package installs as /etc/pkgwatch/pkgwatch.toml: every
 * table header, and under it every key commented out at its default with its doc above it, so that
 * uncommenting one line sets one key. It loads to the built-in defaults as it is.
 */
export function renderExampleConfig(): string {
  const out = [
    '# pkgwatch configuration. Every key is optional and is shown here commented out, at its default:',
    '# uncomment a line to set it. Files in conf.d/ beside this one (*.toml, in name order) are read',
    '# after it and win key by key; put secrets (webhook secret, SMTP password) in a drop-in of mode',
    '# 0600. `pkgwatch config check` validates the configuration, `pkgwatch config show` prints it',
    '# resolved, and `systemctl reload pkgwatch` makes the agent re-read it. The agent always adds the',
    '# installed pkgwatch and nodejs packages to its scope (man pkgwatch, README "The agent").',
  ];
  const line = (spec: KeySpec): string[] => [...comment(spec.doc), `#${tomlKey(spec.path[spec.path.length - 1] ?? '')} = ${tomlLiteral(spec.default)}`];
  for (const spec of CONFIG_KEYS.filter((s) => s.path.length === 1)) out.push('', ...line(spec));
  for (const table of CONFIG_TABLES) {
    out.push('', ...comment(table.doc), `[${table.path.map(tomlKey).join('.')}]`);
    for (const [i, spec] of CONFIG_KEYS.filter((s) => s.path.slice(0, -1).join('.') === table.key).entries()) {
      out.push(...(i === 0 ? [] : ['']), ...line(spec));
    }
  }
  return `${out.join('\n')}\n`;
}

/** The resolved configuration as JSON (`config show --json`): ResolvedConfig's fields, units resolved. */
export function configJson(cfg: ResolvedConfig): string {
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

/**
 * The configuration with its secrets replaced by HIDDEN: the webhook secret and header values, and
 * in the webhook, SMTP, Alertmanager and heartbeat URLs the userinfo, path and query (maskUrl). `config show` prints this
 * unless `--show-secrets`, so that its output can be pasted into a ticket; the result still loads
 * (every hidden value keeps its type, a masked URL its scheme and host).
 */
export function redactSecrets(cfg: ResolvedConfig): ResolvedConfig {
  const { email, webhook, alertmanager, heartbeat } = cfg.alerts;
  const mask = (url: string): string => (url === '' ? '' : maskUrl(url));
  return {
    ...cfg,
    alerts: {
      ...cfg.alerts,
      email: { ...email, smtp: mask(email.smtp) },
      webhook: {
        ...webhook,
        url: mask(webhook.url),
        secret: webhook.secret === '' ? '' : HIDDEN,
        headers: webhook.headers.map(([k]) => [k, HIDDEN] as const),
      },
      alertmanager: { ...alertmanager, urls: alertmanager.urls.map(mask) },
      heartbeat: { ...heartbeat, url: mask(heartbeat.url) },
    },
  };
}
