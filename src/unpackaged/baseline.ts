// The local baseline of the persistence points (state_dir/baseline.json): its records, its strict
// decoder, and reading and writing it in a folder the agent's user owns (SafeDir: no link followed).
import fs from 'node:fs';
import path from 'node:path';
import { array, count, fail, parseJson, record, ShapeError, str, time } from '../decode.js';
import type { BytePath } from '../dpkg/types.js';
import { PkgwatchError } from '../errors.js';
import { inDir, SafeDir } from '../safedir.js';
import type { FileKind } from '../verify/finding.js';

/** The baseline's file name in the state dir. */
export const BASELINE_FILE = 'baseline.json';

/** The largest baseline read back (200,000 entries of ~250 bytes fit easily). */
export const MAX_BASELINE_BYTES = 128 * 1024 * 1024;

/** What was recorded of one entry below a persistence point that no package owns. */
export interface BaselineEntry {
  readonly path: BytePath;
  readonly kind: FileKind;
  /** st_mode & 0o7777. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Regular files and symlinks; 0 for directories (their size changes with their names). */
  readonly size: number;
  /** For people only (shown on missing findings); never compared. */
  readonly mtimeMs: number;
  /** Regular files: SHA-256 of the content, hex; null when it could not be read. */
  readonly sha256?: string | null;
  /** Symlinks: the target, never followed. */
  readonly target?: BytePath;
  /**
   * The account files (/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow): SHA-256 of each
   * account's line, by name, so that a finding names accounts and shows no line and no hash.
   */
  readonly accounts?: Readonly<Record<string, string>>;
}

/** The whole baseline. */
export interface Baseline {
  readonly version: 1;
  /** The checked system it was recorded on (`root`), so a baseline is not compared with another. */
  readonly root: string;
  /** ISO times: first recorded, last changed. */
  readonly created: string;
  readonly updated: string;
  /** The points (as configured, `~/` kept) it covers; a point added to the config later is not compared until accepted. */
  readonly points: readonly string[];
  /** Sorted by path bytes. */
  readonly entries: readonly BaselineEntry[];
}

const KINDS: readonly FileKind[] = ['file', 'directory', 'symlink', 'fifo', 'socket', 'character-device', 'block-device', 'unknown'];
const HEX64 = /^[0-9a-f]{64}$/;

// Paths are byte strings (one char per byte): JSON keeps them exactly (chars 0x80-0xff as UTF-8 pairs).
function entryJson(e: BaselineEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { path: e.path, type: e.kind, mode: e.mode.toString(8).padStart(4, '0'), uid: e.uid, gid: e.gid, size: e.size, mtimeMs: e.mtimeMs };
  if (e.sha256 !== undefined) o['sha256'] = e.sha256;
  if (e.target !== undefined) o['target'] = e.target;
  if (e.accounts !== undefined) o['accounts'] = e.accounts;
  return o;
}

/** The baseline as the text written to disk. */
export function encodeBaseline(b: Baseline): string {
  return `${JSON.stringify({ version: b.version, root: b.root, created: b.created, updated: b.updated, points: b.points, entries: b.entries.map(entryJson) }, null, 1)}\n`;
}

function byteString(v: unknown, at: string): BytePath {
  const s = str(v, at);
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) fail(at, 'a path of bytes', v);
  return s;
}

