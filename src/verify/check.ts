// Per-path checks on the disk: resolves a packaged path inside the root and hashes or lstats it.
// Synchronous on purpose: it runs on worker threads.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import type { BytePath } from '../dpkg/types.js';
import type { FileKind, FindingStatus } from './finding.js';
import type { FdHasher } from './md5.js';
import { errnoCode, osErrorText } from '../errors.js';
import { joinPath, parentPath } from '../dpkg/bytes.js';

/** What checking one path found; `status` null means the path verified. */
export interface CheckOutcome {
  readonly status: FindingStatus | null;
  readonly actual: string | null;
  readonly detail: string | null;
  /** Bytes hashed. */
  readonly bytes: number;
  /** Kind of the object at the path, when it exists. */
  readonly kind: FileKind | null;
}

/** A regular file opened for hashing. */
export interface OpenedFile {
  readonly fd: number;
  readonly size: number;
}

export function isOpened(x: OpenedFile | CheckOutcome): x is OpenedFile {
  return 'fd' in x;
}

/** The outcome of hashing an opened file whose expected md5 is `md5`. */
export function judgeDigest(md5: string, digest: string | Error, bytes: number): CheckOutcome {
  if (digest instanceof Error) return { status: 'unreadable', actual: null, detail: osErrorText(digest), bytes, kind: 'file' };
  if (digest === md5) return { status: null, actual: digest, detail: null, bytes, kind: 'file' };
  return { status: 'changed', actual: digest, detail: null, bytes, kind: 'file' };
}

/**
 * The outcome for a big file whose size is not the one it had when it last verified with the same
 * md5: it is changed, and it is not read, so a huge or sparse file costs nothing. (Holes could be
 * skipped with lseek(SEEK_DATA), which Node does not offer; the size rule makes it unnecessary
 * where a size is on record.)
 */
export function sizeDiffers(known: number, found: number): CheckOutcome {
  return { status: 'changed', actual: null, detail: `its size is ${found} bytes, not the ${known} it had when it last verified (not read)`, bytes: 0, kind: 'file' };
}

/** How many symlinks one resolution may follow, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

type DirEntry =
  | { readonly t: 'dir' }
  | { readonly t: 'link'; readonly target: BytePath }
  | { readonly t: 'other' }
  | { readonly t: 'fail'; readonly status: FindingStatus; readonly detail: string };

type Resolved = { readonly ok: true; readonly real: BytePath } | { readonly ok: false; readonly status: FindingStatus; readonly detail: string };

const OK = (real: BytePath): Resolved => ({ ok: true, real });

/** Maps an lstat result to the kind names used in findings. */
export function kindOf(st: Stats): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  return 'unknown';
}

