// The pure planner: which paths are checked where, against which hash; and how outcomes become findings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Database, PackageFiles, PackageRecord } from '../../src/dpkg/types.js';
import { collectFindings, planChecks } from '../../src/verify/plan.js';

const H1 = '11111111111111111111111111111111';
const H2 = '22222222222222222222222222222222';
const H3 = '33333333333333333333333333333333';

function pkg(name: string, extra: Partial<PackageRecord> = {}): PackageRecord {
  return {
    name, arch: 'amd64', multiArch: 'no', version: '1', want: 'install', flag: 'ok', state: 'installed',
    depends: [], preDepends: [], provides: [], conffiles: [], line: 1, ...extra,
  };
}

function files(list: string[] | null, sums: Record<string, string> | null): PackageFiles {
  return {
    list,
    listFile: '/var/lib/dpkg/info/x.list',
    md5sums: sums === null ? null : new Map(Object.entries(sums)),
    md5sumsFile: '/var/lib/dpkg/info/x.md5sums',
    md5sumsError: null,
    listError: null,
    warnings: [],
  };
}

function db(extra: Partial<Database> = {}): Database {
  return { root: '/', admindir: '/var/lib/dpkg', nativeArch: 'amd64', packages: [], diversions: [], pathFilters: [], warnings: [], ...extra };
}

test('every .list path is checked; md5sums entries only when listed; conffiles flagged and first', () => {
  const p = pkg('app', {
    conffiles: [
      { path: '/etc/app.conf', md5: H3, obsolete: false, removeOnUpgrade: false },
      { path: '/etc/old.conf', md5: H3, obsolete: true, removeOnUpgrade: false },
      { path: '/etc/gone.conf', md5: H3, obsolete: false, removeOnUpgrade: true },
      { path: '/etc/new.conf', md5: null, obsolete: false, removeOnUpgrade: false },
    ],
  });
  const plan = planChecks(db(), [{ pkg: p, files: files(['/', '/usr', '/usr/bin/app', '/etc/app.conf'], { '/usr/bin/app': H1, '/usr/bin/taken': H2 }) }], { conffiles: true });
  assert.deepEqual(
    plan.items.map((i) => [i.listed, i.md5, i.conffile]),
    [
      ['/etc/app.conf', H3, true],
      ['/etc/new.conf', null, true],
      ['/', null, false],
      ['/usr', null, false],
      ['/usr/bin/app', H1, false],
    ],
  );
  const noConf = planChecks(db(), [{ pkg: p, files: files(['/usr/bin/app', '/etc/app.conf'], { '/usr/bin/app': H1 }) }], { conffiles: false });
  assert.deepEqual(noConf.items.map((i) => i.listed), ['/usr/bin/app']);
});

test("another package's diversion moves the check to the divert-to path; the diverter's own does not", () => {
  const d = db({ diversions: [{ from: '/usr/bin/tool', to: '/usr/bin/tool.real', by: 'wrapper' }] });
  const plan = planChecks(
    d,
    [
      { pkg: pkg('tool'), files: files(['/usr/bin/tool'], { '/usr/bin/tool': H1 }) },
      { pkg: pkg('wrapper'), files: files(['/usr/bin/tool'], { '/usr/bin/tool': H2 }) },
    ],
    { conffiles: true },
  );
  assert.deepEqual(plan.items.map((i) => [i.pkg, i.path, i.md5]), [['tool', '/usr/bin/tool.real', H1], ['wrapper', '/usr/bin/tool', H2]]);
  const { findings } = collectFindings(plan, new Map([[0, { i: 0, status: 'changed', actual: H3, detail: null }]]), new Set());
  assert.deepEqual(findings, [
    { package: 'tool', path: '/usr/bin/tool.real', status: 'changed', conffile: false, expected: H1, actual: H3, detail: 'diverted from /usr/bin/tool by wrapper' },
  ]);
});

