// Creates and removes the maintenance flag file the web server checks (systemd/nginx-maintenance.conf), durably and without following links.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, osErrorText } from '../errors.js';

/** The flag's mode, set explicitly whatever the agent's UMask (0077): the web server's user tests it; it is empty, so it tells nothing more. */
export const FLAG_MODE = 0o644;

/** How creating or removing the flag went, for an ActionOutcome. */
export interface FlagResult {
  readonly ok: boolean;
  readonly detail: string;
}

const OPEN_NEW = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
// O_NONBLOCK: a FIFO planted at the path fails with ENXIO instead of blocking the agent.
const OPEN_EXISTING = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const FIX = 'or set [offline] flag_file';

/**
 * Creates `file` empty (or empties it when present), mode 0644, and fsyncs it and its directory.
 * Empty: the web server only tests that it exists, and anyone who can stat it (www-data) could read
 * what it said; when and why the site went offline are in the offline record (0600) and the alert.
 * Never follows a symbolic link at `file`, never changes a file with other hard links. Never throws.
 */
export function createFlagFile(file: string): FlagResult {
  let fd: number;
  let existed = false;
  try {
    try {
      fd = fs.openSync(file, OPEN_NEW, FLAG_MODE);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      existed = true;
      fd = fs.openSync(file, OPEN_EXISTING);
    }
  } catch (err) {
    return { ok: false, detail: openErrorText(file, err) };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { ok: false, detail: `${file} exists and is not a regular file: remove it ${FIX}` };
    // A hard link made to another file (say /etc/passwd) would have us rewrite and chmod that file.
    if (st.nlink > 1) return { ok: false, detail: `${file} has ${st.nlink} hard links; pkgwatch does not write through them: remove it ${FIX}` };
    fs.ftruncateSync(fd, 0);
    fs.fchmodSync(fd, FLAG_MODE);
    fs.fsyncSync(fd);
  } catch (err) {
    return { ok: false, detail: `cannot write the flag file ${file}: ${osErrorText(err)}` };
  } finally {
    fs.closeSync(fd);
  }
  const synced = syncDir(path.dirname(file));
  const what = existed ? 'already present (rewritten)' : 'created';
  return { ok: true, detail: synced === null ? what : `${what}; ${synced}` };
}

/** Removes `file`; absent already is fine. Never throws. */
export function removeFlagFile(file: string): FlagResult {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return { ok: true, detail: 'was not present' };
    if (code === 'EISDIR' || code === 'EPERM') {
      // unlink(2) of a directory: EISDIR on Linux, EPERM elsewhere.
      if (isDirectory(file)) return { ok: false, detail: `${file} is a directory, not a flag file: remove it by hand ${FIX}` };
    }
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, detail: `cannot remove the flag file ${file}: ${osErrorText(err)} (${runningAs()}): remove it by hand (rm ${file})` };
    return { ok: false, detail: `cannot remove the flag file ${file}: ${osErrorText(err)}` };
  }
  const synced = syncDir(path.dirname(file));
  return { ok: true, detail: synced === null ? 'removed' : `removed; ${synced}` };
}

function openErrorText(file: string, err: unknown): string {
  const dir = path.dirname(file);
  switch (errnoCode(err)) {
    case 'ENOENT':
      return `cannot create the flag file ${file}: the directory ${dir} does not exist: create the directory ${FIX}`;
    case 'ENOTDIR':
      return `cannot create the flag file ${file}: a component of ${dir} is not a directory: fix the path ${FIX}`;
    case 'ELOOP':
      return `${file} is a symbolic link; pkgwatch does not follow links there: remove the link (rm ${file}) ${FIX}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot create the flag file ${file}: ${osErrorText(err)} (${runningAs()}): make ${dir} writable for it ${FIX}`;
    case 'EROFS':
      return `cannot create the flag file ${file}: ${dir} is on a read-only file system (the pkgwatch service may write only its state directory): set [offline] flag_file to a path in it`;
    case 'EISDIR':
      return `${file} is a directory, not a flag file: remove it ${FIX}`;
    case 'ENXIO':
      return `${file} is a FIFO or socket, not a flag file: remove it ${FIX}`;
    default:
      return `cannot create the flag file ${file}: ${osErrorText(err)}`;
  }
}

/** fsyncs a directory so a new or removed entry survives a crash; returns a note when that failed (the flag itself is in place). */
function syncDir(dir: string): string | null {
  try {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return null;
  } catch (err) {
    return `${dir} not synced: ${osErrorText(err)}`;
  }
}

function isDirectory(file: string): boolean {
  try {
    return fs.lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}

function runningAs(): string {
  const uid = process.getuid?.();
  try {
    return `running as user ${os.userInfo().username}`;
  } catch {
    return `running as uid ${String(uid)}`;
  }
}
