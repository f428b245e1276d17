// The agent's two watchers: the scoped packages' files, and their dpkg database files.
import { fromUtf8 } from '../dpkg/bytes.js';
import { PathWatcher, type DegradedReason, type WatchEvent, type WatcherStats } from '../watch/watcher.js';
import type { Scope } from './scope.js';

export interface ScopeWatchersOptions {
  /** An event on a scoped package's path. */
  readonly onFile: (e: WatchEvent) => void;
  /** An event on a database file (md5sums, .list, status) of the scope. */
  readonly onDatabase: () => void;
  readonly onDegraded: (reason: DegradedReason, detail: string) => void;
}

export class ScopeWatchers {
  private files: PathWatcher | null = null;
  private database: PathWatcher | null = null;

  constructor(private readonly opts: ScopeWatchersOptions) {}

  /** Points the watchers at the scope's paths, starting them the first time; `null` closes them. */
  async follow(root: string, scope: Scope | null): Promise<void> {
    if (scope === null) {
      await this.close();
      return;
    }
    if (this.files === null || this.database === null) {
      this.files = new PathWatcher({ root, paths: scope.paths, onEvent: this.opts.onFile, onDegraded: this.opts.onDegraded });
      this.database = new PathWatcher({ root: '/', paths: scope.dbFiles.map(fromUtf8), onEvent: () => this.opts.onDatabase(), onDegraded: this.opts.onDegraded });
      await Promise.all([this.files.start(), this.database.start()]);
    } else {
      this.files.update(scope.paths);
      this.database.update(scope.dbFiles.map(fromUtf8));
    }
  }

  /** The file watcher's coverage, or null when not watching. */
  stats(): WatcherStats | null {
    return this.files?.stats() ?? null;
  }

  async close(): Promise<void> {
    const closing = [this.files, this.database].filter((w): w is PathWatcher => w !== null);
    this.files = null;
    this.database = null;
    await Promise.all(closing.map((w) => w.close()));
  }
}
