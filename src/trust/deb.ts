// Reads a .deb in one pass: the SHA256 of the whole file, its control files and (when asked) data.tar's entries.
import { createHash, type Hash } from 'node:crypto';
import { ArError, ArReader, type ArSink } from './ar.js';
import { createDecoder, decompressBuffer, type Decoder } from './decompress.js';
import { DebError, DebLayout, debianBinaryProblem, parseDebControl, type DebControl } from './debformat.js';
import { openRegular, readChunks } from './safeio.js';
import { entryPath, readTar, TarReader, type TarType } from './tar.js';
import { osErrorText } from '../errors.js';

/** One entry of data.tar, with the md5 of a regular file's content. */
export interface DataEntry {
  /** Absolute path (`/etc/foo.conf`), bytes as a latin1 string. */
  readonly path: string;
  readonly type: TarType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Owner names as the archive stores them ('' when it has none). */
  readonly uname: string;
  readonly gname: string;
  readonly size: number;
  readonly linkname: string;
  /** md5 and SHA-256 of the content (regular files, and hardlinks to one); else null. */
  readonly md5: string | null;
  readonly sha256: string | null;
}

/** What a .deb holds, once it parsed. */
export interface DebContents {
  readonly control: DebControl;
  /** The control archive's `md5sums` and `conffiles` (latin1), or null when absent. */
  readonly md5sums: string | null;
  readonly conffiles: string | null;
  /** SHA-256 of each maintainer script and other control file but control, md5sums and conffiles, by name (`postinst`). */
  readonly scripts: Readonly<Record<string, string>>;
  /** data.tar's entries, when they were asked for. */
  readonly data: readonly DataEntry[] | null;
}

/** The outcome of reading a .deb: the hash of all its bytes, and its contents or why they could not be read. */
export interface DebRead {
  /** null when the file could not be opened or read to its end. */
  readonly sha256: string | null;
  readonly size: number;
  readonly contents: DebContents | null;
  readonly error: string | null;
}

export interface DebLimits {
  /** Largest control.tar, compressed or not (default 64 MiB). */
  readonly maxControl?: number;
  /** Largest data.tar once decompressed (default 64 GiB). */
  readonly maxData?: number;
}

const DEFAULTS = { maxControl: 64 << 20, maxData: 64 * 2 ** 30 };

function message(err: unknown): string {
  if (err instanceof ArError || err instanceof DebError) return err.message;
  if (err instanceof Error && 'code' in err) return osErrorText(err);
  return err instanceof Error ? err.message : String(err);
}

/** Collects a member's bytes up to `max`. */
function collector(max: number, what: string): ArSink & { parts: Buffer[] } {
  let n = 0;
  const parts: Buffer[] = [];
  return {
    parts,
    data(c) {
      n += c.length;
      if (n > max) throw new DebError(`${what} is larger than ${max} bytes`);
      parts.push(c);
    },
    end() {},
  };
}

