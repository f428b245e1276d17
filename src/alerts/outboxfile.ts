// The outbox's on-disk format: file names, the entry and dropped.json codecs, strict validation, durable writes.
import fs from 'node:fs';
import path from 'node:path';
import type { FindingStatus } from '../verify/finding.js';
import type { FindingJson } from '../verify/report.js';
import { ALERT_KINDS, type ActionOutcome, type AlertEvent, type OfflineInfo } from './sink.js';

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

/** Thrown when a file is not a valid outbox file; the message says where and what is wrong. */
export class OutboxShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxShapeError';
  }
}

// Safe in a file name, no dot-only names, no separators: event ids are UUIDs in practice.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SINK = /^[a-z][a-z0-9_-]{0,31}$/;
const FILE_NAME = /^(\d{13})-([A-Za-z0-9][A-Za-z0-9._-]{0,127})\.json$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

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
 * Decodes the text of the entry file `name` found in the folder of `sink`; throws OutboxShapeError
 * (or SyntaxError for bad JSON) when the name, the JSON or any field is not what the outbox writes.
 */
export function decodeEntry(text: string, sink: string, name: string): OutboxFile {
  const parsed = parseEntryFileName(name);
  if (parsed === null) throw new OutboxShapeError(`the name is not <13-digit queue time>-<event id>.json`);
  const o = record(JSON.parse(text), 'file', ['version', 'sink', 'queued', 'event']);
  if (o['version'] !== OUTBOX_VERSION) fail('file.version', `${OUTBOX_VERSION}`, o['version']);
  const fileSink = str(o['sink'], 'file.sink');
  if (fileSink !== sink) throw new OutboxShapeError(`file.sink: is ${JSON.stringify(fileSink)} but the file is in the folder of ${JSON.stringify(sink)}`);
  const queued = time(o['queued'], 'file.queued');
  if (Date.parse(queued) !== parsed.queuedMs) throw new OutboxShapeError(`file.queued: ${queued} does not match the time in the file name`);
  const event = decodeAlertEvent(o['event'], 'file.event');
  if (event.id !== parsed.id) throw new OutboxShapeError(`file.event.id: ${JSON.stringify(event.id)} does not match the id in the file name`);
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
    if (!isSinkDirName(sink)) throw new OutboxShapeError(`dropped.json.dropped: ${JSON.stringify(sink)} is not a sink name`);
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

// Records, not arrays, so that a new kind or status in the types fails to compile until listed here.
const STATUS: Record<FindingStatus, true> = { changed: true, missing: true, 'wrong-type': true, unreadable: true, 'database-changed': true };
const ACTION: Record<ActionOutcome['action'], true> = {
  flag_file: true,
  stop_unit: true,
  command: true,
  remove_flag_file: true,
  start_unit: true,
  restore_command: true,
};
const STATUSES = Object.keys(STATUS) as FindingStatus[];
const ACTIONS = Object.keys(ACTION) as ActionOutcome['action'][];

/**
 * Checks that `v` is an AlertEvent with nothing missing and nothing extra, and returns a fresh copy
 * built only from the checked fields. Throws OutboxShapeError naming the field at `at`.
 */
export function decodeAlertEvent(v: unknown, at: string): AlertEvent {
  const o = record(v, at, ['kind', 'id', 'host', 'time', 'findings', 'offline'], ['actions']);
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
  if (!Object.hasOwn(o, 'actions')) return event;
  const actions = array(o['actions'], `${at}.actions`).map((a, i) => decodeAction(a, `${at}.actions[${i}]`));
  return { ...event, actions };
}

function decodeFinding(v: unknown, at: string): FindingJson {
  const o = record(v, at, ['package', 'path', 'status', 'conffile', 'expected', 'actual', 'detail']);
  return {
    package: nonEmpty(o['package'], `${at}.package`),
    path: nonEmpty(o['path'], `${at}.path`),
    status: oneOf(o['status'], `${at}.status`, STATUSES),
    conffile: bool(o['conffile'], `${at}.conffile`),
    expected: strOrNull(o['expected'], `${at}.expected`),
    actual: strOrNull(o['actual'], `${at}.actual`),
    detail: strOrNull(o['detail'], `${at}.detail`),
  };
}

function decodeOffline(v: unknown, at: string): OfflineInfo {
  const o = record(v, at, ['active', 'since', 'reason']);
  const since = o['since'] === null ? null : time(o['since'], `${at}.since`);
  return { active: bool(o['active'], `${at}.active`), since, reason: strOrNull(o['reason'], `${at}.reason`) };
}

function decodeAction(v: unknown, at: string): ActionOutcome {
  const o = record(v, at, ['action', 'target', 'ok', 'detail']);
  return {
    action: oneOf(o['action'], `${at}.action`, ACTIONS),
    target: str(o['target'], `${at}.target`),
    ok: bool(o['ok'], `${at}.ok`),
    detail: str(o['detail'], `${at}.detail`),
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

function fail(at: string, expected: string, found: unknown): never {
  throw new OutboxShapeError(`${at}: expected ${expected}, found ${describe(found)}`);
}

function record(v: unknown, at: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) throw new OutboxShapeError(`${at}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
  for (const k of required) if (!Object.hasOwn(o, k)) throw new OutboxShapeError(`${at}: field "${k}" is missing`);
  return o;
}

function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, 'an array', v);
  return v as unknown[];
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string') fail(at, 'a string', v);
  return v;
}

function nonEmpty(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') fail(at, 'a non-empty string', v);
  return v;
}

function strOrNull(v: unknown, at: string): string | null {
  if (v !== null && typeof v !== 'string') fail(at, 'a string or null', v);
  return v;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') fail(at, 'true or false', v);
  return v;
}

function count(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(at, 'a whole number ≥ 0', v);
  return v;
}

function time(v: unknown, at: string): string {
  if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v)) || new Date(v).toISOString() !== v) {
    fail(at, 'an ISO time like 2024-01-31T12:00:00.000Z', v);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(at, `one of ${values.join(', ')}`, v);
  return v as T;
}

let tmpSeq = 0;

/**
 * Writes `file` so that a crash or `kill -9` at any moment leaves either no file or the whole new
 * one: a `*.tmp` file in the same folder, written, fsynced, renamed, then the folder fsynced.
 * Creates the folder (mode 0700) when missing, and fsyncs its parent then. Throws the OS error.
 * (The idea of agent/atomic.ts, repeated here because alerts/ must not import agent/.)
 */
export function writeFileDurable(file: string, text: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Each new folder's entry lives in its parent: fsync the parents, from the first one created down.
  for (let d = dir; created !== undefined && d !== path.dirname(created); d = path.dirname(d)) fsyncDir(path.dirname(d));
  // pid and a counter: another process (the CLI) may write into the same folder at the same time.
  const tmp = `${file}.${process.pid}-${++tmpSeq}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      const bytes = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(dir);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // a leftover temp file is removed when the outbox opens; the first error is the one to report
    }
    throw err;
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The message of an error, for logs. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
