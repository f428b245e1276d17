// The outbox folder on disk: reading the queued files back safely, setting bad ones aside, dropped.json.
import fs from 'node:fs';
import path from 'node:path';
import { CORRUPT_DIR, DROPPED_FILE, MAX_ENTRY_BYTES, decodeDropped, decodeEntry, encodeDropped, errorText, isSinkDirName, writeFileDurable } from './outboxfile.js';
import type { AlertEvent } from './sink.js';
import { readFileSafe } from '../safedir.js';

/** A valid queued file found on disk. */
export interface StoredEntry {
  readonly sink: string;
  /** The file name. */
  readonly key: string;
  readonly queuedMs: number;
  readonly event: AlertEvent;
}

/**
 * The files of one outbox folder. Never throws on bad content: a bad file is moved to `corrupt/`
 * and reported through `report` (file, what is wrong, where it went); only writes throw.
 */
export class OutboxStore {
  readonly dir: string;
  readonly #report: (file: string, detail: string) => void;
  /** Bad files that could not be moved aside: left in place, reported once. */
  readonly #bad = new Set<string>();

  constructor(dir: string, report: (file: string, detail: string) => void) {
    this.dir = dir;
    this.#report = report;
  }

  /** The path of a queued file. */
  file(sink: string, key: string): string {
    return path.join(this.dir, sink, key);
  }

  /** Creates a sink's folder (0700) if it can; a failure shows at the first write into it. */
  ensureSinkDir(sink: string): void {
    if (!isSinkDirName(sink)) return;
    try {
      fs.mkdirSync(path.join(this.dir, sink), { recursive: true, mode: 0o700 });
    } catch {
      // reported by the first write into it (alert.write-failed), which names the file
    }
  }

  /** Writes a queued file durably; throws an Error naming the file. */
  write(sink: string, key: string, text: string): void {
    const file = this.file(sink, key);
    try {
      writeFileDurable(file, text);
    } catch (err) {
      throw new Error(`cannot write ${file}: ${errorText(err)}`, { cause: err });
    }
  }

  /**
   * Removes a delivered or dropped file; false when it is still there (a duplicate after restart,
   * which is allowed).
   */
  remove(sink: string, key: string): boolean {
    try {
      fs.unlinkSync(this.file(sink, key));
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }

  /**
   * The valid files of every sink folder that `known` does not know yet, in file name order.
   * `removeTmp`: delete `*.tmp` left by a crash mid-write (on open only: later another process
   * may be writing one).
   */
  scan(removeTmp: boolean, known: (sink: string, key: string) => boolean): StoredEntry[] {
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch (err) {
      this.#report(this.dir, `the outbox folder cannot be read: ${errorText(err)}`);
      return [];
    }
    const found: StoredEntry[] = [];
    for (const d of dirents) {
      if (d.isDirectory() && isSinkDirName(d.name)) found.push(...this.#scanSink(d.name, removeTmp, known));
      else if (removeTmp && d.name.endsWith('.tmp')) this.#removeTmp(path.join(this.dir, d.name));
    }
    return found;
  }

  #scanSink(sink: string, removeTmp: boolean, known: (sink: string, key: string) => boolean): StoredEntry[] {
    const dir = path.join(this.dir, sink);
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch (err) {
      this.#report(dir, `the folder cannot be read: ${errorText(err)}`);
      return [];
    }
    const found: StoredEntry[] = [];
    for (const key of names) {
      const file = path.join(dir, key);
      if (key.endsWith('.tmp')) {
        if (removeTmp) this.#removeTmp(file);
        continue;
      }
      if (known(sink, key) || this.#bad.has(file)) continue;
      try {
        const decoded = decodeEntry(readEntryFile(file), sink, key);
        found.push({ sink, key, queuedMs: Date.parse(decoded.queued), event: decoded.event });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        this.#setAside(file, err instanceof SyntaxError ? `not valid JSON (${err.message})` : errorText(err));
      }
    }
    return found;
  }

  /** The dropped counts per sink; a bad dropped.json is set aside and counting starts from 0. */
  loadDropped(): Map<string, number> {
    const file = path.join(this.dir, DROPPED_FILE);
    let text: string | null;
    try {
      text = readFileSafe(file, MAX_ENTRY_BYTES);
    } catch (err) {
      this.#setAside(file, `cannot be read (${errorText(err)}); counting drops from 0`);
      return new Map();
    }
    if (text === null) return new Map();
    try {
      return decodeDropped(text);
    } catch (err) {
      const what = err instanceof SyntaxError ? 'not valid JSON' : `not a valid ${DROPPED_FILE}`;
      this.#setAside(file, `${what} (${errorText(err)}); counting drops from 0`);
      return new Map();
    }
  }

  /** Writes dropped.json durably; throws an Error naming the file. */
  saveDropped(counts: ReadonlyMap<string, number>): void {
    const file = path.join(this.dir, DROPPED_FILE);
    try {
      writeFileDurable(file, encodeDropped(counts));
    } catch (err) {
      throw new Error(`cannot record the drop in ${file}: ${errorText(err)}`, { cause: err });
    }
  }

  #removeTmp(file: string): void {
    try {
      fs.rmSync(file, { force: true, recursive: true });
    } catch (err) {
      this.#report(file, `a temp file left by a crash cannot be removed: ${errorText(err)}`);
    }
  }

  /** Moves a bad file to `corrupt/<name>` (kept as evidence; `<name>.N` if taken) and reports it. */
  #setAside(file: string, problem: string): void {
    const dir = path.join(this.dir, CORRUPT_DIR);
    const name = path.basename(file);
    let target = path.join(dir, name);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (let n = 1; exists(target); n++) target = path.join(dir, `${name}.${n}`);
      fs.renameSync(file, target);
      this.#report(file, `${problem}; moved to ${target}`);
    } catch (err) {
      this.#bad.add(file);
      this.#report(file, `${problem}; it could not be moved to ${target} (${errorText(err)}) and is ignored`);
    }
  }
}

/** Reads a queued file without following a link or blocking on a FIFO; refuses what is not a small regular UTF-8 file. */
function readEntryFile(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new Error('is a symbolic link, not an outbox file', { cause: err });
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`is a ${st.isDirectory() ? 'directory' : 'special file'}, not an outbox file`);
    if (st.size > MAX_ENTRY_BYTES) throw new Error(`is ${st.size} bytes, more than an outbox file may be (${MAX_ENTRY_BYTES})`);
    const bytes = fs.readFileSync(fd);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error('is not UTF-8 text');
    }
  } finally {
    fs.closeSync(fd);
  }
}

function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
