// The agent's run queue: scheduled runs one at a time (scoped before full, coalesced by kind), and
// real-time checks beside them, never queued behind a long scheduled run; nothing starts while dpkg
// runs. Real-time paths are gathered over a short quiet window.
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
/**
 * Real-time checks that may run at once. One that is slow (a big file to hash) does not hold up
 * the checks of other paths; a path already being checked waits for that check to end.
 */
export const MAX_REALTIME_RUNS = 4;

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
  /** Paths whose events are being gathered (the quiet window runs). */
  private readonly gathering = new Set<BytePath>();
  /** Paths due a real-time check. */
  private readonly due = new Set<BytePath>();
  /** Paths a running real-time check covers: new events on them wait for it to end. */
  private readonly inFlight = new Set<BytePath>();
  private timer: NodeJS.Timeout | null = null;
  /** now() at the first event the pending timer gathers. */
  private since = 0;
  private scheduledRunning = false;
  private realtimeRunning = 0;
  private readonly running = new Set<Promise<void>>();
  private draining: Promise<void> | null = null;
  /** Wakes the loop when it waits for a run to end or for something new. */
  private wake: (() => void) | null = null;
  private readonly abort = new AbortController();

  constructor(opts: RunQueueOptions) {
    this.opts = opts;
  }

  /** A scheduled run falls due; one already pending absorbs it. */
  request(name: ScheduleName): void {
    if (this.closed) return;
    this.pending.add(name);
    this.kick();
  }

  /** A watched path changed: it is checked once events pause (REALTIME_QUIET_MS, at most REALTIME_MAX_WAIT_MS). */
  addPath(p: BytePath): void {
    if (this.closed) return;
    if (this.gathering.size === 0) void this.opts.dpkg.observe(); // a short dpkg run must not go unseen
    this.gathering.add(p);
    const now = (this.opts.now ?? performance.now.bind(performance))();
    if (this.timer === null) this.since = now;
    else if (now - this.since + REALTIME_QUIET_MS > REALTIME_MAX_WAIT_MS) return; // it fires soon anyway
    else clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const q of this.gathering) this.due.add(q);
      this.gathering.clear();
      this.kick();
    }, REALTIME_QUIET_MS);
  }

  /** A run that overlapped a dpkg run is queued again; the loop picks it up once dpkg has ended. */
  requeue(kind: RunKind, paths: ReadonlySet<BytePath> | null): void {
    if (kind === 'realtime') for (const p of paths ?? []) this.due.add(p);
    else this.pending.add(kind);
    this.kick();
  }

  /** Stops taking runs; resolves when the running ones (aborted by their owner) have returned. Idempotent. */
  async close(): Promise<void> {
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.kick();
    await this.draining?.catch(() => undefined);
    await Promise.all([...this.running]);
  }

  private get closed(): boolean {
    return this.abort.signal.aborted;
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
    if (!this.closed) void this.drain();
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

  /** Starts a run in the background; when it ends, the loop looks again. */
  private start(kind: RunKind, paths: ReadonlySet<BytePath> | null, done: () => void): void {
    const run = this.opts
      .run(kind, paths)
      .catch(() => undefined) // the owner reports its own failures
      .finally(() => {
        done();
        this.running.delete(run);
        this.kick();
      });
    this.running.add(run);
  }

  private async loop(): Promise<void> {
    const { dpkg, logger } = this.opts;
    let deferredLogged = false;
    while (!this.closed) {
      const ready = [...this.due].filter((p) => !this.inFlight.has(p));
      const realtime = ready.length > 0 && this.realtimeRunning < MAX_REALTIME_RUNS;
      const scheduled = !this.scheduledRunning && this.pending.size > 0;
      if (!realtime && !scheduled) {
        // Nothing can start: done, or wait for a run to end (or for something new).
        if (this.due.size === 0 && this.pending.size === 0) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (dpkg.running || (await dpkg.observe())) {
        if (!deferredLogged) logger.log({ kind: 'run.deferred', schedule: this.pending.has('full') ? 'full' : 'scoped', reason: 'dpkg-running' });
        deferredLogged = true;
        await this.wait(this.opts.dpkgPollMs);
        continue;
      }
      if (realtime) {
        const paths = new Set(ready);
        for (const p of paths) {
          this.due.delete(p);
          this.inFlight.add(p);
        }
        this.realtimeRunning++;
        this.start('realtime', paths, () => {
          this.realtimeRunning--;
          for (const p of paths) this.inFlight.delete(p);
        });
      }
      if (scheduled) {
        const kind: ScheduleName = this.pending.delete('scoped') ? 'scoped' : 'full';
        this.pending.delete(kind);
        this.scheduledRunning = true;
        this.start(kind, null, () => {
          this.scheduledRunning = false;
        });
      }
    }
  }
}
