// `pkgwatch check` on fixture systems: an intact system, each way a packaged file can be tampered with, and the output formats.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { AS_UNPRIVILEGED, changed, checkJson, cores, type FindingCore, FixtureRoot, md5 } from '../helpers/fixture.js';

const BIN = '#!/bin/sh\necho app\n';
const DATA = 'data v1\n';
const DOC = 'Copyright: test\n';
const CONF = 'listen 80\n';
const LIBX = 'ELF libx\n';

/** A fixture with two installed packages: `app` (files, a dir, a symlink, a conffile) and `libx`. */
function system(t: TestContext): FixtureRoot {
  const fx = new FixtureRoot();
  t.after(() => fx.cleanup());
  fx.addPackage({
    name: 'app',
    files: [
      { path: '/usr/bin/app', content: BIN },
      { path: '/usr/share/app/data.txt', content: DATA },
      { path: '/usr/share/doc/app/copyright', content: DOC },
    ],
    dirs: ['/var/lib/app'],
    symlinks: [{ path: '/usr/bin/app-link', target: 'app' }],
    conffiles: [{ path: '/etc/app/app.conf', content: CONF }],
  });
  fx.addPackage({ name: 'libx', files: [{ path: '/usr/lib/libx.so.1', content: LIBX }] });
  return fx;
}

function wrongType(pkg: string, path: string, content: string, kind: string): FindingCore {
  return { package: pkg, path, status: 'wrong-type', conffile: false, expected: md5(content), actual: kind };
}

test('an intact system: exit 0, no findings, no warnings, nothing on stderr', async (t) => {
  const fx = system(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
  assert.equal(json.summary.packages, 2);
  // Every regular file is hashed in full: the three files of app, its conffile and libx's library.
  assert.equal(json.summary.bytes, [BIN, DATA, DOC, CONF, LIBX].reduce((n, s) => n + Buffer.byteLength(s), 0));
  assert.equal(res.stderr, '');
});

test('an intact system in text format says "no findings" and exits 0', async (t) => {
  const fx = system(t);
  const res = await runCli(['check', '--root', fx.root]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^checked 2 packages, .*: no findings\n$/);
});

test('changed content: a changed finding with the dpkg md5 and the md5 found, exit 1', async (t) => {
  const fx = system(t);
  fx.write('/usr/share/app/data.txt', 'data v2\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('app', '/usr/share/app/data.txt', DATA, 'data v2\n')]);
  assert.deepEqual(json.warnings, []);
});

test('a changed file of the same size is still caught (the content is hashed, not sized)', async (t) => {
  const fx = system(t);
  fx.write('/usr/lib/libx.so.1', 'ELF liby\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('libx', '/usr/lib/libx.so.1', LIBX, 'ELF liby\n')]);
});

test('findings are sorted by package, then by path', async (t) => {
  const fx = system(t);
  fx.write('/usr/lib/libx.so.1', 'x');
  fx.write('/usr/share/app/data.txt', 'y');
  fx.write('/usr/bin/app', 'z');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    changed('app', '/usr/bin/app', BIN, 'z'),
    changed('app', '/usr/share/app/data.txt', DATA, 'y'),
    changed('libx', '/usr/lib/libx.so.1', LIBX, 'x'),
  ]);
});

test('a removed file: missing, expected = dpkg md5, actual null, exit 1', async (t) => {
  const fx = system(t);
  fx.remove('/usr/bin/app');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    { package: 'app', path: '/usr/bin/app', status: 'missing', conffile: false, expected: md5(BIN), actual: null },
  ]);
});

test('a removed directory the package owns: missing with expected null', async (t) => {
  const fx = system(t);
  fx.remove('/var/lib/app');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    { package: 'app', path: '/var/lib/app', status: 'missing', conffile: false, expected: null, actual: null },
  ]);
});

test('a removed symlink the package ships: missing with expected null', async (t) => {
  const fx = system(t);
  fx.remove('/usr/bin/app-link');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    { package: 'app', path: '/usr/bin/app-link', status: 'missing', conffile: false, expected: null, actual: null },
  ]);
});

test('a file replaced by a symlink to an identical copy is a wrong-type finding (symlink)', async (t) => {
  const fx = system(t);
  fx.write('/tmp/data.copy', DATA);
  fx.remove('/usr/share/app/data.txt');
  symlinkSync('/tmp/data.copy', fx.path('/usr/share/app/data.txt'));
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [wrongType('app', '/usr/share/app/data.txt', DATA, 'symlink')]);
});

test('a file replaced by a directory is a wrong-type finding (directory), and the run goes on', async (t) => {
  const fx = system(t);
  fx.remove('/usr/share/app/data.txt');
  mkdirSync(fx.path('/usr/share/app/data.txt'));
  fx.write('/usr/lib/libx.so.1', 'x');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    wrongType('app', '/usr/share/app/data.txt', DATA, 'directory'),
    changed('libx', '/usr/lib/libx.so.1', LIBX, 'x'),
  ]);
});

test('a file replaced by a FIFO is a wrong-type finding (fifo), and the run does not hang on it', async (t) => {
  const fx = system(t);
  fx.remove('/usr/bin/app');
  execFileSync('mkfifo', [fx.path('/usr/bin/app')]);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.signal, null, 'the run was killed: it hung on the FIFO');
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [wrongType('app', '/usr/bin/app', BIN, 'fifo')]);
});

