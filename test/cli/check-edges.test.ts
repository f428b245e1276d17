// `pkgwatch check` on the less common shapes real databases and systems take: md5sums spellings, big and empty files, shared paths, unreadable parts.
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { AS_UNPRIVILEGED, changed, checkJson, cores, fixture, md5 } from '../helpers/fixture.js';

/** Spawn options that make the CLI an unprivileged user when the tests run as root. */

test('md5sums written with a leading ./ and uppercase hex are read like the usual spelling', async (t) => {
  const fx = fixture(t);
  fx.addPackage({
    name: 'oddsums',
    files: [
      { path: '/usr/bin/one', content: 'one\n' },
      { path: '/usr/bin/two', content: 'two\n' },
    ],
    md5sums: `${md5('one\n')}  ./usr/bin/one\n${md5('two\n').toUpperCase()}  usr/bin/two\n`,
  });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);
  assert.deepEqual(clean.json.warnings, []);

  fx.write('/usr/bin/one', 'x');
  fx.write('/usr/bin/two', 'y');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('oddsums', '/usr/bin/one', 'one\n', 'x'), changed('oddsums', '/usr/bin/two', 'two\n', 'y')]);
});

test('a file larger than any read buffer is hashed in full: its last byte changed is caught', async (t) => {
  const fx = fixture(t);
  const big = Buffer.alloc(5 * 1024 * 1024 + 123, 0x61);
  fx.addPackage({ name: 'big', files: [{ path: '/usr/lib/big.bin', content: big }] });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.equal(clean.json.summary.bytes, big.length);

  const tampered = Buffer.from(big);
  tampered[tampered.length - 1] = 0x62;
  fx.write('/usr/lib/big.bin', tampered);
  const { res, json } = await checkJson(fx, ['--jobs', '2']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('big', '/usr/lib/big.bin', big, tampered)]);
});

test('an empty file verifies, and content added to it is caught', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'empty', files: [{ path: '/etc/empty.marker', content: '' }] });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write('/etc/empty.marker', 'now with content\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('empty', '/etc/empty.marker', '', 'now with content\n')]);
});

test('a conffile that old packages also list in md5sums is reported once, as a conffile', async (t) => {
  const fx = fixture(t);
  fx.addPackage({
    name: 'oldstyle',
    files: [{ path: '/usr/bin/oldstyle', content: 'bin\n' }],
    conffiles: [{ path: '/etc/oldstyle.conf', content: 'conf\n' }],
    md5sums: `${md5('bin\n')}  usr/bin/oldstyle\n${md5('conf\n')}  etc/oldstyle.conf\n`,
  });
  fx.write('/etc/oldstyle.conf', 'edited\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('oldstyle', '/etc/oldstyle.conf', 'conf\n', 'edited\n', true)]);

  const skipped = await checkJson(fx, ['--no-conffiles']);
  assert.equal(skipped.res.code, 0, skipped.res.stderr);
  assert.deepEqual(skipped.json.findings, []);
});

test('hashes are kept per package: two owners of one path with different hashes give the same result in any order', async (t) => {
  const fx = fixture(t);
  const SHARED = 'shared content\n';
  fx.addPackage({ name: 'owner-a', files: [{ path: '/usr/share/common/file', content: SHARED }] });
  fx.addPackage({ name: 'owner-b', files: [{ path: '/usr/share/common/file', content: SHARED, md5: md5('what b shipped\n') }], writeFiles: false });
  const expected = [changed('owner-b', '/usr/share/common/file', 'what b shipped\n', SHARED)];
  for (const order of [['owner-a', 'owner-b'], ['owner-b', 'owner-a'], []]) {
    const { res, json } = await checkJson(fx, order);
    assert.equal(res.code, 1, `order ${order.join(',')}: ${res.stderr}`);
    assert.deepEqual(cores(json.findings), expected, `order ${order.join(',')}`);
  }
});

test('a package named twice on the command line is checked once', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'twice', files: [{ path: '/usr/bin/twice', content: '2\n' }] });
  fx.write('/usr/bin/twice', 'x');
  const { res, json } = await checkJson(fx, ['twice', 'twice', 'tw*']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(cores(json.findings), [changed('twice', '/usr/bin/twice', '2\n', 'x')]);
});

test('a package on hold (Status: hold ok installed) is installed and checked', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'held', status: 'hold ok installed', files: [{ path: '/usr/bin/held', content: 'h\n' }] });
  fx.write('/usr/bin/held', 'x');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('held', '/usr/bin/held', 'h\n', 'x')]);
});

test('an empty status file is a system with nothing installed: exit 0, zero packages', async (t) => {
  const fx = fixture(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(json.summary.packages, 0);
  assert.deepEqual(json.findings, []);
});

test('a non-UTF-8 byte in a conffile path (from the status file) is checked and shown escaped', async (t) => {
  const fx = fixture(t);
  const conf = Buffer.from('/etc/caf\xe9.conf', 'latin1');
  fx.addPackage({ name: 'latin', conffiles: [{ path: conf, content: 'c\n' }] });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write(conf, 'x');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('latin', '/etc/caf\\xe9.conf', 'c\n', 'x', true)]);
  const debsums = await runCli(['check', '--root', fx.root, '--format', 'debsums']);
  assert.equal(debsums.stdoutBytes, `debsums: changed file ${fx.root}${conf.toString('latin1')} (from latin package)\n`);
});

