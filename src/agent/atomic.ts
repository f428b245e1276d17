// Atomic, durable file replacement: temp file, fsync, rename, fsync of the directory.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` with `text` so that a crash or `kill -9` at any moment leaves either the old or
 * the new content, never a mix. Throws the OS error when it cannot be written; callers name the file.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp`;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const fd = fs.openSync(tmp, 'w', mode);
    try {
      const bytes = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the temp file is overwritten by the next write anyway; the first error is the one to report
    }
    throw err;
  }
}
