// Real-time watch of a set of packaged paths: one inotify watch per directory that holds them (never
// one per file, never recursive), raw events mapped back to the paths and published (STYLE 6).
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { displayPath, fromUtf8, joinPath, parentPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import { mapLimit } from '../concurrency.js';
import { errnoCode, osErrorText } from '../errors.js';

/**
 * What happened at a path, from the directory entry's point of view (a hint: the verifier decides
 * what it means). `change`: the object there was modified in place (write, truncate, chmod, chown,
 * utimes). `add`: an object appeared under the name (created, or renamed over what was there: an
 * editor's or dpkg's replace). `unlink`: nothing is there now.
 */
export type WatchEventKind = 'add' | 'change' | 'unlink';

/** One event for a path in the watched set. */
export interface WatchEvent {
  /** The path as given to the watcher (bytes, without the root prefix). */
  readonly path: BytePath;
  readonly kind: WatchEventKind;
}

/** Why part of the set is not watched; each names an action in its detail. */
export type DegradedReason = 'watch-limit' | 'too-many-open-files' | 'permission-denied' | 'unwatchable-name' | 'watch-error';

/** Options of a PathWatcher. */
export interface PathWatcherOptions {
  /** The system's root on the host (`/`, or the --root directory). */
  readonly root: string;
  /** Paths on the system (without the root prefix), as byte strings: files, symlinks and directories. */
  readonly paths: readonly BytePath[];
  /** Called for every event on a path of the set, soon after it happened. Must not throw. */
  readonly onEvent: (e: WatchEvent) => void;
  /**
   * Called when part of the set cannot be watched (watch limit, permissions, a name chokidar
   * cannot express): those paths are only covered by the scheduled checks until the next update().
   * Called once per reason between updates; every occurrence is counted in stats().
   */
  readonly onDegraded: (reason: DegradedReason, detail: string) => void;
}

/** Counters for status output. */
export interface WatcherStats {
  /** Directories watched now (inotify watches held). */
  readonly dirs: number;
  /** Paths in the set. */
  readonly paths: number;
  /** Errors seen since start (watches that failed, unwatchable directories). */
  readonly errors: number;
  readonly lastError: string | null;
  /** Some paths of the set are not watched now because of an error. */
  readonly degraded: boolean;
}

/** How one system directory resolved inside the root. */
type Resolution =
  | { readonly ok: true; readonly real: BytePath; readonly chain: readonly BytePath[] }
  | { readonly ok: false; readonly existing: BytePath; readonly chain: readonly BytePath[]; readonly error: string | null };

/** The paths of the set that live in one system directory. */
interface Group {
  readonly sysDir: BytePath;
  /** By name as fs.watch reports it (UTF-8 decoded, so non-UTF-8 names collide safely): full paths. */
  byName: Map<string, BytePath[]>;
  paths: BytePath[];
  /** The watch it is attached to: its real directory's, or (sentinel) its nearest existing ancestor's. */
  watch: Watch | null;
  sentinel: boolean;
  /** The real directory inside the root, when it exists. */
  real: BytePath | null;
  /** Host paths (fs.watch spelling) whose rename means this directory must be resolved again. */
  chain: string[];
  /** Why it cannot be watched, or null. */
  problem: string | null;
}

/** One chokidar watcher on one directory. */
interface Watch {
  /** The host path as chokidar spells it (UTF-8). */
  readonly key: string;
  /** The host path as bytes (latin1 string). */
  readonly host: string;
  readonly base: string;
  fsw: FSWatcher | null;
  ino: bigint | null;
  /**
   * An event named the directory itself (deleted or moved: its inotify watch may be dead). The
   * inode number cannot tell, as filesystems reuse it at once for a directory made in its place.
   */
  suspect: boolean;
  groups: Set<Group>;
  failed: string | null;
}

/** Queued event for one path. */
interface Pending {
  readonly host: Buffer;
  rename: boolean;
}

/** Symlinks one resolution may follow, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;
/** Directories resolved at once. */
const CONCURRENCY = 32;
/** A chokidar watcher that neither gets ready nor fails in this long is counted as failed. */
const READY_TIMEOUT_MS = 30_000;

function reasonOf(code: string): DegradedReason {
  if (code === 'ENOSPC') return 'watch-limit';
  if (code === 'EMFILE' || code === 'ENFILE') return 'too-many-open-files';
  if (code === 'EACCES' || code === 'EPERM') return 'permission-denied';
  return 'watch-error';
}

function advice(reason: DegradedReason): string {
  switch (reason) {
    case 'watch-limit':
      return 'the inotify watch limit is reached: raise fs.inotify.max_user_watches (sysctl) and reload the agent';
    case 'too-many-open-files':
      return 'too many open files: raise LimitNOFILE in the unit and restart the agent';
    case 'permission-denied':
      return 'permission denied: run the agent as root';
    case 'unwatchable-name':
      return 'its name is not UTF-8 or holds a backslash, which chokidar cannot watch';
    case 'watch-error':
      return 'the watch could not be set up';
  }
}

/** A byte string as fs.watch reports names: UTF-8 decoded, invalid bytes as U+FFFD. */
function lossy(b: BytePath): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}

