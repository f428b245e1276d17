// The kinds of value a config key can hold: each checks a TOML value and turns it back into TOML.
import { isIP } from 'node:net';
import { validateDetailed } from 'node-cron';
import type { TomlValue } from 'smol-toml';
import { maskUrl } from '../urls.js';

/** The outcome of checking one value: the resolved value, or what is wrong with it. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/**
 * A kind of config value. `parse` takes the value as smol-toml returns it (integers as bigint,
 * floats as number) and says what is wrong without naming the key (the caller adds key, file,
 * line and the key's example); `toToml` is its inverse, for `config show`.
 */
export interface ValueType<T> {
  /** How the README and `config show` name the kind, e.g. "duration". */
  readonly name: string;
  readonly parse: (value: TomlValue) => Checked<T>;
  readonly toToml: (value: T) => TomlValue;
}

function ok<T>(value: T): Checked<T> {
  return { ok: true, value };
}

function bad<T>(problem: string): Checked<T> {
  return { ok: false, problem };
}

/** Whether a TOML value is a table (smol-toml gives tables a null prototype; dates are Date objects). */
export function isTable(value: unknown): value is Record<string, TomlValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** "a string", "an integer", ...: the TOML type of a value, for "expected X, found Y". */
export function tomlTypeName(value: TomlValue): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'bigint') return 'an integer';
  if (typeof value === 'number') return 'a float';
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'an array';
  if (isTable(value)) return 'a table';
  return 'a date-time';
}

/** A string for messages, in single quotes, with control characters shown as \xNN. */
export function quote(s: string): string {
  // eslint-disable-next-line no-control-regex
  return `'${s.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}'`;
}

function expected(what: string, value: TomlValue): string {
  return `expected ${what}, found ${tomlTypeName(value)}`;
}

/** `true` or `false`. */
export const booleanValue: ValueType<boolean> = {
  name: 'boolean',
  parse: (v) => (typeof v === 'boolean' ? ok(v) : bad(expected('a boolean', v))),
  toToml: (v) => v,
};

function pathProblem(s: string): string | null {
  if (s === '') return 'is empty; expected an absolute path';
  if (!s.startsWith('/')) return `${quote(s)} is not an absolute path`;
  if (s.includes('\0')) return `${quote(s)} contains a NUL character`;
  return null;
}

/** An absolute path on the host, kept as written. */
export const absolutePath: ValueType<string> = {
  name: 'absolute path',
  parse: (v) => {
    if (typeof v !== 'string') return bad(expected('a string', v));
    const p = pathProblem(v);
    return p === null ? ok(v) : bad(p);
  },
  toToml: (v) => v,
};

