// The watcher's degraded modes: errno to reason (watch limit, open files, permissions), the action
// each asks of the operator, and the error counters with one report per reason between updates.
import type { DegradedReason } from './types.js';

/** The degraded reason of an errno code. */
export function reasonOf(code: string): DegradedReason {
  if (code === 'ENOSPC') return 'watch-limit';
  if (code === 'EMFILE' || code === 'ENFILE') return 'too-many-open-files';
  if (code === 'EACCES' || code === 'EPERM') return 'permission-denied';
  return 'watch-error';
}

/** What the operator can do about `reason`. */
export function advice(reason: DegradedReason): string {
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

/** Counts every error and passes each reason on once until reset(). */
export class Degradation {
  errors = 0;
  lastError: string | null = null;
  private readonly reported = new Set<DegradedReason>();
  private readonly onDegraded: (reason: DegradedReason, detail: string) => void;

  constructor(onDegraded: (reason: DegradedReason, detail: string) => void) {
    this.onDegraded = onDegraded;
  }

  /** Counts an error that degrades nothing (or is reported otherwise). */
  note(text: string): void {
    this.errors++;
    this.lastError = text;
  }

  /** Counts an error and reports its reason, unless `quiet` (closed) or already reported. */
  report(reason: DegradedReason, detail: string, quiet: boolean): void {
    this.note(`${reason}: ${detail}`);
    if (quiet || this.reported.has(reason)) return;
    this.reported.add(reason);
    this.onDegraded(reason, detail);
  }

  /** The set changed: every reason may be reported again. */
  reset(): void {
    this.reported.clear();
  }
}
