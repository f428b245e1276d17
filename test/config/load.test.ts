// loadConfig on real files: defaults, conf.d merging, overrides, freezing, and every kind of error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, loadConfigFiles } from '../../src/config/load.js';
import { DEFAULT_PERSIST_PATHS } from '../../src/config/persistdefaults.js';
import type { ResolvedConfig } from '../../src/config/schema.js';
import { assertConfigError, configDir } from './tmpdir.js';

const DEFAULTS: ResolvedConfig = {
  root: '/',
  stateDir: '/var/lib/pkgwatch',
  scope: { packages: [], withDependencies: true },
  schedule: { scoped: '*/5 * * * *', full: '30 3 * * 0', splayMs: 300_000, fullMaxBytesPerSecond: 0, dpkgMaxRunMs: 1_800_000 },
  watch: { enabled: true, alertWrites: true },
  ignore: { paths: [] },
  unowned: { trees: [], allow: [] },
  persist: { enabled: true, paths: DEFAULT_PERSIST_PATHS, add: [], allow: [] },
  alerts: {
    reminderMs: 86_400_000,
    maxAgeMs: 7 * 86_400_000,
    retryMinMs: 10_000,
    retryMaxMs: 300_000,
    host: '',
    email: { to: [], from: '', smtp: '', allowPlaintext: false, sendmail: false, batchMs: 10_000, timeoutMs: 30_000 },
    webhook: { url: '', allowPlaintext: false, secret: '', headers: [], timeoutMs: 10_000 },
    alertmanager: { urls: [], allowPlaintext: false, resendMs: 60_000, timeoutMs: 10_000 },
    heartbeat: { url: '', method: 'POST', everyMs: 300_000, graceMs: 3_600_000, allowPlaintext: false, timeoutMs: 10_000 },
  },
  offline: {
    enabled: false,
    on: ['changed', 'missing', 'wrong-type', 'database-changed'],
    conffiles: false,
    confirmDelayMs: 2000,
    flagFile: '/var/lib/pkgwatch/maintenance.on',
    stopUnits: [],
    command: [],
    restoreCommand: [],
    commandTimeoutMs: 60_000,
    actionsBy: 'auto',
  },
  metrics: { listen: '', textfile: '' },
  trust: { debPaths: [], keyrings: [], store: '/var/lib/pkgwatch-trust', hash: 'md5' },
  sources: [],
};

test('no file at all: every key has its default', async (t) => {
  const d = configDir(t);
  assert.deepEqual(await loadConfigFiles({ main: d.main, required: false }), DEFAULTS);
});

test('an empty file gives the defaults and is listed as a source', async (t) => {
  const d = configDir(t);
  d.writeMain('# nothing set\n');
  assert.deepEqual(await loadConfig({ file: d.main }), { ...DEFAULTS, sources: [d.main] });
});

test('a missing default main file still reads conf.d beside it', async (t) => {
  const d = configDir(t);
  const drop = d.writeDropIn('app.toml', '[scope]\npackages = ["my-django-app"]\n');
  const cfg = await loadConfigFiles({ main: d.main, required: false });
  assert.deepEqual(cfg.scope.packages, ['my-django-app']);
  assert.deepEqual(cfg.sources, [drop]);
});

