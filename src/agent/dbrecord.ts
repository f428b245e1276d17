// dpkg's record of the scoped packages as the agent follows it: the accepted baseline (kept in the
// state), database events judged once dpkg is out of the way, and findings for changes no dpkg made.
import type { DpkgGuard } from '../dpkgrun/guard.js';
import { advanceBaseline, compareSnapshots, databaseFindings, snapshotFromJson, snapshotPackages, snapshotToJson, type DbSnapshot } from '../dpkgrun/dbsnapshot.js';
import type { FindingJson } from '../verify/report.js';
import type { Scope } from './scope.js';

/** Database events wait this long for dpkg's lock to show before they are judged. */
const DB_SETTLE_MS = 300;

export interface DbRecordOptions {
  readonly dpkg: DpkgGuard;
  readonly scope: () => Scope | null;
  readonly stopping: () => boolean;
  /**
   * Applies the findings of a look at the record (database-changed, for the scoped packages);
   * `standalone`: the look is a run of its own (a database event), not part of a scoped run.
   */
  readonly apply: (findings: FindingJson[], changes: number, standalone: boolean) => void;
}

export class DbRecord {
  private baseline: DbSnapshot | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The dpkg guard's epoch when the first database event of the pending batch was seen. */
  private epoch: number | null = null;

  constructor(private readonly opts: DbRecordOptions) {}

  /**
   * Moves the baseline forward as advanceBaseline allows (`acceptUpgrades`: after dpkg ended and at
   * start-up, not on a reload), starting from `saved` (the state's) when there is none in memory.
   * Returns the new baseline as JSON for the state, and the packages whose record changed.
   */
  async advance(scope: Scope, saved: unknown, acceptUpgrades: boolean): Promise<{ json: unknown; changed: string[] }> {
    const before = this.baseline ?? snapshotFromJson(saved ?? null);
    const fresh = await snapshotPackages(scope.db, scope.packages);
    this.baseline = advanceBaseline(before, fresh, { acceptUpgrades });
    const changed = before === null ? [] : [...new Set(compareSnapshots(before, this.baseline).map((c) => c.package))];
    return { json: snapshotToJson(this.baseline), changed };
  }

  /** A database file of the scope changed: judged once events settle and dpkg is out of the way. */
  onEvent(): void {
    if (this.opts.stopping()) return;
    const { dpkg } = this.opts;
    // Look at dpkg the moment the change is seen: a short dpkg run may be over by the time the
    // change is judged, and then it must still count (the guard records it).
    const epoch = dpkg.epoch;
    void dpkg.observe().then(() => {
      this.epoch ??= epoch;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const since = this.epoch ?? dpkg.epoch;
        this.timer = null;
        this.epoch = null;
        void this.check(since);
      }, DB_SETTLE_MS);
    });
  }

  /** A scoped package's md5sums, .list or Conffiles changed: legitimate only while dpkg runs. */
  async check(sinceEpoch: number, standalone = true): Promise<void> {
    const scope = this.opts.scope();
    const baseline = this.baseline;
    if (scope === null || baseline === null || this.opts.stopping()) return;
    // While dpkg runs, until its end has been handled (new baseline), and when a dpkg run came and
    // went since the change was seen, the change is dpkg's own (advanceBaseline judges it then).
    if (await this.opts.dpkg.busySince(sinceEpoch)) return;
    const changes = compareSnapshots(baseline, await snapshotPackages(scope.db, scope.packages));
    this.opts.apply(databaseFindings(scope.db.root, changes), changes.length, standalone);
  }

  /** The record's findings now (for the confirming re-check before going offline). */
  async findings(scope: Scope): Promise<FindingJson[]> {
    if (this.baseline === null) return [];
    return databaseFindings(scope.db.root, compareSnapshots(this.baseline, await snapshotPackages(scope.db, scope.packages)));
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
