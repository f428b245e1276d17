// Strict decoders for JSON read back from disk (state, outbox, offline records): each names the
// field that is wrong and what was found, and throws ShapeError.
import type { FileKind, FindingStatus } from './verify/finding.js';
import type { EntryStatJson, FindingJson } from './verify/report.js';

/** A JSON document does not have the expected shape; `message` says which field and what was found. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** The text is not JSON at all; `message` is `not valid JSON (...)`, safe to print. */
export class JsonSyntaxError extends ShapeError {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

export function fail(at: string, expected: string, found: unknown): never {
  throw new ShapeError(`${at}: expected ${expected}, found ${describe(found)}`);
}

export function record(v: unknown, at: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) throw new ShapeError(`${at}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
  for (const k of required) if (!Object.hasOwn(o, k)) throw new ShapeError(`${at}: field "${k}" is missing`);
  return o;
}

export function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, 'an array', v);
  return v as unknown[];
}

export function str(v: unknown, at: string): string {
  if (typeof v !== 'string') fail(at, 'a string', v);
  return v;
}

export function nonEmpty(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') fail(at, 'a non-empty string', v);
  return v;
}

export function strOrNull(v: unknown, at: string): string | null {
  if (v !== null && typeof v !== 'string') fail(at, 'a string or null', v);
  return v;
}

export function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') fail(at, 'true or false', v);
  return v;
}

export function count(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(at, 'a whole number ≥ 0', v);
  return v;
}

export function duration(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(at, 'a number of milliseconds ≥ 0', v);
  return v;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function time(v: unknown, at: string): string {
  if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v)) || new Date(v).toISOString() !== v) {
    fail(at, 'an ISO time like 2024-01-31T12:00:00.000Z', v);
  }
  return v;
}

export function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(at, `one of ${values.join(', ')}`, v);
  return v as T;
}

// A record, not an array, so that a new status in the type fails to compile until listed here.
const STATUS: Record<FindingStatus, true> = {
  changed: true,
  missing: true,
  'wrong-type': true,
  unreadable: true,
  'database-changed': true,
  'metadata-changed': true,
  written: true,
  unowned: true,
  setuid: true,
  added: true,
};
const KINDS: readonly FileKind[] = ['file', 'directory', 'symlink', 'fifo', 'socket', 'character-device', 'block-device', 'unknown'];

function decodeStat(v: unknown, at: string): EntryStatJson {
  const o = record(v, at, ['type', 'size', 'uid', 'gid', 'user', 'group', 'mode', 'mtime'], ['target', 'entries']);
  const mode = str(o['mode'], `${at}.mode`);
  if (!/^[0-7]{4}$/.test(mode)) fail(`${at}.mode`, 'four octal digits', mode);
  const out: EntryStatJson = {
    type: oneOf(o['type'], `${at}.type`, KINDS),
    size: count(o['size'], `${at}.size`),
    uid: count(o['uid'], `${at}.uid`),
    gid: count(o['gid'], `${at}.gid`),
    user: strOrNull(o['user'], `${at}.user`),
    group: strOrNull(o['group'], `${at}.group`),
    mode,
    mtime: str(o['mtime'], `${at}.mtime`),
  };
  if (o['target'] !== undefined) out.target = str(o['target'], `${at}.target`);
  if (o['entries'] !== undefined) out.entries = count(o['entries'], `${at}.entries`);
  return out;
}
const STATUSES = Object.keys(STATUS) as FindingStatus[];

export function decodeFinding(v: unknown, at: string): FindingJson {
  const o = record(v, at, ['package', 'path', 'status', 'conffile', 'expected', 'actual', 'detail'], ['stat', 'source', 'entries', 'entriesOmitted']);
  const status = oneOf(o['status'], `${at}.status`, STATUSES);
  const source = o['source'] === undefined ? undefined : oneOf(o['source'], `${at}.source`, ['baseline'] as const);
  // What no package installed may have no package to name.
  const unpackaged = status === 'unowned' || status === 'setuid' || source === 'baseline';
  const out: FindingJson = {
    package: unpackaged ? str(o['package'], `${at}.package`) : nonEmpty(o['package'], `${at}.package`),
    path: nonEmpty(o['path'], `${at}.path`),
    status,
    conffile: bool(o['conffile'], `${at}.conffile`),
    expected: strOrNull(o['expected'], `${at}.expected`),
    actual: strOrNull(o['actual'], `${at}.actual`),
    detail: strOrNull(o['detail'], `${at}.detail`),
  };
  if (o['stat'] !== undefined) out.stat = decodeStat(o['stat'], `${at}.stat`);
  if (source !== undefined) out.source = source;
  if (o['entries'] !== undefined) {
    out.entries = array(o['entries'], `${at}.entries`).map((e, i) => {
      const w = `${at}.entries[${i}]`;
      const r = record(e, w, ['path', 'expected', 'actual']);
      return { path: nonEmpty(r['path'], `${w}.path`), expected: strOrNull(r['expected'], `${w}.expected`), actual: strOrNull(r['actual'], `${w}.actual`) };
    });
  }
  if (o['entriesOmitted'] !== undefined) out.entriesOmitted = count(o['entriesOmitted'], `${at}.entriesOmitted`);
  return out;
}


/**
 * `s` with control characters (C0, DEL, C1, and the Unicode line and paragraph separators) written
 * as `\xNN` / `\uNNNN`, so that text read from a file another user writes cannot move the cursor,
 * recolour or rewrite a terminal when printed. Backslashes are left alone.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16)}`;
  });
}

/**
 * Parses `text` (read from a file another user may write) and checks it with `decode`. Throws
 * JsonSyntaxError (`not valid JSON (...)`, safe to print) or the decoder's ShapeError.
 */
export function parseJson<T>(text: string, decode: (v: unknown) => T): T {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new JsonSyntaxError(`not valid JSON (${printable(err instanceof Error ? err.message : String(err))})`);
  }
  return decode(v);
}
