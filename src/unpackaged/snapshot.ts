// The present state of the persistence points: which paths they are on the checked system, and
// each entry below them that no package owns, with its type, mode, owner, size, SHA-256, link target.
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fromUtf8, joinPath, joinRoot } from '../dpkg/bytes.js';
import type { BytePath, DbWarning } from '../dpkg/types.js';
import { osErrorText } from '../errors.js';
import type { BaselineEntry } from './baseline.js';
import { compileAllow } from './rules.js';
import type { UnpackagedBase } from './run.js';
import { lstatEntry, walkTree, type WalkEntry } from './walk.js';

/** The most entries one snapshot records (a warning past it: the rest is not held to the baseline). */
export const MAX_PERSIST_ENTRIES = 200_000;
/** How deep below a point a walk goes (pip trees in /usr/local/lib nest deep; loops cannot, no link is followed). */
export const MAX_PERSIST_DEPTH = 24;
/** Account files are read whole to hash each account's line; larger ones are hashed as files. */
const MAX_ACCOUNT_FILE = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** The files whose findings name accounts, never lines or hashes. */
export const ACCOUNT_FILES: ReadonlySet<BytePath> = new Set(['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow']);

/** One configured point and the path it is on the checked system. */
export interface Point {
  /** As configured (`~/.ssh/authorized_keys`, `/etc/cron.d`). */
  readonly point: string;
  /** On the checked system, its parent directories resolved inside the root. */
  readonly path: BytePath;
}

/** What the snapshot is asked to cover. */
export interface PersistRequest {
  /** `[persist] paths` and `add`. */
  readonly points: readonly string[];
  /** `[persist] allow`. */
  readonly allow: readonly string[];
  readonly maxEntries?: number;
}

/** The present state of the points. */
export interface Snapshot {
  readonly points: readonly Point[];
  readonly entries: ReadonlyMap<BytePath, BaselineEntry>;
  readonly unreadable: readonly { readonly path: BytePath; readonly error: string }[];
  readonly warnings: DbWarning[];
  /** Whether a path is neither owned by a package nor allowed: only such paths are recorded and compared. */
  readonly judged: (p: BytePath) => boolean;
}

/** The home directories of the checked system's accounts, root's first (`/root` when passwd has none). */
export function homes(passwd: string): BytePath[] {
  const out = new Set<BytePath>();
  let root: BytePath | null = null;
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    const home = f[5] ?? '';
    if (f.length < 7 || !home.startsWith('/') || home.includes('\0')) continue;
    const h = home.length > 1 ? home.replace(/\/+$/, '') : home;
    if (f[2] === '0' && root === null) root = h;
    out.add(h);
  }
  return [root ?? '/root', ...[...out].filter((h) => h !== (root ?? '/root'))];
}

/** The configured points as paths on the checked system; `~/REST` once per home. */
export function expandPoints(points: readonly string[], homeDirs: readonly BytePath[], canonical: (p: BytePath) => BytePath): Point[] {
  const out: Point[] = [];
  const seen = new Set<BytePath>();
  for (const point of points) {
    const raw = point.startsWith('~/')
      ? homeDirs.map((h) => joinPath(h, fromUtf8(point.slice(2).replace(/\/+$/, ''))))
      : [fromUtf8(point.length > 1 ? point.replace(/\/+$/, '') : point)];
    for (const r of raw) {
      const path = canonical(r);
      if (seen.has(path)) continue;
      seen.add(path);
      out.push({ point, path });
    }
  }
  return out;
}

/** Whether `p` is `top` or lies below it. */
export function isUnder(p: BytePath, top: BytePath): boolean {
  return p === top || top === '/' || p.startsWith(`${top}/`);
}

/** `name` (first field) to SHA-256 of the line, for each account line; a repeated name gets ` (2)`, ... */
export function accountLineHashes(text: Buffer): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of text.toString('latin1').split('\n')) {
    const name = line.split(':')[0] ?? '';
    if (name === '' || line.startsWith('#')) continue;
    let key = name;
    for (let n = 2; key in out; n++) key = `${name} (${n})`;
    out[key] = createHash('sha256').update(Buffer.from(line, 'latin1')).digest('hex');
  }
  return out;
}

type Content = { sha256: string | null; accounts?: Record<string, string>; stat: Stats } | { error: string };

/**
 * Hashes a regular file through a descriptor opened without following a link at its name (and
 * without blocking on a FIFO swapped in), streaming in chunks; the descriptor's file must be the one
 * lstat saw. Account files are read whole (up to 16 MiB) for their per-account hashes.
 */
