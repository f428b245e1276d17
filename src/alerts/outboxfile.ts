// The outbox's on-disk format: file names, the entry and dropped.json codecs, strict validation, durable writes.
import { writeFileAtomic } from '../atomic.js';
import { array, bool, count, decodeFinding, fail, nonEmpty, oneOf, record, ShapeError, str, strOrNull, time } from '../decode.js';
import { ALERT_KINDS, COVERAGE_REASONS, type ActionOutcome, type AgentInfo, type AlertEvent, type BaselineInfo, type CheckSchedule, type DroppedAlert, type OfflineInfo } from './sink.js';

/** The version written into every outbox file; files of another version are set aside as corrupt. */
export const OUTBOX_VERSION = 1;

/** The file that counts dropped deliveries per sink, kept across restarts. */
export const DROPPED_FILE = 'dropped.json';

/** The folder bad files are moved to, for forensics. */
export const CORRUPT_DIR = 'corrupt';

/** Files larger than this are not read (a findings batch of 10 000 findings is ~3 MB). */
export const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

/** One queued delivery as stored on disk: `<dir>/<sink>/<queued-ms>-<event id>.json`. */
export interface OutboxFile {
  readonly version: 1;
  readonly sink: string;
  /** ISO 8601 time it was queued; equals the milliseconds in the file name. */
  readonly queued: string;
  readonly event: AlertEvent;
}


// Safe in a file name, no dot-only names, no separators: event ids are UUIDs in practice.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SINK = /^[a-z][a-z0-9_-]{0,31}$/;
const FILE_NAME = /^(\d{13})-([A-Za-z0-9][A-Za-z0-9._-]{0,127})\.json$/;

/** True when `name` can be a sink's folder name (and so a sink name the outbox can queue for). */
export function isSinkDirName(name: string): boolean {
  return SINK.test(name) && name !== CORRUPT_DIR;
}

/** `1706702400000-<id>.json`: the queue time first, zero-padded, so names sort in queue order. */
export function entryFileName(queuedMs: number, id: string): string {
  return `${String(queuedMs).padStart(13, '0')}-${id}.json`;
}

/** The queue time and event id in an entry file name, or null when the name is not one. */
export function parseEntryFileName(name: string): { queuedMs: number; id: string } | null {
  const m = FILE_NAME.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  return { queuedMs: Number(m[1]), id: m[2] };
}

/** The text of an entry file. */
export function encodeEntry(sink: string, queuedMs: number, event: AlertEvent): string {
  const file: OutboxFile = { version: OUTBOX_VERSION, sink, queued: new Date(queuedMs).toISOString(), event };
  return `${JSON.stringify(file)}\n`;
}

/**
 * Decodes the text of the entry file `name` found in the folder of `sink`; throws ShapeError
 * (or SyntaxError for bad JSON) when the name, the JSON or any field is not what the outbox writes.
 */
export function decodeEntry(text: string, sink: string, name: string): OutboxFile {
  const parsed = parseEntryFileName(name);
  if (parsed === null) throw new ShapeError(`the name is not <13-digit queue time>-<event id>.json`);
  const o = record(JSON.parse(text), 'file', ['version', 'sink', 'queued', 'event']);
  if (o['version'] !== OUTBOX_VERSION) fail('file.version', `${OUTBOX_VERSION}`, o['version']);
  const fileSink = str(o['sink'], 'file.sink');
  if (fileSink !== sink) throw new ShapeError(`file.sink: is ${JSON.stringify(fileSink)} but the file is in the folder of ${JSON.stringify(sink)}`);
  const queued = time(o['queued'], 'file.queued');
  if (Date.parse(queued) !== parsed.queuedMs) throw new ShapeError(`file.queued: ${queued} does not match the time in the file name`);
  const event = decodeAlertEvent(o['event'], 'file.event');
  if (event.id !== parsed.id) throw new ShapeError(`file.event.id: ${JSON.stringify(event.id)} does not match the id in the file name`);
  return { version: OUTBOX_VERSION, sink, queued, event };
}

/** Decodes dropped.json: the count of dropped deliveries per sink. Throws like decodeEntry. */
export function decodeDropped(text: string): Map<string, number> {
  const o = record(JSON.parse(text), 'dropped.json', ['version', 'dropped']);
  if (o['version'] !== OUTBOX_VERSION) fail('dropped.json.version', `${OUTBOX_VERSION}`, o['version']);
  const counts = o['dropped'];
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) fail('dropped.json.dropped', 'an object', counts);
  const out = new Map<string, number>();
  for (const [sink, n] of Object.entries(counts as Record<string, unknown>)) {
    if (!isSinkDirName(sink)) throw new ShapeError(`dropped.json.dropped: ${JSON.stringify(sink)} is not a sink name`);
    out.set(sink, count(n, `dropped.json.dropped.${sink}`));
  }
  return out;
}