test('main file, then conf.d/*.toml in C-locale order: later keys win, tables merge key by key, arrays are replaced', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      'root = "/srv/site"',
      '[scope]',
      'packages = ["a", "b"]',
      'with_dependencies = false',
      '[schedule]',
      'splay = "1m"',
      'full = "0 4 * * *"',
      '[ignore]',
      'paths = ["/srv/a/**"]',
      '',
    ].join('\n'),
  );
  // Byte order: "10-" < "9-" < "Z" < "a"; a.toml is read last and wins over Z.toml.
  const f10 = d.writeDropIn('10-scope.toml', '[scope]\npackages = ["c"]\n');
  const f9 = d.writeDropIn('9-schedule.toml', 'schedule.splay = "2m"\nschedule.full_max_mb_per_s = 25\n');
  const fZ = d.writeDropIn('Z.toml', '[watch]\nenabled = false\n[alerts]\nreminder = "1h"\n');
  const fa = d.writeDropIn('a.toml', 'alerts = { reminder = "2h" }\n');
  // Not *.toml, hidden (the shell glob * skips dotfiles) or a package manager leftover: not read.
  d.writeDropIn('README', 'not toml at all = = =\n');
  d.writeDropIn('.hidden.toml', 'bogus = 1\n');
  d.writeDropIn('app.toml.dpkg-dist', 'bogus = 1\n');

  const cfg = await loadConfig({ file: d.main });
  assert.deepEqual(cfg, {
    root: '/srv/site',
    stateDir: '/var/lib/pkgwatch',
    scope: { packages: ['c'], withDependencies: false },
    schedule: { scoped: '*/5 * * * *', full: '0 4 * * *', splayMs: 120_000, fullMaxBytesPerSecond: 25_000_000, dpkgMaxRunMs: 1_800_000 },
    watch: { enabled: false, alertWrites: true },
    ignore: { paths: ['/srv/a/**'] },
    unowned: DEFAULTS.unowned,
    persist: DEFAULTS.persist,
    alerts: { ...DEFAULTS.alerts, reminderMs: 7_200_000 },
    offline: DEFAULTS.offline,
    metrics: DEFAULTS.metrics,
    trust: DEFAULTS.trust,
    sources: [d.main, f10, f9, fZ, fa],
  });
});

test('an empty array in a later file replaces the earlier one', async (t) => {
  const d = configDir(t);
  d.writeMain('[ignore]\npaths = ["/srv/a/**", "/srv/b/**"]\n');
  d.writeDropIn('50-none.toml', '[ignore]\npaths = []\n');
  assert.deepEqual((await loadConfig({ file: d.main })).ignore.paths, []);
});

test('overrides win over the files; relative override paths are resolved from the cwd', async (t) => {
  const d = configDir(t);
  d.writeMain('root = "/srv/a"\nstate_dir = "/srv/state"\n');
  const cfg = await loadConfig({ file: d.main, overrides: { root: '/mnt/image', stateDir: 'state' } });
  assert.equal(cfg.root, '/mnt/image');
  assert.equal(cfg.stateDir, path.resolve('state'));
  const same = await loadConfig({ file: d.main, overrides: { root: undefined } });
  assert.equal(same.root, '/srv/a');
  await assertConfigError(loadConfig({ file: d.main, overrides: { root: '' } }), [`command line: key 'root': is empty; expected a path`]);
});

test('the result is deeply frozen', async (t) => {
  const d = configDir(t);
  d.writeMain('[scope]\npackages = ["nginx*"]\n');
  const cfg = await loadConfig({ file: d.main });
  assert.ok(Object.isFrozen(cfg));
  assert.ok(Object.isFrozen(cfg.scope));
  assert.ok(Object.isFrozen(cfg.scope.packages));
  assert.ok(Object.isFrozen(cfg.sources));
  assert.throws(() => {
    (cfg as { root: string }).root = '/elsewhere';
  }, TypeError);
  assert.throws(() => {
    (cfg.scope.packages as string[]).push('x');
  }, TypeError);
});