test('a file replaced by a unix socket is a wrong-type finding (socket)', async (t) => {
  const fx = system(t);
  fx.remove('/usr/bin/app');
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(fx.path('/usr/bin/app'), resolve);
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.signal, null);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [wrongType('app', '/usr/bin/app', BIN, 'socket')]);
});

test('an unreadable file (chmod 000, run as a non-root user) is "unreadable", exit 3', async (t) => {
  const fx = system(t);
  fx.openToAll();
  chmodSync(fx.path('/usr/share/app/data.txt'), 0o000);
  // As root the file would be readable anyway: run the CLI as nobody on a world-readable tree.
  const asUser = AS_UNPRIVILEGED;
  const { res, json } = await checkJson(fx, [], asUser);
  assert.equal(res.code, 3, res.stderr);
  assert.deepEqual(json.findings, [
    {
      package: 'app',
      path: '/usr/share/app/data.txt',
      status: 'unreadable',
      conffile: false,
      expected: md5(DATA),
      actual: null,
      detail: 'EACCES: permission denied',
      ignored: false,
    },
  ]);

  const dpkg = await runCli(['check', '--root', fx.root, '--format', 'dpkg'], asUser);
  assert.equal(dpkg.code, 3, dpkg.stderr);
  assert.equal(dpkg.stdoutBytes, '?????????   /usr/share/app/data.txt (Permission denied)\n');
});

test('an unreadable file next to a changed one: exit 1 (findings outrank incomplete)', async (t) => {
  const fx = system(t);
  fx.write('/usr/lib/libx.so.1', 'x');
  fx.openToAll();
  chmodSync(fx.path('/usr/share/app/data.txt'), 0o000);
  const asUser = AS_UNPRIVILEGED;
  const { res, json } = await checkJson(fx, [], asUser);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status]),
    [
      ['app', '/usr/share/app/data.txt', 'unreadable'],
      ['libx', '/usr/lib/libx.so.1', 'changed'],
    ],
  );
});

test('--format dpkg prints dpkg --verify lines: changed, missing, wrong-type, conffile flag', async (t) => {
  const fx = system(t);
  fx.write('/usr/share/app/data.txt', 'tampered');
  fx.remove('/usr/share/doc/app/copyright');
  fx.write('/etc/app/app.conf', 'listen 8080\n');
  fx.remove('/usr/bin/app');
  mkdirSync(fx.path('/usr/bin/app'));
  const res = await runCli(['check', '--root', fx.root, '--format', 'dpkg']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(
    res.stdoutBytes,
    [
      '??5?????? c /etc/app/app.conf',
      '?M5??????   /usr/bin/app',
      '??5??????   /usr/share/app/data.txt',
      'missing     /usr/share/doc/app/copyright',
      '',
    ].join('\n'),
  );
});

test('--format debsums prints debsums lines with the --root prefix on paths', async (t) => {
  const fx = system(t);
  fx.write('/usr/share/app/data.txt', 'tampered');
  fx.remove('/usr/lib/libx.so.1');
  fx.remove('/usr/bin/app');
  symlinkSync('/bin/true', fx.path('/usr/bin/app'));
  const res = await runCli(['check', '--root', fx.root, '--format', 'debsums']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(
    res.stdoutBytes,
    [
      `debsums: changed file ${fx.root}/usr/bin/app (from app package)`,
      `debsums: changed file ${fx.root}/usr/share/app/data.txt (from app package)`,
      `debsums: missing file ${fx.root}/usr/lib/libx.so.1 (from libx package)`,
      '',
    ].join('\n'),
  );
});

test('--format debsums: a --root with a trailing slash gives no double slash', async (t) => {
  const fx = system(t);
  fx.remove('/usr/lib/libx.so.1');
  const res = await runCli(['check', '--root', `${fx.root}/`, '--format', 'debsums']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(res.stdoutBytes, `debsums: missing file ${fx.root}/usr/lib/libx.so.1 (from libx package)\n`);
});

test('--format text names the package, the status, the path, and flags conffiles', async (t) => {
  const fx = system(t);
  fx.write('/usr/share/app/data.txt', 'tampered');
  fx.write('/etc/app/app.conf', 'listen 8080\n');
  const res = await runCli(['check', '--root', fx.root, '--format', 'text']);
  assert.equal(res.code, 1, res.stderr);
  const lines = res.stdout.split('\n');
  assert.equal(lines[0], 'app');
  assert.ok(lines.some((l) => /^\s+changed\s+\/etc\/app\/app\.conf \(conffile\)$/.test(l)), res.stdout);
  assert.ok(lines.some((l) => /^\s+changed\s+\/usr\/share\/app\/data\.txt$/.test(l)), res.stdout);
  assert.ok(res.stdout.includes(md5(DATA)) && res.stdout.includes(md5('tampered')), res.stdout);
  assert.match(res.stdout, /checked 2 packages, .*: 2 changed in 1 package\n$/);
});

test('an intact system still verifies when run from another directory with a relative --root', async (t) => {
  const fx = system(t);
  fx.write('/usr/bin/app', 'tampered');
  const parent = fx.root.slice(0, fx.root.lastIndexOf('/'));
  const rel = fx.root.slice(parent.length + 1);
  const res = await runCli(['check', '--root', rel, '--format', 'json'], { cwd: parent });
  assert.equal(res.code, 1, res.stderr);
  const json = JSON.parse(res.stdout) as { findings: { path: string }[] };
  assert.deepEqual(
    json.findings.map((f) => f.path),
    ['/usr/bin/app'],
  );
});
