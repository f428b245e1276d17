// The dpkg hook's marker: `pkgwatch notify dpkg-start` says "dpkg is running", dpkg-end takes it back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { readFileSafe, removeFileSafe } from '../safedir.js';

/** Name of the marker file in the agent's state directory. */
export const MARKER_FILE = 'dpkg-running';

/**
 * A marker older than this is stale whatever its pid says: no dpkg run takes six hours, and a
 * crashed hook or a reused pid must never blind the agent for longer.
 */
export const MARKER_MAX_AGE_MS = 6 * 60 * 60 * 1000;

/** The marker is one short line; anything longer is not one. */
const MAX_MARKER_BYTES = 4096;

/** A marker dated this far in the future is stale too (a clock step, or a forged date that would never age). */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** What the marker says. */
export interface DpkgMarker {
  /** A dpkg run began and has not ended: its process is alive and the marker is younger than 6 hours. */
  readonly running: boolean;
  /** When the run began (ISO 8601), or null when there is no readable marker. */
  readonly since: string | null;
  /** There is a marker, but it does not count: its process is gone, it is too old, or it is unreadable. */
  readonly stale: boolean;
  /** The dpkg process the marker names, or null. */
  readonly pid: number | null;
}

/** The JSON in the marker file. `start` (the process's start time, /proc/PID/stat field 22) guards against pid reuse. */
interface MarkerJson {
  readonly pid: number;
  readonly since: string;
  readonly start?: string;
}

/** Fields of /proc/PID/stat after the command name (which may itself hold spaces and parentheses). */
function procStat(pid: number): { ppid: number; comm: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, starttime field 22.
  const ppid = Number(rest[1]);
  const start = rest[19];
  if (!Number.isInteger(ppid) || start === undefined) return null;
  return { ppid, comm: text.slice(open + 1, close), start };
}

/**
 * The dpkg process this hook runs under: the nearest ancestor named `dpkg`, or the parent when
 * there is none (dpkg runs hooks through `sh -c`, which usually execs the command but forks when
 * the hook line is a compound command; apt's DPkg::Pre-Invoke runs before dpkg starts).
 */
function hookOwner(): { pid: number; start: string | null } {
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const st = procStat(pid);
    if (st === null) break;
    if (st.comm === 'dpkg') return { pid, start: st.start };
    pid = st.ppid;
  }
  return { pid: process.ppid, start: procStat(process.ppid)?.start ?? null };
}

/**
 * Writes the marker naming the dpkg process that runs the hook: atomically, through a temp file of
 * its own (root writes into the agent's folder: a link planted at any name is never followed),
 * mode 0600 and, as root, owned by the state dir's owner (the agent reads it; nobody else learns
 * when dpkg runs). Creates `stateDir` when missing, so a fresh install never fails dpkg's hook.
 */
export function markDpkgStart(stateDir: string, now: Date = new Date()): void {
  const owner = hookOwner();
  const json: MarkerJson = { pid: owner.pid, since: now.toISOString(), ...(owner.start === null ? {} : { start: owner.start }) };
  writeFileAtomic(path.join(stateDir, MARKER_FILE), `${JSON.stringify(json)}\n`, { mode: 0o600 });
}

/** Removes the marker (a link there is removed, not followed); no marker is fine. */
export function markDpkgEnd(stateDir: string): void {
  removeFileSafe(path.join(stateDir, MARKER_FILE));
}

function parseMarker(text: string): MarkerJson | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0 || typeof o.since !== 'string') return null;
  if (o.start !== undefined && typeof o.start !== 'string') return null;
  return { pid: o.pid, since: o.since, ...(typeof o.start === 'string' ? { start: o.start } : {}) };
}

/**
 * Reads the marker. `running` only when its process still exists (and, when the marker recorded
 * it, started at the same time: not a reused pid) and it is younger than `MARKER_MAX_AGE_MS`.
 * A marker that fails any of that, or is not valid JSON, is `stale`: it never blinds the agent.
 * Synchronous: it is one small file, read every second by the agent.
 */
export function readDpkgMarker(stateDir: string, now: Date = new Date()): DpkgMarker {
  let text: string | null;
  try {
    text = readFileSafe(path.join(stateDir, MARKER_FILE), MAX_MARKER_BYTES);
  } catch {
    // Unreadable, a link, too big: cannot say a run is going on, and must not blind the agent.
    return { running: false, since: null, stale: true, pid: null };
  }
  // Missing: no run.
  if (text === null) return { running: false, since: null, stale: false, pid: null };
  const m = parseMarker(text);
  if (m === null) return { running: false, since: null, stale: true, pid: null };
  const stale = { running: false, since: m.since, stale: true, pid: m.pid };
  const at = Date.parse(m.since);
  if (Number.isNaN(at)) return stale;
  const age = now.getTime() - at;
  if (age > MARKER_MAX_AGE_MS || age < -FUTURE_TOLERANCE_MS) return stale;
  const st = procStat(m.pid);
  if (st === null) return stale;
  if (m.start !== undefined && st.start !== m.start) return stale;
  return { running: true, since: m.since, stale: false, pid: m.pid };
}
