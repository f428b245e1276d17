// Tests for the database loader on admindirs built in temp dirs, and on this machine's real database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PkgwatchError } from '../../src/errors.js';
import { loadAllPackageFiles, loadDatabase, loadPackageFiles, packageId } from '../../src/dpkg/loader.js';
import type { PackageRecord } from '../../src/dpkg/types.js';

const H1 = '0123456789abcdef0123456789abcdef';
const H2 = 'fedcba9876543210fedcba9876543210';

function stanza(name: string, arch: string, extra = '', status = 'install ok installed'): string {
  return `Package: ${name}\nStatus: ${status}\nArchitecture: ${arch}\nVersion: 1.0\n${extra}`;
}

/** Builds a root with a small dpkg database; returns the root and a cleanup function. */
function makeRoot(opts: { status: string; format?: string; arch?: string }): { root: string; admin: string; cleanup: () => void } {
  const root = mkdtempSync(`${os.tmpdir()}/pkgwatch-`);
  const admin = path.join(root, 'var/lib/dpkg');
  mkdirSync(path.join(admin, 'info'), { recursive: true });
  writeFileSync(path.join(admin, 'status'), Buffer.from(opts.status, 'latin1'));
  if (opts.format !== undefined) writeFileSync(path.join(admin, 'info/format'), opts.format);
  if (opts.arch !== undefined) writeFileSync(path.join(admin, 'arch'), opts.arch);
  return { root, admin, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function find(pkgs: readonly PackageRecord[], id: string): PackageRecord {
  const p = pkgs.find((x) => packageId(x) === id);
  assert.ok(p, `package ${id} loaded`);
  return p;
}

void test('loads status, diversions, dpkg.cfg filters in dpkg order, and the native arch from the dpkg package', async () => {
  const status = [
    stanza('dpkg', 'arm64', 'Multi-Arch: foreign\n'),
    stanza('libfoo', 'arm64', 'Multi-Arch: same\n'),
    stanza('libfoo', 'armhf', 'Multi-Arch: same\n'),
    'Package: broken\nVersion: 1\n',
  ].join('\n');
  const { root, admin, cleanup } = makeRoot({ status, format: '1\n', arch: 'amd64\n' });
  try {
    writeFileSync(path.join(admin, 'diversions'), '/usr/bin/a\n/usr/bin/a.real\nlibfoo\n/etc/b\n/etc/b.orig\n:\n');
    mkdirSync(path.join(root, 'etc/dpkg/dpkg.cfg.d/sub.d'), { recursive: true });
    writeFileSync(path.join(root, 'etc/dpkg/dpkg.cfg'), '# main\npath-exclude=/main/*\n');
    const cfgd = path.join(root, 'etc/dpkg/dpkg.cfg.d');
    writeFileSync(path.join(cfgd, 'b-second'), 'path-exclude=/b/*\n');
    writeFileSync(path.join(cfgd, 'B-upper'), 'path-exclude=/B/*\n');
    writeFileSync(path.join(cfgd, '01_first'), 'path-include /a/*\npath-exclude\n');
    writeFileSync(path.join(cfgd, 'x.dpkg-old'), 'path-exclude=/old/*\n');
    writeFileSync(path.join(cfgd, 'y.ucf-dist'), 'path-exclude=/ucf/*\n');
    writeFileSync(path.join(cfgd, 'bad~name'), 'path-exclude=/tilde/*\n');

    const db = await loadDatabase({ root });
    assert.equal(db.root, root);
    assert.equal(db.admindir, admin);
    assert.equal(db.nativeArch, 'arm64');
    assert.equal(db.infoFormat, 1);
    assert.deepEqual(db.packages.map(packageId), ['dpkg', 'libfoo:arm64', 'libfoo:armhf']);
    assert.deepEqual(db.diversions, [
      { from: '/usr/bin/a', to: '/usr/bin/a.real', by: 'libfoo' },
      { from: '/etc/b', to: '/etc/b.orig', by: null },
    ]);
    assert.deepEqual(
      db.pathFilters.map((f) => [f.kind, f.glob, path.basename(f.file), f.line]),
      [
        // dpkg's order: dpkg.cfg.d/* by name, then dpkg.cfg last (the last matching rule wins).
        ['include', '/a/*', '01_first', 1],
        ['exclude', '/B/*', 'B-upper', 1],
        ['exclude', '/b/*', 'b-second', 1],
        ['exclude', '/main/*', 'dpkg.cfg', 2],
      ],
    );
    assert.deepEqual(
      db.warnings.map((w) => [w.file, w.line]),
      [
        [path.join(admin, 'status'), 19],
        [path.join(cfgd, '01_first'), 2],
      ],
    );
  } finally {
    cleanup();
  }
});

void test('native arch falls back to <admindir>/arch, then to process.arch', async () => {
  const a = makeRoot({ status: stanza('foo', 'all'), arch: 's390x\ni386\n' });
  const b = makeRoot({ status: stanza('foo', 'all') });
  try {
    assert.equal((await loadDatabase({ root: a.root })).nativeArch, 's390x');
    const expected = ({ x64: 'amd64', arm64: 'arm64', ia32: 'i386' } as Record<string, string>)[process.arch] ?? process.arch;
    const db = await loadDatabase({ root: b.root });
    assert.equal(db.nativeArch, expected);
    assert.deepEqual(db.diversions, [], 'a missing diversions file means no diversions');
    assert.deepEqual(db.pathFilters, []);
    assert.deepEqual(db.warnings, []);
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

void test('an explicit admindir is a host path; a missing status file is a database error naming the file', async () => {
  const { root, admin, cleanup } = makeRoot({ status: stanza('foo', 'amd64') });
  try {
    const db = await loadDatabase({ root: '/nonexistent-root', admindir: admin });
    assert.equal(db.admindir, admin);
    assert.equal(db.packages.length, 1);
    await assert.rejects(loadDatabase({ root: path.join(root, 'nope') }), (err: unknown) => {
      assert.ok(err instanceof PkgwatchError);
      assert.equal(err.kind, 'database');
      assert.match(err.message, new RegExp(`${path.join(root, 'nope/var/lib/dpkg/status')}: .*ENOENT.*--root/--admindir`));
      return true;
    });
  } finally {
    cleanup();
  }
});

void test('loadPackageFiles: multiarch names, fallback to plain names, missing and unreadable files', async () => {
  const status = [
    stanza('libfoo', 'amd64', 'Multi-Arch: same\n'),
    stanza('libold', 'amd64', 'Multi-Arch: same\n'),
    stanza('tool', 'amd64', 'Multi-Arch: foreign\n'),
    stanza('nofiles', 'amd64'),
    stanza('weird', 'amd64'),
  ].join('\n');
  const { root, admin, cleanup } = makeRoot({ status, format: '1\n' });
  const info = path.join(admin, 'info');
  try {
    writeFileSync(path.join(info, 'libfoo:amd64.md5sums'), `${H1}  usr/lib/libfoo.so.1\nbad line\n`);
    writeFileSync(path.join(info, 'libfoo:amd64.list'), '/.\n/usr\n/usr/lib\n/usr/lib/libfoo.so.1\n');
    // A decoy with the plain name must not be read while the qualified one exists.
    writeFileSync(path.join(info, 'libfoo.md5sums'), `${H2}  usr/lib/decoy\n`);
    writeFileSync(path.join(info, 'libold.md5sums'), `${H2}  usr/lib/libold.so\n`);
    writeFileSync(path.join(info, 'libold.list'), '/usr/lib/libold.so\n');
    writeFileSync(path.join(info, 'tool.md5sums'), `${H1}  usr/bin/\xfftool\n`, { encoding: 'latin1' });
    writeFileSync(path.join(info, 'tool.list'), '/usr/bin/\xfftool\n', { encoding: 'latin1' });
    mkdirSync(path.join(info, 'weird.md5sums')); // unreadable as a file (EISDIR), even for root
    writeFileSync(path.join(info, 'weird.list'), '/x\n');

    const db = await loadDatabase({ root });
    const foo = await loadPackageFiles(db, find(db.packages, 'libfoo:amd64'));
    assert.deepEqual([...(foo.md5sums ?? [])], [['/usr/lib/libfoo.so.1', H1]]);
    assert.equal(foo.md5sumsFile, path.join(info, 'libfoo:amd64.md5sums'));
    assert.deepEqual(foo.list, ['/', '/usr', '/usr/lib', '/usr/lib/libfoo.so.1']);
    assert.equal(foo.listFile, path.join(info, 'libfoo:amd64.list'));
    assert.deepEqual(foo.warnings.map((w) => [w.package, w.file, w.line]), [['libfoo:amd64', foo.md5sumsFile, 2]]);

    const old = await loadPackageFiles(db, find(db.packages, 'libold:amd64'));
    assert.deepEqual([...(old.md5sums ?? [])], [['/usr/lib/libold.so', H2]]);
    assert.equal(old.md5sumsFile, path.join(info, 'libold.md5sums'));
    assert.deepEqual(old.list, ['/usr/lib/libold.so']);

    const tool = await loadPackageFiles(db, find(db.packages, 'tool'));
    assert.deepEqual([...(tool.md5sums ?? [])], [['/usr/bin/\xfftool', H1]]);
    assert.deepEqual(tool.list, ['/usr/bin/\xfftool']);

    const none = await loadPackageFiles(db, find(db.packages, 'nofiles'));
    assert.deepEqual(none, {
      md5sums: null,
      md5sumsFile: path.join(info, 'nofiles.md5sums'),
      md5sumsError: null,
      list: null,
      listFile: path.join(info, 'nofiles.list'),
      listError: null,
      warnings: [],
    });

    const weird = await loadPackageFiles(db, find(db.packages, 'weird'));
    assert.equal(weird.md5sums, null);
    assert.deepEqual(weird.list, ['/x']);
    // Unreadable is not missing: the error is kept for the verifier to report as a finding.
    assert.equal(weird.md5sumsFile, path.join(info, 'weird.md5sums'));
    assert.equal(weird.md5sumsError, 'EISDIR: illegal operation on a directory');
    assert.equal(weird.listError, null);
    assert.deepEqual(weird.warnings, []);

    // A Database not made by loadDatabase (no infoFormat) reads info/format itself.
    const bare = { ...db };
    delete (bare as { infoFormat?: number }).infoFormat;
    const foo2 = await loadPackageFiles(bare, find(db.packages, 'libfoo:amd64'));
    assert.equal(foo2.md5sumsFile, path.join(info, 'libfoo:amd64.md5sums'));

    const all = await loadAllPackageFiles(db, db.packages, 2);
    assert.deepEqual(all.map((f) => path.basename(f.listFile)), [
      'libfoo:amd64.list',
      'libold.list',
      'tool.list',
      'nofiles.list',
      'weird.list',
    ]);
  } finally {
    cleanup();
  }
});

void test('without info/format 1, plain names are preferred for Multi-Arch: same packages', async () => {
  const { root, admin, cleanup } = makeRoot({ status: stanza('libfoo', 'amd64', 'Multi-Arch: same\n') });
  try {
    writeFileSync(path.join(admin, 'info/libfoo.list'), '/plain\n');
    writeFileSync(path.join(admin, 'info/libfoo:amd64.list'), '/qualified\n');
    const db = await loadDatabase({ root });
    assert.equal(db.infoFormat, 0);
    const files = await loadPackageFiles(db, find(db.packages, 'libfoo:amd64'));
    assert.deepEqual(files.list, ['/plain']);
  } finally {
    cleanup();
  }
});

/** What identifies the state of dpkg's database files now: changed by any dpkg run in between. */
function dbStamp(): string {
  return ['/var/lib/dpkg/status', '/var/lib/dpkg/diversions'].map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:none`;
    }
  }).join(' ');
}

void test("this machine's real database loads without warnings and matches dpkg-query and dpkg-divert", async () => {
  // The live machine may run apt meanwhile: compare only a reading during which the database files
  // stayed the same (a few tries; a machine that installs without pause would fail here, loudly).
  let tries = 0;
  for (;;) {
    tries++;
    const before = dbStamp();
    const db = await loadDatabase({ root: '/' });
    // dpkg-query and dpkg-divert are the oracles for which packages are installed, how they are named
    // and what is diverted.
    const oracle = execFileSync('dpkg-query', ['-W', '-f', '${binary:Package} ${db:Status-Status}\\n'], { encoding: 'latin1' })
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0] ?? '')
      .sort();
    const diversions = execFileSync('dpkg-divert', ['--list'], { encoding: 'latin1' })
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const m = /^(?:local )?diversion of (.+) to (.+?)(?: by (\S+))?$/.exec(l);
        assert.ok(m !== null, `dpkg-divert --list printed '${l}'`);
        return `${m[1] ?? ''} -> ${m[2] ?? ''} by ${m[3] ?? 'local'}`;
      })
      .sort();
    if (dbStamp() !== before && tries < 5) continue;
    assert.deepEqual(db.warnings, []);
    const installed = db.packages.filter((p) => p.state === 'installed');
    assert.ok(installed.length > 0, 'this machine has installed packages');
    assert.equal(db.infoFormat, 1);
    assert.equal(db.nativeArch, execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim());
    assert.deepEqual(installed.map(packageId).sort(), oracle);
    assert.deepEqual(db.diversions.map((d) => `${d.from} -> ${d.to} by ${d.by ?? 'local'}`).sort(), diversions);

    const files = await loadAllPackageFiles(db, db.packages);
    assert.equal(files.length, db.packages.length);
    assert.deepEqual(files.flatMap((f) => f.warnings), []);
    assert.ok(files.every((f) => f.list !== null), 'every installed package has a .list');
    const entries = files.reduce((n, f) => n + (f.md5sums?.size ?? 0), 0);
    assert.ok(entries > 0, `${entries} md5sums entries`);
    return;
  }
});

void test('a dpkg.cfg.d entry that is an absolute symlink is read inside the root, never from the host', async () => {
  const { root, cleanup } = makeRoot({ status: stanza('dpkg', 'amd64') });
  try {
    const cfgd = path.join(root, 'etc/dpkg/dpkg.cfg.d');
    mkdirSync(cfgd, { recursive: true });
    mkdirSync(path.join(root, 'usr/share/excludes'), { recursive: true });
    writeFileSync(path.join(root, 'usr/share/excludes/docs'), 'path-exclude=/usr/share/doc/*\n');
    // The host has no /usr/share/excludes/docs: only resolution inside the root finds it.
    symlinkSync('/usr/share/excludes/docs', path.join(cfgd, 'docs'));
    symlinkSync('../../../../../../usr/share/excludes/docs', path.join(cfgd, 'docs-relative'));
    const db = await loadDatabase({ root });
    assert.deepEqual(db.pathFilters.map((f) => [f.glob, path.basename(f.file)]), [
      ['/usr/share/doc/*', 'docs'],
      ['/usr/share/doc/*', 'docs-relative'],
    ]);
    assert.deepEqual(db.warnings, []);
  } finally {
    cleanup();
  }
});