test('a diverted file whose divert-to directory is gone is missing at the divert-to path', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/tool', content: 'tool\n' }] });
  fx.addDiversion('/usr/bin/tool', '/usr/lib/diverted/tool', 'wrap');
  fx.addPackage({ name: 'wrap', files: [{ path: '/usr/bin/tool', content: 'wrapper\n' }] });
  fx.remove('/usr/lib/diverted');
  const { res, json } = await checkJson(fx, ['app']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    { package: 'app', path: '/usr/lib/diverted/tool', status: 'missing', conffile: false, expected: md5('tool\n'), actual: null },
  ]);
});

test('warnings go to stderr as FILE:LINE in text and dpkg formats; stdout holds only the report', async (t) => {
  const fx = fixture(t);
  fx.addPackage({
    name: 'damaged',
    files: [{ path: '/usr/bin/damaged', content: 'd\n' }],
    md5sums: `${md5('d\n')}  usr/bin/damaged\n0123  usr/bin/short-hash\n`,
  });
  fx.write('/usr/bin/damaged', 'x');
  const where = `${fx.infoFile('damaged', 'md5sums')}:2`;

  const dpkg = await runCli(['check', '--root', fx.root, '--format', 'dpkg']);
  assert.equal(dpkg.code, 1, dpkg.stderr);
  assert.equal(dpkg.stdoutBytes, '??5??????   /usr/bin/damaged\n');
  assert.ok(dpkg.stderr.includes(where), dpkg.stderr);

  const text = await runCli(['check', '--root', fx.root, '--format', 'text']);
  assert.equal(text.code, 1, text.stderr);
  assert.ok(text.stderr.includes(where), text.stderr);
  assert.ok(!text.stdout.includes(where), text.stdout);
});

test('a warning alone does not change the exit code: bad md5sums line, nothing else found, exit 0', async (t) => {
  const fx = fixture(t);
  fx.addPackage({
    name: 'damaged',
    files: [{ path: '/usr/bin/damaged', content: 'd\n' }],
    md5sums: `${md5('d\n')}  usr/bin/damaged\n${md5('x')}\n`,
  });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(
    json.warnings.map((w) => [w.package, w.file, w.line]),
    [['damaged', fx.infoFile('damaged', 'md5sums'), 2]],
  );
});

test('files in a directory the user cannot search are unreadable, not missing: exit 3', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'secret', files: [{ path: '/var/lib/secret/key', content: 'k\n' }] });
  fx.openToAll();
  chmodSync(fx.path('/var/lib/secret'), 0o700);
  const { res, json } = await checkJson(fx, [], AS_UNPRIVILEGED);
  assert.equal(res.code, 3, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status, f.expected, f.actual]),
    [['secret', '/var/lib/secret/key', 'unreadable', md5('k\n'), null]],
  );
  assert.match(json.findings[0]?.detail ?? '', /EACCES/);
});

test('an unreadable md5sums file is an unreadable finding naming it; the package is still checked for existence', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'locked', files: [{ path: '/usr/bin/locked', content: 'l\n' }] });
  fx.addPackage({ name: 'other', files: [{ path: '/usr/bin/other', content: 'o\n' }] });
  fx.openToAll();
  chmodSync(fx.infoFile('locked', 'md5sums'), 0o000);
  fx.remove('/usr/bin/locked');
  const { res, json } = await checkJson(fx, [], AS_UNPRIVILEGED);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    { package: 'locked', path: '/usr/bin/locked', status: 'missing', conffile: false, expected: null, actual: null },
    { package: 'locked', path: '/var/lib/dpkg/info/locked.md5sums', status: 'unreadable', conffile: false, expected: null, actual: null },
  ]);
  assert.match(json.findings[1]?.detail ?? '', /^EACCES: permission denied: dpkg's record of the package cannot be read/);
  // No false "no md5sums file" warning: the file exists, it just cannot be read.
  assert.deepEqual(json.warnings, []);
});

test('an unreadable info directory verifies nothing, so it must not exit 0 ("nothing found")', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/app', content: 'app\n' }] });
  fx.write('/usr/bin/app', 'tampered\n');
  fx.openToAll();
  chmodSync(fx.path('/var/lib/dpkg/info'), 0o000);
  const { res, json } = await checkJson(fx, [], AS_UNPRIVILEGED);
  // Incomplete (3), with the unreadable database files named: never "nothing found" (0).
  assert.equal(res.code, 3, `${res.stdout}${res.stderr}`);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status]),
    [
      ['app', '/var/lib/dpkg/info/app.list', 'unreadable'],
      ['app', '/var/lib/dpkg/info/app.md5sums', 'unreadable'],
    ],
  );
});