test('durations: ms, s, m, h, d; "0" and "0s" only where zero is allowed', async (t) => {
  const d = configDir(t);
  const cases: [string, string, number][] = [
    ['500ms', '10s', 500],
    ['10s', '1m', 10_000],
    ['5m', '24h', 300_000],
    ['24h', '7d', 86_400_000],
    ['7d', '500ms', 604_800_000],
    ['0', '1s', 0],
    ['0s', '1s', 0],
  ];
  for (const [splay, reminder, splayMs] of cases) {
    d.writeMain(`[schedule]\nsplay = "${splay}"\n[alerts]\nreminder = "${reminder}"\n`);
    const cfg = await loadConfig({ file: d.main });
    assert.equal(cfg.schedule.splayMs, splayMs, splay);
  }
  d.writeMain('[alerts]\nreminder = "7d"\n');
  assert.equal((await loadConfig({ file: d.main })).alerts.reminderMs, 604_800_000);

  d.writeMain(
    [
      '[schedule]',
      'splay = "5 m"',
      '[alerts]',
      'reminder = "0s"',
      '',
    ].join('\n'),
  );
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.splay': '5 m' is not a duration (a whole number and a unit: ms, s, m, h or d; "0" for none); example: "5m"`,
    `${d.main}:4: key 'alerts.reminder': '0s' is zero; expected a positive duration; example: "24h"`,
  ]);
  const bad: [string, string][] = [
    ['"300"', `'300' has no unit (ms, s, m, h or d)`],
    ['"1.5h"', `'1.5h' is not a duration (a positive whole number and a unit: ms, s, m, h or d)`],
    ['"-1m"', `'-1m' is not a duration (a positive whole number and a unit: ms, s, m, h or d)`],
    ['"5M"', `'5M' is not a duration (a positive whole number and a unit: ms, s, m, h or d)`],
    ['"0"', `'0' is zero; expected a positive duration`],
    ['"99999999999999d"', `'99999999999999d' is too large`],
    ['86400', 'expected a duration string, found an integer'],
  ];
  for (const [value, why] of bad) {
    d.writeMain(`[alerts]\nreminder = ${value}\n`);
    await assertConfigError(loadConfig({ file: d.main }), [`${d.main}:2: key 'alerts.reminder': ${why}; example: "24h"`]);
  }
});

test('cron expressions: 5 fields, 6 fields with seconds, and node-cron\'s reason when wrong', async (t) => {
  const d = configDir(t);
  d.writeMain('[schedule]\nscoped = "*/10 * * * * *"\nfull = "0 2 * * mon"\n');
  const cfg = await loadConfig({ file: d.main });
  assert.equal(cfg.schedule.scoped, '*/10 * * * * *');
  assert.equal(cfg.schedule.full, '0 2 * * mon');

  d.writeMain('[schedule]\nscoped = "*/5 * * *"\nfull = "0 61 * * * *"\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.scoped': '*/5 * * *' is not a valid cron expression (expected 5 or 6 fields but got 4); example: "*/5 * * * *"`,
    `${d.main}:3: key 'schedule.full': '0 61 * * * *' is not a valid cron expression (61 is not a valid minute); example: "30 3 * * 0"`,
  ]);
  d.writeMain('[schedule]\nfull = "61 3 * * 0"\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.full': '61 3 * * 0' is not a valid cron expression (61 is not a valid minute); example: "30 3 * * 0"`,
  ]);
});

test('full_max_mb_per_s: MB/s to bytes/s, floats and integers, never negative', async (t) => {
  const d = configDir(t);
  d.writeMain('[schedule]\nfull_max_mb_per_s = 1.5\n');
  assert.equal((await loadConfig({ file: d.main })).schedule.fullMaxBytesPerSecond, 1_500_000);
  d.writeMain('[schedule]\nfull_max_mb_per_s = 50\n');
  assert.equal((await loadConfig({ file: d.main })).schedule.fullMaxBytesPerSecond, 50_000_000);
  d.writeMain('[schedule]\nfull_max_mb_per_s = -1\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.full_max_mb_per_s': -1 is negative; expected 0 (unthrottled) or more MB/s; example: 50`,
  ]);
  d.writeMain('[schedule]\nfull_max_mb_per_s = "50"\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.full_max_mb_per_s': expected a number, found a string; example: 50`,
  ]);
  d.writeMain('[schedule]\nfull_max_mb_per_s = nan\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'schedule.full_max_mb_per_s': nan is not a number of MB/s; example: 50`,
  ]);
});

