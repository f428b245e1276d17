// Atomic, durable file replacement: temp file, fsync, rename, fsync of the directory.
import fs from 'node:fs';
import path from 'node:path';

let tmpSeq = 0;

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /** The file's mode when created (default 0600). */
  readonly mode?: number;
  /**
   * A temp name of its own (`FILE.PID-N.tmp`, created exclusively), for folders other processes
   * write into too (the outbox, where `pkgwatch online` queues alerts). By default the temp file
   * is `FILE.tmp`, overwritten by the next write: right for a file only one process writes.
   */
  readonly uniqueTemp?: boolean;
  /** Give the file to this owner before it appears under its name (root writing another user's file). */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

/**
 * Replaces `file` with `text` so that a crash or `kill -9` at any moment leaves either the old or
 * the new content, never a mix. Creates the folder (mode 0700) when missing, and fsyncs the parents
 * of what it created. Throws the OS error when it cannot be written; callers name the file.
 */
export function writeFileAtomic(file: string, text: string, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Each new folder's entry lives in its parent: fsync the parents, from the first one created down.
  for (let d = dir; created !== undefined && d !== path.dirname(created); d = path.dirname(d)) fsyncDir(path.dirname(d));
  const tmp = opts.uniqueTemp === true ? `${file}.${process.pid}-${++tmpSeq}.tmp` : `${file}.tmp`;
  try {
    const fd = fs.openSync(tmp, opts.uniqueTemp === true ? 'wx' : 'w', opts.mode ?? 0o600);
    try {
      const bytes = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      if (opts.owner !== undefined) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
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
      // the temp file is overwritten (or, unique, removed at the next open); the first error is the one to report
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
