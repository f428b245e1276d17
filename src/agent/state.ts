// The agent's durable state in state_dir (open findings, last runs, schedules), saved atomically and validated on load.
import { removeStaleTemps, writeFileAtomic } from '../atomic.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bool, count, decodeFinding, duration, fail, JsonSyntaxError, oneOf, parseJson, record, ShapeError as StateShapeError, str, time } from '../decode.js';
import { readFileSafe } from '../safedir.js';
import type { FindingJson } from '../verify/report.js';

/** The state file's name inside state_dir. */
export const STATE_FILE = 'state.json';

/**
 * The largest state file read back (`pkgwatch online` reads it as root from the agent's folder).
 * The baseline of dpkg's record of every installed package is a few MB; this leaves room to spare.
 */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

/** A finding the agent knows to be open, and when it was seen and alerted. */
export interface OpenFinding {
  /** `${package}\0${path}`: one open finding per package and path. */
  key: string;
  /** The finding as last reported. */
  finding: FindingJson;
  /** ISO time the path was first reported failing (kept when its status changes). */
  firstSeen: string;
  /** ISO time of the last opened alert or reminder that listed it; firstSeen while ignored. */
  lastAlerted: string;
  /** Its path is ignored by the config: kept and shown by status, never alerted. */
  ignored: boolean;
}

/** How a run ended. */
export type RunOutcome = 'clean' | 'findings' | 'incomplete' | 'failed';

/** The record of one finished (or failed) run. */
export interface RunRecord {
  /** ISO times. */
  started: string;
  finished: string;
  outcome: RunOutcome;
  /** Findings the run reported. */
  findings: number;
  /** Paths checked. */
  files: number;
  /** Bytes hashed. */
  bytes: number;
  durationMs: number;
  /** Why the run failed (outcome `failed`). */
  error?: string;
}

/** Everything the agent keeps across restarts. */
export interface AgentState {
  version: 1;
  /** Sorted by package, then path. */
  findings: OpenFinding[];
  /** The last run of each kind. */
  lastRuns: { scoped?: RunRecord; full?: RunRecord; realtime?: RunRecord };
  /** ISO time each schedule last ran or was due and run, for catch-up after downtime. */
  lastDue: { scoped?: string; full?: string };
  /** dpkg's record of the scoped packages as last accepted (src/dpkgrun/dbsnapshot.ts snapshotToJson). */
  baseline?: unknown;
}

/** The key of an open finding: package and path, which identify it across runs. */
export function findingKey(f: { readonly package: string; readonly path: string }): string {
  return `${f.package}\0${f.path}`;
}

/** The state of an agent that has never run. */
export function freshState(): AgentState {
  return { version: 1, findings: [], lastRuns: {}, lastDue: {} };
}


/** The state file does not hold a valid state. */
export { StateShapeError };

const OUTCOME: Record<RunOutcome, true> = { clean: true, findings: true, incomplete: true, failed: true };
const OUTCOMES = Object.keys(OUTCOME) as RunOutcome[];

function decodeOpen(v: unknown, at: string): OpenFinding {
  const o = record(v, at, ['key', 'finding', 'firstSeen', 'lastAlerted', 'ignored']);
  const finding = decodeFinding(o['finding'], `${at}.finding`);
  const key = str(o['key'], `${at}.key`);
  if (key !== findingKey(finding)) throw new StateShapeError(`${at}.key: does not match the finding's package and path`);
  return {
    key,
    finding,
    firstSeen: time(o['firstSeen'], `${at}.firstSeen`),
    lastAlerted: time(o['lastAlerted'], `${at}.lastAlerted`),
    ignored: bool(o['ignored'], `${at}.ignored`),
  };
}

/** Checks one run record (also read back from status.json); throws StateShapeError naming the field at `at`. */
export function decodeRun(v: unknown, at: string): RunRecord {
  const o = record(v, at, ['started', 'finished', 'outcome', 'findings', 'files', 'bytes', 'durationMs'], ['error']);
  const run: RunRecord = {
    started: time(o['started'], `${at}.started`),
    finished: time(o['finished'], `${at}.finished`),
    outcome: oneOf(o['outcome'], `${at}.outcome`, OUTCOMES),
    findings: count(o['findings'], `${at}.findings`),
    files: count(o['files'], `${at}.files`),
    bytes: count(o['bytes'], `${at}.bytes`),
    durationMs: duration(o['durationMs'], `${at}.durationMs`),
  };
  if (Object.hasOwn(o, 'error')) run.error = str(o['error'], `${at}.error`);
  return run;
}

/**
 * Checks every field of a parsed state file and returns a fresh copy holding only known fields.
 * Throws StateShapeError naming the first bad field (`findings[3].finding.status: expected …`).
 */
