// Snapshots of dpkg's record of packages: what each one holds, and every rewrite compareSnapshots must see.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { advanceBaseline, compareSnapshots, databaseFindings, MAX_ENTRIES, snapshotFromJson, snapshotPackages, snapshotToJson, type DbSnapshot } from '../../src/dpkgrun/dbsnapshot.js';
import { loadDatabase } from '../../src/dpkg/loader.js';
import type { Database } from '../../src/dpkg/types.js';
import { fixture, type FixtureRoot } from '../helpers/fixture.js';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

function build(fx: FixtureRoot): void {
  fx.addPackage({
    name: 'app',
    files: [{ path: '/usr/bin/app', content: 'app binary' }],
    conffiles: [
      { path: '/etc/app/app.conf', content: 'key=value\n' },
      { path: '/etc/app/old.conf', content: 'x', flags: ['obsolete'] },
    ],
  });
  fx.setFormat1();
  fx.addPackage({ name: 'libfoo1', multiArch: 'same', files: [{ path: '/usr/lib/x86_64-linux-gnu/libfoo.so.1', content: 'lib' }] });
  fx.addPackage({ name: 'nomd5', md5sums: false, list: false, files: [{ path: '/usr/share/nomd5', content: 'n' }] });
}

async function snap(fx: FixtureRoot): Promise<{ db: Database; s: DbSnapshot }> {
  const db = await loadDatabase({ root: fx.root });
  return { db, s: await snapshotPackages(db, db.packages) };
}

test('a snapshot records each package’s md5sums, .list and Conffiles, with host paths', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { s } = await snap(fx);
  assert.equal(s.statusFile, fx.statusFile);
  assert.equal(s.statusError, null);
  assert.deepEqual([...s.packages.keys()], ['app', 'libfoo1:amd64', 'nomd5']);
  const app = s.packages.get('app');
  assert.ok(app);
  assert.deepEqual(app.md5sums, { file: fx.infoFile('app', 'md5sums'), sha256: sha(fs.readFileSync(fx.infoFile('app', 'md5sums'))), error: null });
  assert.deepEqual(app.list, { file: fx.infoFile('app', 'list'), sha256: sha(fs.readFileSync(fx.infoFile('app', 'list'))), error: null });
  assert.equal(app.record, 'install ok installed 1.0-1');
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  assert.deepEqual([...app.conffiles], [
    ['/etc/app/app.conf', md5('key=value\n')],
    ['/etc/app/old.conf', `${md5('x')} obsolete`],
  ]);
  // Multi-Arch: same under info/format 1 reads NAME:ARCH.* as the loader does.
  assert.equal(s.packages.get('libfoo1:amd64')?.md5sums.file, fx.infoFile('libfoo1:amd64', 'md5sums'));
  // Missing files are null, at the path dpkg would use.
  assert.deepEqual(s.packages.get('nomd5')?.md5sums, { file: fx.infoFile('nomd5', 'md5sums'), sha256: null, error: null });
  assert.deepEqual(s.packages.get('nomd5')?.list, { file: fx.infoFile('nomd5', 'list'), sha256: null, error: null });
});

test('nothing changed: no differences; the same database twice is stable', async (t) => {
  const fx = fixture(t);
  build(fx);
  const a = await snap(fx);
  const b = await snap(fx);
  assert.deepEqual(compareSnapshots(a.s, b.s), []);
});

test('every rewrite of the record is a change naming the package, the file and what', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);

  // An attacker "fixes" the md5sums after replacing a binary; rewrites the .list to drop a path;
  // gives nomd5 an md5sums file; changes a conffile hash in status.
  fs.appendFileSync(fx.infoFile('app', 'md5sums'), '0123456789abcdef0123456789abcdef  usr/bin/evil\n');
  fs.writeFileSync(fx.infoFile('libfoo1:amd64', 'list'), '/.\n');
  fs.writeFileSync(fx.infoFile('nomd5', 'md5sums'), '');
  const status = fs.readFileSync(fx.statusFile, 'latin1');
  const md5 = createHash('md5').update('key=value\n').digest('hex');
  fs.writeFileSync(fx.statusFile, status.replace(md5, 'ffffffffffffffffffffffffffffffff'), 'latin1');

  // The same (old) Database object: status is read afresh by the snapshot.
  const after = await snapshotPackages(db, db.packages);
  const changes = compareSnapshots(before, after);
  assert.deepEqual(
    changes.map((c) => [c.package, c.file, c.what]),
    [
      ['app', fx.infoFile('app', 'md5sums'), 'md5sums'],
      ['app', fx.statusFile, 'conffiles'],
      ['libfoo1:amd64', fx.infoFile('libfoo1:amd64', 'list'), 'list'],
      ['nomd5', fx.infoFile('nomd5', 'md5sums'), 'md5sums'],
    ],
  );
  assert.match(changes[0]?.detail ?? '', /content changed \(sha256 [0-9a-f]{12}… -> [0-9a-f]{12}…\)/);
  assert.equal(changes[1]?.detail, `/etc/app/app.conf: ${md5} -> ffffffffffffffffffffffffffffffff`);
  assert.equal(changes[3]?.detail, 'it appeared');
});