/** The path chokidar can watch for host path `host` (bytes), or null when it cannot express it. */
function chokidarPath(host: string): string | null {
  const buf = Buffer.from(host, 'latin1');
  const s = buf.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(buf) || s.includes('\\')) return null;
  return s;
}

/** `/a//b/` -> `/a/b`; null for the root itself (it has no directory to be watched from). */
function normalize(p: BytePath): BytePath | null {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return parts.length === 0 ? null : `/${parts.join('/')}`;
}

/**
 * Watches the directories that hold a set of paths and reports events on those paths.
 *
 * chokidar is used for its directory watches and error reporting only: its own add/change/unlink
 * events drop a second change within 50 ms and skip a change that moves neither mtime nor size
 * (chmod), and it would add an inotify watch per file. Here every raw inotify event of a path in the
 * set is kept, events that arrive together are merged, and each is classified by an lstat.
 * Directories are resolved inside the root (symlinks such as merged-/usr's `/bin` followed, absolute
 * ones restarting at the root); a directory that is missing is awaited from its nearest existing
 * ancestor, and one that is removed, replaced or moved is resolved again, its paths re-reported.
 */
export class PathWatcher {
  private readonly opts: PathWatcherOptions;
  /** Root prefix of host paths, as bytes (empty for `/`). */
  private readonly rootBytes: string;
  private readonly rootBuf: Buffer;
  private groups = new Map<BytePath, Group>();
  private pathCount = 0;
  private readonly watches = new Map<string, Watch>();
  private readonly chainIndex = new Map<string, Set<Group>>();
  private readonly pending = new Map<BytePath, Pending>();
  private flushScheduled = false;
  private readonly dirty = new Set<Group>();
  private reconcileQueued = false;
  private tail: Promise<void> = Promise.resolve();
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private closed = false;
  private errors = 0;
  private lastError: string | null = null;
  private readonly reported = new Set<DegradedReason>();

  constructor(opts: PathWatcherOptions) {
    this.opts = opts;
    const root = path.resolve(opts.root === '' ? '/' : opts.root);
    this.rootBytes = root === '/' ? '' : fromUtf8(root);
    this.rootBuf = Buffer.from(this.rootBytes, 'latin1');
    this.groups = this.buildGroups(opts.paths, new Map());
  }

