// Whether dpkg is running, as the agent sees it: dpkg's lock or the hook's marker, every sighting
// recorded so that nothing a dpkg run changed is judged against the record from before it.
import { isDpkgLockHeld } from './lock.js';
import { readDpkgMarker } from './marker.js';

/** What the guard reports; the same shapes as the agent's log events of these kinds. */
export type DpkgGuardEvent = { readonly kind: 'dpkg.started'; readonly source: 'lock' | 'hook' } | { readonly kind: 'warning'; readonly message: string };

export interface DpkgGuardOptions {
  /** The dpkg admin dir whose lock dpkg takes (it follows the scope's database). */
  readonly admindir: () => string;
  /** Where the hook's marker lives. */
  readonly stateDir: () => string;
  /** What the guard has to say: a dpkg run it sighted, or a warning (the agent logs both). */
  readonly report: (e: DpkgGuardEvent) => void;
  /** Called when the agent's view of dpkg changes (for the status file). */
  readonly onChange: () => void;
}

/**
 * `running` is set at the first sighting of a dpkg run, however short, and cleared only after the
 * end has been handled (the caller re-read the database). `epoch` counts the runs seen, so a check
 * can tell that one came and went while it ran. `touched` holds the database files written while
 * dpkg ran: their packages' new records are dpkg's own.
 */
export class DpkgGuard {
  running = false;
  epoch = 0;
  readonly touched = new Set<string>();
  private ending = false;

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
      this.epoch++;
      this.opts.report({ kind: 'dpkg.started', source: lock ? 'lock' : 'hook' });
      this.opts.onChange();
    }
    return active;
  }

  /** Whether dpkg runs, or ran since `epoch`, or its end is still being handled. */
  async busySince(epoch: number): Promise<boolean> {
    return this.running || (await this.observe()) || this.epoch !== epoch;
  }

  /** A database file changed: noted as dpkg's own while dpkg runs. */
  noteWrite(hostPath: string): void {
    if (this.running) this.touched.add(hostPath);
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
      this.touched.clear();
      this.opts.onChange();
    }
  }
}
