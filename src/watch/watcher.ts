// Real-time watch of a set of packaged paths: one inotify watch per directory that holds them (never
// one per file, never recursive), raw events mapped back to the paths and published (STYLE 6).
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { displayPath, fromUtf8, joinPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import { mapLimit } from '../concurrency.js';
import { errnoCode, osErrorText } from '../errors.js';
import { createDirWatch, holds, inoOf, untilReady } from './chokidar.js';
import { advice, Degradation, reasonOf } from './degraded.js';
import { buildGroups, ChainIndex, chokidarPath, lossy, resolveDir, type Group, type Watch } from './dirset.js';
import { EventQueue } from './events.js';
import type { DegradedReason, PathWatcherOptions, WatcherStats } from './types.js';

export type { DegradedReason, PathWatcherOptions, WatchEvent, WatchEventKind, WatcherStats } from './types.js';

/** Directories resolved at once. */
const CONCURRENCY = 32;

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
  /** Root prefix of host paths, as bytes (empty for `/`). */
  private readonly rootBytes: string;
  private readonly rootBuf: Buffer;
  private groups: Map<BytePath, Group>;
  private pathCount: number;
  private readonly watches = new Map<string, Watch>();
  private readonly chainIndex = new ChainIndex();
  private readonly events: EventQueue;
  private readonly degradation: Degradation;
  private readonly dirty = new Set<Group>();
  private reconcileQueued = false;
  private tail: Promise<void> = Promise.resolve();
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private closed = false;

  constructor(opts: PathWatcherOptions) {
    const root = path.resolve(opts.root === '' ? '/' : opts.root);
    this.rootBytes = root === '/' ? '' : fromUtf8(root);
    this.rootBuf = Buffer.from(this.rootBytes, 'latin1');
    ({ groups: this.groups, count: this.pathCount } = buildGroups(opts.paths, new Map()));
    this.degradation = new Degradation((reason, detail) => opts.onDegraded(reason, detail));
    this.events = new EventQueue((e) => opts.onEvent(e), (p, err) =>
      this.report('watch-error', `the event handler failed for ${displayPath(p)}: ${osErrorText(err)}`),
    );
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
      ({ groups: this.groups, count: this.pathCount } = buildGroups(paths, old));
      for (const [dir, g] of old) if (this.groups.get(dir) !== g) await this.detach(g);
      this.degradation.reset();
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
    return { dirs, paths: this.pathCount, errors: this.degradation.errors, lastError: this.degradation.lastError, degraded };
  }

  /** Stops watching; idempotent; no callback runs after it resolves. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.events.close();
    this.dirty.clear();
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((w) => this.closeWatch(w, false)));
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

  private setChain(g: Group, chain: readonly BytePath[]): void {
    this.chainIndex.set(g, chain.map((c) => lossy(this.hostOf(c))));
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
    const resolved = await mapLimit(groups, CONCURRENCY, (g) => resolveDir(g.sysDir, (s) => this.hostOf(s)));
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
      if (w !== undefined && w.failed === null && !w.suspect && (await inoOf(host)) === w.ino) return;
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
    const again = await mapLimit(waiting, CONCURRENCY, ({ g }) => resolveDir(g.sysDir, (s) => this.hostOf(s)));
    waiting.forEach(({ g }, i) => {
      const res = again[i];
      if (res !== undefined && (res.ok || this.hostOf(res.existing) !== g.watch?.host)) this.requestResolve(g);
    });
  }

  /** Opens the chokidar watcher of `w`; `vanished` when the directory was gone by then. */
  private async openWatch(w: Watch): Promise<'ok' | 'failed' | 'vanished'> {
    w.failed = null;
    w.suspect = false;
    w.ino = await inoOf(w.host);
    if (this.closed) return 'failed';
    const key = w.key;
    const fsw = createDirWatch(key);
    w.fsw = fsw;
    fsw.on('raw', (ev, name) => this.onRaw(w, fsw, ev, name));
    const firstError = await untilReady(fsw, (err) => {
      if (w.fsw === fsw && w.failed === null) this.onRuntimeError(w, fsw, err);
    });
    if (this.closed || w.fsw !== fsw) {
      await fsw.close();
      return 'failed';
    }
    if (holds(fsw, key)) {
      if (firstError !== null) this.noteError(`${displayPath(w.host)}: ${osErrorText(firstError)}`);
      return 'ok';
    }
    if (firstError === null && (await inoOf(w.host)) === null) {
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
    if (holds(fsw, w.key)) {
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
    this.degradation.note(text);
  }

  private report(reason: DegradedReason, detail: string): void {
    this.degradation.report(reason, detail, this.closed);
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
    this.events.add(p, () => Buffer.concat([this.rootBuf, Buffer.from(joinPath(g.real ?? g.sysDir, p.slice(p.lastIndexOf('/') + 1)), 'latin1')]), rename);
  }
}
