// `pkgwatch check` package selection (names, states, patterns, --with-deps), --admindir, and the errors that exit 2.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { AS_UNPRIVILEGED, checkJson, fixture, type FixtureRoot } from '../helpers/fixture.js';

/** Adds an installed package with one file `/usr/lib/NAME/file` holding `NAME\n`. */
function add(fx: FixtureRoot, name: string, extra: { status?: string; depends?: string; preDepends?: string; provides?: string } = {}): void {
  fx.addPackage({ name, ...extra, files: [{ path: `/usr/lib/${name}/file`, content: `${name}\n` }] });
}

/** Tampers the file `add` gave each package. */
function tamper(fx: FixtureRoot, ...names: string[]): void {
  for (const n of names) fx.write(`/usr/lib/${n}/file`, 'tampered\n');
}

/** The packages that have findings, in output order, once each. */
function flagged(findings: readonly { package: string }[]): string[] {
  return [...new Set(findings.map((f) => f.package))];
}

// ---- names and states ----------------------------------------------------------------------------

test('naming an installed package checks it alone', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  add(fx, 'beta');
  tamper(fx, 'beta');
  const { res, json } = await checkJson(fx, ['alpha']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(json.findings, []);
});

test('an unknown package name is exit 2 with a message naming it, and no report on stdout (JSON: an error document)', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  const res = await runCli(['check', '--root', fx.root, '--format', 'json', 'nosuchpkg']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /nosuchpkg/);
  assert.deepEqual(Object.keys(JSON.parse(res.stdout) as object), ['error']);
  const text = await runCli(['check', '--root', fx.root, 'nosuchpkg']);
  assert.equal(text.stdout, '');
});

test('an unknown name next to a known one is still exit 2 naming the unknown one', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  const res = await runCli(['check', '--root', fx.root, 'alpha', 'nosuchpkg']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /nosuchpkg/);
  assert.doesNotMatch(res.stderr, /'alpha'/);
});

test('naming a package in config-files state is exit 2 with a message naming it and its state', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  fx.addPackage({ name: 'removed', status: 'deinstall ok config-files', conffiles: [{ path: '/etc/removed.conf', content: 'x\n' }], md5sums: false, list: false });
  const res = await runCli(['check', '--root', fx.root, 'removed']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /removed/);
  assert.match(res.stderr, /config-files/);
});

test('naming an unpacked (not configured) package is exit 2 with its state', async (t) => {
  const fx = fixture(t);
  add(fx, 'halfway', { status: 'install ok unpacked' });
  const res = await runCli(['check', '--root', fx.root, 'halfway']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /halfway/);
  assert.match(res.stderr, /unpacked/);
});

test('a full check skips packages that are not installed, even with missing files', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  add(fx, 'removed', { status: 'deinstall ok config-files' });
  add(fx, 'halfway', { status: 'install reinstreq half-installed' });
  fx.remove('/usr/lib/removed');
  fx.remove('/usr/lib/halfway');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(json.findings, []);
});

// ---- patterns ------------------------------------------------------------------------------------

test("a pattern ('app-*') selects the matching installed packages only", async (t) => {
  const fx = fixture(t);
  add(fx, 'app-web');
  add(fx, 'app-db');
  add(fx, 'app-old', { status: 'deinstall ok config-files' });
  add(fx, 'other');
  tamper(fx, 'app-db', 'other');
  const { res, json } = await checkJson(fx, ['app-*']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(json.summary.packages, 2);
  assert.deepEqual(flagged(json.findings), ['app-db']);
});

test('a pattern that matches no package is exit 2 naming the pattern', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  const res = await runCli(['check', '--root', fx.root, 'zzz-*']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /zzz-\*/);
});

// ---- --with-deps ---------------------------------------------------------------------------------

/**
 * top: Pre-Depends base; Depends gone | libb, virt, libc (>= 1.0). `gone` is only in config-files
 * state, `virt` is provided by `prov`, libc depends on libd. `unrel` is installed and unrelated.
 */
function depSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  add(fx, 'top', { preDepends: 'base', depends: 'gone | libb, virt, libc (>= 1.0)' });
  add(fx, 'base');
  add(fx, 'gone', { status: 'deinstall ok config-files' });
  add(fx, 'libb');
  add(fx, 'prov', { provides: 'virt (= 2.0)' });
  add(fx, 'libc', { depends: 'libd' });
  add(fx, 'libd');
  add(fx, 'unrel');
  tamper(fx, 'top', 'base', 'gone', 'libb', 'prov', 'libc', 'libd', 'unrel');
  return fx;
}

test('without --with-deps only the named package is checked', async (t) => {
  const fx = depSystem(t);
  const { res, json } = await checkJson(fx, ['top']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(flagged(json.findings), ['top']);
});

test('--with-deps adds Pre-Depends and Depends, transitively, through alternatives and Provides', async (t) => {
  const fx = depSystem(t);
  const { res, json } = await checkJson(fx, ['top', '--with-deps']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(flagged(json.findings), ['base', 'libb', 'libc', 'libd', 'prov', 'top']);
  assert.equal(json.summary.packages, 6);
});

test('--with-deps from a leaf adds nothing', async (t) => {
  const fx = depSystem(t);
  const { res, json } = await checkJson(fx, ['libd', '--with-deps']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(flagged(json.findings), ['libd']);
});

// ---- where the database is -----------------------------------------------------------------------

test('--admindir reads the database from a host path while files are checked under --root', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  add(fx, 'beta');
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-admindir-'));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  cpSync(fx.admindir, elsewhere, { recursive: true });
  rmSync(fx.admindir, { recursive: true });

  const clean = await checkJson(fx, ['--admindir', elsewhere]);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.equal(clean.json.summary.packages, 2);
  assert.deepEqual(clean.json.findings, []);

  tamper(fx, 'beta');
  const { res, json } = await checkJson(fx, ['--admindir', elsewhere]);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(flagged(json.findings), ['beta']);
});

test('a missing status file is exit 2 with a message naming the file', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  rmSync(fx.statusFile);
  const res = await runCli(['check', '--root', fx.root, '--format', 'json']);
  assert.equal(res.code, 2);
  assert.ok(res.stderr.includes(fx.statusFile), res.stderr);
  assert.ok((JSON.parse(res.stdout) as { error: { message: string } }).error.message.includes(fx.statusFile), res.stdout);
});

test('an unreadable status file is exit 2 with a message naming the file', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  fx.openToAll();
  chmodSync(fx.statusFile, 0o000);
  const asUser = AS_UNPRIVILEGED;
  const res = await runCli(['check', '--root', fx.root, '--format', 'json'], asUser);
  assert.equal(res.code, 2);
  assert.ok(res.stderr.includes(fx.statusFile), res.stderr);
  assert.ok((JSON.parse(res.stdout) as { error: { message: string } }).error.message.includes(fx.statusFile), res.stdout);
});

test('a --root that is not a Debian system is exit 2 naming the status file it looked for', async (t) => {
  const fx = fixture(t);
  const res = await runCli(['check', '--root', fx.path('/nonexistent')]);
  assert.equal(res.code, 2);
  assert.ok(res.stderr.includes(fx.path('/nonexistent/var/lib/dpkg/status')), res.stderr);
});

// ---- options -------------------------------------------------------------------------------------

test('--jobs 0 is a usage error, exit 2', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  const res = await runCli(['check', '--root', fx.root, '--jobs', '0']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--jobs/);
  assert.equal(res.stdout, '');
});

test('--jobs 1 checks everything on one thread', async (t) => {
  const fx = fixture(t);
  for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) add(fx, n);
  tamper(fx, 'a2', 'a5');
  const { res, json } = await checkJson(fx, ['--jobs', '1']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(flagged(json.findings), ['a2', 'a5']);
});

test('an unknown --format is a usage error, exit 2', async (t) => {
  const fx = fixture(t);
  add(fx, 'alpha');
  const res = await runCli(['check', '--root', fx.root, '--format', 'xml']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /xml/);
});