test('removed files, a removed stanza, a changed version and unreadable files are changes too', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);
  fs.rmSync(fx.infoFile('app', 'list'));
  const status = fs.readFileSync(fx.statusFile, 'latin1');
  // Drop libfoo1's stanza; change nomd5's version.
  const stanzas = status.split('\n\n').filter((st) => !st.startsWith('Package: libfoo1\n'));
  fs.writeFileSync(fx.statusFile, stanzas.join('\n\n').replace(/(Package: nomd5\n(?:.*\n)*?Version: )1\.0-1/, '$19.9-9'), 'latin1');
  const after = await snapshotPackages(db, db.packages);
  const changes = compareSnapshots(before, after);
  assert.deepEqual(
    changes.map((c) => [c.package, c.what, c.detail]),
    [
      ['app', 'list', 'it was removed'],
      ['libfoo1:amd64', 'package', 'its stanza is gone from the status file (was install ok installed 1.0-1)'],
      ['nomd5', 'package', 'install ok installed 1.0-1 -> install ok installed 9.9-9'],
    ],
  );

  // A file that exists but cannot be read (a directory in its place reads as EISDIR, even as root).
  fs.rmSync(fx.infoFile('app', 'md5sums'));
  fs.mkdirSync(fx.infoFile('app', 'md5sums'));
  const unreadable = await snapshotPackages(db, db.packages);
  assert.match(unreadable.packages.get('app')?.md5sums.error ?? '', /^EISDIR/);
  const c = compareSnapshots(before, unreadable).find((x) => x.what === 'md5sums');
  assert.match(c?.detail ?? '', /^it can no longer be read \(EISDIR/);
});

test('an unreadable status file is reported once per package, then compared against nothing', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);
  fs.rmSync(fx.statusFile);
  const after = await snapshotPackages(db, db.packages);
  assert.match(after.statusError ?? '', /^ENOENT/);
  const changes = compareSnapshots(before, after);
  assert.deepEqual(changes.map((c) => [c.package, c.what, c.file]), [
    ['app', 'conffiles', fx.statusFile],
    ['libfoo1:amd64', 'conffiles', fx.statusFile],
    ['nomd5', 'conffiles', fx.statusFile],
  ]);
  assert.match(changes[0]?.detail ?? '', /status file can no longer be read \(ENOENT/);
  // Both unreadable: nothing more to say.
  assert.deepEqual(compareSnapshots(after, after), []);
});

test('packages in only one snapshot are not compared', async (t) => {
  const fx = fixture(t);
  build(fx);
  const db = await loadDatabase({ root: fx.root });
  const one = await snapshotPackages(db, db.packages.slice(0, 1));
  const all = await snapshotPackages(db, db.packages);
  assert.deepEqual(compareSnapshots(one, all), []);
  assert.deepEqual(compareSnapshots(all, one), []);
});

/** Sets `pkg`'s Version (and Status, when given) in the status file, as dpkg writes them. */
function setRecord(fx: FixtureRoot, pkg: string, version: string, status?: string): void {
  const stanzas = fs.readFileSync(fx.statusFile, 'latin1').split('\n\n');
  const i = stanzas.findIndex((st) => st.startsWith(`Package: ${pkg}\n`));
  let st = (stanzas[i] ?? '').replace(/^Version: .*$/m, `Version: ${version}`);
  if (status !== undefined) st = st.replace(/^Status: .*$/m, `Status: ${status}`);
  stanzas[i] = st;
  fs.writeFileSync(fx.statusFile, stanzas.join('\n\n'), 'latin1');
}

