// The agent's run queue: one check at a time, none while dpkg runs. Real-time paths are gathered
// over a short quiet window; scheduled runs are coalesced by kind. Real-time checks go first, then
// scoped, then full.
import type { BytePath } from '../dpkg/types.js';
import type { DpkgGuard } from '../dpkgrun/guard.js';
import type { Logger } from './log.js';
import type { ScheduleName } from './scheduler.js';

export type RunKind = ScheduleName | 'realtime';

/**
 * Watcher events are gathered until they pause this long, so one editor save, or a burst of
 * writes, is one check of whole files rather than many checks of half-written ones...
 */
const REALTIME_QUIET_MS = 50;
/** ...but a steady stream of events is checked at least this often. */
const REALTIME_MAX_WAIT_MS = 250;

export interface RunQueueOptions {
  readonly dpkg: Pick<DpkgGuard, 'running' | 'observe'>;
  readonly logger: Logger;
  /** How long to wait between looks at dpkg while it runs. */
  readonly dpkgPollMs: number;
  /** A monotonic clock in ms; performance.now by default (tests pass their own). */
  readonly now?: () => number;
  /** Runs one check: the paths of a real-time check, null for a scheduled one. */
  readonly run: (kind: RunKind, paths: ReadonlySet<BytePath> | null) => Promise<void>;
}

export class RunQueue {
  private readonly opts: RunQueueOptions;
  private readonly pending = new Set<ScheduleName>();
  private readonly paths = new Set<BytePath>();
  private timer: NodeJS.Timeout | null = null;
  /** now() at the first event the pending timer gathers. */
  private since = 0;
  private draining: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(opts: RunQueueOptions) {
    this.opts = opts;
  }

  /** A scheduled run falls due; one already pending absorbs it. */
  request(name: ScheduleName): void {
    if (this.closed) return;
    this.pending.add(name);
    void this.drain();
  }

  /** A watched path changed: it is checked once events pause (REALTIME_QUIET_MS, at most REALTIME_MAX_WAIT_MS). */
  addPath(p: BytePath): void {
    if (this.closed) return;
    if (this.paths.size === 0) void this.opts.dpkg.observe(); // a short dpkg run must not go unseen
    this.paths.add(p);
    const now = (this.opts.now ?? performance.now.bind(performance))();
    if (this.timer === null) this.since = now;
    else if (now - this.since + REALTIME_QUIET_MS > REALTIME_MAX_WAIT_MS) return; // it fires soon anyway
    else clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, REALTIME_QUIET_MS);
  }

  /** A run that overlapped a dpkg run is queued again; the loop picks it up once dpkg has ended. */
  requeue(kind: RunKind, paths: ReadonlySet<BytePath> | null): void {
    if (kind === 'realtime') for (const p of paths ?? []) this.paths.add(p);
    else this.pending.add(kind);
  }

  /** Stops taking runs; resolves when the running one (aborted by its owner) has returned. Idempotent. */
  async close(): Promise<void> {
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.draining?.catch(() => undefined);
  }

  private get closed(): boolean {
    return this.abort.signal.aborted;
  }

  private drain(): Promise<void> {
    this.draining ??= this.loop().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** Waits `ms`, or until close(); never rejects. */
  private wait(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async loop(): Promise<void> {
    const { dpkg, logger } = this.opts;
    let deferredLogged = false;
    while (!this.closed && (this.pending.size > 0 || this.paths.size > 0)) {
      if (dpkg.running || (await dpkg.observe())) {
        if (!deferredLogged) logger.log({ kind: 'run.deferred', schedule: this.pending.has('full') ? 'full' : 'scoped', reason: 'dpkg-running' });
        deferredLogged = true;
        await this.wait(this.opts.dpkgPollMs);
        continue;
      }
      if (this.paths.size > 0) {
        const paths = new Set(this.paths);
        this.paths.clear();
        await this.opts.run('realtime', paths);
      } else if (this.pending.delete('scoped')) {
        await this.opts.run('scoped', null);
      } else if (this.pending.delete('full')) {
        await this.opts.run('full', null);
      }
    }
  }
}
