// config show: the TOML rendering re-parses to an equal config; the JSON rendering is ResolvedConfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { loadConfig, loadConfigFiles } from '../../src/config/load.js';
import { configJson, renderConfigToml, renderExampleConfig } from '../../src/config/render.js';
import { CONFIG_KEYS, CONFIG_TABLES } from '../../src/config/schema.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { configDir } from './tmpdir.js';

test('defaults: every key and table, each with its doc as a comment, and no "(default" notes', async (t) => {
  const d = configDir(t);
  const cfg = await loadConfigFiles({ main: d.main, required: false });
  const text = renderConfigToml(cfg);
  assert.ok(text.startsWith('# pkgwatch configuration: built-in defaults (no configuration file was found)\n'));
  assert.ok(!text.includes('(default:'));
  const lines = text.split('\n');
  for (const spec of CONFIG_KEYS) {
    const name = spec.path[spec.path.length - 1] ?? '';
    const i = lines.findIndex((l) => l.startsWith(`${name} = `));
    assert.ok(i > 0, spec.key);
    assert.match(lines[i - 1] ?? '', /^# /, `${spec.key} has a comment`);
    assert.ok(text.includes(spec.doc.split(' ').slice(0, 4).join(' ')), `${spec.key}: doc`);
  }
  for (const table of CONFIG_TABLES) assert.ok(lines.includes(`[${table.key}]`), table.key);
  // The defaults file loads back to the defaults.
  d.writeMain(text);
  assert.deepEqual(await loadConfig({ file: d.main }), { ...cfg, sources: [d.main] });
});

test('a changed config re-parses to an equal config, strings escaped, defaults noted', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      'root = "/srv/chroot"',
      'state_dir = "/var/lib/pkgwatch-test"',
      '[scope]',
      String.raw`packages = ["my-django-app", "nginx*", "we\"ird\\name", "tab\there"]`,
      'with_dependencies = false',
      '[schedule]',
      'scoped = "*/30 * * * * *"',
      'full = "15 2 * * 1-5"',
      'splay = "0"',
      'full_max_mb_per_s = 1.234567',
      '[watch]',
      'enabled = false',
      '[ignore]',
      'paths = ["/usr/lib/node_modules/npm/**", "/srv/*/cache/*", "/srv/café/**"]',
      '[unowned]',
      'trees = ["/usr/local/**", "/srv/*/htdocs"]',
      'allow = ["/srv/*/htdocs/uploads/**", "/**/__pycache__/**"]',
      '[alerts]',
      'reminder = "90m"',
      '',
    ].join('\n'),
  );
  const cfg = await loadConfig({ file: d.main });
  const text = renderConfigToml(cfg);
  assert.ok(text.startsWith(`# pkgwatch configuration, resolved from: ${d.main}\n`));
  assert.match(text, /^# \(default: "5m"\)\nsplay = "0s"$/m);
  assert.match(text, /^# \(default: 0\)\nfull_max_mb_per_s = 1\.234567$/m);
  assert.match(text, /^reminder = "90m"$/m);
  assert.doesNotThrow(() => parse(text));

  const again = configDir(t);
  again.writeMain(text);
  const reloaded = await loadConfig({ file: again.main });
  assert.deepEqual({ ...reloaded, sources: [] }, { ...cfg, sources: [] });
});

test('durations render in the largest exact unit, one day as 24h', async (t) => {
  const d = configDir(t);
  const cases: [string, string][] = [
    ['24h', '24h'],
    ['1d', '24h'],
    ['48h', '2d'],
    ['60m', '1h'],
    ['1500ms', '1500ms'],
    ['120s', '2m'],
  ];
  for (const [written, shown] of cases) {
    d.writeMain(`[alerts]\nreminder = "${written}"\n`);
    const text = renderConfigToml(await loadConfig({ file: d.main }));
    assert.match(text, new RegExp(`^reminder = "${shown}"$`, 'm'), written);
  }
});

test('configJson is ResolvedConfig as JSON, in schema order, sources last', async (t) => {
  const d = configDir(t);
  d.writeMain('[scope]\npackages = ["nginx"]\n');
  const cfg = await loadConfig({ file: d.main });
  const json = configJson(cfg);
  assert.ok(json.endsWith('}\n'));
  assert.deepEqual(JSON.parse(json), cfg);
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ['root', 'stateDir', 'scope', 'schedule', 'watch', 'ignore', 'unowned', 'persist', 'alerts', 'offline', 'metrics', 'trust', 'sources']);
});

