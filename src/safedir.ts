// Files in a directory another user controls (the agent's state dir, as root's commands see it): every
// name is opened relative to a held directory descriptor, never through a link, with unique temp names.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, osErrorText } from './errors.js';

const C = fs.constants;
// O_NONBLOCK: a FIFO planted at the name neither blocks the open nor the read (fstat refuses it).
const OPEN_READ = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;
const OPEN_NEW = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const OPEN_SUBDIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** A user and group to give new files and folders to. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** Something at a name is not what pkgwatch may use there; `message` names it and says what to do. */
export class UnsafeFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeFileError';
  }
}

/** An OS error as `[what: ]CODE: description` (no /proc/self/fd path in it), keeping `code` for callers. */
function osError(err: unknown, what?: string): Error {
  const out = new Error(what === undefined ? osErrorText(err) : `${what}: ${osErrorText(err)}`, { cause: err }) as NodeJS.ErrnoException;
  const code = errnoCode(err);
  if (code !== undefined) out.code = code;
  return out;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a device';
}

// A link is never an accident there: pkgwatch itself only ever writes regular files with one link.
function planted(dir: string, file: string): string {
  return `someone who can write ${dir} (the agent's user) may have planted it: remove it (rm ${file}) and find out how it got there`;
}

/**
 * An open directory. Names are looked up in it through `/proc/self/fd/N/NAME` (openat(2) for a
 * language without it): the directory cannot be swapped after it was opened, and each name's last
 * component is never followed (`O_NOFOLLOW`), so a symbolic link planted there is refused, not
 * followed. Files read must be regular files with one link and at most a given size; files written
 * are created under unique temp names (`O_CREAT|O_EXCL|O_NOFOLLOW`) and renamed into place.
 *
 * Running as root in a folder another user owns (the agent's state dir), what is created in it, and
 * in the folders opened from it, is given to that owner through the new file's own descriptor
 * (`fchown`): never by path, never to anything that was already there.
 */
export class SafeDir {
  /** The folder's path, for messages. */
  readonly path: string;
  /** Who new files and folders go to (set only when running as root in another user's folder). */
  readonly owner: Owner | undefined;
  #fd: number;

  private constructor(dirPath: string, fd: number, owner: Owner | undefined) {
    this.path = dirPath;
    this.#fd = fd;
    this.owner = owner;
  }

  /**
   * Opens `dir` by path: its path is trusted (root's configuration names it, and only root can
   * change its parents), so a link at `dir` itself is followed. Throws an Error naming `dir` with
   * the OS error's `code` (ENOENT when it is missing), or an Error when /proc is not mounted.
   */
  static open(dir: string): SafeDir {
    let fd: number;
    try {
      fd = fs.openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
    } catch (err) {
      throw osError(err, `cannot open the folder ${dir}`);
    }
    try {
      try {
        fs.statSync(`/proc/self/fd/${fd}`);
      } catch (err) {
        throw new Error(`pkgwatch needs /proc to open files in ${dir} safely (${osErrorText(err)}): mount /proc`, { cause: err });
      }
      const st = fs.fstatSync(fd);
      const owner = process.getuid?.() === 0 && st.uid !== 0 ? { uid: st.uid, gid: st.gid } : undefined;
      return new SafeDir(dir, fd, owner);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** The path a name is opened by, relative to the held descriptor. */
  #at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new Error(`internal error: ${JSON.stringify(name)} is not a file name`);
    }
    if (this.#fd < 0) throw new Error(`internal error: ${this.path} is closed`);
    return `/proc/self/fd/${this.#fd}/${name}`;
  }

  /** The name's path for people. */
  show(name: string): string {
    return path.join(this.path, name);
  }

  /**
   * The text of the regular file `name`, or null when there is none. Throws UnsafeFileError for a
   * symbolic link, anything but a regular file, a file with more than one hard link, a file over
   * `maxBytes` or one that is not UTF-8; an Error naming the file for other OS errors.
   */
  readText(name: string, maxBytes: number): string | null {
    const file = this.show(name);
    let fd: number;
    try {
      fd = fs.openSync(this.#at(name), OPEN_READ);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new UnsafeFileError(`${file} is a symbolic link, which pkgwatch never creates and does not follow; ${planted(this.path, file)}`);
      if (code === 'ENXIO') throw new UnsafeFileError(`${file} is a socket, not a file pkgwatch wrote: remove it (rm ${file})`);
      throw new Error(`cannot read ${file}: ${osErrorText(err)}`, { cause: err });
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new UnsafeFileError(`${file} is ${kindOf(st)}, not a file pkgwatch wrote: remove it (rm ${file})`);
      if (st.nlink > 1) {
        throw new UnsafeFileError(
          `${file} has ${st.nlink} hard links, which pkgwatch never creates and does not read through (another name may be any file on this file system); ${planted(this.path, file)}`,
        );
      }
      if (st.size > maxBytes) throw new UnsafeFileError(`${file} is ${st.size} bytes, more than pkgwatch writes there (at most ${maxBytes}): remove it (rm ${file})`);
      // Read at most maxBytes + 1: the file may grow after fstat.
      const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
      let len = 0;
      while (len < buf.length) {
        const n = fs.readSync(fd, buf, len, buf.length - len, null);
        if (n === 0) break;
        len += n;
      }
      if (len > maxBytes) throw new UnsafeFileError(`${file} is more than ${maxBytes} bytes, more than pkgwatch writes there: remove it (rm ${file})`);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, len));
      } catch {
        throw new UnsafeFileError(`${file} is not UTF-8 text, so not a file pkgwatch wrote: remove it (rm ${file})`);
      }
    } catch (err) {
      if (err instanceof UnsafeFileError) throw err;
      throw new Error(`cannot read ${file}: ${osErrorText(err)}`, { cause: err });
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Replaces `name` with `text` atomically and durably: a new temp file with a unique name
   * (`NAME.PID-RANDOM.tmp`, created with O_EXCL|O_NOFOLLOW, so nothing planted is ever opened),
   * written, given `mode` (and to `owner`), fsynced, renamed over `name` (which replaces a link
   * there, never follows it), then the folder fsynced. A crash leaves the old content or the new.
   * Throws the OS error as `CODE: description` (callers name the file).
   */
  writeAtomic(name: string, text: string, mode: number): void {
    const target = this.#at(name);
    const bytes = Buffer.from(text, 'utf8');
    let tmp = '';
    let fd = -1;
    for (let attempt = 0; fd < 0; attempt++) {
      tmp = this.#at(`${name}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
      try {
        fd = fs.openSync(tmp, OPEN_NEW, mode & 0o777);
      } catch (err) {
        // EEXIST: a name left by a crashed process with this pid (or planted); draw another.
        if (errnoCode(err) !== 'EEXIST' || attempt >= 8) throw osError(err);
      }
    }
    try {
      try {
        let off = 0;
        while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
        if (this.owner !== undefined) fs.fchownSync(fd, this.owner.uid, this.owner.gid);
        // Explicitly: the umask must not decide who may read it.
        fs.fchmodSync(fd, mode & 0o777);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    } catch (err) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // the first error is the one to report; a leftover temp file is removed at the agent's next start
      }
      throw osError(err);
    }
    this.sync();
  }