test('every problem of every file is reported at once, with file, line and what to do', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      'root = "srv"', // 1
      'colour = "red"', // 2
      'state_dir = 5', // 3
      '[scope]', // 4
      'packages = ["my-app", ""]', // 5
      'withDependencies = false', // 6
      '[schedule]', // 7
      'scopd = "*/5 * * * *"', // 8
      'root = "/x"', // 9
      '[scedule]', // 10
      'x = 1', // 11
      '[ignore]', // 12
      'paths = [', // 13
      '  "/srv/a/**",', // 14
      '  "srv/b",', // 15
      ']', // 16
      '[watch]', // 17
      'enabled = "yes"', // 18
      '',
    ].join('\n'),
  );
  const syntax = d.writeDropIn('10-syntax.toml', '[alerts]\nreminder = \n');
  const typo = d.writeDropIn('20-typo.toml', '# comment\nalerts.remindr = "1h"\nscope = 5\n');
  const m = d.main;
  await assertConfigError(loadConfig({ file: d.main }), [
    `${m}:1: key 'root': 'srv' is not an absolute path; example: "/"`,
    `${m}:2: key 'colour': unknown key`,
    `${m}:3: key 'state_dir': expected a string, found an integer; example: "/var/lib/pkgwatch"`,
    `${m}:5: key 'scope.packages': entry 2 is empty; example: ["my-django-app", "nginx*"]`,
    `${m}:6: key 'scope.withDependencies': unknown key; did you mean 'scope.with_dependencies'?`,
    `${m}:8: key 'schedule.scopd': unknown key; did you mean 'schedule.scoped'?`,
    `${m}:9: key 'schedule.root': unknown key; did you mean 'root'? (a key after a [table] header belongs to that table; move it above the first header)`,
    `${m}:10: key 'scedule': unknown key; did you mean 'schedule'?`,
    `${m}:13: key 'ignore.paths': entry 2: 'srv/b' is not an absolute glob; example: ["/usr/lib/node_modules/npm/**"]`,
    `${m}:18: key 'watch.enabled': expected a boolean, found a string; example: true`,
    `${syntax}:2:12: TOML syntax error: invalid value`,
    `${typo}:2: key 'alerts.remindr': unknown key; did you mean 'alerts.reminder'?`,
    `${typo}:3: key 'scope': expected a table, found an integer; example: [scope]`,
  ]);
});

test('nearest-key suggestions: only when reasonably close; case, - and _ do not count', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      'Root = "/"',
      'state-dir = "/var/lib/x"',
      'packages = ["a"]',
      'verbose = true',
      '[schedule]',
      'ful = "30 3 * * 0"',
      'fullmaxmbpers = 3',
      'interval = "5m"',
      '[alerts]',
      'pager = { to = "root@localhost" }',
      '',
    ].join('\n'),
  );
  const m = d.main;
  await assertConfigError(loadConfig({ file: d.main }), [
    `${m}:1: key 'Root': unknown key; did you mean 'root'?`,
    `${m}:2: key 'state-dir': unknown key; did you mean 'state_dir'?`,
    `${m}:3: key 'packages': unknown key; did you mean 'scope.packages'?`,
    `${m}:4: key 'verbose': unknown key`,
    `${m}:6: key 'schedule.ful': unknown key; did you mean 'schedule.full'?`,
    `${m}:7: key 'schedule.fullmaxmbpers': unknown key; did you mean 'schedule.full_max_mb_per_s'?`,
    `${m}:8: key 'schedule.interval': unknown key`,
    `${m}:10: key 'alerts.pager': unknown key`,
  ]);
});