function isAbsent(code: string | undefined): boolean {
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Checks packaged paths under one root. Resolution happens inside the root: an absolute symlink
 * restarts at the root and `..` never climbs above it. Directory lookups are cached for the
 * checker's lifetime, so create one per run.
 */
export class PathChecker {
  private readonly rootPrefix: Buffer;
  private readonly dirs = new Map<BytePath, DirEntry>();
  private readonly parents = new Map<BytePath, Resolved>();
  private noatime = true;

  constructor(root: string) {
    const trimmed = root.replace(/\/+$/, '');
    this.rootPrefix = Buffer.from(trimmed, 'utf8');
  }

  /** The host path of a real (already resolved) path inside the root. */
  hostPath(real: BytePath): Buffer {
    return this.rootPrefix.length === 0 ? Buffer.from(real, 'latin1') : Buffer.concat([this.rootPrefix, Buffer.from(real, 'latin1')]);
  }

  /** Checks that `path` exists (lstat, the last component not followed). */
  exists(path: BytePath): CheckOutcome {
    const at = this.locate(path);
    if (!at.ok) return { status: at.status, actual: null, detail: at.detail, bytes: 0, kind: null };
    try {
      const st = lstatSync(this.hostPath(at.real));
      return { status: null, actual: null, detail: null, bytes: 0, kind: kindOf(st) };
    } catch (err) {
      const code = errnoCode(err);
      if (isAbsent(code)) return { status: 'missing', actual: null, detail: null, bytes: 0, kind: null };
      return { status: 'unreadable', actual: null, detail: osErrorText(err), bytes: 0, kind: null };
    }
  }

  /**
   * Opens `path` for hashing if it is a regular file: lstat first, so nothing else is ever opened
   * (a FIFO would block, a device could act); then O_NOFOLLOW|O_NONBLOCK, and fstat to make sure
   * the descriptor is the file that lstat saw. Returns the descriptor, or the outcome that ends
   * the check of this path.
   */
  open(path: BytePath): OpenedFile | CheckOutcome {
    const at = this.locate(path);
    if (!at.ok) return { status: at.status, actual: null, detail: at.detail, bytes: 0, kind: null };
    const host = this.hostPath(at.real);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch (err) {
      const code = errnoCode(err);
      if (isAbsent(code)) return { status: 'missing', actual: null, detail: null, bytes: 0, kind: null };
      return { status: 'unreadable', actual: null, detail: osErrorText(err), bytes: 0, kind: null };
    }
    if (!st.isFile()) return this.wrongType(host, kindOf(st));
    let fd: number;
    try {
      fd = this.openFlags(host);
    } catch (err) {
      const code = errnoCode(err);
      if (isAbsent(code)) return { status: 'missing', actual: null, detail: 'removed during the check', bytes: 0, kind: null };
      if (code === 'ELOOP') return this.wrongType(host, 'symlink');
      return { status: 'unreadable', actual: null, detail: osErrorText(err), bytes: 0, kind: 'file' };
    }
    try {
      const fst = fstatSync(fd);
      if (!fst.isFile()) {
        closeSync(fd);
        return this.wrongType(host, kindOf(fst));
      }
      if (fst.ino !== st.ino || fst.dev !== st.dev) {
        closeSync(fd);
        return { status: 'changed', actual: null, detail: 'replaced by another file during the check', bytes: 0, kind: 'file' };
      }
      return { fd, size: fst.size };
    } catch (err) {
      closeSync(fd);
      return { status: 'unreadable', actual: null, detail: osErrorText(err), bytes: 0, kind: 'file' };
    }
  }

  /** Checks that `path` is a regular file whose md5 is `md5`, hashing it with `hasher`. */
  hash(path: BytePath, md5: string, hasher: FdHasher): CheckOutcome {
    const opened = this.open(path);
    if (!isOpened(opened)) return opened;
    try {
      const r = hasher.hashFds([opened.fd]);
      return judgeDigest(md5, r.digests[0] ?? new Error('no digest'), r.bytes[0] ?? 0);
    } finally {
      closeSync(opened.fd);
    }
  }

  private wrongType(host: Buffer, kind: FileKind): CheckOutcome {
    let detail = `${kind} where a regular file belongs`;
    if (kind === 'symlink') {
      try {
        const target = readlinkSync(host, { encoding: 'buffer' }).toString('latin1');
        detail += ` (-> ${target})`;
      } catch {
        // the link went away between lstat and readlink; the kind is still what was found
      }
    }
    return { status: 'wrong-type', actual: kind, detail, bytes: 0, kind };
  }

  private openFlags(host: Buffer): number {
    const base = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    if (this.noatime) {
      try {
        return openSync(host, base | constants.O_NOATIME);
      } catch (err) {
        // O_NOATIME needs ownership or CAP_FOWNER; without it, plain opens for the rest of the run.
        if (errnoCode(err) !== 'EPERM') throw err;
        this.noatime = false;
      }
    }
    return openSync(host, base);
  }

  /** Resolves the parent directory of `path` inside the root; the last component stays unresolved. */
  private locate(path: BytePath): Resolved {
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    if (name === '' || name === '.' || name === '..') {
      // `/` itself, or a path that names a directory through `.`: resolve all of it.
      return this.resolve(path, 0);
    }
    const parent = slash <= 0 ? '/' : path.slice(0, slash);
    let dir = this.parents.get(parent);
    if (dir === undefined) {
      dir = this.resolve(parent, 0);
      this.parents.set(parent, dir);
    }
    return dir.ok ? OK(joinPath(dir.real, name)) : dir;
  }

  /** Resolves every component of `path` (absolute or relative to `/`) inside the root. */
  private resolve(path: BytePath, depth: number): Resolved {
    const pending = path.split('/').reverse();
    let cur: BytePath = '/';
    let links = depth;
    while (pending.length > 0) {
      const c = pending.pop() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur = parentPath(cur);
        continue;
      }
      const next = joinPath(cur, c);
      const entry = this.dirEntry(next);
      switch (entry.t) {
        case 'dir':
          cur = next;
          break;
        case 'link': {
          if (++links > MAX_SYMLINKS) return { ok: false, status: 'missing', detail: `too many levels of symbolic links at ${next}` };
          const parts = entry.target.split('/').reverse();
          pending.push(...parts);
          if (entry.target.startsWith('/')) cur = '/';
          break;
        }
        case 'other':
          return { ok: false, status: 'missing', detail: `${next} is not a directory` };
        case 'fail':
          return { ok: false, status: entry.status, detail: entry.detail };
      }
    }
    return OK(cur);
  }

  private dirEntry(real: BytePath): DirEntry {
    const hit = this.dirs.get(real);
    if (hit !== undefined) return hit;
    let entry: DirEntry;
    const host = this.hostPath(real);
    try {
      const st = lstatSync(host);
      if (st.isDirectory()) entry = { t: 'dir' };
      else if (st.isSymbolicLink()) entry = { t: 'link', target: readlinkSync(host, { encoding: 'buffer' }).toString('latin1') };
      else entry = { t: 'other' };
    } catch (err) {
      const code = errnoCode(err);
      entry = isAbsent(code)
        ? { t: 'fail', status: 'missing', detail: `${real} does not exist` }
        : { t: 'fail', status: 'unreadable', detail: `${real}: ${osErrorText(err)}` };
    }
    this.dirs.set(real, entry);
    return entry;
  }
}