/** A node-cron expression: 5 fields (minute resolution) or 6 (with seconds first). */
export const cronExpression: ValueType<string> = {
  name: 'cron expression',
  parse: (v) => {
    if (typeof v !== 'string') return bad(expected('a string', v));
    let why: string;
    try {
      const r = validateDetailed(v);
      if (r.valid) return ok(v);
      // node-cron words it '61 is a invalid expression for minute'.
      why = r.errors.map((e) => e.message.replace(/^(.*) is a invalid expression for (\w+)$/, '$1 is not a valid $2')).join('; ');
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    return bad(`${quote(v)} is not a valid cron expression (${why === '' ? 'rejected by node-cron' : why})`);
  },
  toToml: (v) => v,
};

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** Milliseconds of a duration such as "500ms", "10s", "5m", "24h", "7d" (or "0"), or null. */
export function parseDuration(s: string): number | null {
  if (s === '0') return 0;
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(s);
  if (m === null) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as Unit];
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * An exact duration string for `ms` in the largest unit that divides it, except that one day is
 * "24h" (as people write it); "0s" for 0.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (unit === 'd' && ms === UNIT_MS.d) continue;
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration string resolved to milliseconds; zero only when `allowZero` (then "0" works too). */
export function duration(opts: { allowZero: boolean }): ValueType<number> {
  const grammar = `a ${opts.allowZero ? '' : 'positive '}whole number and a unit: ms, s, m, h or d${opts.allowZero ? '; "0" for none' : ''}`;
  return {
    name: opts.allowZero ? 'duration or "0"' : 'duration',
    parse: (v) => {
      if (typeof v !== 'string') return bad(expected('a duration string', v));
      if (/^[0-9]+$/.test(v) && v !== '0') return bad(`${quote(v)} has no unit (ms, s, m, h or d)`);
      const ms = parseDuration(v);
      if (ms === null && /^[0-9]+(ms|s|m|h|d)$/.test(v)) return bad(`${quote(v)} is too large`);
      if (ms === null) return bad(`${quote(v)} is not a duration (${grammar})`);
      if (ms === 0 && !opts.allowZero) return bad(`${quote(v)} is zero; expected a positive duration`);
      return ok(ms);
    },
    toToml: (ms) => formatDuration(ms),
  };
}

const MB = 1_000_000;

/** A rate in MB/s (10^6 bytes) resolved to bytes per second, rounded to a whole byte; 0 = unlimited. */
export const megabytesPerSecond: ValueType<number> = {
  name: 'number (MB/s)',
  parse: (v) => {
    if (typeof v !== 'number' && typeof v !== 'bigint') return bad(expected('a number', v));
    const n = Number(v);
    if (Number.isNaN(n)) return bad('nan is not a number of MB/s');
    if (n < 0) return bad(`${String(v)} is negative; expected 0 (unthrottled) or more MB/s`);
    const bytes = Math.round(n * MB);
    if (!Number.isSafeInteger(bytes)) return bad(`${String(v)} is too large`);
    if (n > 0 && bytes === 0) return bad(`${String(v)} is below 1 byte/s; use 0 for unthrottled`);
    return ok(bytes);
  },
  toToml: (bytes) => bytes / MB,
};

/** An array of strings, each checked by `item` (which returns a problem or null). */
export function stringList(name: string, item: (s: string) => string | null): ValueType<readonly string[]> {
  return {
    name,
    parse: (v) => {
      if (!Array.isArray(v)) return bad(expected('an array of strings', v));
      const out: string[] = [];
      for (const [i, e] of v.entries()) {
        if (typeof e !== 'string') return bad(`entry ${i + 1}: ${expected('a string', e)}`);
        const p = item(e);
        if (p !== null) return bad(`entry ${i + 1}${p.startsWith('is ') ? ' ' : ': '}${p}`);
        out.push(e);
      }
      return ok(out);
    },
    toToml: (v) => [...v],
  };
}

/** Package names or shell-style patterns, as `pkgwatch check` takes them. */
export const packageList = stringList('array of package names or patterns', (s) => (s === '' ? 'is empty' : null));

/** Absolute globs for src/config/ignore.ts. */
export const absoluteGlobList = stringList('array of absolute globs', (s) => {
  const p = pathProblem(s);
  if (p !== null) return p.replace('an absolute path', 'an absolute glob');
  if (s.endsWith('/')) return `${quote(s)} ends in '/'; write ${quote(`${s}**`)} for everything below that directory`;
  return null;
});

/** `[unowned] trees`: absolute globs where `**` may only end the glob (a tree is walked whole anyway). */
export const treeGlobList = stringList('array of absolute globs', (s) => {
  const p = absoluteGlobList.parse([s]);
  if (!p.ok) return p.problem.replace(/^entry 1:? ?/, '');
  const segs = s.split('/');
  const i = segs.indexOf('**');
  if (i >= 0 && i !== segs.length - 1) return `${quote(s)} has '**' before its end; a tree is walked whole, so name the directories it starts at (${quote('/srv/*/htdocs')})`;
  return null;
});

/**
 * `[persist] paths` and `add`: absolute paths, or `~/REST` for REST in root's home and in the home of
 * every account of the checked system's /etc/passwd. No globs: each names one file or directory.
 */
export const persistPathList = stringList('array of absolute paths or ~/paths', (s) => {
  if (s.startsWith('~/')) {
    if (s.length === 2 || s.includes('\0') || s.split('/').includes('..')) return `${quote(s)} must name a file below the home directories, without '..'`;
    return null;
  }
  const p = pathProblem(s);
  if (p !== null) return p.replace('an absolute path', "an absolute path or '~/path'");
  if (/[*?[]/.test(s)) return `${quote(s)} is a glob; name the directory itself (${quote('/etc/cron.d')}), it is walked whole`;
  return null;
});

/** Absolute paths (directories or files), kept as written. */
export const absolutePathList = stringList('array of absolute paths', pathProblem);

/** A string, checked by `check` (which returns a problem or null). */
export function stringValue(name: string, check: (s: string) => string | null = () => null): ValueType<string> {
  return {
    name,
    parse: (v) => {
      if (typeof v !== 'string') return bad(expected('a string', v));
      const p = check(v);
      return p === null ? ok(v) : bad(p);
    },
    toToml: (v) => v,
  };
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(values: readonly T[]): ValueType<T> {
  const list = values.map((v) => `"${v}"`).join(', ');
  return {
    name: `one of ${list}`,
    parse: (v) => {
      if (typeof v !== 'string') return bad(expected('a string', v));
      return (values as readonly string[]).includes(v) ? ok(v as T) : bad(`${quote(v)} is not one of ${list}`);
    },
    toToml: (v) => v,
  };
}

/** An address as SMTP takes it: local@domain, no spaces, no angle brackets, no display name. */
function mailboxProblem(s: string): string | null {
  if (s === '') return 'is empty; expected an address such as ops@example.com';
  if (!/^[^\s@<>()",;]+@[^\s@<>()",;]+$/.test(s)) return `${quote(s)} is not a plain address (local@domain, no name or <>)`;
  // sendmail takes the addresses as arguments: one starting with '-' would be read as an option.
  if (s.startsWith('-')) return `${quote(s)} starts with '-'`;
  return null;
}

/** Mail addresses: `["ops@example.com"]`. */
export const addressList = stringList('array of mail addresses', mailboxProblem);

/** One mail address, or "" for the default. */
export const addressOrEmpty = stringValue('mail address', (s) => (s === '' ? null : mailboxProblem(s)));

/** What is wrong with a URL; the URL is quoted masked (maskUrl), since it may hold a credential. */
function urlProblem(s: string, schemes: readonly string[]): string | null {
  if (s === '') return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    // Not echoed: a URL that does not parse may still hold a token.
    return `is not a URL (expected ${schemes.map((x) => `${x}//host`).join(' or ')}...)`;
  }
  if (!schemes.includes(u.protocol)) return `${quote(maskUrl(u))}: the scheme must be ${schemes.map((x) => x.slice(0, -1)).join(' or ')}`;
  if (u.hostname === '') return `${quote(maskUrl(u))} has no host`;
  return null;
}

/** An SMTP server URL (`smtp://user:pass@host:587`, `smtps://...`), or "" for none. */
export const smtpUrl = stringValue('smtp:// or smtps:// URL', (s) => urlProblem(s, ['smtp:', 'smtps:']));

/** An HTTP(S) URL, or "" for none. */
export const httpUrl = stringValue('http:// or https:// URL', (s) => urlProblem(s, ['http:', 'https:']));

/**
 * One http(s) URL or an array of them (`[alerts.alertmanager] url`: several Alertmanagers of a
 * cluster), resolved to a list; a string is a list of one, [] = none.
 */
export const httpUrlOrList: ValueType<readonly string[]> = {
  name: 'URL or array of URLs',
  parse: (v) => {
    const items = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(items)) return bad(expected('a URL string or an array of them', v));
    const out: string[] = [];
    for (const [i, e] of items.entries()) {
      const where = typeof v === 'string' ? '' : `entry ${i + 1}: `;
      if (typeof e !== 'string') return bad(`${where}${expected('a string', e)}`);
      if (e === '') return bad(`${where}is empty; expected an http:// or https:// URL`);
      // `alertmanager:9093` parses as a URL of scheme "alertmanager:"; say what was meant.
      const hostPort = /^([A-Za-z0-9.-]+:[0-9]+)(\/|$)/.exec(e)?.[1];
      if (hostPort !== undefined) return bad(`${where}${quote(hostPort)} has no scheme; write ${quote(`http://${hostPort}`)} or https://`);
      const p = urlProblem(e, ['http:', 'https:']);
      if (p !== null) return bad(`${where}${p}`);
      if (out.includes(e)) return bad(`${where}${quote(maskUrl(e))} is listed twice`);
      out.push(e);
    }
    return ok(out);
  },
  toToml: (v) => [...v],
};

/** HTTP request headers: a TOML table of name = "value", resolved to [name, value] pairs. */
export const headerTable: ValueType<readonly (readonly [string, string])[]> = {
  name: 'table of header = "value"',
  parse: (v) => {
    if (!isTable(v)) return bad(expected('a table such as { Authorization = "Bearer ..." }', v));
    const out: [string, string][] = [];
    for (const [k, x] of Object.entries(v)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) return bad(`${quote(k)} is not a valid HTTP header name`);
      if (typeof x !== 'string') return bad(`header ${quote(k)}: ${expected('a string', x)}`);
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(x)) return bad(`header ${quote(k)}: the value contains a control character`);
      const lower = k.toLowerCase();
      if (['content-type', 'content-length', 'x-pkgwatch-signature', 'host'].includes(lower)) return bad(`header ${quote(k)} is set by pkgwatch; leave it out`);
      out.push([k, x]);
    }
    return ok(out);
  },
  toToml: (v) => {
    const t = Object.create(null) as Record<string, TomlValue>;
    for (const [k, x] of v) t[k] = x;
    return t;
  },
};

