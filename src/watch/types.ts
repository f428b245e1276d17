// The watcher's public vocabulary: its events, its options, its degraded reasons and its counters.
import type { BytePath } from '../dpkg/types.js';

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