test('line numbers of dotted keys, inline tables and quoted keys', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      '# header comment', // 1
      'schedule.scopd = "x"', // 2
      'scope = { packages = ["a"], with_dependecies = true }', // 3
      '"watch" . "enable" = true', // 4
      '[alerts]', // 5
      'reminder = """', // 6
      'bogus = 1', // 7
      '"""', // 8
      '"odd.key" = 1', // 9
      '',
    ].join('\n'),
  );
  const m = d.main;
  await assertConfigError(loadConfig({ file: d.main }), [
    `${m}:2: key 'schedule.scopd': unknown key; did you mean 'schedule.scoped'?`,
    `${m}:3: key 'scope.with_dependecies': unknown key; did you mean 'scope.with_dependencies'?`,
    `${m}:4: key 'watch.enable': unknown key; did you mean 'watch.enabled'?`,
    `${m}:6: key 'alerts.reminder': 'bogus = 1\\x0a' is not a duration (a positive whole number and a unit: ms, s, m, h or d); example: "24h"`,
    `${m}:9: key 'alerts."odd.key"': unknown key`,
  ]);
});

test('TOML syntax errors carry smol-toml\'s line and column', async (t) => {
  const d = configDir(t);
  d.writeMain('root = "/"\nroot = "/srv"\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2:1: TOML syntax error: trying to redefine an already defined table or value`,
  ]);
  d.writeMain('[scope\npackages = []\n');
  await assert.rejects(loadConfig({ file: d.main }), (err: Error) => err.message.startsWith(`${d.main}:1:`) && err.message.includes('TOML syntax error'));
});

test('a missing --config file is an error; so are a directory in conf.d, a conf.d that is a file, and bad UTF-8', async (t) => {
  const d = configDir(t);
  const missing = path.join(d.dir, 'nope.toml');
  await assertConfigError(loadConfig({ file: missing }), [`${missing}: no such file (the config file named on the command line must exist)`]);

  d.writeMain('');
  fs.mkdirSync(path.join(d.confd, '10-dir.toml'), { recursive: true });
  const bad = d.writeDropIn('20-latin1.toml', Buffer.from('# caf\xe9\n', 'latin1'));
  fs.symlinkSync(path.join(d.dir, 'gone.toml'), path.join(d.confd, '30-dangling.toml'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${path.join(d.confd, '10-dir.toml')}: is a directory, expected a TOML file`,
    `${bad}: is not valid UTF-8 (TOML files must be UTF-8)`,
    `${path.join(d.confd, '30-dangling.toml')}: no such file (a dangling symlink?)`,
  ]);

  const d2 = configDir(t);
  d2.writeMain('');
  fs.writeFileSync(d2.confd, 'a file, not a directory\n');
  await assertConfigError(loadConfig({ file: d2.main }), [`${d2.confd}: is not a directory (drop-in files go in a conf.d directory)`]);

  const d3 = configDir(t);
  fs.mkdirSync(d3.main);
  await assertConfigError(loadConfig({ file: d3.main }), [`${d3.main}: is a directory, expected a TOML file`]);
});

test('an unreadable file (EACCES) is an error that names it', { skip: process.getuid?.() === 0 ? 'as root: test/config/cli.test.ts runs it as nobody' : false }, async (t) => {
  const d = configDir(t);
  d.writeMain('root = "/"\n');
  fs.chmodSync(d.main, 0o000);
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}: cannot be read (EACCES: permission denied); run as root or make it readable`,
  ]);
});

test('keys that only make sense together: each problem names the file and line of the key to fix', async (t) => {
  const d = configDir(t);
  d.writeMain(['[alerts]', 'retry_min = "10m"', 'retry_max = "1m"', '[alerts.email]', 'to = ["ops@example.test"]', '[offline]', 'enabled = true', 'flag_file = ""', ''].join('\n'));
  const drop = d.writeDropIn('50-hook.toml', '[alerts.webhook]\nsecret = "s"\n');
  const m = d.main;
  await assertConfigError(loadConfig({ file: d.main }), [
    `${m}:2: key 'alerts.retry_min': is longer than alerts.retry_max; make retry_min the shorter wait`,
    `${m}:5: key 'alerts.email.to': is set but there is no way to send: set alerts.email.smtp = "smtp://host:587" or alerts.email.sendmail = true`,
    `${m}:7: key 'offline.enabled': is true but there is nothing to do: set offline.flag_file, offline.stop_units or offline.command`,
    `${m}:7: key 'offline.enabled': is true but scope.packages is empty: only findings in the scoped packages take the site offline; list the web application's packages`,
    `${drop}:2: key 'alerts.webhook.secret': has no effect without alerts.webhook.url; set the url or remove the secret`,
  ]);
});