/** systemd unit names: `["nginx.service"]`. */
export const unitList = stringList('array of systemd unit names', (s) => {
  if (s === '') return 'is empty';
  if (s.startsWith('-')) return `${quote(s)} starts with '-'`;
  if (!/^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|timer|path|mount|slice|scope)$/.test(s)) return `${quote(s)} is not a unit name such as "nginx.service"`;
  return null;
});

/** A command as argv (no shell): `["supervisorctl", "stop", "all"]`; [] = none. */
export const argvList = stringList('array of strings (argv, no shell)', (s) => (s.includes('\0') ? 'contains a NUL character' : null));

/** An absolute path, or "" for none. */
export const absolutePathOrEmpty = stringValue('absolute path or ""', (s) => (s === '' ? null : pathProblem(s)));

/** Where a server listens: an IP literal and a port (0 = any free port). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT` or `[IPV6]:PORT` with an IP literal (no name to resolve), or `PORT` alone (then 127.0.0.1). */
export function parseListen(s: string): ListenAddress | null {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?([0-9]{1,5})$/.exec(s);
  if (m === null) return null;
  const port = Number(m[3]);
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (port > 65535) return null;
  if (m[1] !== undefined ? isIP(m[1]) !== 6 : isIP(host) !== 4) return null;
  return { host, port };
}

/** A listen address, or "" for off. */
export const listenAddress = stringValue('"HOST:PORT" or ""', (s) =>
  s === '' || parseListen(s) !== null ? null : `${quote(s)} is not an address to listen on: expected "127.0.0.1:9847", "[::1]:9847" or "" (an IP address, not a name)`,
);

/** A `.prom` file for node_exporter's textfile collector, or "" for none. */
export const promFileOrEmpty = stringValue('absolute path ending in .prom, or ""', (s) => {
  if (s === '') return null;
  return pathProblem(s) ?? (s.endsWith('.prom') ? null : `${quote(s)}: node_exporter's textfile collector reads only files ending in .prom`);
});