  /** Removes the name (a link is removed, not followed); false when there was none. Throws the OS error. */
  remove(name: string): boolean {
    try {
      fs.unlinkSync(this.#at(name));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw osError(err);
    }
    this.sync();
    return true;
  }

  /**
   * The folder `name` in this one, opened without following a link; null when it does not exist and
   * `create` is false. With `create`, makes it (`mode`, default 0700) when missing and, running as root in
   * another user's folder, gives it to that user through its descriptor. Throws UnsafeFileError for
   * a link or a non-folder there, and (as root) for a folder owned by anyone but that user: root
   * does not repair ownership in a folder another user controls.
   */
  dir(name: string, create: boolean, mode = 0o700): SafeDir | null {
    const at = this.#at(name);
    const shown = this.show(name);
    let made = false;
    if (create) {
      try {
        fs.mkdirSync(at, { mode });
        made = true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw new Error(`cannot create the folder ${shown}: ${osErrorText(err)}`, { cause: err });
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(at, OPEN_SUBDIR);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' && !create) return null;
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        const link = this.#isLink(name);
        throw new UnsafeFileError(
          link
            ? `${shown} is a symbolic link, which pkgwatch never creates and does not follow; ${planted(this.path, shown)}`
            : `${shown} is not a folder: remove it (rm ${shown})`,
        );
      }
      throw new Error(`cannot open the folder ${shown}: ${osErrorText(err)}`, { cause: err });
    }
    try {
      const owner = this.owner;
      if (owner !== undefined) {
        const st = fs.fstatSync(fd);
        if (st.uid !== owner.uid) {
          // Only a folder made just now (root's, still empty) is given away: never one found there.
          if (!made || st.uid !== 0 || fs.readdirSync(`/proc/self/fd/${fd}`).length > 0) {
            throw new UnsafeFileError(
              `${shown} belongs to uid ${st.uid}, not to the owner of ${this.path} (uid ${owner.uid}); pkgwatch does not change owners there as root: chown ${owner.uid}:${owner.gid} ${shown}, or remove it`,
            );
          }
          fs.fchownSync(fd, owner.uid, owner.gid);
        }
      }
      if (made) {
        // Explicitly: the umask must not decide who may read it.
        if (mode !== 0o700) fs.fchmodSync(fd, mode);
        this.sync();
      }
      return new SafeDir(shown, fd, owner);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  #isLink(name: string): boolean {
    try {
      return fs.lstatSync(this.#at(name)).isSymbolicLink();
    } catch {
      return false;
    }
  }

  /** The names in the folder. Throws the OS error. */
  names(): string[] {
    if (this.#fd < 0) throw new Error(`internal error: ${this.path} is closed`);
    try {
      return fs.readdirSync(`/proc/self/fd/${this.#fd}`);
    } catch (err) {
      throw osError(err);
    }
  }

  /** fsyncs the folder, so that created, renamed and removed names survive a crash. */
  sync(): void {
    fs.fsyncSync(this.#fd);
  }

  /** Closes the descriptor; idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Runs `f` on the folder `dir` and closes it; `missing` when the folder does not exist. */
export function inDir<T>(dir: string, missing: T, f: (d: SafeDir) => T): T {
  let d: SafeDir;
  try {
    d = SafeDir.open(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return missing;
    throw err;
  }
  try {
    return f(d);
  } finally {
    d.close();
  }
}

/**
 * The text of `file` read as SafeDir.readText does (no link followed at its name, one link, at most
 * `maxBytes`, UTF-8), or null when it or its folder does not exist. The folder's path is trusted.
 */
export function readFileSafe(file: string, maxBytes: number): string | null {
  return inDir(path.dirname(file), null, (d) => d.readText(path.basename(file), maxBytes));
}

/** Removes `file` without following a link at its name; false when it (or its folder) did not exist. */
export function removeFileSafe(file: string): boolean {
  return inDir(path.dirname(file), false, (d) => d.remove(path.basename(file)));
}
