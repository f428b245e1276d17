// Running as root, a config file or conf.d entry someone else can change is refused: [offline]
// command runs from it as root. Real files in temp dirs, chowned to nobody or made group-writable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';
import { assertConfigError, configDir } from './tmpdir.js';

const NOBODY = 65534;
const AS_ROOT = process.getuid?.() === 0 ? false : 'needs root: the check applies only to a process running as root';
const WHY = (what: string): string =>
  `pkgwatch runs as root, and [offline] command runs as root from the configuration, so whoever can change this ${what} can run commands as root`;

test('root refuses a main file owned by another user, naming it and what to do', { skip: AS_ROOT }, async (t) => {
  const d = configDir(t);
  d.writeMain('[offline]\ncommand = ["/usr/local/bin/take-site-down"]\n');
  fs.chownSync(d.main, NOBODY, NOBODY);
  await assertConfigError(loadConfig({ file: d.main }), [`${d.main}: is owned by uid ${NOBODY}, not root; ${WHY('file')}: chown root ${d.main}`]);
  fs.chmodSync(d.main, 0o666);
  await assertConfigError(loadConfig({ file: d.main }), [`${d.main}: is owned by uid ${NOBODY}, not root; ${WHY('file')}: chown root ${d.main} and chmod go-w ${d.main}`]);
});

test('root refuses files writable by group or others, and accepts 0644 and 0640', { skip: AS_ROOT }, async (t) => {
  const d = configDir(t);
  d.writeMain('');
  fs.chmodSync(d.main, 0o664);
  await assertConfigError(loadConfig({ file: d.main }), [`${d.main}: is writable by its group (mode 0664); ${WHY('file')}: chmod go-w ${d.main}`]);
  fs.chmodSync(d.main, 0o646);
  await assertConfigError(loadConfig({ file: d.main }), [`${d.main}: is writable by others (mode 0646); ${WHY('file')}: chmod go-w ${d.main}`]);
  for (const mode of [0o644, 0o640, 0o600]) {
    fs.chmodSync(d.main, mode);
    assert.equal((await loadConfig({ file: d.main })).sources.length, 1);
  }
});

test('root refuses conf.d entries (also through a symlink) and a conf.d others can write', { skip: AS_ROOT }, async (t) => {
  const d = configDir(t);
  d.writeMain('');
  const shared = d.writeDropIn('10-shared.toml', '');
  fs.chmodSync(shared, 0o666);
  const theirs = path.join(d.dir, 'theirs.toml');
  fs.writeFileSync(theirs, '[offline]\ncommand = ["sh", "-c", "id > /tmp/owned"]\n');
  fs.chownSync(theirs, NOBODY, NOBODY);
  const link = path.join(d.confd, '20-link.toml');
  fs.symlinkSync(theirs, link);
  d.writeDropIn('30-fine.toml', '');
  await assertConfigError(loadConfig({ file: d.main }), [
    `${shared}: is writable by group and others (mode 0666); ${WHY('file')}: chmod go-w ${shared}`,
    `${link}: is owned by uid ${NOBODY}, not root; ${WHY('file')}: chown root ${link}`,
  ]);

  const d2 = configDir(t);
  d2.writeMain('');
  d2.writeDropIn('10-fine.toml', '');
  fs.chmodSync(d2.confd, 0o777);
  await assertConfigError(loadConfig({ file: d2.main }), [`${d2.confd}: is writable by group and others (mode 0777); ${WHY('directory')}: chmod go-w ${d2.confd}`]);
});

test('the CLI as root says so and exits 2; the same file is fine for a process that is not root', { skip: AS_ROOT }, async (t) => {
  const d = configDir(t);
  fs.chmodSync(d.dir, 0o755);
  d.writeMain('');
  fs.chownSync(d.main, NOBODY, NOBODY);
  const root = await runCli(['config', 'check', '--config', d.main]);
  assert.equal(root.code, 2, root.stderr);
  assert.ok(root.stderr.includes(`${d.main}: is owned by uid ${NOBODY}, not root;`), root.stderr);
  assert.ok(root.stderr.includes(`chown root ${d.main}`), root.stderr);
  const user = await runCli(['config', 'check', '--config', d.main], { uid: NOBODY, gid: NOBODY });
  assert.equal(user.code, 0, user.stderr);
});