test('the baseline takes new md5sums only with a new version or state: a rewrite under dpkg at the same version stays a change', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);
  // Someone holding dpkg's lock rewrites app's md5sums and libfoo1's: app's version stays, libfoo1 is upgraded.
  fs.writeFileSync(fx.infoFile('app', 'md5sums'), `${'0'.repeat(32)}  usr/bin/app\n`);
  fs.writeFileSync(fx.infoFile('libfoo1:amd64', 'md5sums'), `${'1'.repeat(32)}  usr/lib/x86_64-linux-gnu/libfoo.so.1\n`);
  setRecord(fx, 'libfoo1', '2.0-1');
  const now = await snapshotPackages(db, db.packages);
  const next = advanceBaseline(before, now, { acceptUpgrades: true });
  assert.deepEqual(
    compareSnapshots(next, now).map((c) => [c.package, c.what]),
    [['app', 'md5sums']],
    'app is judged against its old record; libfoo1 is taken as upgraded',
  );
  // The same after a restart: the kept baseline is not overwritten by the forged file.
  const again = advanceBaseline(next, await snapshotPackages(db, db.packages), { acceptUpgrades: true });
  assert.deepEqual(compareSnapshots(again, now).map((c) => [c.package, c.what]), [['app', 'md5sums']]);
});

test('want and flag changes (apt-mark hold) are taken; a state change is an upgrade; a reload takes none', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);
  setRecord(fx, 'app', '1.0-1', 'hold ok installed');
  fs.writeFileSync(fx.infoFile('app', 'md5sums'), `${'0'.repeat(32)}  usr/bin/app\n`);
  setRecord(fx, 'nomd5', '1.0-1', 'install ok half-configured');
  fs.writeFileSync(fx.infoFile('nomd5', 'md5sums'), `${'2'.repeat(32)}  usr/share/nomd5\n`);
  const now = await snapshotPackages(db, db.packages);
  const next = advanceBaseline(before, now, { acceptUpgrades: true });
  assert.equal(next.packages.get('app')?.record, 'hold ok installed 1.0-1');
  assert.deepEqual(compareSnapshots(next, now).map((c) => [c.package, c.what]), [['app', 'md5sums']]);
  // On a reload nothing is taken, not even a new version: that change was not dpkg's end.
  const reloaded = advanceBaseline(before, now, { acceptUpgrades: false });
  assert.deepEqual(
    compareSnapshots(reloaded, now).map((c) => [c.package, c.what]),
    [
      ['app', 'md5sums'],
      ['nomd5', 'md5sums'],
      ['nomd5', 'package'],
    ],
  );
});

test('Conffiles at the same version: flags and entries follow dpkg, a new hash does not', async (t) => {
  const fx = fixture(t);
  build(fx);
  const { db, s: before } = await snap(fx);
  const status = fs.readFileSync(fx.statusFile, 'latin1');
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  // app.conf gets another hash; old.conf is no longer obsolete; a new entry appears.
  const edited = status
    .replace(`/etc/app/app.conf ${md5('key=value\n')}`, `/etc/app/app.conf ${md5('evil\n')}`)
    .replace(`/etc/app/old.conf ${md5('x')} obsolete`, `/etc/app/old.conf ${md5('x')}\n /etc/app/new.conf newconffile`);
  fs.writeFileSync(fx.statusFile, edited, 'latin1');
  const now = await snapshotPackages(db, db.packages);
  const next = advanceBaseline(before, now, { acceptUpgrades: true });
  assert.deepEqual([...(next.packages.get('app')?.conffiles ?? [])], [
    ['/etc/app/app.conf', md5('key=value\n')],
    ['/etc/app/old.conf', md5('x')],
    ['/etc/app/new.conf', 'newconffile'],
  ]);
  const changes = compareSnapshots(next, now);
  assert.deepEqual(changes.map((c) => [c.package, c.what]), [['app', 'conffiles']]);
  assert.match(changes[0]?.detail ?? '', /app\.conf/);
  // And through JSON (the state) the kept record is the same.
  assert.deepEqual(compareSnapshots(snapshotFromJson(snapshotToJson(next)) ?? next, now), changes);
});