test('absent path-excluded files are not findings; present and changed ones are', () => {
  const d = db({ pathFilters: [{ kind: 'exclude', glob: '/usr/share/doc/*', file: 'cfg', line: 1 }, { kind: 'include', glob: '/usr/share/doc/*/copyright', file: 'cfg', line: 2 }] });
  const plan = planChecks(d, [{ pkg: pkg('a'), files: files(['/usr/share/doc/a/README', '/usr/share/doc/a/copyright'], { '/usr/share/doc/a/README': H1, '/usr/share/doc/a/copyright': H2 }) }], { conffiles: true });
  assert.deepEqual(plan.items.map((i) => i.excluded), [true, false]);
  const missing = collectFindings(plan, new Map([[0, { i: 0, status: 'missing', actual: null, detail: null }], [1, { i: 1, status: 'missing', actual: null, detail: null }]]), new Set());
  assert.deepEqual(missing.findings.map((f) => f.path), ['/usr/share/doc/a/copyright']);
  const changed = collectFindings(plan, new Map([[0, { i: 0, status: 'changed', actual: H3, detail: null }]]), new Set());
  assert.deepEqual(changed.findings.map((f) => f.status), ['changed']);
});

test('no md5sums file and an empty md5sums with regular files are warnings; no .list defers to owners', () => {
  const plan = planChecks(
    db(),
    [
      { pkg: pkg('nosums'), files: files(['/usr/bin/x'], null) },
      { pkg: pkg('empty'), files: files(['/usr/bin/y', '/usr'], {}) },
      { pkg: pkg('nolist'), files: files(null, { '/usr/bin/x': H1, '/usr/bin/z': H2 }) },
    ],
    { conffiles: true },
  );
  assert.deepEqual(plan.warnings.map((w) => [w.package, /no md5sums file|no \.list file/.exec(w.message)?.[0]]), [['nosums', 'no md5sums file'], ['nolist', 'no .list file']]);
  // nolist's /usr/bin/x is claimed by nosums' .list: only /usr/bin/z is hashed for nolist.
  assert.deepEqual(plan.items.filter((i) => i.pkg === 'nolist').map((i) => i.path), ['/usr/bin/z']);
  const yIndex = plan.items.findIndex((i) => i.listed === '/usr/bin/y');
  const { warnings } = collectFindings(plan, new Map(), new Set([yIndex]));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.package, 'empty');
  assert.match(warnings[0]?.message ?? '', /empty md5sums file while the package's \.list holds 1 regular file/);
});

test('findings are sorted by package, then path bytes; Multi-Arch: same packages are name:arch', () => {
  const plan = planChecks(
    db(),
    [
      { pkg: pkg('zz'), files: files(['/b', '/a'], {}) },
      { pkg: pkg('libx', { multiArch: 'same', arch: 'i386' }), files: files(['/\xff', '/c'], {}) },
    ],
    { conffiles: true },
  );
  const problems = new Map(plan.items.map((_, i) => [i, { i, status: 'missing' as const, actual: null, detail: null }]));
  const { findings } = collectFindings(plan, problems, new Set());
  assert.deepEqual(findings.map((f) => `${f.package} ${f.path}`), ['libx:i386 /c', 'libx:i386 /\xff', 'zz /a', 'zz /b']);
});

test('an unreadable md5sums or .list is an unreadable finding on the database file, not a quiet warning', () => {
  const unreadable: PackageFiles = { ...files(null, null), md5sumsError: 'EACCES: permission denied', listError: 'EACCES: permission denied' };
  const plan = planChecks(db({ root: '/srv/root' }), [{ pkg: pkg('app'), files: { ...unreadable, md5sumsFile: '/srv/root/var/lib/dpkg/info/app.md5sums', listFile: '/elsewhere/app.list' } }], { conffiles: true });
  assert.deepEqual(plan.warnings, []);
  const { findings } = collectFindings(plan, new Map(), new Set());
  assert.deepEqual(
    findings.map((f) => [f.package, f.path, f.status, f.detail]),
    [
      ['app', '/elsewhere/app.list', 'unreadable', "EACCES: permission denied: dpkg's record of the package cannot be read; its md5sums entries are still hashed"],
      ['app', '/var/lib/dpkg/info/app.md5sums', 'unreadable', "EACCES: permission denied: dpkg's record of the package cannot be read; its files are checked for existence only"],
    ],
  );
});
