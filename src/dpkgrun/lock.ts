// Whether dpkg is running right now: is its admindir lock write-locked, as /proc/locks shows it.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** One line of /proc/locks. */
export interface ProcLock {
  /** The kernel's ordinal of the lock (the `N:` at the start of the line). */
  readonly id: number;
  /** A waiter (`->` lines): a process blocked waiting for the lock, not one that holds it. */
  readonly blocked: boolean;
  /** `POSIX` (fcntl/lockf), `OFDLCK` (open-file-description), `FLOCK`, `LEASE`, `DELEG`… */
  readonly type: string;
  /** `ADVISORY`, `MANDATORY`, or a lease's state (`ACTIVE`, `BREAKING`…). */
  readonly mode: string;
  /** `READ`, `WRITE`, `UNLCK` or `NONE`. */
  readonly access: string;
  /** Holder's pid; -1 for OFD locks, which belong to an open file, not a process. */
  readonly pid: number;
  /** Device of the locked file, as the kernel's major and minor numbers. */
  readonly major: number;
  readonly minor: number;
  readonly inode: bigint;
}

/** A write lock held on one of dpkg's lock files. */
export interface HeldDpkgLock {
  /** Host path of the lock file (`<admindir>/lock` or `<admindir>/lock-frontend`). */
  readonly file: string;
  /** Holder's pid, or -1 when the kernel does not say (OFD locks). */
  readonly pid: number;
  readonly type: string;
}

/** dpkg's own lock, and the one apt and other frontends take around whole runs. */
const LOCK_FILES = ['lock', 'lock-frontend'] as const;

/** Lock types that mean "a process holds it": fcntl/lockf, OFD and flock locks, never leases. */
const HOLDING_TYPES = new Set(['POSIX', 'OFDLCK', 'FLOCK']);

// `1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`, waiters as `1: -> POSIX ...`.
const LINE = /^\s*(\d+):\s+(->\s+)?(\S+)\s+(\S+)\s+(\S+)\s+(-?\d+)\s+([0-9a-fA-F]+):([0-9a-fA-F]+):(\d+)(?:\s|$)/;

/**
 * Parses the text of /proc/locks. Lines that do not have the expected shape are skipped (the
 * kernel's format has been stable since 2.6; a new lock type would still parse).
 */
export function parseProcLocks(text: string): ProcLock[] {
  const out: ProcLock[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, id, arrow, type, mode, access, pid, major, minor, inode] = m;
    if (id === undefined || type === undefined || mode === undefined || access === undefined) continue;
    if (pid === undefined || major === undefined || minor === undefined || inode === undefined) continue;
    out.push({
      id: Number(id),
      blocked: arrow !== undefined,
      type,
      mode,
      access,
      pid: Number(pid),
      major: Number.parseInt(major, 16),
      minor: Number.parseInt(minor, 16),
      inode: BigInt(inode),
    });
  }
  return out;
}

/**
 * Splits a `stat` st_dev into major and minor as glibc's `gnu_dev_major`/`gnu_dev_minor` do
 * (Linux's 64-bit dev_t encoding; the kernel prints the same numbers in /proc/locks).
 */
export function devMajorMinor(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major & 0xffffffffn), minor: Number(minor & 0xffffffffn) };
}

/**
 * The write locks held on dpkg's lock files in `admindir` (a host path). A lock file that does not
 * exist is not locked. Throws when /proc/locks cannot be read, or a lock file exists but cannot be
 * stat'ed (EACCES): "cannot tell" is not "dpkg is not running", the caller decides.
 */
export async function findDpkgLocks(admindir: string, procLocks = '/proc/locks'): Promise<HeldDpkgLock[]> {
  const files: { file: string; major: number; minor: number; inode: bigint }[] = [];
  for (const name of LOCK_FILES) {
    const file = path.join(admindir, name);
    try {
      const st = await stat(file, { bigint: true });
      files.push({ file, ...devMajorMinor(st.dev), inode: st.ino });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw err;
    }
  }
  if (files.length === 0) return [];
  const locks = parseProcLocks(await readFile(procLocks, 'latin1'));
  const held: HeldDpkgLock[] = [];
  for (const l of locks) {
    if (l.blocked || l.access !== 'WRITE' || !HOLDING_TYPES.has(l.type)) continue;
    const f = files.find((x) => x.inode === l.inode && x.major === l.major && x.minor === l.minor);
    if (f !== undefined) held.push({ file: f.file, pid: l.pid, type: l.type });
  }
  return held;
}

/**
 * Whether dpkg (or apt, through `lock-frontend`) is running on the database in `admindir`: one of
 * its lock files is write-locked. Throws as `findDpkgLocks` does.
 */
export async function isDpkgLockHeld(admindir: string): Promise<boolean> {
  return (await findDpkgLocks(admindir)).length > 0;
}