test('an http:// webhook to a host that is not loopback is refused with file and line, url masked; loopback and allow_plaintext are fine', async (t) => {
  const d = configDir(t);
  d.writeMain('[alerts.webhook]\nurl = "https://hooks.example.test/x"\n');
  const drop = d.writeDropIn('20-hook.toml', '# the team\'s relay\n[alerts.webhook]\nurl = "http://ops:pw@hooks.example.test/services/T0/B0/sekret?token=tok"\n');
  const err = await loadConfig({ file: d.main }).then(
    () => assert.fail('expected a config error'),
    (e: unknown) => e as Error,
  );
  assert.equal(
    err.message,
    `${drop}:3: key 'alerts.webhook.url': 'http://(hidden)@hooks.example.test/(hidden)?(hidden)' is plain http to a host that is not loopback: alerts and header values could be read, changed or dropped on the way; use https://, or set alerts.webhook.allow_plaintext = true if that network is trusted`,
  );
  assert.doesNotMatch(err.message, /pw@|sekret|tok\b|ops:/);
  // allow_plaintext may come from another file; loopback needs nothing.
  d.writeDropIn('30-trust.toml', '[alerts.webhook]\nallow_plaintext = true\n');
  assert.equal((await loadConfig({ file: d.main })).alerts.webhook.allowPlaintext, true);
  for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]/hook']) {
    const l = configDir(t);
    l.writeMain(`[alerts.webhook]\nurl = "${url}"\n`);
    assert.equal((await loadConfig({ file: l.main })).alerts.webhook.url, url);
  }
});

test('a URL that does not parse is not echoed in the error (it may hold a token)', async (t) => {
  const d = configDir(t);
  d.writeMain('[alerts.webhook]\nurl = "hooks.slack.com/services/T0/B0/sekret"\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'alerts.webhook.url': is not a URL (expected http://host or https://host...); example: "https://hooks.example.com/pkgwatch"`,
  ]);
});

test('alert and offline values are checked one by one: addresses, URLs, headers, units, statuses', async (t) => {
  const d = configDir(t);
  d.writeMain(
    [
      '[alerts.email]',
      'to = ["ops example.test"]',
      'smtp = "http://mail.example.test"',
      '[alerts.webhook]',
      'url = "ftp://x"',
      'headers = { "Content-Type" = "text/plain" }',
      '[offline]',
      'on = ["changed", "unreadable"]',
      'stop_units = ["nginx"]',
      'actions_by = "root"',
      '',
    ].join('\n'),
  );
  const m = d.main;
  await assertConfigError(loadConfig({ file: d.main }), [
    `${m}:2: key 'alerts.email.to': entry 1: 'ops example.test' is not a plain address (local@domain, no name or <>); example: ["ops@example.com"]`,
    `${m}:3: key 'alerts.email.smtp': 'http://mail.example.test/': the scheme must be smtp or smtps; example: "smtp://user:pass@mail.example.com:587"`,
    `${m}:5: key 'alerts.webhook.url': 'ftp://x/': the scheme must be http or https; example: "https://hooks.example.com/pkgwatch"`,
    `${m}:6: key 'alerts.webhook.headers': header 'Content-Type' is set by pkgwatch; leave it out; example: { Authorization = "Bearer ..." }`,
    `${m}:8: key 'offline.on': entry 2: 'unreadable' is not one of changed, missing, wrong-type, database-changed; example: ["changed", "missing"]`,
    `${m}:9: key 'offline.stop_units': entry 1: 'nginx' is not a unit name such as "nginx.service"; example: ["nginx.service"]`,
    `${m}:10: key 'offline.actions_by': 'root' is not one of "auto", "agent", "helper"; example: "auto"`,
  ]);
});

