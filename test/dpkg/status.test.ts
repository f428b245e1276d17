// Tests for the status file parser: records, relations, conffiles, and warnings for damaged stanzas.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseStatus } from '../../src/dpkg/status.js';
import type { PackageRecord } from '../../src/dpkg/types.js';

const FILE = '/var/lib/dpkg/status';
const H1 = '0123456789abcdef0123456789abcdef';
const H2 = 'fedcba9876543210fedcba9876543210';

function byName(pkgs: readonly PackageRecord[], name: string, arch?: string): PackageRecord {
  const p = pkgs.find((x) => x.name === name && (arch === undefined || x.arch === arch));
  assert.ok(p, `package ${name} parsed`);
  return p;
}

const NORMAL = `Package: adduser
Status: install ok installed
Priority: important
Architecture: all
Multi-Arch: foreign
Version: 3.134
Depends: passwd
Conffiles:
 /etc/adduser.conf ${H1}
 /etc/deluser.conf ${H2.toUpperCase()}
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands.
 .
 Depends: not-a-field

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u13
Depends: libgcc-s1
Pre-Depends: libc-bin (>= 2.36)
Provides: libc6-amd64 (= 2.36), glibc

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Version: 2.36-9+deb12u13
`;

void test('parses normal stanzas exactly', () => {
  const { packages, warnings } = parseStatus(NORMAL, FILE);
  assert.deepEqual(warnings, []);
  assert.equal(packages.length, 3);
  assert.deepEqual(byName(packages, 'adduser'), {
    name: 'adduser',
    arch: 'all',
    multiArch: 'foreign',
    version: '3.134',
    want: 'install',
    flag: 'ok',
    state: 'installed',
    depends: [[{ name: 'passwd', arch: null, op: null, version: null }]],
    preDepends: [],
    provides: [],
    conffiles: [
      { path: '/etc/adduser.conf', md5: H1, obsolete: false, removeOnUpgrade: false },
      { path: '/etc/deluser.conf', md5: H2, obsolete: false, removeOnUpgrade: false },
    ],
    line: 1,
  });
  const amd = byName(packages, 'libc6', 'amd64');
  assert.equal(amd.line, 16);
  assert.equal(amd.multiArch, 'same');
  assert.deepEqual(amd.preDepends, [[{ name: 'libc-bin', arch: null, op: '>=', version: '2.36' }]]);
  assert.deepEqual(amd.provides, ['libc6-amd64', 'glibc']);
  const i386 = byName(packages, 'libc6', 'i386');
  assert.equal(i386.line, 25);
  assert.deepEqual(i386.depends, []);
});

void test('missing Multi-Arch is no, missing Architecture is empty, field names are case-insensitive', () => {
  const { packages, warnings } = parseStatus('package: foo\nSTATUS: deinstall ok config-files\n', FILE);
  assert.deepEqual(warnings, []);
  assert.equal(packages.length, 1);
  const p = byName(packages, 'foo');
  assert.equal(p.multiArch, 'no');
  assert.equal(p.arch, '');
  assert.equal(p.version, '');
  assert.equal(p.want, 'deinstall');
  assert.equal(p.state, 'config-files');
});

void test('relations: alternatives, arch qualifiers, versions, restrictions, old < and > syntax, continuation lines', () => {
  const text = `Package: app
Status: install ok installed
Architecture: amd64
Depends: libfoo1 (>= 1.2-3) | libfoo-compat:any, python3:any (<< 3.12~),
 perl [amd64 i386] <!nocheck>, bar:amd64(=1.0) [!armel],
 old1 (< 2), old2 (> 3),baz
Pre-Depends: dpkg (>> 1.19)
`;
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(warnings, []);
  const p = byName(packages, 'app');
  assert.deepEqual(p.depends, [
    [
      { name: 'libfoo1', arch: null, op: '>=', version: '1.2-3' },
      { name: 'libfoo-compat', arch: 'any', op: null, version: null },
    ],
    [{ name: 'python3', arch: 'any', op: '<<', version: '3.12~' }],
    [{ name: 'perl', arch: null, op: null, version: null }],
    [{ name: 'bar', arch: 'amd64', op: '=', version: '1.0' }],
    [{ name: 'old1', arch: null, op: '<=', version: '2' }],
    [{ name: 'old2', arch: null, op: '>=', version: '3' }],
    [{ name: 'baz', arch: null, op: null, version: null }],
  ]);
  assert.deepEqual(p.preDepends, [[{ name: 'dpkg', arch: null, op: '>>', version: '1.19' }]]);
});