  /** Sets up the watches; resolves when every directory is watched (or known to be unwatchable). */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('PathWatcher.start() after close()'));
    this.starting ??= this.enqueue(() => this.reconcile([...this.groups.values()], false));
    return this.starting;
  }

  /**
   * Replaces the set of paths (the scope changed). Directories no longer needed are unwatched, new
   * ones watched; failed watches are tried again. Applied in the background, in order with other
   * changes; `settled()` resolves when it is done.
   */
  update(paths: readonly BytePath[]): void {
    if (this.closed) return;
    void this.enqueue(async () => {
      const old = this.groups;
      this.groups = this.buildGroups(paths, old);
      for (const [dir, g] of old) if (this.groups.get(dir) !== g) await this.detach(g);
      this.reported.clear();
      if (this.starting === null) return; // start() will set everything up
      const retry = [...this.groups.values()].filter((g) => g.watch === null || g.watch.failed !== null || g.problem !== null || !old.has(g.sysDir));
      await this.reconcile(retry, false);
    });
  }

  /** Resolves when every update and re-resolution asked for so far has been applied. */
  settled(): Promise<void> {
    return this.tail;
  }

  stats(): WatcherStats {
    let dirs = 0;
    let degraded = false;
    for (const w of this.watches.values()) {
      if (w.fsw !== null && w.failed === null) dirs++;
      if (w.failed !== null && w.groups.size > 0) degraded = true;
    }
    for (const g of this.groups.values()) if (g.problem !== null) degraded = true;
    return { dirs, paths: this.pathCount, errors: this.errors, lastError: this.lastError, degraded };
  }

  /** Stops watching; idempotent; no callback runs after it resolves. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    this.dirty.clear();
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((w) => this.closeWatch(w, false)));
  }

  // ---- the set --------------------------------------------------------------------------

  private buildGroups(paths: readonly BytePath[], old: ReadonlyMap<BytePath, Group>): Map<BytePath, Group> {
    const byDir = new Map<BytePath, Set<BytePath>>();
    for (const raw of paths) {
      const p = normalize(raw);
      if (p === null) continue;
      const dir = parentPath(p);
      let s = byDir.get(dir);
      if (s === undefined) byDir.set(dir, (s = new Set()));
      s.add(p);
    }
    const out = new Map<BytePath, Group>();
    let count = 0;
    for (const [dir, set] of byDir) {
      const byName = new Map<string, BytePath[]>();
      for (const p of set) {
        const key = lossy(p.slice(p.lastIndexOf('/') + 1));
        const list = byName.get(key);
        if (list === undefined) byName.set(key, [p]);
        else list.push(p);
      }
      count += set.size;
      const prev = old.get(dir);
      if (prev !== undefined) {
        prev.byName = byName;
        prev.paths = [...set];
        out.set(dir, prev);
      } else {
        out.set(dir, { sysDir: dir, byName, paths: [...set], watch: null, sentinel: false, real: null, chain: [], problem: null });
      }
    }
    this.pathCount = count;
    return out;
  }

  // ---- structure: resolving directories, opening and closing watches ---------------------

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(async () => {
      if (!this.closed) await task();
    });
    this.tail = run.catch((err: unknown) => this.report('watch-error', `internal error while updating watches: ${osErrorText(err)}`));
    return this.tail;
  }

  private requestResolve(g: Group): void {
    if (this.closed) return;
    this.dirty.add(g);
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    void this.enqueue(async () => {
      this.reconcileQueued = false;
      const groups = [...this.dirty];
      this.dirty.clear();
      await this.reconcile(groups, true);
    });
  }

  private hostOf(sys: BytePath): string {
    return sys === '/' ? this.rootBytes || '/' : this.rootBytes + sys;
  }

  /** Resolves a system directory inside the root, component by component. */
  private async resolve(sysDir: BytePath): Promise<Resolution> {
    const chain: BytePath[] = [];
    const todo = sysDir.split('/').filter((c) => c !== '' && c !== '.').reverse();
    let real: BytePath = '/';
    let links = 0;
    for (let c = todo.pop(); c !== undefined; c = todo.pop()) {
      if (c === '..') {
        real = parentPath(real);
        continue;
      }
      const cand = joinPath(real, c);
      chain.push(cand);
      const host = Buffer.from(this.hostOf(cand), 'latin1');
      try {
        const st = await lstat(host);
        if (st.isSymbolicLink()) {
          if (++links > MAX_SYMLINKS) return { ok: false, existing: real, chain, error: 'ELOOP: too many levels of symbolic links' };
          const target = (await readlink(host, { encoding: 'buffer' })).toString('latin1');
          if (target.startsWith('/')) real = '/';
          todo.push(...target.split('/').filter((x) => x !== '' && x !== '.').reverse());
          continue;
        }
        // Not a directory: the paths in it are absent until one appears (a rename in `real`).
        if (!st.isDirectory()) return { ok: false, existing: real, chain, error: null };
      } catch (err) {
        const code = errnoCode(err) ?? 'EUNKNOWN';
        return { ok: false, existing: real, chain, error: code === 'ENOENT' || code === 'ENOTDIR' ? null : osErrorText(err) };
      }
      real = cand;
    }
    return { ok: true, real, chain };
  }

  private setChain(g: Group, chain: readonly BytePath[]): void {
    for (const k of g.chain) {
      const s = this.chainIndex.get(k);
      s?.delete(g);
      if (s?.size === 0) this.chainIndex.delete(k);
    }
    g.chain = chain.map((c) => lossy(this.hostOf(c)));
    for (const k of g.chain) {
      let s = this.chainIndex.get(k);
      if (s === undefined) this.chainIndex.set(k, (s = new Set()));
      s.add(g);
    }
  }

  private async detach(g: Group): Promise<void> {
    this.setChain(g, []);
    const w = g.watch;
    g.watch = null;
    if (w === null) return;
    w.groups.delete(g);
    if (w.groups.size === 0) {
      this.watches.delete(w.key);
      await this.closeWatch(w, false);
    }
  }

  /**
   * Resolves `groups` again and moves each to the watch it needs now. With `rescan`, every path of a
   * group whose directory changed (appeared, vanished, was replaced) is reported again.
   */
  private async reconcile(groups: readonly Group[], rescan: boolean): Promise<void> {
    const resolved = await mapLimit(groups, CONCURRENCY, (g) => this.resolve(g.sysDir));
    if (this.closed) return;
    const changed = new Set<Group>();
    const wanted: { g: Group; key: string; host: string }[] = [];
    groups.forEach((g, i) => {
      const res = resolved[i];
      if (res === undefined || this.groups.get(g.sysDir) !== g) return; // dropped by an update meanwhile
      this.setChain(g, res.chain);
      const target = res.ok ? res.real : res.existing;
      const host = this.hostOf(target);
      const key = chokidarPath(host);
      const real = res.ok ? res.real : null;
      if (g.real !== real || g.sentinel !== !res.ok || g.watch?.key !== key) changed.add(g);
      g.real = real;
      g.sentinel = !res.ok;
      g.problem = null;
      if (!res.ok && res.error !== null) {
        g.problem = `cannot resolve ${displayPath(g.sysDir)} inside the root: ${res.error}`;
        this.report(reasonOf(res.error.split(':')[0] ?? ''), `${g.problem}; the ${g.paths.length} paths in it are covered by scheduled checks only`);
      }
      if (key === null) {
        g.problem = `cannot watch ${displayPath(host)}: ${advice('unwatchable-name')}`;
        this.report('unwatchable-name', `${g.problem}; the ${g.paths.length} paths in ${displayPath(g.sysDir)} are covered by scheduled checks only`);
      }
      wanted.push({ g, key: key ?? '', host });
    });

    // Open the watches needed (or reopen one whose directory was replaced under it).
    const keys = new Map<string, string>();
    for (const { key, host } of wanted) if (key !== '') keys.set(key, host);
    const vanished: Watch[] = [];
    await mapLimit([...keys], CONCURRENCY, async ([key, host]) => {
      let w = this.watches.get(key);
      if (w !== undefined && w.failed === null && !w.suspect && (await this.inoOf(host)) === w.ino) return;
      if (w !== undefined) {
        for (const g of w.groups) changed.add(g);
        await this.closeWatch(w, true);
      } else {
        w = { key, host, base: path.basename(key), fsw: null, ino: null, suspect: false, groups: new Set(), failed: null };
        this.watches.set(key, w);
      }
      if ((await this.openWatch(w)) === 'vanished') vanished.push(w);
    });
    if (this.closed) return;

    for (const { g, key } of wanted) {
      if (g.watch !== null && g.watch.key !== key) {
        const old = g.watch;
        old.groups.delete(g);
        g.watch = null;
        if (old.groups.size === 0) {
          this.watches.delete(old.key);
          await this.closeWatch(old, false);
        }
      }
      const w = key === '' ? undefined : this.watches.get(key);
      if (w !== undefined) {
        w.groups.add(g);
        g.watch = w;
      }
    }
    // A watch opened for groups that all moved on meanwhile.
    for (const w of [...this.watches.values()]) {
      if (w.groups.size === 0) {
        this.watches.delete(w.key);
        await this.closeWatch(w, false);
      }
    }
    if (rescan) for (const g of changed) for (const p of g.paths) this.queue(g, p, true);
    // Gone between resolving and watching: resolve those again.
    for (const w of vanished) for (const g of w.groups) this.requestResolve(g);

    // A directory on the way may have appeared while the sentinel watch was being set up: look again.
    const waiting = wanted.filter(({ g }) => g.sentinel && g.watch !== null);
    const again = await mapLimit(waiting, CONCURRENCY, ({ g }) => this.resolve(g.sysDir));
    waiting.forEach(({ g }, i) => {
      const res = again[i];
      if (res !== undefined && (res.ok || this.hostOf(res.existing) !== g.watch?.host)) this.requestResolve(g);
    });
  }

  private async inoOf(host: string): Promise<bigint | null> {
    try {
      return (await lstat(Buffer.from(host, 'latin1'), { bigint: true })).ino;
    } catch {
      return null;
    }
  }

  /** Opens the chokidar watcher of `w`; `vanished` when the directory was gone by then. */
  private async openWatch(w: Watch): Promise<'ok' | 'failed' | 'vanished'> {
    w.failed = null;
    w.suspect = false;
    w.ino = await this.inoOf(w.host);
    if (this.closed) return 'failed';
    const key = w.key;
    const fsw = watch(key, {
      // Not persistent: chokidar shares persistent fs.watch handles between its watchers by path,
      // and a shared handle on a directory that was deleted stays dead when one of them re-adds it.
      // So the watcher does not keep the process alive by itself.
      persistent: false,
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      depth: 0,
      ignorePermissionErrors: false,
      // Only the directory itself: chokidar then keeps no watch per file and emits no events of its own.
      ignored: (p: string) => p !== key,
    });
    w.fsw = fsw;
    fsw.on('raw', (ev, name) => this.onRaw(w, fsw, ev, name));
    // Until the watch is set up, an error means it failed (ENOSPC comes from fs.watch itself, just
    // before chokidar would have got ready); after that, errors are judged one by one.
    let settled = false;
    let firstError: unknown = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, READY_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      fsw.once('ready', done);
      fsw.on('error', (err: unknown) => {
        if (settled) {
          if (w.fsw === fsw && w.failed === null) this.onRuntimeError(w, fsw, err);
          return;
        }
        firstError ??= err;
        setImmediate(done);
      });
    });
    settled = true;
    if (this.closed || w.fsw !== fsw) {
      await fsw.close();
      return 'failed';
    }
    // chokidar keeps a closer per path it really watches; none means fs.watch failed.
    if (fsw._closers.has(key)) {
      if (firstError !== null) this.noteError(`${displayPath(w.host)}: ${osErrorText(firstError)}`);
      return 'ok';
    }
    if (firstError === null && (await this.inoOf(w.host)) === null) {
      // Gone between resolving and watching: resolve its groups again.
      w.failed = 'watch-error: the directory disappeared';
      await this.closeWatch(w, true);
      return 'vanished';
    }
    const reason = firstError === null ? 'watch-error' : reasonOf(errnoCode(firstError) ?? 'EUNKNOWN');
    const detail = firstError === null ? 'no watch was set up' : osErrorText(firstError);
    w.failed = `${reason}: ${detail}`;
    this.report(reason, `cannot watch ${displayPath(w.host)} (${detail}): ${advice(reason)}; the paths in it are covered by scheduled checks only`);
    await this.closeWatch(w, true);
    return 'failed';
  }

  private onRuntimeError(w: Watch, fsw: FSWatcher, err: unknown): void {
    if (fsw._closers.has(w.key)) {
      // A directory listing chokidar makes for itself failed; the watch still works.
      this.noteError(`${displayPath(w.host)}: ${osErrorText(err)}`);
      return;
    }
    const reason = reasonOf(errnoCode(err) ?? 'EUNKNOWN');
    w.failed = `${reason}: ${osErrorText(err)}`;
    this.report(reason, `lost the watch on ${displayPath(w.host)} (${osErrorText(err)}): ${advice(reason)}; the paths in it are covered by scheduled checks only`);
  }

  private async closeWatch(w: Watch, keep: boolean): Promise<void> {
    const fsw = w.fsw;
    w.fsw = null;
    if (!keep) w.groups = new Set();
    if (fsw !== null) await fsw.close();
  }

  private noteError(text: string): void {
    this.errors++;
    this.lastError = text;
  }

  private report(reason: DegradedReason, detail: string): void {
    this.noteError(`${reason}: ${detail}`);
    if (this.closed || this.reported.has(reason)) return;
    this.reported.add(reason);
    this.opts.onDegraded(reason, detail);
  }

  // ---- events -----------------------------------------------------------------------------

  private onRaw(w: Watch, fsw: FSWatcher, ev: string, name: string | null): void {
    if (this.closed || w.fsw !== fsw) return;
    const rename = ev === 'rename';
    if (name === null || name === '' || (rename && name === w.base)) {
      // The watched directory itself was removed or moved (inotify names it by its basename; a
      // child of the same name costs a needless re-watch and re-report, never a missed event).
      w.suspect = true;
      for (const g of w.groups) this.requestResolve(g);
      if (name === null || name === '') return;
    }
    for (const g of w.groups) {
      if (g.sentinel) continue;
      for (const p of g.byName.get(name) ?? []) this.queue(g, p, rename);
    }
    if (!rename) return;
    // A directory on the way to a watched one was created, removed or renamed.
    for (const g of this.chainIndex.get(joinPath(w.key, name)) ?? []) this.requestResolve(g);
  }

  private queue(g: Group, p: BytePath, rename: boolean): void {
    if (this.closed) return;
    const e = this.pending.get(p);
    if (e !== undefined) {
      e.rename ||= rename;
    } else {
      const dir = g.real ?? g.sysDir;
      const real = joinPath(dir, p.slice(p.lastIndexOf('/') + 1));
      this.pending.set(p, { host: Buffer.concat([this.rootBuf, Buffer.from(real, 'latin1')]), rename });
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Classifies and publishes what is queued; events queued meanwhile go out in the next round. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.closed) {
        const batch = [...this.pending];
        this.pending.clear();
        const kinds = await Promise.all(batch.map(([, e]) => kindAt(e)));
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i];
          const kind = kinds[i];
          if (this.closed || item === undefined || kind === undefined) return;
          try {
            this.opts.onEvent({ path: item[0], kind });
          } catch (err) {
            this.report('watch-error', `the event handler failed for ${displayPath(item[0])}: ${osErrorText(err)}`);
          }
        }
      }
    } finally {
      this.flushScheduled = false;
    }
  }
}

async function kindAt(e: Pending): Promise<WatchEventKind> {
  try {
    await lstat(e.host);
    return e.rename ? 'add' : 'change';
  } catch (err) {
    const code = errnoCode(err) ?? 'EUNKNOWN';
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'unlink' : 'change';
  }
}
