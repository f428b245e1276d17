// When each watched path last changed, in run order: real-time and scheduled runs overlap, and a
// run may not resolve a finding on a path that changed after the run began (it looked too early).

/**
 * A counter of watcher events. A run takes `mark()` when it starts; `changedSince(path, mark)` says
 * whether the path had an event after that, so the run's "clean" is stale for it. (Its "changed" is
 * still true of the moment it looked, so findings are kept; the event's own real-time check judges
 * the path afresh.) Paths are in display form, as findings carry them.
 */
export class PathClock {
  private seq = 0;
  private readonly last = new Map<string, number>();

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

  /** Forgets paths no longer watched (the scope changed). */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const p of this.last.keys()) if (!paths.has(p)) this.last.delete(p);
  }
}
