// Tests for the .deb layout rules, the control file, the conffiles list and apt's file-name hint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DebLayout, debianBinaryProblem, debNameHint, parseConffiles, parseDebControl } from '../../src/trust/debformat.js';

test('layout: debian-binary, control.tar.*, data.tar.*, with _ members ignored, in that order only', () => {
  const l = new DebLayout();
  assert.equal(l.next('debian-binary'), 'debian-binary');
  assert.equal(l.next('_gpgorigin'), 'ignored');
  assert.equal(l.next('control.tar.zst'), 'control');
  assert.equal(l.next('data.tar'), 'data');
  assert.equal(l.next('_extra'), 'ignored');
  l.complete();
  assert.equal(l.controlCompression, 'zstd');
  assert.equal(l.dataCompression, 'none');
  const bad: [string[], RegExp][] = [
    [['control.tar.xz'], /first member is 'control\.tar\.xz'/],
    [['debian-binary', 'data.tar.xz'], /second member/],
    [['debian-binary', 'control.tar.xz', 'data.tar.bz2'], /third member/],
    [['debian-binary', 'control.tar.lz4'], /second member/],
    [['debian-binary', 'control.tar.xz', 'data.tar.xz', 'evil'], /unexpected member 'evil'/],
  ];
  for (const [names, why] of bad) {
    const x = new DebLayout();
    assert.throws(() => names.forEach((n) => x.next(n)), why);
  }
  const partial = new DebLayout();
  partial.next('debian-binary');
  partial.next('control.tar.gz');
  assert.throws(() => partial.complete(), /no data\.tar member/);
});

test('debian-binary must say 2.x', () => {
  assert.equal(debianBinaryProblem(Buffer.from('2.0\n')), null);
  assert.match(debianBinaryProblem(Buffer.from('3.0\n')) ?? '', /not format 2\.x/);
  assert.match(debianBinaryProblem(Buffer.from('2.0')) ?? '', /not format 2\.x/);
});

test('control: Package, Version and Architecture are required; one paragraph only', () => {
  assert.deepEqual(parseDebControl('Package: a\nVersion: 1:2-3\nArchitecture: all\nDescription: x\n y\n'), { ok: true, control: { package: 'a', version: '1:2-3', architecture: 'all' } });
  const r = parseDebControl('Package: a\nVersion: 1\n');
  assert.ok(!r.ok && /no architecture/.test(r.message));
  const two = parseDebControl('Package: a\nVersion: 1\nArchitecture: all\n\nPackage: b\n');
  assert.ok(!two.ok && /2 paragraphs/.test(two.message));
  const broken = parseDebControl('Package: a\nbroken\n');
  assert.ok(!broken.ok && /control line 2/.test(broken.message));
});

test('conffiles: absolute paths, the remove-on-upgrade flag, and bad lines reported', () => {
  const r = parseConffiles('/etc/a.conf\nremove-on-upgrade /etc/old.conf\n/etc//b/./c.conf\n\nrelative.conf\nobsolete /etc/x\n/etc/../shadow\n');
  assert.deepEqual(r.entries, [
    { path: '/etc/a.conf', removeOnUpgrade: false },
    { path: '/etc/old.conf', removeOnUpgrade: true },
    { path: '/etc/b/c.conf', removeOnUpgrade: false },
  ]);
  assert.equal(r.problems.length, 3);
  assert.match(r.problems[2] ?? '', /conffiles line 7: .*'\.\.'/);
});

test("apt's .deb names: name_version_arch.deb with %3a for the epoch colon; other names give no hint", () => {
  assert.deepEqual(debNameHint('automake_1%3a1.16.5-1.3_all.deb'), { package: 'automake', version: '1:1.16.5-1.3', architecture: 'all' });
  assert.deepEqual(debNameHint('libc6_2.36-9+deb12u10_amd64.deb'), { package: 'libc6', version: '2.36-9+deb12u10', architecture: 'amd64' });
  for (const n of ['latest-build.deb', 'a_b.deb', 'A_1_all.deb', 'x_1_amd64.deb.part', 'x_1_2_amd64.deb']) assert.equal(debNameHint(n), null, n);
});