void test('a relation that cannot be parsed is warned about with its line and dropped', () => {
  const text = 'Package: app\nStatus: install ok installed\nDepends: good, bad (>= , also(bad\n';
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(byName(packages, 'app').depends, [[{ name: 'good', arch: null, op: null, version: null }]]);
  assert.equal(warnings.length, 2);
  for (const w of warnings) {
    assert.equal(w.file, FILE);
    assert.equal(w.line, 3);
    assert.equal(w.package, 'app');
    assert.match(w.message, /^Depends: cannot parse/);
  }
});

void test('Conffiles: newconffile, obsolete, remove-on-upgrade, both flags in any order, spaces in paths', () => {
  const text = `Package: foo
Status: install ok installed
Conffiles:
 /etc/foo/foo.conf ${H1}
 /etc/foo/old.conf ${H1} obsolete
 /etc/foo/gone.conf ${H1} remove-on-upgrade
 /etc/foo/both.conf ${H1} obsolete remove-on-upgrade
 /etc/foo/both2.conf ${H1} remove-on-upgrade obsolete
 /etc/foo/new.conf newconffile
 /etc/foo/with space.conf ${H1}
 /etc/foo/\xff.conf ${H2}
`;
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(byName(packages, 'foo').conffiles, [
    { path: '/etc/foo/foo.conf', md5: H1, obsolete: false, removeOnUpgrade: false },
    { path: '/etc/foo/old.conf', md5: H1, obsolete: true, removeOnUpgrade: false },
    { path: '/etc/foo/gone.conf', md5: H1, obsolete: false, removeOnUpgrade: true },
    { path: '/etc/foo/both.conf', md5: H1, obsolete: true, removeOnUpgrade: true },
    { path: '/etc/foo/both2.conf', md5: H1, obsolete: true, removeOnUpgrade: true },
    { path: '/etc/foo/new.conf', md5: null, obsolete: false, removeOnUpgrade: false },
    { path: '/etc/foo/with space.conf', md5: H1, obsolete: false, removeOnUpgrade: false },
    { path: '/etc/foo/\xff.conf', md5: H2, obsolete: false, removeOnUpgrade: false },
  ]);
});