test('a rewritten md5sums names each entry it changed, added or removed, with the md5 before and after; a finding lists at most MAX_ENTRIES', async (t) => {
  const fx = fixture(t);
  const files = Array.from({ length: MAX_ENTRIES + 10 }, (_, i) => ({ path: `/usr/share/big/f${String(i).padStart(3, '0')}`, content: `f${i}\n` }));
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/app', content: 'app binary' }, { path: '/usr/bin/gone', content: 'gone' }] });
  fx.addPackage({ name: 'big', files });
  const { db, s: before } = await snap(fx);
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const forged = md5('backdoor');
  // app: /usr/bin/app's line rewritten, /usr/bin/gone's dropped, /usr/bin/evil's added.
  fs.writeFileSync(fx.infoFile('app', 'md5sums'), `${forged}  usr/bin/app\n${forged}  usr/bin/evil\n`);
  // big: every line rewritten.
  fs.writeFileSync(fx.infoFile('big', 'md5sums'), files.map((f) => `${forged}  ${f.path.slice(1)}\n`).join(''));
  const after = await snapshotPackages(db, db.packages);
  const changes = compareSnapshots(before, after);
  assert.deepEqual(changes.find((c) => c.package === 'app')?.entries, [
    { path: '/usr/bin/app', before: md5('app binary'), after: forged },
    { path: '/usr/bin/evil', before: null, after: forged },
    { path: '/usr/bin/gone', before: md5('gone'), after: null },
  ]);
  const findings = databaseFindings(fx.root, changes);
  const app = findings.find((f) => f.package === 'app');
  assert.deepEqual(app?.entries?.[0], { path: '/usr/bin/app', expected: md5('app binary'), actual: forged });
  assert.equal(app?.entriesOmitted, 0);
  assert.match(app?.detail ?? '', /3 entries changed: \/usr\/bin\/app, \/usr\/bin\/evil, \/usr\/bin\/gone$/);
  const big = findings.find((f) => f.package === 'big');
  assert.equal(big?.entries?.length, MAX_ENTRIES);
  assert.equal(big?.entriesOmitted, 10);
  assert.match(big?.detail ?? '', /60 entries changed: \/usr\/share\/big\/f000, \/usr\/share\/big\/f001, \/usr\/share\/big\/f002, and 57 more$/);

  // A baseline from the state file (an earlier run of the agent) does not hold the entries: said so.
  const restored = advanceBaseline(snapshotFromJson(snapshotToJson(before)), after, { acceptUpgrades: false });
  const unknown = databaseFindings(fx.root, compareSnapshots(restored, after));
  assert.equal(unknown.length, 2);
  assert.equal(unknown[0]?.entries, undefined);
  assert.match(unknown[0]?.detail ?? '', /which entries changed is not known/);
  // Once the restarted agent has read the accepted content itself, it names them again.
  const seen = advanceBaseline(snapshotFromJson(snapshotToJson(before)), before, { acceptUpgrades: false });
  assert.equal(compareSnapshots(seen, after).find((c) => c.package === 'app')?.entries?.length, 3);
});

test('a baseline saved before info files and diversions were followed loads, and takes them as they are', async (t) => {
  const fx = fixture(t);
  build(fx);
  fs.writeFileSync(`${fx.admindir}/info/app.postinst`, '#!/bin/sh\n');
  const { s } = await snap(fx);
  // The state of an older pkgwatch: no `info` per package, no `admin`.
  const json = snapshotToJson(s) as { packages: Record<string, unknown>[]; admin?: unknown };
  delete json.admin;
  for (const p of json.packages) delete p['info'];
  const old = snapshotFromJson(json);
  assert.ok(old, 'an older baseline still loads');
  const base = advanceBaseline(old, s, { acceptUpgrades: false });
  assert.deepEqual(compareSnapshots(base, s), []);
  // From then on a rewrite is a change.
  fs.writeFileSync(`${fx.admindir}/info/app.postinst`, '#!/bin/sh\nevil\n');
  fs.writeFileSync(`${fx.admindir}/diversions`, '/usr/bin/app\n/usr/bin/app.real\n:\n');
  const { s: now } = await snap(fx);
  assert.deepEqual(
    compareSnapshots(base, now).map((c) => [c.package, c.what, c.detail.replace(/sha256 .*/, 'sha256')]),
    [
      ['dpkg', 'diversions', 'diversion added: /usr/bin/app -> /usr/bin/app.real by local'],
      ['app', 'info', 'its content changed (sha256'],
    ],
  );
  // A round trip through JSON keeps them.
  assert.deepEqual(compareSnapshots(snapshotFromJson(snapshotToJson(base)) ?? base, now).length, 2);
});
