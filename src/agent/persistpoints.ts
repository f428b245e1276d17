// The agent's side of the persistence points: the baseline recorded at first start, compared on each
// scoped run, and moved forward (baseline.updated) for what the agent finds changed after a dpkg run.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/schema.js';
import { readBaseline } from '../unpackaged/baseline.js';
import { acceptBaseline, checkPersist, initBaseline } from '../unpackaged/persist.js';
import { loadBase } from '../unpackaged/run.js';
import { findingJson, type FindingJson } from '../verify/report.js';

/** The baseline's changes that a dpkg run may make (unreadable entries are never accepted). */
const ACCEPTABLE: ReadonlySet<string> = new Set(['added', 'changed', 'missing', 'wrong-type']);
/** How much of the end of dpkg.log is read for a run's packages. */
const DPKG_LOG_TAIL = 1 << 20;
/** The agent notices dpkg by polling (once a second): the log's lines may start a little earlier. */
const DPKG_LOG_SLACK_MS = 5000;

/** The points of the configuration: `[persist] paths` and `add`, and `allow` (as `check --persist`). */
function request(cfg: ResolvedConfig): { points: string[]; allow: readonly string[] } {
  return { points: [...new Set([...cfg.persist.paths, ...cfg.persist.add])], allow: cfg.persist.allow };
}

/** What a check of the points gave: findings, or the baseline it recorded because there was none. */
export type PointsCheck = { readonly findings: FindingJson[] } | { readonly created: { readonly entries: number; readonly points: number } };

/** What the agent accepted into the baseline after a dpkg run. */
export interface DpkgAccepted {
  readonly findings: FindingJson[];
  readonly paths: string[];
  readonly packages: string[];
}

/**
 * Compares the persistence points of `cfg.root` with the baseline in `stateDir`; records the
 * baseline when there is none yet (the agent's first start), so that start is not an alert storm.
 */
export async function checkPoints(cfg: ResolvedConfig, stateDir: string): Promise<PointsCheck> {
  const base = await loadBase(cfg.root);
  if (readBaseline(stateDir) === null) {
    const r = await initBaseline(base, request(cfg), stateDir, false);
    return { created: { entries: r.baseline.entries.length, points: r.baseline.points.length } };
  }
  const r = await checkPersist(base, request(cfg), stateDir);
  return { findings: r.findings.map(findingJson) };
}

/**
 * After a dpkg run: accepts into the baseline every change of the points except those `keep` names
 * (findings already open before the run stay findings), and returns them with the run's packages
 * (from dpkg.log, see dpkgLogPackages); null when nothing changed or there is no baseline.
 */
export async function acceptAfterDpkg(cfg: ResolvedConfig, stateDir: string, keep: (pathText: string) => boolean, runStart: number, now = Date.now()): Promise<DpkgAccepted | null> {
  if (readBaseline(stateDir) === null) return null;
  const base = await loadBase(cfg.root);
  const r = await checkPersist(base, request(cfg), stateDir);
  const changed = r.findings.map(findingJson).filter((f) => ACCEPTABLE.has(f.status) && !keep(f.path));
  if (changed.length === 0) return null;
  const paths = [...new Set(changed.map((f) => f.path))].sort();
  const accepted = await acceptBaseline(base, request(cfg), stateDir, paths);
  const findings = accepted.findings.map(findingJson).filter((f) => !keep(f.path));
  return { findings, paths, packages: dpkgLogPackages(path.join(cfg.root, 'var/log/dpkg.log'), runStart - DPKG_LOG_SLACK_MS, now + 1000) };
}

/** `2026-12-06 23:55:06` in local time (dpkg writes its log so) as ms, or NaN. */
function logTime(date: string, time: string): number {
  const d = /^(\d{4})-(\d\d)-(\d\d)$/.exec(date);
  const t = /^(\d\d):(\d\d):(\d\d)$/.exec(time);
  if (d === null || t === null) return NaN;
  return new Date(+d[1]!, +d[2]! - 1, +d[3]!, +t[1]!, +t[2]!, +t[3]!).getTime();
}

/**
 * The packages dpkg.log names as installed, upgraded, removed, purged or configured between `from`
 * and `to` (ms), from the log's last MiB: the packages of the run that just ended. An unreadable log
 * gives none (the event still lists the paths).
 */
export function dpkgLogPackages(file: string, from: number, to: number): string[] {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, DPKG_LOG_TAIL);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const [date, time, action, pkg] = line.split(' ');
    if (date === undefined || time === undefined || pkg === undefined) continue;
    if (!['install', 'upgrade', 'remove', 'purge', 'configure'].includes(action ?? '')) continue;
    const at = logTime(date, time);
    if (at >= from && at <= to) out.add(pkg);
  }
  return [...out].sort();
}
