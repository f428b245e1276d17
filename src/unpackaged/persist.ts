// `check --persist` and `pkgwatch baseline`: the persistence points' snapshot against the baseline
// in the state dir, and recording it (init, accept).
import { fromUtf8 } from '../dpkg/bytes.js';
import type { BytePath, DbWarning } from '../dpkg/types.js';
import { usageError } from '../errors.js';
import { compareFindings, type Finding } from '../verify/finding.js';
import { noBaselineError, readBaseline, writeBaseline, type Baseline, type BaselineEntry } from './baseline.js';
import { comparePersist } from './persistdiff.js';
import type { UnpackagedBase } from './run.js';
import { isUnder, takeSnapshot, type PersistRequest, type Snapshot } from './snapshot.js';

export interface PersistReport {
  readonly findings: Finding[];
  readonly warnings: DbWarning[];
  readonly summary: {
    /** The compared points' paths on the checked system. */
    readonly points: readonly BytePath[];
    /** Entries recorded now (no package owns them). */
    readonly entries: number;
    /** The baseline's last change, ISO. */
    readonly baseline: string;
    readonly durationMs: number;
  };
}

function sortedEntries(m: ReadonlyMap<BytePath, BaselineEntry>): BaselineEntry[] {
  return [...m.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The baseline of `root` in `stateDir`; throws the "run baseline init" error when there is none. */
function loadFor(stateDir: string, root: string): Baseline {
  const b = readBaseline(stateDir);
  if (b === null) throw noBaselineError(stateDir);
  if (b.root !== root) {
    throw usageError(`the baseline in ${stateDir} was recorded for the system under ${b.root}, not ${root}: give this one a state dir of its own (state_dir in --config)`);
  }
  return b;
}

/** Findings for what could not be read, so that nothing unread passes as unchanged. */
function unreadableFindings(snap: Snapshot): Finding[] {
  return snap.unreadable.map((u) => ({ package: '', path: u.path, status: 'unreadable', conffile: false, expected: null, actual: null, detail: `${u.error}: cannot be held to the baseline`, source: 'baseline' }));
}

/** What the present state is compared on: the points the baseline covers too, and paths no package owns. */
function compared(snap: Snapshot, b: Baseline): { points: BytePath[]; inScope: (p: BytePath) => boolean } {
  const recorded = new Set(b.points);
  const points = snap.points.filter((p) => recorded.has(p.point)).map((p) => p.path);
  return { points, inScope: (p) => snap.judged(p) && points.some((t) => isUnder(p, t)) };
}

/**
 * Compares the persistence points with the baseline in `stateDir`. Throws PkgwatchError when there
 * is no baseline (saying to run `pkgwatch baseline init`) or it cannot be read.
 */
export async function checkPersist(base: UnpackagedBase, req: PersistRequest, stateDir: string): Promise<PersistReport> {
  const started = performance.now();
  const b = loadFor(stateDir, base.db.root);
  const snap = await takeSnapshot(base, req);
  const { points, inScope } = compared(snap, b);
  const was = new Map(b.entries.map((e) => [e.path, e]));
  const findings = [...comparePersist(was, snap.entries, inScope, points, base.accounts), ...unreadableFindings(snap)].sort(compareFindings);
  const warnings = [...snap.warnings];
  const fresh = [...new Set(snap.points.map((p) => p.point))].filter((p) => !b.points.includes(p));
  if (fresh.length > 0) {
    warnings.push({ package: null, file: '[persist] paths', line: null, message: `not in the baseline yet, so not compared: ${fresh.join(', ')}; record them with \`pkgwatch baseline accept ${fresh.join(' ')}\`` });
  }
  return { findings, warnings, summary: { points, entries: snap.entries.size, baseline: b.updated, durationMs: performance.now() - started } };
}

/** Records the present state as the baseline; refuses to replace one unless `force`. Returns it. */
export async function initBaseline(base: UnpackagedBase, req: PersistRequest, stateDir: string, force: boolean, now = new Date()): Promise<{ baseline: Baseline; warnings: DbWarning[]; unreadable: number }> {
  if (!force && readBaseline(stateDir) !== null) {
    throw usageError(`a baseline already exists in ${stateDir}: \`pkgwatch baseline diff\` shows what changed since, \`pkgwatch baseline accept\` records the present state, \`pkgwatch baseline init --force\` replaces it`);
  }
  const snap = await takeSnapshot(base, req);
  const t = now.toISOString();
  const baseline: Baseline = { version: 1, root: base.db.root, created: t, updated: t, points: [...new Set(req.points)], entries: sortedEntries(snap.entries) };
  writeBaseline(stateDir, baseline);
  return { baseline, warnings: snap.warnings, unreadable: snap.unreadable.length };
}

/** What `baseline accept` changed. */
export interface Accepted {
  /** The findings that are now part of the baseline. */
  readonly findings: Finding[];
  /** Points added to the baseline's list. */
  readonly points: readonly string[];
  readonly warnings: DbWarning[];
}

/**
 * Records the present state of `paths` (paths on the checked system, at or below a point; empty =
 * every point) into the baseline, and returns the findings that this quiets. Throws for a path
 * outside every point, or when there is no baseline.
 */
export async function acceptBaseline(base: UnpackagedBase, req: PersistRequest, stateDir: string, paths: readonly string[], now = new Date()): Promise<Accepted> {
  const b = loadFor(stateDir, base.db.root);
  const snap = await takeSnapshot(base, req);
  const selected: BytePath[] = paths.map((p) => {
    if (!p.startsWith('/')) throw usageError(`'${p}' is not an absolute path; name a path on the checked system, e.g. /etc/cron.d/backup`);
    const bytes = fromUtf8(p.length > 1 ? p.replace(/\/+$/, '') : p);
    const real = base.resolver.canonical(bytes);
    if (!snap.points.some((pt) => isUnder(real, pt.path))) {
      throw usageError(`${p} is not at or below a persistence point ([persist] paths and add); nothing to accept there`);
    }
    return real;
  });
  const all = selected.length === 0;
  const touched = (p: BytePath): boolean => all || selected.some((s) => isUnder(p, s));
  // Points named (or all, with no path) join the baseline's list, so they are compared from now on.
  const addPoints = snap.points.filter((pt) => !b.points.includes(pt.point) && (all || selected.some((s) => isUnder(pt.path, s) || isUnder(s, pt.path)))).map((pt) => pt.point);
  const points = [...new Set([...b.points, ...addPoints])];
  const was = new Map(b.entries.map((e) => [e.path, e]));
  const { points: cmpPoints, inScope } = compared(snap, { ...b, points });
  const quieted = comparePersist(was, snap.entries, (p) => inScope(p) && touched(p), cmpPoints, base.accounts).sort(compareFindings);
  const next = new Map(was);
  for (const p of [...next.keys()]) if (touched(p)) next.delete(p);
  for (const [p, e] of snap.entries) if (touched(p)) next.set(p, e);
  writeBaseline(stateDir, { ...b, points, updated: now.toISOString(), entries: sortedEntries(next) });
  return { findings: quieted, points: addPoints, warnings: snap.warnings };
}

