// `pkgwatch config check` through the real CLI (dist/cli/main.js): every problem in one pass, the
// checks between keys included, sorted by file and line, as text and as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { configDir, type ConfigDir } from './tmpdir.js';

/** A main file and a drop-in with problems of every kind, on several lines. */
function brokenConfig(d: ConfigDir): { main: string; drop: string } {
  const main = d.writeMain(
    [
      'colour = "blue"', // 1: unknown key
      '[schedule]', // 2
      'splay = "5"', // 3: bad value
      '[alerts]', // 4
      'retry_min = "10m"', // 5: longer than retry_max (both valid)
      'retry_max = "1m"', // 6
      '[alerts.email]', // 7
      'to = ["ops@example.test"]', // 8: no smtp and no sendmail
      '[alerts.webhook]', // 9
      'secret = "s3"', // 10: no url
      '[offline]', // 11
      'enabled = true', // 12: nothing to do, and scope.packages empty
      'flag_file = ""', // 13
      'stop_unit = ["nginx.service"]', // 14: unknown key (a typo)
      '',
    ].join('\n'),
  );
  const drop = d.writeDropIn(
    '20-more.toml',
    [
      '[alerts]', // 1
      'max_age = "forever"', // 2: bad value
      '[alerts.email]', // 3
      'sendmail = "yes"', // 4: bad value: it must not also make a 'no way to send' for line 8 disappear or change
      '',
    ].join('\n'),
  );
  return { main, drop };
}

test('config check lists every problem at once, checks between keys included, sorted by file then line', async (t) => {
  const d = configDir(t);
  const { main: m, drop } = brokenConfig(d);
  const res = await runCli(['config', 'check', '--config', m]);
  assert.equal(res.stdout, '');
  assert.deepEqual(res.stderr.replace(/^pkgwatch: config error: /, '').split('\n'), [
    `${m}:1: key 'colour': unknown key`,
    `${m}:3: key 'schedule.splay': '5' has no unit (ms, s, m, h or d); example: "5m"`,
    `${m}:5: key 'alerts.retry_min': is longer than alerts.retry_max; make retry_min the shorter wait`,
    `${m}:10: key 'alerts.webhook.secret': has no effect without alerts.webhook.url; set the url or remove the secret`,
    `${m}:12: key 'offline.enabled': is true but there is nothing to do: set offline.flag_file, offline.stop_units or offline.command`,
    `${m}:12: key 'offline.enabled': is true but scope.packages is empty: only findings in the scoped packages take the site offline; list the web application's packages`,
    `${m}:14: key 'offline.stop_unit': unknown key; did you mean 'offline.stop_units'?`,
    `${drop}:2: key 'alerts.max_age': 'forever' is not a duration (a positive whole number and a unit: ms, s, m, h or d); example: "7d"`,
    `${drop}:4: key 'alerts.email.sendmail': expected a boolean, found a string; example: true`,
    '',
  ]);
  // 'to' without a way to send is not claimed: whether sendmail was meant to be on is unknown.
  assert.doesNotMatch(res.stderr, /no way to send/);
  assert.equal(res.code, 2);
});

test('config check --json: one object per problem {file, line, key, message}, same order, same exit code', async (t) => {
  const d = configDir(t);
  const { main: m, drop } = brokenConfig(d);
  const res = await runCli(['config', 'check', '--json', '--config', m]);
  assert.equal(res.stderr, '');
  assert.equal(res.code, 2);
  const doc = JSON.parse(res.stdout) as { ok: boolean; errors: { file: string; line: number | null; key: string | null; message: string }[] };
  assert.equal(doc.ok, false);
  assert.deepEqual(
    doc.errors.map((e) => [e.file, e.line, e.key]),
    [
      [m, 1, 'colour'],
      [m, 3, 'schedule.splay'],
      [m, 5, 'alerts.retry_min'],
      [m, 10, 'alerts.webhook.secret'],
      [m, 12, 'offline.enabled'],
      [m, 12, 'offline.enabled'],
      [m, 14, 'offline.stop_unit'],
      [drop, 2, 'alerts.max_age'],
      [drop, 4, 'alerts.email.sendmail'],
    ],
  );
  assert.equal(doc.errors[3]?.message, 'has no effect without alerts.webhook.url; set the url or remove the secret');
  assert.equal(doc.errors[6]?.message, "unknown key; did you mean 'offline.stop_units'?");
});

test('config check --json on a valid configuration: ok, the files read, no errors, exit 0', async (t) => {
  const d = configDir(t);
  d.writeMain('[scope]\npackages = ["nginx"]\n');
  const res = await runCli(['config', 'check', '--json', '--config', d.main]);
  assert.equal(res.stderr, '');
  assert.deepEqual(JSON.parse(res.stdout), { ok: true, files: [d.main], errors: [] });
  assert.equal(res.code, 0);
});

test('config check --json: a TOML syntax error is an object with its line, and no key', async (t) => {
  const d = configDir(t);
  d.writeMain('[scope]\npackages = ["nginx"\n');
  const res = await runCli(['config', 'check', '--json', '--config', d.main]);
  assert.equal(res.code, 2);
  const doc = JSON.parse(res.stdout) as { errors: { file: string; line: number | null; key: string | null; message: string }[] };
  assert.equal(doc.errors.length, 1);
  assert.equal(doc.errors[0]?.file, d.main);
  assert.equal(typeof doc.errors[0]?.line, 'number');
  assert.equal(doc.errors[0]?.key, null);
  assert.match(doc.errors[0]?.message ?? '', /^TOML syntax error: /);
});

test('config --help, config check --help and config show --help list --config', async () => {
  for (const args of [['config', '--help'], ['config', 'check', '--help'], ['config', 'show', '--help']]) {
    const res = await runCli(args);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, /--config\b/, `${args.join(' ')} does not list --config:\n${res.stdout}`);
  }
  const check = await runCli(['config', 'check', '--help']);
  assert.match(check.stdout, /--json\b/);
});
