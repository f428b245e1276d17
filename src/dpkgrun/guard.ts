// Whether dpkg is running, as the agent sees it: dpkg's lock or the hook's marker, every sighting
// recorded so that nothing a dpkg run changed is judged against the record from before it.
import { isDpkgLockHeld } from './lock.js';
import { readDpkgMarker } from './marker.js';

/** What the guard reports; the same shapes as the agent's log events of these kinds. */
export type DpkgGuardEvent =
  | { readonly kind: 'dpkg.started'; readonly source: 'lock' | 'hook' }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'coverage.degraded' | 'coverage.restored'; readonly reason: 'dpkg-running-too-long'; readonly detail: string };

export interface DpkgGuardOptions {
  /** The dpkg admin dir whose lock dpkg takes (it follows the scope's database). */
  readonly admindir: () => string;
  /** Where the hook's marker lives. */
  readonly stateDir: () => string;
  /** What the guard has to say: a dpkg run it sighted, or a warning (the agent logs both). */
  readonly report: (e: DpkgGuardEvent) => void;
  /** Called when the agent's view of dpkg changes (for the status file). */
  readonly onChange: () => void;
  /** The wall clock in ms; Date.now by default. */
  readonly now?: () => number;
}

/**
 * `running` is set at the first sighting of a dpkg run, however short, and cleared only after the
 * end has been handled (the caller re-read the database). `epoch` counts the runs seen, so a check
 * can tell that one came and went while it ran.
 */
export class DpkgGuard {
  running = false;
  epoch = 0;
  private ending = false;
  /** Date.now() when the current run was first seen, and when it was last reported as long. */
  private since = 0;
  private warned = 0;
  /** The current run has lasted longer than the limit (coverage.degraded was reported). */
  private tooLong = false;

  constructor(private readonly opts: DpkgGuardOptions) {}

  /** Whether dpkg runs now; records a run that starts. */
  async observe(): Promise<boolean> {
    let lock = false;
    try {
      lock = await isDpkgLockHeld(this.opts.admindir());
    } catch (err) {
      this.opts.report({ kind: 'warning', message: `cannot read /proc/locks: ${err instanceof Error ? err.message : String(err)}` });
    }
    const active = lock || readDpkgMarker(this.opts.stateDir()).running;
    if (active && !this.running) {
      this.running = true;
      this.since = this.opts.now?.() ?? Date.now();
      this.warned = this.since;
      this.epoch++;
      this.opts.report({ kind: 'dpkg.started', source: lock ? 'lock' : 'hook' });
      this.opts.onChange();
    }
    return active;
  }

  /** When the agent saw the latest dpkg run start (ms since the epoch; 0: none seen yet). */
  get runStartedAt(): number {
    return this.since;
  }

  /** Whether dpkg runs, or ran since `epoch`, or its end is still being handled. */
  async busySince(epoch: number): Promise<boolean> {
    return this.running || (await this.observe()) || this.epoch !== epoch;
  }

  /**
   * While dpkg has been seen running for longer than `maxMs` (0: never), reports a warning, and
   * again after each further `maxMs`: checks wait all that time, and whoever holds dpkg's lock (or
   * planted the hook's marker) can change files meanwhile without a finding.
   */
  checkDuration(maxMs: number): void {
    if (!this.running || maxMs <= 0) return;
    const now = this.opts.now?.() ?? Date.now();
    if (now - this.warned < maxMs) return;
    this.warned = now;
    const message = `dpkg has been running for ${span(now - this.since)} (since ${new Date(this.since).toISOString()}; [schedule] dpkg_max_run is ${span(maxMs)}): checks wait until it ends. If no package operation is under way, find what holds ${this.opts.admindir()}/lock (fuser -v) or remove a stale ${this.opts.stateDir()}/dpkg-running`;
    this.opts.report({ kind: 'warning', message });
    if (!this.tooLong) {
      this.tooLong = true;
      this.opts.report({ kind: 'coverage.degraded', reason: 'dpkg-running-too-long', detail: message });
    }
  }

  /**
   * Looks at dpkg; when a run has ended, awaits `onEnd` (re-read the database, take the new
   * baseline) and only then clears `running`, so no change is judged against the old baseline.
   */
  async poll(onEnd: () => Promise<void>): Promise<void> {
    if ((await this.observe()) || !this.running || this.ending) return;
    this.ending = true;
    try {
      await onEnd();
    } finally {
      this.ending = false;
      this.running = false;
      if (this.tooLong) {
        this.tooLong = false;
        const now = this.opts.now?.() ?? Date.now();
        this.opts.report({
          kind: 'coverage.restored',
          reason: 'dpkg-running-too-long',
          detail: `dpkg's lock and the hook's marker are released after ${span(now - this.since)} (since ${new Date(this.since).toISOString()}); checks run again`,
        });
      }
      this.opts.onChange();
    }
  }
}

/** `45 s`, `31 min`, `2 h 5 min`. */
function span(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  return min < 120 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}
