// Writes to scoped files outside dpkg runs, gathered into one `file.written` alert per burst: a file
// flipped to other content and back before it could be hashed still leaves a trace.
import { displayPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import type { DpkgGuard } from '../dpkgrun/guard.js';
import type { FindingJson } from '../verify/report.js';
import type { WatchEventKind } from '../watch/watcher.js';
import type { PathOwner } from './scope.js';

/** Writes are gathered this long from the first one, so a burst (a deploy, an editor) is one alert... */
export const WRITES_GATHER_MS = 1000;
/** ...and a process that keeps writing gets one alert this often at most, listing every path it wrote. */
export const WRITES_MIN_INTERVAL_MS = 10_000;

export interface WriteAlertsOptions {
  readonly dpkg: Pick<DpkgGuard, 'running' | 'epoch' | 'observe' | 'busySince'>;
  /** The scoped packages that own a path (a divert-to path: the diverted package). */
  readonly owners: (p: BytePath) => readonly PathOwner[];
  /** True for a path `[ignore] paths` covers (display form): never alerted. */
  readonly isIgnored: (path: string) => boolean;
  /** Sends one alert listing the writes as `written` findings. */
  readonly send: (findings: FindingJson[]) => void;
  /** A monotonic clock in ms; performance.now by default (tests pass their own). */
  readonly now?: () => number;
}

const WHAT: Record<WatchEventKind, string> = {
  change: 'written in place (or its mode, owner or times changed)',
  add: 'replaced or created',
  unlink: 'removed',
};

/** The findings of a `file.written` alert, sorted by package, then path. Pure. */
export function writtenFindings(writes: ReadonlyMap<BytePath, readonly WatchEventKind[]>, owners: (p: BytePath) => readonly PathOwner[], isIgnored: (path: string) => boolean): FindingJson[] {
  const out: FindingJson[] = [];
  for (const [p, kinds] of writes) {
    const path = displayPath(p);
    if (isIgnored(path)) continue;
    const detail = `${kinds.map((k) => WHAT[k]).join('; ')}, while no dpkg was running`;
    for (const o of owners(p)) out.push({ package: o.package, path, status: 'written', conffile: o.conffile, expected: null, actual: null, detail });
  }
  return out.sort((a, b) => (a.package !== b.package ? (a.package < b.package ? -1 : 1) : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Gathers watcher events on scoped paths and alerts them once per burst (WRITES_GATHER_MS, and at
 * least WRITES_MIN_INTERVAL_MS after the previous alert), unless dpkg ran at any time during the
 * burst or its end was still being handled (then they are dpkg's writes).
 */
export class WriteAlerts {
  private readonly writes = new Map<BytePath, WatchEventKind[]>();
  private timer: NodeJS.Timeout | null = null;
  /** The dpkg guard's epoch when the burst began. */
  private epoch = 0;
  /** now() when the last alert went out. */
  private lastSent = -Infinity;
  private closed = false;

  constructor(private readonly opts: WriteAlertsOptions) {}

  /** A watcher event on a scoped path. */
  note(p: BytePath, kind: WatchEventKind): void {
    const { dpkg } = this.opts;
    if (this.closed || dpkg.running) return;
    if (this.timer === null) {
      this.epoch = dpkg.epoch;
      // Look at dpkg now: a short dpkg run may be gone by the time the burst is judged.
      void dpkg.observe();
      const wait = Math.max(WRITES_GATHER_MS, this.lastSent + WRITES_MIN_INTERVAL_MS - this.now());
      this.timer = setTimeout(() => void this.flush(), wait);
    }
    const kinds = this.writes.get(p);
    if (kinds === undefined) this.writes.set(p, [kind]);
    else if (!kinds.includes(kind)) kinds.push(kind);
  }

  /** Drops what is gathered and stops. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.writes.clear();
  }

  private async flush(): Promise<void> {
    const writes = new Map(this.writes);
    this.writes.clear();
    const epoch = this.epoch;
    const busy = await this.opts.dpkg.busySince(epoch);
    // Events that came while dpkg was being looked at belong to this burst.
    for (const [p, kinds] of this.writes) writes.set(p, [...new Set([...(writes.get(p) ?? []), ...kinds])]);
    this.writes.clear();
    this.timer = null;
    if (this.closed || busy) return;
    const findings = writtenFindings(writes, this.opts.owners, this.opts.isIgnored);
    if (findings.length === 0) return;
    this.lastSent = this.now();
    this.opts.send(findings);
  }

  private now(): number {
    return (this.opts.now ?? performance.now.bind(performance))();
  }
}
