// `pkgwatch config check|show` as a real process, through the command line entry src/cli/main.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { REPO_ROOT, runProcess, type CliOptions, type CliResult } from '../helpers/cli.js';
import { configOkMessage } from '../../src/cli/config.js';
import { loadConfigFiles } from '../../src/config/load.js';
import { configDir } from './tmpdir.js';

/** The command line entry as built for the tests (build/src/cli/main.js). */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function pkgwatch(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, ...opts });
}

test('config check: OK with the files read, exit 0', async (t) => {
  const d = configDir(t);
  d.writeMain('[scope]\npackages = ["nginx"]\n');
  const drop = d.writeDropIn('10-app.toml', '[scope]\npackages = ["my-django-app"]\n');
  const res = await pkgwatch(['config', 'check', '--config', d.main]);
  assert.equal(res.stderr, '');
  assert.equal(res.stdout, `pkgwatch: config OK (files: ${d.main}, ${drop})\n`);
  assert.equal(res.code, 0);
});

test('config check: every problem on stderr, exit 2', async (t) => {
  const d = configDir(t);
  d.writeMain('[schedule]\nscopd = "*/5 * * * *"\nsplay = "5"\n');
  const res = await pkgwatch(['config', 'check', '--config', d.main]);
  assert.equal(res.stdout, '');
  assert.equal(
    res.stderr,
    `pkgwatch: config error: ${d.main}:2: key 'schedule.scopd': unknown key; did you mean 'schedule.scoped'?\n` +
      `${d.main}:3: key 'schedule.splay': '5' has no unit (ms, s, m, h or d); example: "5m"\n`,
  );
  assert.equal(res.code, 2);
});

test('config show prints TOML that parses; --json prints the resolved values', async (t) => {
  const d = configDir(t);
  d.writeMain('[schedule]\nsplay = "90s"\n');
  const toml = await pkgwatch(['config', 'show', '--config', d.main]);
  assert.equal(toml.code, 0, toml.stderr);
  assert.match(toml.stdout, /^splay = "90s"$/m);
  assert.equal((parse(toml.stdout)['schedule'] as Record<string, unknown>)['splay'], '90s');
  const json = await pkgwatch(['config', 'show', '--json', '--config', d.main]);
  assert.equal(json.code, 0, json.stderr);
  const obj = JSON.parse(json.stdout) as { schedule: { splayMs: number }; sources: string[] };
  assert.equal(obj.schedule.splayMs, 90_000);
  assert.deepEqual(obj.sources, [d.main]);
});

test('config without a subcommand, or with an unknown option, is a usage error', async () => {
  const none = await pkgwatch(['config']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name a subcommand: `pkgwatch config check` or `pkgwatch config show`/);
  const bad = await pkgwatch(['config', 'check', '--jsn']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown argument: jsn/);
});

test('config check with no files says where it looked', async (t) => {
  const d = configDir(t);
  const cfg = await loadConfigFiles({ main: d.main, required: false });
  assert.equal(
    configOkMessage(cfg, d.main),
    `pkgwatch: config OK (files: none; neither ${d.main} nor ${d.confd}/*.toml exists, so every key has its default)\n`,
  );
});

test('an unreadable config file (EACCES) is an error naming it', { skip: process.getuid?.() !== 0 ? 'needs root to become nobody; load.test.ts covers it as non-root' : false }, async (t) => {
  const d = configDir(t);
  fs.chmodSync(d.dir, 0o755);
  d.writeMain('root = "/"\n');
  fs.chmodSync(d.main, 0o600);
  const res = await pkgwatch(['config', 'check', '--config', d.main], { uid: 65534, gid: 65534 });
  assert.equal(res.stderr, `pkgwatch: config error: ${d.main}: cannot be read (EACCES: permission denied); run as root or make it readable\n`);
  assert.equal(res.code, 2);
});
