// The site's offline record in state_dir: written by the agent when it takes the site offline and by
// `pkgwatch online` when an operator brings it back; the privileged helper's result beside it.
import path from 'node:path';
import type { ActionOutcome, OfflineInfo } from '../alerts/sink.js';
import { decodeAction } from '../alerts/outboxfile.js';
import { bool, decodeFinding, nonEmpty, parseJson, record, ShapeError, strOrNull, time } from '../decode.js';
import type { FindingJson } from '../verify/report.js';
import { writeFileAtomic } from '../atomic.js';
import { readFileSafe } from '../safedir.js';

/** The offline record's file name in state_dir; the helper's path unit watches it. */
export const OFFLINE_FILE = 'offline.json';
/** The privileged helper's answer to one request. */
export const HELPER_RESULT_FILE = 'offline-result.json';

/** Size caps for reading them back (root reads them from a folder the agent's user controls). */
const MAX_RECORD_BYTES = 32 * 1024 * 1024;
const MAX_RESULT_BYTES = 4 * 1024 * 1024;

/** Whether the site is offline, why, and since when; survives restarts. */
export interface OfflineRecord {
  readonly version: 1;
  readonly active: boolean;
  /** ISO time it went offline (null when online). */
  readonly since: string | null;
  /** Why it went offline, or how it came back. */
  readonly reason: string | null;
  /** The confirmed findings that took it offline. */
  readonly findings: readonly FindingJson[];
  /** Identifies one going-offline, so the helper acts once per request (null when online). */
  readonly request: string | null;
  /** Findings an operator brought the site back despite (`online --force`): they do not take it offline again. */
  readonly acknowledged: readonly FindingJson[];
  /** The last time an operator brought it back. */
  readonly restored: { readonly at: string; readonly by: string; readonly forced: boolean } | null;
  /** The site.offline alert for this going-offline is queued (a restart before that sends it then). */
  readonly alerted: boolean;
}

/** What the privileged helper did for one request. */
export interface HelperResult {
  readonly version: 1;
  readonly request: string;
  readonly finished: string;
  readonly actions: readonly ActionOutcome[];
}

/** The record of a site that was never taken offline. */
export const NEVER_OFFLINE: OfflineRecord = Object.freeze({
  version: 1,
  active: false,
  since: null,
  reason: null,
  findings: [],
  request: null,
  acknowledged: [],
  restored: null,
  alerted: false,
});

/** The record as alerts carry it. */
export function offlineInfo(r: OfflineRecord): OfflineInfo {
  return { active: r.active, since: r.since, reason: r.reason };
}

function decodeList<T>(v: unknown, at: string, item: (x: unknown, at: string) => T): T[] {
  if (!Array.isArray(v)) throw new ShapeError(`${at}: expected an array`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
}

/** Checks a parsed offline record; throws ShapeError naming the field. */
export function decodeOfflineRecord(v: unknown): OfflineRecord {
  const o = record(v, 'offline record', ['version', 'active', 'since', 'reason', 'findings', 'request', 'acknowledged', 'restored', 'alerted']);
  if (o['version'] !== 1) throw new ShapeError(`version: expected 1, found ${JSON.stringify(o['version'])}`);
  const since = o['since'] === null ? null : time(o['since'], 'since');
  let restored: OfflineRecord['restored'] = null;
  if (o['restored'] !== null) {
    const r = record(o['restored'], 'restored', ['at', 'by', 'forced']);
    restored = { at: time(r['at'], 'restored.at'), by: nonEmpty(r['by'], 'restored.by'), forced: bool(r['forced'], 'restored.forced') };
  }
  return {
    version: 1,
    active: bool(o['active'], 'active'),
    since,
    reason: strOrNull(o['reason'], 'reason'),
    findings: decodeList(o['findings'], 'findings', decodeFinding),
    request: strOrNull(o['request'], 'request'),
    acknowledged: decodeList(o['acknowledged'], 'acknowledged', decodeFinding),
    restored,
    alerted: bool(o['alerted'], 'alerted'),
  };
}

/** Checks a parsed helper result; throws ShapeError naming the field. */
export function decodeHelperResult(v: unknown): HelperResult {
  const o = record(v, 'helper result', ['version', 'request', 'finished', 'actions']);
  if (o['version'] !== 1) throw new ShapeError(`version: expected 1, found ${JSON.stringify(o['version'])}`);
  return {
    version: 1,
    request: nonEmpty(o['request'], 'request'),
    finished: time(o['finished'], 'finished'),
    actions: decodeList(o['actions'], 'actions', decodeAction),
  };
}

/**
 * The file's content decoded, null when it does not exist. Never follows a link at its name and
 * reads only a regular file with one link, of at most `maxBytes` (root reads these from the
 * agent's folder). Throws an Error naming the file otherwise.
 */
function readJson<T>(file: string, maxBytes: number, decode: (v: unknown) => T): T | null {
  // Its errors name the file already (UnsafeFileError says what is wrong and what to do).
  const text = readFileSafe(file, maxBytes);
  if (text === null) return null;
  try {
    return parseJson(text, decode);
  } catch (err) {
    throw new Error(`${file} is not a valid pkgwatch file: ${(err as Error).message}`, { cause: err });
  }
}

/** The offline record in state_dir; NEVER_OFFLINE when there is none. Throws (naming the file) when it is unreadable or invalid. */
export function readOfflineRecord(stateDir: string): OfflineRecord {
  return readJson(path.join(stateDir, OFFLINE_FILE), MAX_RECORD_BYTES, decodeOfflineRecord) ?? NEVER_OFFLINE;
}

/**
 * Writes the offline record atomically, mode 0600 (it names what changed on this machine, and
 * state_dir is searchable by others for nginx's sake). When written by root (`pkgwatch online`),
 * it goes to state_dir's owner, so that the agent can read it.
 */
export function writeOfflineRecord(stateDir: string, r: OfflineRecord): void {
  writeFileAtomic(path.join(stateDir, OFFLINE_FILE), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
}

/** The helper's last result, or null. */
export function readHelperResult(stateDir: string): HelperResult | null {
  return readJson(path.join(stateDir, HELPER_RESULT_FILE), MAX_RESULT_BYTES, decodeHelperResult);
}

/** Writes the helper's result (the helper runs as root; the file goes to state_dir's owner). */
export function writeHelperResult(stateDir: string, r: HelperResult): void {
  writeFileAtomic(path.join(stateDir, HELPER_RESULT_FILE), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
}
