// Atomic, durable file replacement: a uniquely named temp file (O_EXCL|O_NOFOLLOW), fsync, rename, fsync of the directory.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from './errors.js';
import { SafeDir } from './safedir.js';

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /** The file's mode, set explicitly whatever the umask (default 0600). */
  readonly mode?: number;
}

/**
 * Replaces `file` with `text` so that a crash or `kill -9` at any moment leaves either the old or
 * the new content, never a mix. The temp file always has a name of its own (`FILE.PID-RANDOM.tmp`,
 * created with O_EXCL|O_NOFOLLOW), so a link planted at any name is never written through, and
 * several processes may write the same file. The folder's path is trusted (followed, and created
 * with mode 0700 when missing, its new parents fsynced); the file's name is not: a link there is
 * replaced, never followed. For folders inside a folder another user controls, open them with
 * SafeDir.dir instead. Running as root in a folder another user owns (the agent's state dir), the
 * file goes to that owner. Throws the OS error when it cannot be written; callers name the file.
 */
export function writeFileAtomic(file: string, text: string, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Each new folder's entry lives in its parent: fsync the parents, from the first one created down.
  for (let d = dir; created !== undefined; d = path.dirname(d)) {
    fsyncDir(path.dirname(d));
    if (d === created || d === path.dirname(d)) break;
  }
  const d = SafeDir.open(dir);
  try {
    d.writeAtomic(path.basename(file), text, opts.mode ?? 0o600);
  } finally {
    d.close();
  }
}

// `NAME.PID-RANDOM.tmp`, as SafeDir.writeAtomic names its temp files.
const TEMP = /^.+\.(\d+)-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temp files in `dir` that writeFileAtomic left behind when its process died between
 * creating and renaming them (those of live processes are being written now). Returns the names
 * removed; never throws (a folder that cannot be read has nothing to clean).
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let d: SafeDir;
  try {
    d = SafeDir.open(dir);
  } catch {
    return removed;
  }
  try {
    for (const name of d.names()) {
      const m = TEMP.exec(name);
      if (m === null || pidAlive(Number(m[1]))) continue;
      try {
        if (d.remove(name)) removed.push(name);
      } catch {
        // a folder of that name, or no permission: left alone
      }
    }
  } catch {
    // unreadable: nothing to clean
  } finally {
    d.close();
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
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