/** Reads the control archive's files: `control` (required), `md5sums`, `conffiles`. */
async function readControl(layout: DebLayout, compressed: Buffer, max: number): Promise<Omit<DebContents, 'data'>> {
  const tarBytes = await decompressBuffer(layout.controlCompression ?? 'none', compressed, max).catch((err: unknown) => {
    throw new DebError(`control.tar does not decompress: ${message(err)}`);
  });
  const files = new Map<string, Buffer>();
  for (const { entry, content } of readTar(tarBytes, { maxEntries: 10_000 })) {
    const p = entryPath(entry.name);
    if (p !== null && entry.type === 'file') files.set(p, content);
  }
  const controlText = files.get('/control');
  if (controlText === undefined) throw new DebError('control.tar has no control file');
  const parsed = parseDebControl(controlText.toString('latin1'));
  if (!parsed.ok) throw new DebError(parsed.message);
  const scripts: Record<string, string> = {};
  for (const [p, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = p.slice(1);
    if (name === 'control' || name === 'md5sums' || name === 'conffiles' || name.includes('/')) continue;
    scripts[name] = createHash('sha256').update(content).digest('hex');
  }
  return {
    control: parsed.control,
    scripts,
    md5sums: files.get('/md5sums')?.toString('latin1') ?? null,
    conffiles: files.get('/conffiles')?.toString('latin1') ?? null,
  };
}

/** A tar reader that lists data.tar's entries and md5-hashes regular files as they stream by. */
function dataLister(entries: DataEntry[]): TarReader {
  const hashByPath = new Map<string, { md5: string; sha256: string }>();
  return new TarReader((e) => {
    const path = entryPath(e.name);
    if (path === null) throw new DebError(`data.tar has an entry with '..' in its name: '${e.name.slice(0, 80)}'`);
    const base = { path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname, size: e.size };
    if (e.type === 'hardlink') {
      const target = entryPath(e.linkname);
      const h = target === null ? undefined : hashByPath.get(target);
      entries.push({ ...base, linkname: target ?? e.linkname, md5: h?.md5 ?? null, sha256: h?.sha256 ?? null });
      return null;
    }
    if (e.type !== 'file') {
      entries.push({ ...base, linkname: e.linkname, md5: null, sha256: null });
      return null;
    }
    const h: Hash = createHash('md5');
    const h2: Hash = createHash('sha256');
    return {
      data: (c) => {
        h.update(c);
        h2.update(c);
      },
      end: () => {
        const sums = { md5: h.digest('hex'), sha256: h2.digest('hex') };
        hashByPath.set(path, sums);
        entries.push({ ...base, linkname: '', ...sums });
      },
    };
  });
}

/** Which .debs get data.tar read: by what their control archive holds (`conffiles` to hash). */
export type DataWanted = (control: Omit<DebContents, 'data'>) => boolean;

/**
 * Reads `file` (a host path) once from start to end: every byte goes into the SHA256, and the same
 * bytes are parsed as a .deb, so what was hashed is what was read (no second read an attacker could
 * race). data.tar is decompressed and listed when `withData` says so once the control archive is
 * read (it precedes data.tar). Never throws: a file that cannot be read or parsed gives `error`,
 * with the hash when the whole file could be read.
 */
export async function readDeb(file: string, withData: DataWanted, limits: DebLimits = {}): Promise<DebRead> {
  const maxControl = limits.maxControl ?? DEFAULTS.maxControl;
  const maxData = limits.maxData ?? DEFAULTS.maxData;
  let opened;
  try {
    opened = await openRegular(file);
  } catch (err) {
    return { sha256: null, size: 0, contents: null, error: `cannot open it: ${osErrorText(err)}` };
  }
  const hash = createHash('sha256');
  let size = 0;
  let failure: string | null = null;
  const layout = new DebLayout();
  const debianBinary = collector(64, 'debian-binary');
  const control = collector(maxControl, 'control.tar');
  let controlDone = false;
  let ctl: Omit<DebContents, 'data'> | null = null;
  const entries: DataEntry[] = [];
  let decoder: Decoder | null = null;
  let tar: TarReader | null = null;
  const pending: Buffer[] = [];
  const ar = new ArReader((m) => {
    const role = layout.next(m.name);
    if (role === 'debian-binary') return debianBinary;
    if (role === 'control') return { data: (c) => control.data(c), end: () => (controlDone = true) };
    if (role === 'data') return { data: (c) => pending.push(c), end: () => undefined };
    return null;
  });
  const dataFailed = (err: unknown): string => `data.tar: ${message(err)}`;
  try {
    for await (const chunk of readChunks(opened.handle, Number.MAX_SAFE_INTEGER)) {
      hash.update(chunk);
      size += chunk.length;
      if (failure !== null) continue;
      try {
        ar.push(chunk);
        if (controlDone && ctl === null) {
          const problem = debianBinaryProblem(Buffer.concat(debianBinary.parts));
          if (problem !== null) throw new DebError(problem);
          ctl = await readControl(layout, Buffer.concat(control.parts), maxControl);
          if (withData(ctl)) {
            const reader = (tar = dataLister(entries));
            decoder = createDecoder(layout.dataCompression ?? 'none', (c) => reader.push(c), maxData);
          }
        }
      } catch (err) {
        failure = message(err);
        continue;
      }
      const d = decoder;
      if (d === null) {
        pending.length = 0;
        continue;
      }
      try {
        for (const c of pending.splice(0)) await d.write(c);
      } catch (err) {
        failure = dataFailed(err);
        d.abort();
      }
    }
  } catch (err) {
    decoder?.abort();
    await opened.handle.close();
    return { sha256: null, size, contents: null, error: `cannot read it: ${message(err)}` };
  }
  await opened.handle.close();
  const sha256 = hash.digest('hex');
  if (failure === null) {
    try {
      ar.end();
      layout.complete();
      if (ctl === null) throw new DebError('control.tar was not read');
    } catch (err) {
      failure = message(err);
    }
  }
  const d = decoder;
  if (d !== null) {
    if (failure === null) {
      try {
        await d.end();
        tar?.end();
      } catch (err) {
        failure = dataFailed(err);
      }
    } else d.abort();
  }
  const contents = ctl;
  if (failure !== null || contents === null) return { sha256, size, contents: null, error: failure ?? 'control.tar was not read' };
  return { sha256, size, contents: { ...contents, data: d === null ? null : entries }, error: null };
}

/**
 * Reads only as far as the control archive, to learn which package a .deb claims to be (its name
 * is a hint only). Throws with a message when that part cannot be read.
 */
export async function readDebControl(file: string, limits: DebLimits = {}): Promise<DebControl> {
  const maxControl = limits.maxControl ?? DEFAULTS.maxControl;
  const opened = await openRegular(file).catch((err: unknown) => {
    throw new DebError(`cannot open it: ${osErrorText(err)}`);
  });
  try {
    const layout = new DebLayout();
    let control: (ArSink & { parts: Buffer[] }) | null = null;
    let done = false;
    const ar = new ArReader((m) => {
      const role = layout.next(m.name);
      if (role !== 'control') return null;
      const c = (control = collector(maxControl, 'control.tar'));
      return { data: (x) => c.data(x), end: () => (done = true) };
    });
    for await (const chunk of readChunks(opened.handle, Number.MAX_SAFE_INTEGER)) {
      ar.push(chunk);
      if (done) break;
    }
    if (!done) ar.end();
    const c = control as (ArSink & { parts: Buffer[] }) | null;
    if (c === null) throw new DebError('no control.tar member');
    return (await readControl(layout, Buffer.concat(c.parts), maxControl)).control;
  } catch (err) {
    throw new DebError(message(err));
  } finally {
    await opened.handle.close();
  }
}
