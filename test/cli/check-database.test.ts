// `pkgwatch check` against what the dpkg database says: conffiles, diversions, paths resolved inside the root, path-exclude, multiarch, byte names, damaged input.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { changed, checkJson, cores, fixture, type FixturePackage, type FixtureRoot, md5, missing } from '../helpers/fixture.js';

/** A temp dir outside the fixture standing in for "the host": tests prove nothing resolves into it. */
function decoy(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-decoy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- conffiles -------------------------------------------------------------------------------

const CONF = 'listen 80\n';

function conffileSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.addPackage({
    name: 'web',
    files: [{ path: '/usr/sbin/web', content: 'web binary\n' }],
    conffiles: [
      { path: '/etc/web/web.conf', content: CONF },
      { path: '/etc/web/old.conf', content: null, flags: ['obsolete'] },
      { path: '/etc/web/gone.conf', content: null, flags: ['remove-on-upgrade'] },
      { path: '/etc/web/new.conf', content: 'fresh\n', flags: ['newconffile'] },
    ],
  });
  return fx;
}

test('conffiles: an intact package whose obsolete and remove-on-upgrade conffiles are gone is clean', async (t) => {
  const fx = conffileSystem(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
});

test('conffiles: a changed conffile is a changed finding flagged conffile, against the Conffiles hash', async (t) => {
  const fx = conffileSystem(t);
  fx.write('/etc/web/web.conf', 'listen 8080\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('web', '/etc/web/web.conf', CONF, 'listen 8080\n', true)]);
});

test('conffiles: a removed conffile is missing, flagged conffile', async (t) => {
  const fx = conffileSystem(t);
  fx.remove('/etc/web/web.conf');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [missing('web', '/etc/web/web.conf', CONF, true)]);
});

test('conffiles: an obsolete conffile that is still present but listed in .list is not hashed as a regular file', async (t) => {
  const fx = fixture(t);
  fx.write('/etc/web/old.conf', 'edited by the admin\n');
  fx.addPackage({
    name: 'web',
    files: [{ path: '/usr/sbin/web', content: 'web binary\n' }],
    conffiles: [{ path: '/etc/web/old.conf', content: null, md5: md5('shipped\n'), flags: ['obsolete'] }],
  });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
});

test('conffiles: a newconffile is only checked for existence: changed content is no finding', async (t) => {
  const fx = conffileSystem(t);
  fx.write('/etc/web/new.conf', 'edited\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
});

test('conffiles: a removed newconffile is missing with expected null', async (t) => {
  const fx = conffileSystem(t);
  fx.remove('/etc/web/new.conf');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [missing('web', '/etc/web/new.conf', null, true)]);
});

test('--no-conffiles skips conffiles (changed or removed) and still checks the other files', async (t) => {
  const fx = conffileSystem(t);
  fx.write('/etc/web/web.conf', 'listen 8080\n');
  fx.remove('/etc/web/new.conf');
  const clean = await checkJson(fx, ['--no-conffiles']);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write('/usr/sbin/web', 'trojan\n');
  const { res, json } = await checkJson(fx, ['--no-conffiles']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('web', '/usr/sbin/web', 'web binary\n', 'trojan\n')]);
});

// ---- diversions ------------------------------------------------------------------------------

const TOOL = 'the real tool\n';
const WRAPPER = 'a wrapper around the tool\n';

/** `app` ships /usr/bin/tool; `wrap` diverts it to /usr/bin/tool.real and ships its own /usr/bin/tool. */
function divertedSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/tool', content: TOOL }] });
  fx.addDiversion('/usr/bin/tool', '/usr/bin/tool.real', 'wrap');
  fx.addPackage({ name: 'wrap', files: [{ path: '/usr/bin/tool', content: WRAPPER }] });
  return fx;
}