test("[unowned] trees and allow take absolute globs; in a tree '**' may only end the glob", async (t) => {
  const d = configDir(t);
  d.writeMain('[unowned]\ntrees = ["/usr/local/**", "/srv/**/htdocs"]\nallow = ["/srv/*/uploads/"]\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'unowned.trees': entry 2: '/srv/**/htdocs' has '**' before its end; a tree is walked whole, so name the directories it starts at ('/srv/*/htdocs'); example: ["/usr/local/**", "/srv/*/htdocs"]`,
    `${d.main}:3: key 'unowned.allow': entry 1: '/srv/*/uploads/' ends in '/'; write '/srv/*/uploads/**' for everything below that directory; example: ["/srv/*/htdocs/uploads/**", "/**/__pycache__/**"]`,
  ]);
  d.writeMain('[unowned]\ntrees = ["/usr/local/**", "/srv/*/htdocs"]\nallow = ["/**/__pycache__/**"]\n');
  assert.deepEqual((await loadConfig({ file: d.main })).unowned, { trees: ['/usr/local/**', '/srv/*/htdocs'], allow: ['/**/__pycache__/**'] });
});

test('[persist] paths replace the defaults, add extends them; a relative path or a glob is refused', async (t) => {
  const d = configDir(t);
  d.writeMain('[persist]\npaths = ["/etc/cron.d", "~/.ssh/authorized_keys"]\nadd = ["/srv/app/.env"]\nallow = ["/usr/local/lib/python3*/**"]\nenabled = false\n');
  assert.deepEqual((await loadConfig({ file: d.main })).persist, {
    enabled: false,
    paths: ['/etc/cron.d', '~/.ssh/authorized_keys'],
    add: ['/srv/app/.env'],
    allow: ['/usr/local/lib/python3*/**'],
  });
  d.writeMain('[persist]\npaths = ["etc/cron.d"]\nadd = ["/etc/cron.*"]\n');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'persist.paths': entry 1: 'etc/cron.d' is not an absolute path or '~/path'; example: ["/etc/cron.d", "/etc/ld.so.preload", "~/.ssh/authorized_keys"]`,
    `${d.main}:3: key 'persist.add': entry 1: '/etc/cron.*' is a glob; name the directory itself ('/etc/cron.d'), it is walked whole; example: ["/etc/nginx/sites-enabled", "/srv/app/.env"]`,
  ]);
});

test('[trust] deb_paths and keyrings take absolute paths only', async (t) => {
  const d = configDir(t);
  d.writeMain('[trust]\ndeb_paths = ["/srv/debs"]\nkeyrings = ["/etc/pkgwatch/site.gpg"]\n');
  const cfg = await loadConfig({ file: d.main });
  assert.deepEqual(cfg.trust, { debPaths: ['/srv/debs'], keyrings: ['/etc/pkgwatch/site.gpg'], store: '/var/lib/pkgwatch-trust', hash: 'md5' });
  d.writeMain('[trust]\ndeb_paths = ["debs"]\n');
  await assertConfigError(loadConfig({ file: d.main }), [`${d.main}:2: key 'trust.deb_paths': entry 1: 'debs' is not an absolute path; example: ["/srv/debs"]`]);
});

test('[alerts.alertmanager] url takes one URL or a list; a bad URL, a non-http scheme or plain http beyond loopback names file and line', async (t) => {
  const one = configDir(t);
  one.writeMain('[alerts.alertmanager]\nurl = "http://127.0.0.1:9093"\n');
  assert.deepEqual((await loadConfig({ file: one.main })).alerts.alertmanager.urls, ['http://127.0.0.1:9093']);
  const list = configDir(t);
  list.writeMain('[alerts.alertmanager]\nurl = ["https://am1.example.test", "https://am2.example.test"]\nresend = "30s"\n');
  const cfg = await loadConfig({ file: list.main });
  assert.deepEqual(cfg.alerts.alertmanager.urls, ['https://am1.example.test', 'https://am2.example.test']);
  assert.equal(cfg.alerts.alertmanager.resendMs, 30_000);
  const d = configDir(t);
  d.writeMain(['[alerts.alertmanager]', 'url = ["https://am1.example.test", "ftp://am2.example.test", "am3:9093"]', ''].join('\n'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'alerts.alertmanager.url': entry 2: 'ftp://am2.example.test/': the scheme must be http or https; example: ["http://am1.example.com:9093", "http://am2.example.com:9093"]`,
  ]);
  d.writeMain(['[alerts.alertmanager]', 'url = "alertmanager:9093"', ''].join('\n'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'alerts.alertmanager.url': 'alertmanager:9093' has no scheme; write 'http://alertmanager:9093' or https://; example: ["http://am1.example.com:9093", "http://am2.example.com:9093"]`,
  ]);
  d.writeMain(['[alerts.alertmanager]', 'url = ["http://127.0.0.1:9093", "http://am2.example.test:9093"]', ''].join('\n'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'alerts.alertmanager.url': 'http://am2.example.test:9093/' is plain http to a host that is not loopback: alerts could be read, changed or dropped on the way; use https://, or set alerts.alertmanager.allow_plaintext = true if that network is trusted`,
  ]);
  d.writeMain(['[alerts.alertmanager]', 'url = ["http://127.0.0.1:9093", "http://am2.example.test:9093"]', 'allow_plaintext = true', ''].join('\n'));
  assert.equal((await loadConfig({ file: d.main })).alerts.alertmanager.urls.length, 2);
});