void test('malformed Conffiles lines are warned about with their own line and skipped', () => {
  const text = `Package: foo
Architecture: amd64
Multi-Arch: same
Status: install ok installed
Conffiles:
 /etc/ok.conf ${H1}
 /etc/short.conf 0123
 /etc/nohash.conf
 relative.conf ${H1}
 /etc/../shadow ${H1}
 /etc/nul\0x ${H1}
 ${H1}
`;
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(byName(packages, 'foo').conffiles.map((c) => c.path), ['/etc/ok.conf']);
  assert.deepEqual(
    warnings.map((w) => [w.package, w.file, w.line]),
    [7, 8, 9, 10, 11, 12].map((l) => ['foo:amd64', FILE, l]),
  );
  assert.match(warnings[0]?.message ?? '', /expected '\/path md5sum/);
  assert.match(warnings[3]?.message ?? '', /'\.\.'/);
  assert.match(warnings[4]?.message ?? '', /NUL/);
});

void test('a stanza without Package is skipped with a warning naming its first line', () => {
  const text = 'Status: install ok installed\nVersion: 1\n\nPackage: ok\nStatus: install ok installed\n';
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(packages.map((p) => p.name), ['ok']);
  assert.equal(warnings.length, 1);
  assert.deepEqual([warnings[0]?.file, warnings[0]?.line, warnings[0]?.package], [FILE, 1, null]);
  assert.match(warnings[0]?.message ?? '', /no Package field/);
});

void test('a stanza without a valid three-word Status is skipped with a warning', () => {
  const text = [
    'Package: nostatus',
    '',
    'Package: twowords',
    'Status: install installed',
    '',
    'Package: badstate',
    'Status: install ok exploded',
    '',
    'Package: good',
    'Status: hold reinstreq half-configured',
  ].join('\n');
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(packages.map((p) => [p.name, p.want, p.flag, p.state]), [['good', 'hold', 'reinstreq', 'half-configured']]);
  assert.deepEqual(warnings.map((w) => [w.package, w.line]), [
    ['nostatus', 1],
    ['twowords', 4],
    ['badstate', 7],
  ]);
  assert.match(warnings[1]?.message ?? '', /expected "Status: WANT FLAG STATE".*found 'Status: install installed'/);
});

void test('a duplicate name+arch keeps the first stanza and warns', () => {
  const text = 'Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\nPackage: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2\n\nPackage: a\nStatus: install ok installed\nArchitecture: i386\nVersion: 3\n';
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(packages.map((p) => [p.arch, p.version]), [['amd64', '1'], ['i386', '3']]);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.line, 6);
  assert.match(warnings[0]?.message ?? '', /first at line 1/);
});

void test('garbage lines are warned about by line; the rest of the stanza is used', () => {
  const text = ' orphan continuation\nPackage: a\nthis line has no colon\nStatus: install ok installed\n: empty name\nVersion: 2\n';
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(packages.map((p) => [p.name, p.version, p.line]), [['a', '2', 1]]);
  assert.deepEqual(warnings.map((w) => w.line), [1, 3, 5]);
  assert.match(warnings[1]?.message ?? '', /found 'this line has no colon'/);
});

void test('CRLF line ends and whitespace-only separator lines are tolerated', () => {
  const text = 'Package: a\r\nStatus: install ok installed\r\nArchitecture: amd64\r\n \t \r\nPackage: b\r\nStatus: install ok installed\r\n';
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(packages.map((p) => [p.name, p.arch, p.line]), [['a', 'amd64', 1], ['b', '', 5]]);
});

void test('invalid package names, architectures and Multi-Arch values', () => {
  const text = [
    'Package: ../../etc/passwd',
    'Status: install ok installed',
    '',
    'Package: x',
    'Status: install ok installed',
    'Architecture: ../evil',
    '',
    'Package: y',
    'Status: install ok installed',
    'Multi-Arch: sometimes',
  ].join('\n');
  const { packages, warnings } = parseStatus(text, FILE);
  assert.deepEqual(packages.map((p) => [p.name, p.multiArch]), [['y', 'no']]);
  assert.deepEqual(warnings.map((w) => w.line), [1, 6, 10]);
});

void test('hostile input never throws: NUL bytes, huge lines, empty text, binary noise', () => {
  assert.deepEqual(parseStatus('', FILE), { packages: [], warnings: [] });
  assert.deepEqual(parseStatus('\n\n\n', FILE), { packages: [], warnings: [] });
  const huge = `Package: a\nStatus: install ok installed\nDescription: ${'x'.repeat(5_000_000)}\nDepends: ${'b, '.repeat(10_000)}c\n`;
  const r = parseStatus(huge, FILE);
  assert.equal(r.packages[0]?.depends.length, 10_001);
  const nul = parseStatus('Package: a\0b\nStatus: install ok installed\n\0\0\0\n', FILE);
  assert.equal(nul.packages.length, 0);
  assert.ok(nul.warnings.length >= 1);
  let noise = '';
  for (let i = 0; i < 100_000; i++) noise += String.fromCharCode((i * 7919) % 256);
  assert.doesNotThrow(() => parseStatus(noise, FILE));
});