/** The text of dropped.json. */
export function encodeDropped(counts: ReadonlyMap<string, number>): string {
  const dropped: Record<string, number> = {};
  for (const [sink, n] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) dropped[sink] = n;
  return `${JSON.stringify({ version: OUTBOX_VERSION, dropped })}\n`;
}

// A record, not an array, so that a new action in the type fails to compile until listed here.
const ACTION: Record<ActionOutcome['action'], true> = {
  flag_file: true,
  stop_unit: true,
  command: true,
  remove_flag_file: true,
  start_unit: true,
  restore_command: true,
};
const ACTIONS = Object.keys(ACTION) as ActionOutcome['action'][];

/**
 * Checks that `v` is an AlertEvent with nothing missing and nothing extra, and returns a fresh copy
 * built only from the checked fields. Throws ShapeError naming the field at `at`.
 */
export function decodeAlertEvent(v: unknown, at: string): AlertEvent {
  const o = record(v, at, ['kind', 'id', 'host', 'time', 'findings', 'offline'], ['actions', 'agent', 'baseline']);
  const id = str(o['id'], `${at}.id`);
  if (!ID.test(id)) fail(`${at}.id`, 'an id of letters, digits, ".", "_" and "-" (at most 128)', id);
  const findings = array(o['findings'], `${at}.findings`).map((f, i) => decodeFinding(f, `${at}.findings[${i}]`));
  const event: AlertEvent = {
    kind: oneOf(o['kind'], `${at}.kind`, ALERT_KINDS),
    id,
    host: nonEmpty(o['host'], `${at}.host`),
    time: time(o['time'], `${at}.time`),
    findings,
    offline: decodeOffline(o['offline'], `${at}.offline`),
  };
  const actions = Object.hasOwn(o, 'actions') ? { actions: array(o['actions'], `${at}.actions`).map((a, i) => decodeAction(a, `${at}.actions[${i}]`)) } : {};
  const agent = Object.hasOwn(o, 'agent') ? { agent: decodeAgentInfo(o['agent'], `${at}.agent`) } : {};
  const baseline = Object.hasOwn(o, 'baseline') ? { baseline: decodeBaselineInfo(o['baseline'], `${at}.baseline`) } : {};
  return { ...event, ...actions, ...agent, ...baseline };
}

function decodeBaselineInfo(v: unknown, at: string): BaselineInfo {
  const o = record(v, at, ['by', 'paths'], ['packages']);
  const info = { by: str(o['by'], `${at}.by`), paths: array(o['paths'], `${at}.paths`).map((p, i) => str(p, `${at}.paths[${i}]`)) };
  if (!Object.hasOwn(o, 'packages')) return info;
  return { ...info, packages: array(o['packages'], `${at}.packages`).map((p, i) => str(p, `${at}.packages[${i}]`)) };
}

const SCHEDULES: readonly CheckSchedule[] = ['scoped', 'full', 'realtime'];

/** Checks what an event about the agent says (AgentInfo). */
function decodeAgentInfo(v: unknown, at: string): AgentInfo {
  const o = record(v, at, ['version', 'message', 'schedule', 'dropped'], ['coverage']);
  const dropped = array(o['dropped'], `${at}.dropped`).map((d, i): DroppedAlert => {
    const e = record(d, `${at}.dropped[${i}]`, ['sink', 'id', 'event', 'queued']);
    return {
      sink: str(e['sink'], `${at}.dropped[${i}].sink`),
      id: str(e['id'], `${at}.dropped[${i}].id`),
      event: oneOf(e['event'], `${at}.dropped[${i}].event`, ALERT_KINDS),
      queued: time(e['queued'], `${at}.dropped[${i}].queued`),
    };
  });
  return {
    version: str(o['version'], `${at}.version`),
    message: str(o['message'], `${at}.message`),
    schedule: o['schedule'] === null ? null : oneOf(o['schedule'], `${at}.schedule`, SCHEDULES),
    dropped,
    ...(o['coverage'] === undefined ? {} : { coverage: oneOf(o['coverage'], `${at}.coverage`, COVERAGE_REASONS) }),
  };
}

function decodeOffline(v: unknown, at: string): OfflineInfo {
  const o = record(v, at, ['active', 'since', 'reason']);
  const since = o['since'] === null ? null : time(o['since'], `${at}.since`);
  return { active: bool(o['active'], `${at}.active`), since, reason: strOrNull(o['reason'], `${at}.reason`) };
}

/** Checks one step of taking the site offline or bringing it back. */
export function decodeAction(v: unknown, at: string): ActionOutcome {
  const o = record(v, at, ['action', 'target', 'ok', 'detail']);
  return {
    action: oneOf(o['action'], `${at}.action`, ACTIONS),
    target: str(o['target'], `${at}.target`),
    ok: bool(o['ok'], `${at}.ok`),
    detail: str(o['detail'], `${at}.detail`),
  };
}

/** The message of an error, for logs. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes an outbox file durably (a temp name of its own: the CLI queues into the same folders), mode 0600. */
export function writeFileDurable(file: string, text: string): void {
  writeFileAtomic(file, text, { mode: 0o600 });
}