test('[alerts.heartbeat]: method is POST or GET, the url http(s) and not plain http beyond loopback, each named with file and line', async (t) => {
  const d = configDir(t);
  d.writeMain(['[alerts.heartbeat]', 'url = "https://hc.example.test/ping/abc"', 'method = "HEAD"', 'every = "0"', ''].join('\n'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:3: key 'alerts.heartbeat.method': 'HEAD' is not one of "POST", "GET"; example: "POST"`,
    `${d.main}:4: key 'alerts.heartbeat.every': '0' is zero; expected a positive duration; example: "5m"`,
  ]);
  d.writeMain(['[alerts.heartbeat]', 'url = "http://hc.example.test/ping/abc"', ''].join('\n'));
  await assertConfigError(loadConfig({ file: d.main }), [
    `${d.main}:2: key 'alerts.heartbeat.url': 'http://hc.example.test/(hidden)' is plain http to a host that is not loopback: its token could be read on the way and the switch fed by someone else; use https://, or set alerts.heartbeat.allow_plaintext = true if that network is trusted`,
  ]);
  d.writeMain(['[alerts.heartbeat]', 'url = "https://hc.example.test/ping/abc"', 'method = "GET"', 'every = "1m"', ''].join('\n'));
  const hb = (await loadConfig({ file: d.main })).alerts.heartbeat;
  assert.deepEqual([hb.url, hb.method, hb.everyMs, hb.graceMs], ['https://hc.example.test/ping/abc', 'GET', 60_000, 3_600_000]);
});

test('[trust] store is an absolute path and hash is md5 or sha256', async (t) => {
  const d = configDir(t);
  d.writeMain('[trust]\nstore = "/srv/trust"\nhash = "sha256"\n');
  const cfg = await loadConfig({ file: d.main });
  assert.deepEqual([cfg.trust.store, cfg.trust.hash], ['/srv/trust', 'sha256']);
  d.writeMain('[trust]\nhash = "sha1"\n');
  await assert.rejects(loadConfig({ file: d.main }), /trust\.hash/);
});
