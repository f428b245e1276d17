// When each watched path last changed, in run order: real-time and scheduled runs overlap, and a
// run may not resolve a finding on a path that changed after the run began (it looked too early).

/**
 * A counter of watcher events. A run takes `mark()` when it starts; `changedSince(path, mark)` says
 * whether the path had an event after that, so the run's "clean" is stale for it. (Its "changed" is
 * still true of the moment it looked, so findings are kept; the event's own real-time check judges
 * the path afresh.) Paths are in display form, as findings carry them.
 */
import type { FindingJson } from '../verify/report.js';
import type { RunFindings } from './findings.js';

export class PathClock {
  private seq = 0;
  private readonly last = new Map<string, number>();
  /** For a path a real-time check judged: the latest mark such a check began at. */
  private readonly judgedAt = new Map<string, number>();

  /** A watcher event on `path`. */
  event(path: string): void {
    this.last.set(path, ++this.seq);
  }

  /** The position of a run that starts now. */
  mark(): number {
    return this.seq;
  }

  /** Whether `path` had an event after `mark`. */
  changedSince(path: string, mark: number): boolean {
    return (this.last.get(path) ?? 0) > mark;
  }

  /** A real-time check that began at `mark` has applied its view of `path`. */
  judged(path: string, mark: number): void {
    if ((this.judgedAt.get(path) ?? -1) < mark) this.judgedAt.set(path, mark);
  }

  /**
   * Whether a check that began after `mark` already judged `path`: a run that began at `mark`
   * looked earlier than that check, so its view of the path (changed or clean) is superseded and
   * must not open, update or resolve a finding there. Only a newer view wins, so a path that keeps
   * changing still gets the newest check's finding: nothing can be hidden by writing it again.
   */
  superseded(path: string, mark: number): boolean {
    return (this.judgedAt.get(path) ?? -1) > mark;
  }

  /** Forgets paths no longer watched (the scope changed). */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const p of this.last.keys()) if (!paths.has(p)) this.last.delete(p);
    for (const p of this.judgedAt.keys()) if (!paths.has(p)) this.judgedAt.delete(p);
  }
}

/**
 * What a run begun at `mark` may still say: its findings on paths no later real-time check judged,
 * and resolution only of paths that neither changed since it began nor were judged later.
 */
export function currentView(clock: PathClock, mark: number, findings: readonly FindingJson[], covers: (f: FindingJson) => boolean): RunFindings {
  return {
    findings: findings.filter((f) => !clock.superseded(f.path, mark)),
    covers: (f) => covers(f as FindingJson) && !clock.changedSince(f.path, mark) && !clock.superseded(f.path, mark),
  };
}