async function hashFile(root: string, e: WalkEntry): Promise<Content> {
  let fh: FileHandle;
  try {
    fh = await open(joinRoot(root, e.path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { error: osErrorText(err) };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== e.ino || st.dev !== e.dev) return { error: 'ECHANGED: replaced while it was read' };
    const hash = createHash('sha256');
    const accounts = ACCOUNT_FILES.has(e.path) && st.size <= MAX_ACCOUNT_FILE;
    const kept: Buffer[] = [];
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const part = buf.subarray(0, bytesRead);
      hash.update(part);
      if (accounts) kept.push(Buffer.from(part));
    }
    const sha256 = hash.digest('hex');
    return accounts ? { sha256, accounts: accountLineHashes(Buffer.concat(kept)), stat: st } : { sha256, stat: st };
  } catch (err) {
    return { error: osErrorText(err) };
  } finally {
    await fh.close();
  }
}

/** The baseline record of a walked entry (and its content, for a regular file). */
async function record(root: string, e: WalkEntry): Promise<BaselineEntry | { error: string }> {
  const base = { path: e.path, kind: e.kind, mode: e.mode, uid: e.uid, gid: e.gid, size: e.kind === 'directory' ? 0 : e.size, mtimeMs: e.mtimeMs };
  if (e.kind === 'symlink') return { ...base, target: e.target ?? '' };
  if (e.kind !== 'file') return base;
  const c = await hashFile(root, e);
  if ('error' in c) return c;
  // The descriptor's stat: what was hashed, even if the file changed between lstat and open.
  const st = c.stat;
  const out = { ...base, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, sha256: c.sha256 };
  return c.accounts === undefined ? out : { ...out, accounts: c.accounts };
}

/** The root's passwd, for the homes of `~/` points: never through a link, never a FIFO. */
async function readPasswd(root: string): Promise<string> {
  try {
    const fh = await open(joinRoot(root, '/etc/passwd'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_ACCOUNT_FILE) return '';
      return (await fh.readFile()).toString('latin1');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/**
 * Walks every point (lstat only, no link followed, -xdev, at most MAX_PERSIST_DEPTH deep and
 * `maxEntries` in all) and records each entry that no package owns and `allow` does not match.
 */
export async function takeSnapshot(base: UnpackagedBase, req: PersistRequest): Promise<Snapshot> {
  const root = base.db.root;
  const warnings: DbWarning[] = [];
  const points = expandPoints(req.points, homes(await readPasswd(root)), (p) => base.resolver.canonical(p));
  const allow = compileAllow(req.allow);
  const judged = (p: BytePath): boolean => !base.index.has(p) && !allow.allows(p);
  const found: WalkEntry[] = [];
  const unreadable: { path: BytePath; error: string }[] = [];
  let left = req.maxEntries ?? MAX_PERSIST_ENTRIES;
  const host = (p: BytePath): string => `${root === '/' ? '' : root}${Buffer.from(p, 'latin1').toString('utf8')}`;
  for (const pt of points) {
    const top = lstatEntry(root, pt.path);
    if (top === null) continue;
    if ('error' in top) {
      unreadable.push({ path: pt.path, error: top.error });
      continue;
    }
    if (judged(pt.path)) found.push(top);
    if (top.kind !== 'directory' || allow.allowsTree(pt.path)) continue;
    const depthOf = (p: BytePath): number => p.slice(pt.path.length).split('/').length - 1;
    let deep = 0;
    const prune = (e: WalkEntry): boolean => {
      if (allow.allowsTree(e.path)) return true;
      if (depthOf(e.path) < MAX_PERSIST_DEPTH) return false;
      deep++;
      return true;
    };
    let n = 0;
    for (const ev of walkTree(root, pt.path, { maxEntries: left, prune })) {
      if (++n % 4096 === 0) await yieldToLoop();
      if (ev.t === 'entry') {
        if (judged(ev.entry.path)) found.push(ev.entry);
      } else if (ev.t === 'unreadable') {
        unreadable.push({ path: ev.path, error: ev.error });
      } else if (ev.t === 'mount') {
        warnings.push({ package: null, file: host(ev.path), line: null, message: 'a mount point below a persistence point: its content is not held to the baseline' });
      } else {
        warnings.push({ package: null, file: host(pt.path), line: null, message: `stopped recording the persistence points after ${ev.max.toLocaleString('en-US')} entries; the rest is not held to the baseline` });
      }
    }
    left = Math.max(0, left - n);
    if (deep > 0) warnings.push({ package: null, file: host(pt.path), line: null, message: `${deep} directories more than ${MAX_PERSIST_DEPTH} levels below it were not walked` });
  }
  const entries = new Map<BytePath, BaselineEntry>();
  for (const e of found) {
    const r = await record(root, e);
    if ('error' in r) unreadable.push({ path: e.path, error: r.error });
    else entries.set(e.path, r);
  }
  return { points, entries, unreadable, warnings, judged };
}