test('diversions: an intact diverted file and the diverting package\'s file both verify', async (t) => {
  const fx = divertedSystem(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
});

test('diversions: a tampered divert-to file is changed, reported at the divert-to path against the owner\'s hash', async (t) => {
  const fx = divertedSystem(t);
  fx.write('/usr/bin/tool.real', 'backdoored tool\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('app', '/usr/bin/tool.real', TOOL, 'backdoored tool\n')]);
});

test('diversions: the diverting package\'s own file is checked at the original path against its own hash', async (t) => {
  const fx = divertedSystem(t);
  fx.write('/usr/bin/tool', 'backdoored wrapper\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('wrap', '/usr/bin/tool', WRAPPER, 'backdoored wrapper\n')]);
});

test('diversions: a removed divert-to file is missing at the divert-to path', async (t) => {
  const fx = divertedSystem(t);
  fx.remove('/usr/bin/tool.real');
  const { res, json } = await checkJson(fx, ['app']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [missing('app', '/usr/bin/tool.real', TOOL)]);
});

test('diversions: a local diversion (:) moves the check to the divert-to path too', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/tool', content: TOOL }] });
  fx.addDiversion('/usr/bin/tool', '/usr/local/lib/tool.orig', ':');
  fx.write('/usr/bin/tool', 'admin\'s own tool\n');
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write('/usr/local/lib/tool.orig', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('app', '/usr/local/lib/tool.orig', TOOL, 'tampered\n')]);
});

// ---- paths resolved inside the root -----------------------------------------------------------

const PLUGIN = 'plugin code\n';

test('an absolute symlink in a directory component restarts at the root, not at the host\'s /', async (t) => {
  const fx = fixture(t);
  const host = decoy(t);
  // On the host, the decoy holds a different plugin: following the link out of the root would report it changed.
  writeFileSync(path.join(host, 'plugin.so'), 'the host\'s file, not the checked system\'s\n');
  fx.write(path.join(host, 'plugin.so'), PLUGIN);
  mkdirSync(fx.path('/usr/lib'), { recursive: true });
  symlinkSync(host, fx.path('/usr/lib/app'));
  fx.addPackage({ name: 'plug', files: [{ path: '/usr/lib/app/plugin.so', content: PLUGIN }], writeFiles: false });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write(path.join(host, 'plugin.so'), 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('plug', '/usr/lib/app/plugin.so', PLUGIN, 'tampered\n')]);
});

test('`..` in a symlink never climbs above the root', async (t) => {
  const fx = fixture(t);
  const host = decoy(t);
  writeFileSync(path.join(host, 'plugin.so'), 'the host\'s file\n');
  fx.write(path.join(host, 'plugin.so'), PLUGIN);
  mkdirSync(fx.path('/usr/lib'), { recursive: true });
  // From ROOT/usr/lib, twenty `..` reach the host's / unless they stop at the root.
  symlinkSync(`${'../'.repeat(20)}${host.slice(1)}`, fx.path('/usr/lib/app'));
  fx.addPackage({ name: 'plug', files: [{ path: '/usr/lib/app/plugin.so', content: PLUGIN }], writeFiles: false });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
});

test('merged /usr: a file listed under /bin is reached through the relative /bin -> usr/bin link', async (t) => {
  const fx = fixture(t);
  fx.write('/usr/bin/sh', 'shell\n');
  symlinkSync('usr/bin', fx.path('/bin'));
  fx.addPackage({ name: 'dash', files: [{ path: '/bin/sh', content: 'shell\n' }], writeFiles: false });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write('/usr/bin/sh', 'evil shell\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('dash', '/bin/sh', 'shell\n', 'evil shell\n')]);
});

// ---- dpkg.cfg path filters -------------------------------------------------------------------

const DOC = 'Copyright: test\n';

function docSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.addPackage({
    name: 'app',
    files: [
      { path: '/usr/bin/app', content: 'app\n' },
      { path: '/usr/share/doc/app/copyright', content: DOC },
      { path: '/usr/share/doc/app/changelog.gz', content: 'changes\n' },
      { path: '/usr/share/man/man1/app.1.gz', content: 'manual\n' },
    ],
  });
  return fx;
}

test('path-exclude: excluded files and directories that are absent are not findings', async (t) => {
  const fx = docSystem(t);
  fx.addDpkgCfg('excludes', '# slim image\npath-exclude=/usr/share/doc/*\n');
  fx.remove('/usr/share/doc/app');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
});

