// The path watcher on real directories: events for the set only, replace/unlink/chmod, directories that
// come and go, symlinked directories, host paths, update(), close(), and degraded modes (watch limit,
// permissions, names chokidar cannot watch). Its latency is measured by `npm run bench`, not here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PathWatcher, type WatchEvent, type WatchEventKind } from '../../src/watch/watcher.js';
import { fromUtf8 } from '../../src/dpkg/bytes.js';
import type { BytePath } from '../../src/dpkg/types.js';
import { fixture } from '../helpers/fixture.js';

const WATCHER_JS = fileURLToPath(new URL('../../src/watch/watcher.js', import.meta.url));
/** Only a safety net: an event that does not arrive in this long is lost, not slow. */
const TIMEOUT_MS = 120_000;

/** Collects a watcher's callbacks and waits for events. */
class Collector {
  readonly events: WatchEvent[] = [];
  readonly degraded: [string, string][] = [];
  private cursor = 0;
  private waiter: (() => void) | null = null;

  readonly onEvent = (e: WatchEvent): void => {
    this.events.push(e);
    this.waiter?.();
  };

  readonly onDegraded = (reason: string, detail: string): void => {
    this.degraded.push([reason, detail]);
  };

  /** Waits for the next event (after those already taken) on `p`, of `kind` when given; returns it and skips past it. */
  async next(p: BytePath, kind?: WatchEventKind): Promise<WatchEvent> {
    const deadline = performance.now() + TIMEOUT_MS;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        const e = this.events[i];
        if (e !== undefined && e.path === p && (kind === undefined || e.kind === kind)) {
          this.cursor = i + 1;
          return e;
        }
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`no ${kind ?? 'any'} event for ${JSON.stringify(p)} within ${TIMEOUT_MS} ms; got ${JSON.stringify(this.events.slice(this.cursor))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  /** Events taken so far and not yet skipped past, for "nothing else happened" checks. */
  since(mark: number): WatchEvent[] {
    return this.events.slice(mark);
  }
}

function tempRoot(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-watch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(t: TestContext, root: string, paths: readonly BytePath[]): { w: PathWatcher; c: Collector } {
  const c = new Collector();
  const w = new PathWatcher({ root, paths, onEvent: c.onEvent, onDegraded: c.onDegraded });
  t.after(() => w.close());
  return { w, c };
}

test('events for the set only: write, chmod, replace by rename, unlink, re-create; update(); close() twice', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'd1'));
  fs.mkdirSync(path.join(root, 'd2'));
  for (const f of ['d1/a', 'd1/b', 'd2/c']) fs.writeFileSync(path.join(root, f), 'one');
  // A file name that is not UTF-8 (byte 0xff): fs.watch reports it lossily; the event must carry the bytes.
  const odd = Buffer.concat([Buffer.from(`${root}/d2/odd-`), Buffer.from([0xff])]);
  fs.writeFileSync(odd, 'one');
  const oddPath = '/d2/odd-\xff';
  const { w, c } = start(t, root, ['/d1/a', '/d1/b', '/d2/c', oddPath]);
  await w.start();
  assert.deepEqual(w.stats(), { dirs: 2, paths: 4, errors: 0, lastError: null, degraded: false });

  fs.writeFileSync(path.join(root, 'd1/a'), 'two');
  assert.equal((await c.next('/d1/a')).kind, 'change');

  fs.chmodSync(path.join(root, 'd1/b'), 0o600);
  assert.equal((await c.next('/d1/b')).kind, 'change');

  // Replace as dpkg and editors do: write a temp file next to it, rename it over.
  fs.writeFileSync(path.join(root, 'd1/.b.tmp'), 'new');
  fs.renameSync(path.join(root, 'd1/.b.tmp'), path.join(root, 'd1/b'));
  assert.equal((await c.next('/d1/b', 'add')).kind, 'add');

  fs.unlinkSync(path.join(root, 'd2/c'));
  await c.next('/d2/c', 'unlink');
  fs.writeFileSync(path.join(root, 'd2/c'), 'back');
  await c.next('/d2/c', 'add');

  fs.appendFileSync(odd, 'two');
  assert.equal((await c.next(oddPath)).kind, 'change');

  // An unwatched sibling: nothing, before or after the next watched event.
  const mark = c.events.length;
  fs.writeFileSync(path.join(root, 'd1/x'), 'sibling');
  fs.unlinkSync(path.join(root, 'd1/x'));
  fs.writeFileSync(path.join(root, 'd1/a'), 'three');
  await c.next('/d1/a', 'change');
  assert.deepEqual(new Set(c.since(mark).map((e) => e.path)), new Set(['/d1/a']));
  assert.ok(c.events.every((e) => ['/d1/a', '/d1/b', '/d2/c', oddPath].includes(e.path)), 'only paths of the set');

  // New scope: d1 is dropped, d3 added.
  fs.mkdirSync(path.join(root, 'd3'));
  fs.writeFileSync(path.join(root, 'd3/e'), 'e');
  w.update(['/d2/c', '/d3/e']);
  await w.settled();
  assert.deepEqual(w.stats(), { dirs: 2, paths: 2, errors: 0, lastError: null, degraded: false });
  const before = c.events.length;
  fs.writeFileSync(path.join(root, 'd1/a'), 'unwatched now');
  fs.writeFileSync(path.join(root, 'd3/e'), 'watched now');
  await c.next('/d3/e', 'change');
  assert.ok(c.since(before).every((e) => e.path === '/d3/e'), JSON.stringify(c.since(before)));

  await w.close();
  await w.close();
  assert.equal(w.stats().dirs, 0);
  // No event after close. The marker: a second watcher, started after the close, reports the same
  // write and then a later one. The process reads inotify events from one descriptor and hands each
  // to every watch on the directory at once, so the closed watcher would have had the first write
  // before the second watcher reports the second.
  const after = c.events.length;
  const second = start(t, root, ['/d3/e', '/d3/marker']);
  await second.w.start();
  fs.writeFileSync(path.join(root, 'd3/e'), 'after close');
  await second.c.next('/d3/e', 'change');
  fs.writeFileSync(path.join(root, 'd3/marker'), 'later');
  await second.c.next('/d3/marker', 'add');
  assert.deepEqual(c.since(after), [], 'no event after close');
  assert.deepEqual(c.degraded, []);
});

test('a change right after another is never dropped (chokidar alone drops a second change within 50 ms)', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'd'));
  fs.writeFileSync(path.join(root, 'd/f'), '0');
  const { w, c } = start(t, root, ['/d/f']);
  await w.start();
  for (let i = 1; i <= 10; i++) {
    fs.writeFileSync(path.join(root, 'd/f'), String(i));
    await c.next('/d/f', 'change');
  }
  // Metadata only (mtime and size unchanged): chmod, then chown to the same owner.
  fs.chmodSync(path.join(root, 'd/f'), 0o600);
  await c.next('/d/f', 'change');
  const st = fs.statSync(path.join(root, 'd/f'));
  fs.chownSync(path.join(root, 'd/f'), st.uid, st.gid);
  await c.next('/d/f', 'change');
});

test('lifecycle: update() before start() is applied by start(); start() after close() fails', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'a'));
  fs.mkdirSync(path.join(root, 'b'));
  const { w, c } = start(t, root, ['/a/f']);
  w.update(['/b/f']);
  await w.start();
  assert.deepEqual([w.stats().dirs, w.stats().paths], [1, 1]);
  fs.writeFileSync(path.join(root, 'b/f'), 'x');
  await c.next('/b/f', 'add');
  await w.close();
  await assert.rejects(w.start(), /after close/);
  w.update(['/a/f']); // ignored after close
  await w.settled();
  assert.equal(w.stats().dirs, 0);
});

test('a missing directory is awaited; one removed, re-created or replaced is watched again', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'srv'));
  const f = '/srv/app/conf/site.conf';
  const host = path.join(root, f);
  const { w, c } = start(t, root, [f]);
  await w.start();
  assert.equal(w.stats().dirs, 1, 'the nearest existing ancestor is watched meanwhile');

  fs.mkdirSync(path.join(root, 'srv/app/conf'), { recursive: true });
  fs.writeFileSync(host, 'v1');
  await c.next(f, 'add');
  await w.settled();
  assert.equal(w.stats().dirs, 1);
  fs.writeFileSync(host, 'v2');
  await c.next(f, 'change');

  // rm -rf and back.
  fs.rmSync(path.join(root, 'srv/app'), { recursive: true });
  await c.next(f, 'unlink');
  fs.mkdirSync(path.join(root, 'srv/app/conf'), { recursive: true });
  fs.writeFileSync(host, 'v3');
  await c.next(f, 'add');
  await w.settled();
  fs.writeFileSync(host, 'v4');
  await c.next(f, 'change');

  // The directory moved aside and a new one put in its place.
  fs.renameSync(path.join(root, 'srv/app/conf'), path.join(root, 'srv/app/conf.old'));
  await c.next(f, 'unlink');
  fs.mkdirSync(path.join(root, 'srv/app/conf'));
  fs.writeFileSync(host, 'v5');
  await c.next(f, 'add');
  await w.settled();
  fs.writeFileSync(host, 'v6');
  await c.next(f, 'change');
  assert.equal(w.stats().dirs, 1, 'the old directory is no longer watched');
  assert.equal(w.stats().degraded, false);
});

test('directories reached through symlinks are resolved inside the root (merged /usr, absolute links)', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  fs.symlinkSync('usr/bin', path.join(root, 'bin'));
  // Absolute: must mean ROOT/usr/lib, never the host's /usr/lib.
  fs.symlinkSync('/usr/lib', path.join(root, 'lib'));
  fs.writeFileSync(path.join(root, 'usr/bin/tool'), 'x');
  fs.writeFileSync(path.join(root, 'usr/lib/libx.so'), 'x');
  const { w, c } = start(t, root, ['/bin/tool', '/usr/bin/tool', '/lib/libx.so']);
  await w.start();
  assert.equal(w.stats().dirs, 2);
  fs.writeFileSync(path.join(root, 'usr/bin/tool'), 'y');
  await c.next('/bin/tool', 'change');
  await c.next('/usr/bin/tool', 'change');
  fs.writeFileSync(path.join(root, 'usr/lib/libx.so'), 'y');
  await c.next('/lib/libx.so', 'change');
});

test('root "/" with host paths: the dpkg database files of a fixture', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/bin/app', content: 'x' }] });
  const md5sums = fromUtf8(fx.infoFile('app', 'md5sums'));
  const list = fromUtf8(fx.infoFile('app', 'list'));
  const status = fromUtf8(fx.statusFile);
  const { w, c } = start(t, '/', [md5sums, list, status]);
  await w.start();
  assert.equal(w.stats().dirs, 2);
  fs.appendFileSync(fx.infoFile('app', 'md5sums'), '0123456789abcdef0123456789abcdef  usr/bin/evil\n');
  await c.next(md5sums, 'change');
  // dpkg writes status-new and renames it over status.
  fs.writeFileSync(`${fx.statusFile}-new`, fs.readFileSync(fx.statusFile));
  fs.renameSync(`${fx.statusFile}-new`, fx.statusFile);
  await c.next(status, 'add');
  fs.unlinkSync(fx.infoFile('app', 'list'));
  await c.next(list, 'unlink');
});

test('a directory chokidar cannot watch (name not UTF-8, or with a backslash) degrades, the rest works', async (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xe9])]));
  fs.mkdirSync(path.join(root, 'back\\slash'));
  fs.mkdirSync(path.join(root, 'good'));
  fs.writeFileSync(path.join(root, 'good/f'), 'x');
  const { w, c } = start(t, root, ['/bad-\xe9/f', '/back\\slash/f', '/good/f']);
  await w.start();
  assert.deepEqual(c.degraded.map(([r]) => r), ['unwatchable-name'], 'once per reason');
  assert.match(c.degraded[0]?.[1] ?? '', /cannot watch .*bad-\\xe9: its name is not UTF-8/);
  const s = w.stats();
  assert.equal(s.degraded, true);
  assert.equal(s.errors, 2);
  assert.equal(s.dirs, 1);
  fs.writeFileSync(path.join(root, 'good/f'), 'y');
  await c.next('/good/f', 'change');
});

/** Runs a PathWatcher in a child process (`prefix` wraps the command) and returns what it printed. */
async function child(t: TestContext, prefix: readonly string[], root: string, paths: readonly string[], touch: readonly string[], uid?: number): Promise<{
  degraded: [string, string][];
  stats: { dirs: number; errors: number; degraded: boolean; lastError: string | null };
  event: WatchEvent | null;
}> {
  const script = path.join(root, 'child.mjs');
  fs.writeFileSync(
    script,
    `import { PathWatcher } from ${JSON.stringify(WATCHER_JS)};
import fs from 'node:fs';
const [root, paths, touch] = JSON.parse(process.argv[2]);
const degraded = [];
let resolveEvent;
const gotEvent = new Promise((r) => (resolveEvent = r));
const w = new PathWatcher({ root, paths, onEvent: (e) => resolveEvent(e), onDegraded: (r, d) => degraded.push([r, d]) });
await w.start();
const stats = w.stats();
for (const f of touch) fs.writeFileSync(root + f, 'changed');
let timer;
const event = await Promise.race([gotEvent, new Promise((r) => (timer = setTimeout(() => r(null), ${TIMEOUT_MS})))]);
clearTimeout(timer);
await w.close();
console.log(JSON.stringify({ degraded, stats, event }));
`,
    { mode: 0o644 },
  );
  const [cmd, ...args] = [...prefix, process.execPath, script, JSON.stringify([root, paths, touch])];
  const proc = spawn(cmd ?? '', args, { stdio: ['ignore', 'pipe', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }) });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  let err = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  assert.equal(code, 0, `child failed: ${err}`);
  return JSON.parse(out) as Awaited<ReturnType<typeof child>>;
}

test('the inotify watch limit (ENOSPC) degrades with a clear reason and the watches that work keep working', async (t) => {
  // A user namespace has its own max_inotify_watches: set it to 2 there, leaving the host alone.
  const probe = spawn('unshare', ['-U', '-r', 'sh', '-c', 'echo 2 > /proc/sys/user/max_inotify_watches'], { stdio: 'ignore' });
  const ok = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
  if (!ok) {
    t.skip('cannot create a user namespace with its own inotify limit here');
    return;
  }
  const root = tempRoot(t);
  const paths: string[] = [];
  for (const d of ['a', 'b', 'c', 'd']) {
    fs.mkdirSync(path.join(root, d));
    fs.writeFileSync(path.join(root, d, 'f'), 'x');
    paths.push(`/${d}/f`);
  }
  // Which two directories get a watch is a race; touch a file in each and wait for any event.
  const r = await child(t, ['unshare', '-U', '-r', 'sh', '-c', 'echo 2 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh'], root, paths, paths);
  assert.deepEqual(r.degraded.map(([reason]) => reason), ['watch-limit']);
  assert.match(r.degraded[0]?.[1] ?? '', /ENOSPC.*raise fs\.inotify\.max_user_watches/);
  assert.equal(r.stats.dirs, 2);
  assert.equal(r.stats.errors, 2);
  assert.equal(r.stats.degraded, true);
  assert.match(r.stats.lastError ?? '', /^watch-limit: cannot watch /);
  assert.equal(r.event?.kind, 'change', 'the two watches that work still report');
});

test('a directory the agent may not read (EACCES) degrades with reason permission-denied', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to run the child as nobody');
    return;
  }
  const root = tempRoot(t);
  fs.chmodSync(root, 0o755);
  fs.mkdirSync(path.join(root, 'open'), { mode: 0o755 });
  fs.mkdirSync(path.join(root, 'closed'), { mode: 0o711 }); // searchable, not readable
  fs.writeFileSync(path.join(root, 'open/f'), 'x');
  fs.chmodSync(path.join(root, 'open/f'), 0o666);
  fs.writeFileSync(path.join(root, 'closed/f'), 'x');
  const r = await child(t, [], root, ['/open/f', '/closed/f'], ['/open/f'], 65534);
  assert.deepEqual(r.degraded.map(([reason]) => reason), ['permission-denied']);
  assert.match(r.degraded[0]?.[1] ?? '', /cannot watch .*closed \(EACCES/);
  assert.equal(r.stats.dirs, 1);
  assert.equal(r.stats.degraded, true);
  assert.deepEqual(r.event, { path: '/open/f', kind: 'change' });
});