function decodeEntry(v: unknown, at: string): BaselineEntry {
  const o = record(v, at, ['path', 'type', 'mode', 'uid', 'gid', 'size', 'mtimeMs'], ['sha256', 'target', 'accounts']);
  const p = byteString(o['path'], `${at}.path`);
  if (!p.startsWith('/') || p.includes('\0')) fail(`${at}.path`, 'an absolute path', p);
  const kind = o['type'];
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) fail(`${at}.type`, `one of ${KINDS.join(', ')}`, kind);
  const mode = str(o['mode'], `${at}.mode`);
  if (!/^[0-7]{4}$/.test(mode)) fail(`${at}.mode`, 'four octal digits', mode);
  const mtimeMs = o['mtimeMs'];
  if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) fail(`${at}.mtimeMs`, 'a number', mtimeMs);
  const e: { -readonly [K in keyof BaselineEntry]: BaselineEntry[K] } = {
    path: p,
    kind: kind as FileKind,
    mode: parseInt(mode, 8),
    uid: count(o['uid'], `${at}.uid`),
    gid: count(o['gid'], `${at}.gid`),
    size: count(o['size'], `${at}.size`),
    mtimeMs,
  };
  if (o['sha256'] !== undefined) {
    const h = o['sha256'];
    if (h !== null && (typeof h !== 'string' || !HEX64.test(h))) fail(`${at}.sha256`, '64 hex digits or null', h);
    e.sha256 = h;
  }
  if (o['target'] !== undefined) e.target = byteString(o['target'], `${at}.target`);
  if (o['accounts'] !== undefined) {
    const acc = o['accounts'];
    if (typeof acc !== 'object' || acc === null || Array.isArray(acc)) fail(`${at}.accounts`, 'an object', acc);
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, h] of Object.entries(acc as Record<string, unknown>)) {
      if (typeof h !== 'string' || !HEX64.test(h)) fail(`${at}.accounts`, 'a map of names to 64 hex digits', h);
      out[k] = h;
    }
    e.accounts = out;
  }
  return e;
}

/** Checks the parsed JSON of a baseline; throws ShapeError naming the field. */
export function decodeBaseline(v: unknown): Baseline {
  const o = record(v, 'baseline', ['version', 'root', 'created', 'updated', 'points', 'entries']);
  if (o['version'] !== 1) fail('baseline.version', '1', o['version']);
  const points = array(o['points'], 'baseline.points').map((p, i) => str(p, `baseline.points[${i}]`));
  const entries = array(o['entries'], 'baseline.entries').map((e, i) => decodeEntry(e, `baseline.entries[${i}]`));
  const seen = new Set<BytePath>();
  for (const [i, e] of entries.entries()) {
    if (seen.has(e.path)) throw new ShapeError(`baseline.entries[${i}].path: ${JSON.stringify(e.path)} is recorded twice`);
    seen.add(e.path);
  }
  return { version: 1, root: str(o['root'], 'baseline.root'), created: time(o['created'], 'baseline.created'), updated: time(o['updated'], 'baseline.updated'), points, entries };
}

/** No baseline in the state dir: the message says what to run. */
export function noBaselineError(stateDir: string): PkgwatchError {
  return new PkgwatchError('usage', `there is no baseline of the persistence points in ${stateDir} yet: run \`pkgwatch baseline init\` first (the agent does so at its first start)`);
}

/**
 * The baseline in `stateDir`, or null when there is none. Throws PkgwatchError (kind config) naming
 * the file when it is a link, not a regular file, too large, or not a baseline this version wrote.
 */
export function readBaseline(stateDir: string): Baseline | null {
  const file = path.join(stateDir, BASELINE_FILE);
  let text: string | null;
  try {
    text = inDir(stateDir, null, (d) => d.readText(BASELINE_FILE, MAX_BASELINE_BYTES));
  } catch (err) {
    throw new PkgwatchError('config', `the baseline ${file} cannot be used: ${(err as Error).message}`, { cause: err });
  }
  if (text === null) return null;
  try {
    return parseJson(text, decodeBaseline);
  } catch (err) {
    throw new PkgwatchError(
      'config',
      `the baseline ${file} is malformed: ${(err as Error).message}; move it away and record a new one (pkgwatch baseline init --force) after checking the persistence points by hand`,
      { cause: err },
    );
  }
}

/**
 * Writes the baseline into `stateDir` atomically (SafeDir.writeAtomic: unique temp name, no link
 * followed, mode 0600, given to the folder's owner when root writes it). The folder is made (0700)
 * when missing. Throws PkgwatchError naming the file.
 */
export function writeBaseline(stateDir: string, b: Baseline): void {
  const file = path.join(stateDir, BASELINE_FILE);
  try {
    let d: SafeDir;
    try {
      d = SafeDir.open(stateDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      d = SafeDir.open(stateDir);
    }
    try {
      d.writeAtomic(BASELINE_FILE, encodeBaseline(b), 0o600);
    } finally {
      d.close();
    }
  } catch (err) {
    throw new PkgwatchError('config', `cannot write the baseline ${file}: ${(err as Error).message}`, { cause: err });
  }
}