test('path-exclude: an excluded file that is present and tampered is still a finding', async (t) => {
  const fx = docSystem(t);
  fx.addDpkgCfg('excludes', 'path-exclude=/usr/share/doc/*\n');
  fx.write('/usr/share/doc/app/copyright', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('app', '/usr/share/doc/app/copyright', DOC, 'tampered\n')]);
});

test('path-include after path-exclude: the last matching rule wins', async (t) => {
  const fx = docSystem(t);
  fx.addDpkgCfg('excludes', 'path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n');
  fx.remove('/usr/share/doc/app/changelog.gz');
  fx.remove('/usr/share/doc/app/copyright');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [missing('app', '/usr/share/doc/app/copyright', DOC)]);
});

test('path-exclude in ROOT/etc/dpkg/dpkg.cfg, written with a space, applies too', async (t) => {
  const fx = docSystem(t);
  fx.addDpkgCfg(null, 'path-exclude /usr/share/man/*\n');
  // The glob matches everything below /usr/share/man, not the directory itself.
  fx.remove('/usr/share/man/man1');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
});

test('path-exclude does not hide an absent file it does not match', async (t) => {
  const fx = docSystem(t);
  fx.addDpkgCfg('excludes', 'path-exclude=/usr/share/doc/*\n');
  fx.remove('/usr/share/man/man1/app.1.gz');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [missing('app', '/usr/share/man/man1/app.1.gz', 'manual\n')]);
});

// ---- multiarch -------------------------------------------------------------------------------

const LIB64 = 'libfoo for amd64\n';
const LIB32 = 'libfoo for i386\n';
const CHANGELOG = 'libfoo changes\n';

/** libfoo (Multi-Arch: same) installed for amd64 (native) and i386, with `NAME:ARCH.*` info files. */
function multiarchSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.setFormat1();
  fx.setArchitectures(['amd64', 'i386']);
  const lib = (arch: string, dir: string, content: string): FixturePackage => ({
    name: 'libfoo',
    arch,
    multiArch: 'same',
    files: [
      { path: `/usr/lib/${dir}/libfoo.so.1`, content },
      { path: '/usr/share/doc/libfoo/changelog', content: CHANGELOG },
    ],
  });
  fx.addPackage(lib('amd64', 'x86_64-linux-gnu', LIB64));
  fx.addPackage(lib('i386', 'i386-linux-gnu', LIB32));
  fx.addPackage({ name: 'tzdata', arch: 'all', multiArch: 'foreign', files: [{ path: '/usr/share/zoneinfo/UTC', content: 'TZif\n' }] });
  return fx;
}

test('multiarch: both instances of a Multi-Arch: same package verify from their NAME:ARCH info files', async (t) => {
  const fx = multiarchSystem(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
  assert.equal(json.summary.packages, 3);
});

test('multiarch: a finding names the instance as name:arch; other packages stay plain names', async (t) => {
  const fx = multiarchSystem(t);
  fx.write('/usr/lib/i386-linux-gnu/libfoo.so.1', 'tampered\n');
  fx.write('/usr/share/zoneinfo/UTC', 'TZif2\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    changed('libfoo:i386', '/usr/lib/i386-linux-gnu/libfoo.so.1', LIB32, 'tampered\n'),
    changed('tzdata', '/usr/share/zoneinfo/UTC', 'TZif\n', 'TZif2\n'),
  ]);
});

test('multiarch: a shared file tampered is reported for each instance that owns it', async (t) => {
  const fx = multiarchSystem(t);
  fx.write('/usr/share/doc/libfoo/changelog', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    changed('libfoo:amd64', '/usr/share/doc/libfoo/changelog', CHANGELOG, 'tampered\n'),
    changed('libfoo:i386', '/usr/share/doc/libfoo/changelog', CHANGELOG, 'tampered\n'),
  ]);
});

