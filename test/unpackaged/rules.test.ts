// The pure parts of the unowned check: the ownership index, trees, generated-file and allow rules,
// and the judge over a walk (synthetic walks; the CLI tests walk real fixture roots).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_ACCOUNTS } from '../../src/unpackaged/accounts.js';
import { OwnershipIndex } from '../../src/unpackaged/ownership.js';
import { alternativeLinks, compileAllow, GeneratedRules } from '../../src/unpackaged/rules.js';
import { packageTrees } from '../../src/unpackaged/trees.js';
import { judgeTree, type UnownedContext } from '../../src/unpackaged/unowned.js';
import type { WalkEntry, WalkEvent } from '../../src/unpackaged/walk.js';
import type { FileKind } from '../../src/verify/finding.js';

const LISTS = [
  { id: 'app', paths: ['/srv', '/srv/app', '/srv/app/lib', '/srv/app/lib/mod.py', '/usr/share/app', '/usr/share/app/a.txt', '/usr/share/doc'], conffiles: ['/srv/app/app.ini'] },
  { id: 'docs', paths: ['/usr/share/doc', '/usr/share/doc/docs', '/etc/docs', '/etc/docs/x'], conffiles: [] },
  { id: 'mount', paths: ['/bin', '/bin/mount'], conffiles: [] },
];
// /bin links to usr/bin: the walk meets /bin/mount at /usr/bin/mount.
const canonical = (p: string): string => p.replace(/^\/bin\//, '/usr/bin/');

test('the index: owners, shared directories, diversion targets and the path a walk meets', () => {
  const index = new OwnershipIndex(LISTS, [{ from: '/usr/share/app/a.txt', to: '/usr/share/app/a.txt.orig', by: 'docs' }], canonical);
  assert.deepEqual(index.owners('/usr/share/doc'), ['app', 'docs']);
  assert.deepEqual(index.owners('/usr/share/app/a.txt.orig'), ['app']);
  assert.ok(index.has('/bin/mount') && index.has('/usr/bin/mount'));
  assert.ok(!index.has('/usr/bin/sh'));
  assert.ok(index.ownedOnlyBy('/usr/share/app', new Set(['app'])));
  assert.ok(!index.ownedOnlyBy('/usr/share/doc', new Set(['app'])));
  assert.ok(!index.ownedOnlyBy('/nowhere', new Set(['app'])));
});

test("trees: a package's directories under /srv, those only it owns outside system places, outermost only", () => {
  const index = new OwnershipIndex(LISTS, []);
  const trees = packageTrees(index, LISTS.slice(0, 1), { ownTrees: true });
  assert.deepEqual(trees, [
    { path: '/srv/app', package: 'app', reason: 'app-dir' },
    { path: '/usr/share/app', package: 'app', reason: 'own' },
  ]);
  // /etc/docs is only docs', but /etc is the administrator's: never a tree of its own.
  assert.deepEqual(packageTrees(index, LISTS.slice(1, 2), { ownTrees: true }), []);
  // Without a scope only the application directories count.
  assert.deepEqual(packageTrees(index, LISTS.slice(0, 1), { ownTrees: false }).map((t) => t.path), ['/srv/app']);
});

function entry(path: string, kind: FileKind, target?: string): WalkEntry {
  const e = { path, kind, size: 1, uid: 0, gid: 0, mode: kind === 'directory' ? 0o755 : 0o644, mtimeMs: 0, dev: 1, ino: 1 };
  return target === undefined ? e : { ...e, target };
}

function ctx(allow: string[] = []): UnownedContext {
  const index = new OwnershipIndex(LISTS, []);
  const groups = [{ name: 'pager', links: new Map([['/srv/app/pager', ['/etc/alternatives/pager']]]) }];
  return { index, generated: new GeneratedRules(index, alternativeLinks(groups)), allow: compileAllow(allow), accounts: NO_ACCOUNTS };
}

const TREE = { path: '/srv/app', package: 'app', reason: 'app-dir' } as const;

test('generated files: py3compile byte code of packaged .py files, update-alternatives links, dpkg conffile backups', () => {
  const events: WalkEvent[] = [
    entry('/srv/app/lib/__pycache__', 'directory'),
    entry('/srv/app/lib/__pycache__/mod.cpython-311.pyc', 'file'),
    entry('/srv/app/lib/__pycache__/mod.cpython-39.opt-2.pyc', 'file'),
    entry('/srv/app/lib/__pycache__/other.cpython-311.pyc', 'file'),
    entry('/srv/app/lib/__pycache__/mod.cpython-311.pyc.bak', 'file'),
    entry('/srv/app/pager', 'symlink', '/etc/alternatives/pager'),
    entry('/srv/app/app.ini.dpkg-old', 'file'),
    entry('/srv/app/other.ini.dpkg-old', 'file'),
  ].map((e) => ({ t: 'entry', entry: e }));
  const r = judgeTree(ctx(), TREE, events);
  assert.deepEqual(r.findings.map((f) => f.path), [
    '/srv/app/lib/__pycache__/other.cpython-311.pyc',
    '/srv/app/lib/__pycache__/mod.cpython-311.pyc.bak',
    '/srv/app/other.ini.dpkg-old',
  ]);
  // A managed link pointed elsewhere is no longer update-alternatives' doing.
  const moved = judgeTree(ctx(), TREE, [{ t: 'entry', entry: entry('/srv/app/pager', 'symlink', '/tmp/evil') }]);
  assert.equal(moved.findings.length, 1);
  assert.match(moved.findings[0]?.detail ?? '', /^symlink -> \/tmp\/evil, 0:0, mode 0644, .*; update-alternatives points it to \/etc\/alternatives\/pager$/);
});

test('a new directory is one finding with the count below it; allow globs; unreadable directories; the cap', () => {
  const events: WalkEvent[] = [
    { t: 'entry', entry: entry('/srv/app/a', 'directory') },
    { t: 'entry', entry: entry('/srv/app/a/b', 'directory') },
    { t: 'entry', entry: entry('/srv/app/a/b/x.php', 'file') },
    { t: 'unreadable', path: '/srv/app/a/b/locked', error: 'EACCES: permission denied' },
    { t: 'entry', entry: entry('/srv/app/ab.php', 'file') },
    { t: 'entry', entry: entry('/srv/app/cache', 'directory') },
    { t: 'entry', entry: entry('/srv/app/cache.php', 'file') },
    { t: 'entry', entry: entry('/srv/app/sock', 'socket') },
    { t: 'unreadable', path: '/srv/app/private', error: 'EACCES: permission denied' },
    { t: 'cap', path: '/srv/app', max: 9 },
  ];
  const r = judgeTree(ctx(['/srv/app/cache/**', '/srv/app/sock']), TREE, events);
  assert.deepEqual(
    r.findings.map((f) => [f.path, f.status, f.stat?.entries]),
    [
      ['/srv/app/a', 'unowned', 2],
      ['/srv/app/ab.php', 'unowned', undefined],
      ['/srv/app/cache.php', 'unowned', undefined],
      ['/srv/app/private', 'unreadable', undefined],
    ],
  );
  assert.equal(r.entries, 7);
  assert.deepEqual(r.warnings.map((w) => w.message), ['stopped walking the tree after 9 entries; the rest of it was not checked for unowned files']);
  const allow = compileAllow(['/**/__pycache__/**', '/srv/*/uploads/**']);
  assert.ok(allow.allowsTree('/srv/app/lib/__pycache__') && allow.allowsTree('/srv/x/uploads'));
  assert.ok(allow.allows('/srv/x/uploads/2024/a.jpg') && !allow.allows('/srv/x/uploads'));
});
