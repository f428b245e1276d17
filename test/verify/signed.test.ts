// Tests for holding dpkg's record of a package to its signed .deb: which differences are findings, and what is then checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Conffile, Database, PackageFiles, PackageRecord } from '../../src/dpkg/types.js';
import type { SignedRecord, TrustLookup } from '../../src/trust/record.js';
import { reconcile } from '../../src/verify/signed.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const DB: Database = { root: '/srv/root', admindir: '/srv/root/var/lib/dpkg', nativeArch: 'amd64', packages: [], diversions: [], pathFilters: [], warnings: [] };

function pkg(conffiles: Conffile[] = []): PackageRecord {
  return { name: 'app', arch: 'amd64', multiArch: 'no', version: '1.0', want: 'install', flag: 'ok', state: 'installed', depends: [], preDepends: [], provides: [], conffiles, line: 1 };
}
const conf = (path: string, md5: string | null, flags: Partial<Conffile> = {}): Conffile => ({ path, md5, obsolete: false, removeOnUpgrade: false, ...flags });

function files(sums: [string, string][] | null, error: string | null = null): PackageFiles {
  return {
    md5sums: sums === null ? null : new Map(sums),
    md5sumsFile: '/srv/root/var/lib/dpkg/info/app.md5sums',
    md5sumsError: error,
    list: ['/usr/bin/app'],
    listFile: '/srv/root/var/lib/dpkg/info/app.list',
    listError: null,
    warnings: [],
  };
}

function found(sums: [string, string][] | null, conffiles: SignedRecord['conffiles'] = []): TrustLookup {
  return {
    found: true,
    source: '/var/cache/apt/archives/app_1.0_amd64.deb',
    record: { key: { name: 'app', version: '1.0', arch: 'amd64' }, debSha256: 'f'.repeat(64), debSize: 1, md5sums: sums === null ? null : new Map(sums), conffiles, release: '/var/lib/apt/lists/x_InRelease', signer: 'F'.repeat(40) },
  };
}

const SUMS = '/var/lib/dpkg/info/app.md5sums';
const STATUS = '/var/lib/dpkg/status';

test('the database agrees: signed, no finding, files checked against the signed md5sums', () => {
  const r = reconcile(DB, pkg([conf('/etc/app.conf', C)]), files([['/usr/bin/app', A]]), found([['/usr/bin/app', A]], [{ path: '/etc/app.conf', md5: C, removeOnUpgrade: false }]));
  assert.deepEqual(r.findings, []);
  assert.equal(r.entry.state, 'signed');
  assert.equal(r.entry.source, '/var/cache/apt/archives/app_1.0_amd64.deb');
  assert.deepEqual([...(r.files.md5sums ?? [])], [['/usr/bin/app', A]]);
});

test('md5sums lines that differ, are missing or were added are database-changed on the md5sums file; files use the signed hashes', () => {
  const r = reconcile(
    DB,
    pkg(),
    files([
      ['/usr/bin/app', B],
      ['/usr/bin/extra', C],
    ]),
    found([
      ['/usr/bin/app', A],
      ['/usr/lib/app.so', A],
    ]),
  );
  assert.equal(r.entry.state, 'forged');
  assert.match(r.entry.detail ?? '', /3 md5sums lines/);
  assert.deepEqual(
    r.findings.map((f) => [f.path, f.status, f.expected, f.actual]),
    [
      [SUMS, 'database-changed', A, B],
      [SUMS, 'database-changed', A, null],
      [SUMS, 'database-changed', null, C],
    ],
  );
  assert.match(r.findings[0]?.detail ?? '', /the line for \/usr\/bin\/app differs from the signed \.deb \(\/var\/cache\/apt\/archives\/app_1\.0_amd64\.deb\)/);
  assert.deepEqual([...(r.files.md5sums ?? [])], [
    ['/usr/bin/app', A],
    ['/usr/lib/app.so', A],
  ]);
});

test('a database without md5sums against a .deb with them is forged; an unreadable md5sums file is left to its own finding', () => {
  assert.equal(reconcile(DB, pkg(), files(null), found([['/usr/bin/app', A]])).entry.state, 'forged');
  const unreadable = reconcile(DB, pkg(), files(null, 'EACCES: permission denied'), found([['/usr/bin/app', A]]));
  assert.deepEqual(unreadable.findings, []);
  assert.deepEqual([...(unreadable.files.md5sums ?? [])], [['/usr/bin/app', A]]);
});

test('Conffiles: a different hash, a missing entry, an undeclared entry are findings on status; newconffile, obsolete and remove-on-upgrade are not compared', () => {
  const r = reconcile(
    DB,
    pkg([conf('/etc/a', B), conf('/etc/new', null), conf('/etc/old', A, { obsolete: true }), conf('/etc/gone', A, { removeOnUpgrade: true }), conf('/etc/sneaky', C)]),
    files([]),
    found(
      [],
      [
        { path: '/etc/a', md5: A, removeOnUpgrade: false },
        { path: '/etc/new', md5: A, removeOnUpgrade: false },
        { path: '/etc/missing', md5: C, removeOnUpgrade: false },
        { path: '/etc/gone', md5: null, removeOnUpgrade: true },
      ],
    ),
  );
  assert.deepEqual(
    r.findings.map((f) => [f.path, f.expected, f.actual]),
    [
      [STATUS, A, B],
      [STATUS, C, null],
      [STATUS, null, C],
    ],
  );
  assert.match(r.entry.detail ?? '', /3 Conffiles entries/);
  // The conffiles are then checked against the signed hashes, including the one dpkg had not recorded yet.
  assert.deepEqual(
    r.pkg.conffiles.map((c) => [c.path, c.md5]),
    [
      ['/etc/a', A],
      ['/etc/new', A],
      ['/etc/old', A],
      ['/etc/gone', A],
      ['/etc/sneaky', C],
      ['/etc/missing', C],
    ],
  );
});

test('unverified: the package and its files pass through untouched, with the reason', () => {
  const lookup: TrustLookup = { found: false, reason: 'deb-not-available', detail: 'no .deb', source: null };
  const p = pkg();
  const f = files([['/usr/bin/app', B]]);
  const r = reconcile(DB, p, f, lookup);
  assert.equal(r.pkg, p);
  assert.equal(r.files, f);
  assert.deepEqual(r.entry, { package: 'app', version: '1.0', state: 'unverified', source: null, reason: 'deb-not-available', detail: 'no .deb' });
});