test('multiarch: `check libfoo:i386` checks that instance only', async (t) => {
  const fx = multiarchSystem(t);
  fx.write('/usr/lib/x86_64-linux-gnu/libfoo.so.1', 'tampered\n');
  const clean = await checkJson(fx, ['libfoo:i386']);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.equal(clean.json.summary.packages, 1);
  assert.deepEqual(clean.json.findings, []);

  const { res, json } = await checkJson(fx, ['libfoo:amd64']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(json.summary.packages, 1);
  assert.deepEqual(cores(json.findings), [changed('libfoo:amd64', '/usr/lib/x86_64-linux-gnu/libfoo.so.1', LIB64, 'tampered\n')]);
});

test('multiarch: a plain name resolves to the native-architecture instance (dpkg-semantics.md "Which packages")', async (t) => {
  const fx = multiarchSystem(t);
  fx.write('/usr/lib/i386-linux-gnu/libfoo.so.1', 'tampered\n');
  const { res, json } = await checkJson(fx, ['libfoo']);
  assert.deepEqual(cores(json.findings), []);
  assert.equal(json.summary.packages, 1);
  assert.equal(res.code, 0, res.stderr);
});

// ---- file names are bytes --------------------------------------------------------------------

const FF_NAME = Buffer.from('/usr/share/app/caf\xff.txt', 'latin1');

function bytesSystem(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.addPackage({
    name: 'app',
    files: [
      { path: FF_NAME, content: 'latin1 name\n' },
      { path: '/usr/share/app/café.txt', content: 'utf-8 name\n' },
      { path: '/usr/share/app/back\\slash', content: 'backslash\n' },
      { path: '/usr/share/app/with space.txt', content: 'space\n' },
    ],
  });
  return fx;
}

test('byte names: a package with non-UTF-8, UTF-8, backslash and space names verifies when intact', async (t) => {
  const fx = bytesSystem(t);
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
});

test('byte names: tampered files show \\xff for a non-UTF-8 byte, UTF-8 as is, a backslash as \\\\; sorted by bytes', async (t) => {
  const fx = bytesSystem(t);
  fx.write(FF_NAME, 'x');
  fx.write('/usr/share/app/café.txt', 'y');
  fx.write('/usr/share/app/back\\slash', 'z');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => f.path),
    // Byte order: `é` is 0xc3 0xa9 in UTF-8, before 0xff.
    ['/usr/share/app/back\\\\slash', '/usr/share/app/café.txt', '/usr/share/app/caf\\xff.txt'],
  );
  assert.deepEqual(
    json.findings.map((f) => [f.status, f.expected, f.actual]),
    [
      ['changed', md5('backslash\n'), md5('z')],
      ['changed', md5('utf-8 name\n'), md5('y')],
      ['changed', md5('latin1 name\n'), md5('x')],
    ],
  );
});

test('byte names: --format dpkg prints the raw bytes of the path', async (t) => {
  const fx = bytesSystem(t);
  fx.remove(FF_NAME);
  const res = await runCli(['check', '--root', fx.root, '--format', 'dpkg']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(res.stdoutBytes, `missing     ${FF_NAME.toString('latin1')}\n`);
});

test('byte names: --format text escapes the non-UTF-8 byte', async (t) => {
  const fx = bytesSystem(t);
  fx.remove(FF_NAME);
  const res = await runCli(['check', '--root', fx.root, '--format', 'text']);
  assert.equal(res.code, 1, res.stderr);
  assert.ok(res.stdout.includes('/usr/share/app/caf\\xff.txt'), res.stdout);
});

// ---- damaged or incomplete database ------------------------------------------------------------

test('a bad md5sums line in one package is a warning naming file and line; the rest is still checked', async (t) => {
  const fx = fixture(t);
  const good = 'good file\n';
  fx.addPackage({
    name: 'pkga',
    files: [
      { path: '/usr/share/a/good', content: good },
      { path: '/usr/share/a/bad', content: 'bad line\n' },
    ],
    md5sums: `${md5(good)}  usr/share/a/good\nnot-a-hash  usr/share/a/bad\n`,
  });
  fx.addPackage({ name: 'pkgb', files: [{ path: '/usr/bin/b', content: 'b\n' }] });
  fx.write('/usr/bin/b', 'tampered\n');
  fx.write('/usr/share/a/good', 'tampered too\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [
    changed('pkga', '/usr/share/a/good', good, 'tampered too\n'),
    changed('pkgb', '/usr/bin/b', 'b\n', 'tampered\n'),
  ]);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: 'pkga', file: fx.infoFile('pkga', 'md5sums'), line: 2 }],
  );
  assert.ok((json.warnings[0]?.message ?? '') !== '');
});