export function decodeState(value: unknown): AgentState {
  const o = record(value, 'state', ['version', 'findings', 'lastRuns', 'lastDue'], ['baseline']);
  if (o['version'] !== 1) fail('state.version', '1', o['version']);
  const list = o['findings'];
  if (!Array.isArray(list)) fail('state.findings', 'an array', list);
  const findings: OpenFinding[] = [];
  const keys = new Set<string>();
  list.forEach((f: unknown, i) => {
    const open = decodeOpen(f, `state.findings[${i}]`);
    if (keys.has(open.key)) throw new StateShapeError(`state.findings[${i}]: ${open.finding.package} ${open.finding.path} is listed twice`);
    keys.add(open.key);
    findings.push(open);
  });
  const runs = record(o['lastRuns'], 'state.lastRuns', [], ['scoped', 'full', 'realtime']);
  const lastRuns: AgentState['lastRuns'] = {};
  for (const k of ['scoped', 'full', 'realtime'] as const) {
    if (Object.hasOwn(runs, k)) lastRuns[k] = decodeRun(runs[k], `state.lastRuns.${k}`);
  }
  const due = record(o['lastDue'], 'state.lastDue', [], ['scoped', 'full']);
  const lastDue: AgentState['lastDue'] = {};
  for (const k of ['scoped', 'full'] as const) {
    if (Object.hasOwn(due, k)) lastDue[k] = time(due[k], `state.lastDue.${k}`);
  }
  const state: AgentState = { version: 1, findings, lastRuns, lastDue };
  // The baseline's shape is dbsnapshot.ts's to judge (snapshotFromJson); here it is kept as is.
  if (Object.hasOwn(o, 'baseline')) state.baseline = o['baseline'];
  return state;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Loads and saves state.json in the state directory. `save` is atomic and durable (write a temp
 * file, fsync, rename over state.json, fsync the directory), so a crash or kill -9 at any moment
 * leaves either the previous or the new state. `load` never throws on a bad file: it starts from a
 * fresh state and keeps the bad file as `state.json.corrupt-<time>`.
 */
export class StateStore {
  /** The state directory. */
  readonly dir: string;
  /** The state file, `<dir>/state.json`. */
  readonly file: string;
  readonly #now: () => Date;

  constructor(dir: string, opts: { readonly now?: () => Date } = {}) {
    this.dir = dir;
    this.file = path.join(dir, STATE_FILE);
    this.#now = opts.now ?? ((): Date => new Date());
  }

  /**
   * The saved state, or a fresh one: without a warning when there is no state file yet (first
   * start), with a warning naming the file and the problem when it is unreadable, not JSON or not a
   * valid state. Creates the directory (mode 0700) when missing; throws only when that fails.
   */
  load(): { state: AgentState; warning: string | null } {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Temp files of writes a crash interrupted (each write has a temp name of its own).
    removeStaleTemps(this.dir);
    try {
      return { state: this.peek() ?? freshState(), warning: null };
    } catch (err) {
      return { state: freshState(), warning: `${errorText(err)}; ${this.#keepCorrupt()}` };
    }
  }

  /**
   * The saved state for another process to look at (`pkgwatch online`): null when there is none;
   * throws an Error naming the file when it is unreadable or invalid. Never writes or moves a file.
   */
  peek(): AgentState | null {
    let text: string | null;
    try {
      // Not through a link, one link only, size-capped: root (`pkgwatch online`) reads it too.
      text = readFileSafe(this.file, MAX_STATE_BYTES);
    } catch (err) {
      throw new Error(`${this.file}: cannot be read (${errorText(err)})`, { cause: err });
    }
    if (text === null) return null;
    try {
      return parseJson(text, decodeState);
    } catch (err) {
      const problem = err instanceof JsonSyntaxError ? err.message : `not a valid state (${errorText(err)})`;
      throw new Error(`${this.file}: ${problem}`, { cause: err });
    }
  }

  /** Moves the bad file aside for forensics and says where it went. */
  #keepCorrupt(): string {
    const stamp = this.#now().toISOString().replace(/:/g, '-');
    let target = `${this.file}.corrupt-${stamp}`;
    for (let n = 1; fs.existsSync(target); n++) target = `${this.file}.corrupt-${stamp}-${n}`;
    const fresh = 'starting from an empty state, so open findings will be alerted again as new';
    try {
      fs.renameSync(this.file, target);
      return `${fresh}; the bad file was kept as ${target}`;
    } catch (err) {
      return `${fresh}; the bad file could not be moved to ${target} (${errorText(err)}) and will be overwritten by the next save`;
    }
  }

  /**
   * Saves the state atomically and durably. Throws (naming the file) when it cannot be written,
   * e.g. a full disk; state.json then still holds the previous state.
   */
  save(state: AgentState): void {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    decodeState(JSON.parse(text)); // never write a file that load would reject
    try {
      writeFileAtomic(this.file, text, { mode: 0o600 });
    } catch (err) {
      throw new Error(`cannot save the agent state to ${this.file}: ${errorText(err)}`, { cause: err });
    }
  }
}