test('config show hides the webhook secret, header values and the credentials, paths and queries of URLs unless --show-secrets; the output still loads', async (t) => {
  const d = configDir(t);
  d.writeMain(
    '[alerts.email]\nto = ["ops@example.test"]\nsmtp = "smtp://mailer:s3cr3t-pw@mail.example.test:587"\n[alerts.webhook]\nurl = "https://hookuser:hook-pw@hooks.example.test/services/T0/B0/slack-path-secret?token=query-tok"\nsecret = "hmac-key-123"\nheaders = { Authorization = "Bearer tok-456" }\n[alerts.alertmanager]\nurl = ["https://amuser:am-pw@am1.example.test:9093", "https://am2.example.test/am-path-secret"]\n[alerts.heartbeat]\nurl = "https://hc.example.test/ping/hc-uuid-secret"\n',
  );
  const secrets = ['s3cr3t-pw', 'mailer', 'hmac-key-123', 'tok-456', 'hookuser', 'hook-pw', 'slack-path-secret', 'query-tok', 'amuser', 'am-pw', 'am-path-secret', 'hc-uuid-secret'];
  const shown = await runCli(['config', 'show', '--config', d.main]);
  assert.equal(shown.code, 0, shown.stderr);
  for (const secret of secrets) assert.ok(!shown.stdout.includes(secret), `${secret} printed`);
  assert.match(shown.stdout, /smtp = "smtp:\/\/\(hidden\)@mail\.example\.test:587"/);
  assert.match(shown.stdout, /url = "https:\/\/\(hidden\)@hooks\.example\.test\/\(hidden\)\?\(hidden\)"/);
  assert.match(shown.stdout, /secret = "\(hidden\)"/);
  const again = path.join(path.dirname(d.main), 'shown.toml');
  writeFileSync(again, shown.stdout);
  assert.equal((await runCli(['config', 'check', '--config', again])).code, 0);
  const json = await runCli(['config', 'show', '--json', '--config', d.main]);
  for (const secret of secrets) assert.ok(!json.stdout.includes(secret), `${secret} printed in JSON`);
  const all = await runCli(['config', 'show', '--show-secrets', '--config', d.main]);
  for (const secret of secrets) assert.ok(all.stdout.includes(secret), `${secret} not printed with --show-secrets`);
});

test('the example config (the package\'s conffile): every key commented out at its default, under its table', async (t) => {
  const d = configDir(t);
  const defaults = await loadConfigFiles({ main: d.main, required: false });
  const text = renderExampleConfig();
  const lines = text.split('\n');
  let table = '';
  const seen = new Map<string, string>();
  for (const [i, l] of lines.entries()) {
    const header = /^\[(.+)\]$/.exec(l);
    if (header?.[1] !== undefined) table = header[1];
    const key = /^#([a-z_]+) = (.*)$/.exec(l);
    if (key?.[1] === undefined || key[2] === undefined) continue;
    const dotted = table === '' ? key[1] : `${table}.${key[1]}`;
    assert.ok(!seen.has(dotted), `${dotted} appears once`);
    seen.set(dotted, key[2]);
    assert.match(lines[i - 1] ?? '', /^# /, `${dotted}: its doc is above it`);
  }
  assert.deepEqual([...seen.keys()].sort(), CONFIG_KEYS.map((s) => s.key).sort());
  // Each value, read back as TOML, is the key's default (as JSON: TOML tables have no prototype).
  for (const spec of CONFIG_KEYS) assert.equal(JSON.stringify(parse(`v = ${seen.get(spec.key) ?? ''}`)['v']), JSON.stringify(spec.default), spec.key);
  for (const t2 of CONFIG_TABLES) assert.ok(lines.includes(`[${t2.key}]`), t2.key);
  // As shipped it resolves to the built-in defaults, and so it does with every key uncommented.
  d.writeMain(text);
  assert.deepEqual(await loadConfig({ file: d.main }), { ...defaults, sources: [d.main] });
  d.writeMain(text.replace(/^#([a-z_]+ = )/gm, '$1'));
  assert.deepEqual(await loadConfig({ file: d.main }), { ...defaults, sources: [d.main] });
});