test('md5sums: a path escaping the root is a warning, and nothing outside the root is read', async (t) => {
  const fx = fixture(t);
  const host = decoy(t);
  writeFileSync(path.join(host, 'secret'), 'host secret\n');
  fx.addPackage({
    name: 'evil',
    files: [{ path: '/usr/bin/evil', content: 'evil\n' }],
    md5sums: `${md5('evil\n')}  usr/bin/evil\n${md5('x')}  ../../../../../../..${host}/secret\n`,
  });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: 'evil', file: fx.infoFile('evil', 'md5sums'), line: 2 }],
  );
});

test('a status stanza without a Package field is a warning naming file and line; the rest is checked', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'first', files: [{ path: '/usr/bin/first', content: '1\n' }] });
  fx.addRawStanza('Status: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: who am I\n');
  fx.addPackage({ name: 'last', files: [{ path: '/usr/bin/last', content: '2\n' }] });
  fx.write('/usr/bin/last', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('last', '/usr/bin/last', '2\n', 'tampered\n')]);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: null, file: fx.statusFile, line: fx.lineOf(fx.statusFile, 'Description: who am I') - 3 }],
  );
  assert.equal(json.summary.packages, 2);
});

test('a package without md5sums is a warning; its files are still checked for existence (exit 0 when present)', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'old', files: [{ path: '/usr/bin/old', content: 'old\n' }], md5sums: false });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: 'old', file: fx.infoFile('old', 'md5sums'), line: null }],
  );

  fx.remove('/usr/bin/old');
  const gone = await checkJson(fx, []);
  assert.equal(gone.res.code, 1, gone.res.stderr);
  assert.deepEqual(cores(gone.json.findings), [missing('old', '/usr/bin/old', null)]);
});

test('an empty md5sums while the .list holds a regular file is a warning, exit 0', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'hollow', files: [{ path: '/usr/bin/hollow', content: 'h\n' }], md5sums: '' });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: 'hollow', file: fx.infoFile('hollow', 'md5sums'), line: null }],
  );
});

test('an empty md5sums for a package that ships only directories and symlinks is no warning', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'meta', dirs: ['/usr/share/meta'], symlinks: [{ path: '/usr/share/meta/link', target: '/etc' }], md5sums: '' });
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
});

test('a missing .list is a warning naming the file; md5sums entries are still hashed', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'nolist', files: [{ path: '/usr/bin/nolist', content: 'n\n' }], list: false });
  fx.write('/usr/bin/nolist', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('nolist', '/usr/bin/nolist', 'n\n', 'tampered\n')]);
  assert.deepEqual(
    json.warnings.map((w) => ({ package: w.package, file: w.file, line: w.line })),
    [{ package: 'nolist', file: fx.infoFile('nolist', 'list'), line: null }],
  );
});

test('an md5sums entry not in the package\'s .list belongs to another package now (Replaces takeover)', async (t) => {
  const fx = fixture(t);
  const NEW = 'new owner\'s version\n';
  // `old` still has the file in its md5sums with its own, different hash, but no longer in its .list.
  fx.addPackage({
    name: 'old',
    files: [{ path: '/usr/bin/old', content: 'old\n' }],
    md5sums: `${md5('old\n')}  usr/bin/old\n${md5('old\'s version\n')}  usr/bin/shared\n`,
  });
  fx.addPackage({ name: 'new', files: [{ path: '/usr/bin/shared', content: NEW }] });
  const clean = await checkJson(fx, []);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  fx.write('/usr/bin/shared', 'tampered\n');
  const { res, json } = await checkJson(fx, []);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(cores(json.findings), [changed('new', '/usr/bin/shared', NEW, 'tampered\n')]);
});
