// A streaming tar reader (ustar, GNU long names, pax): each entry's name, type, mode, owner, size and bytes.

/** Entry types pkgwatch distinguishes; anything else is `other`. */
export type TarType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo' | 'other';

/** One entry's header, after GNU long-name and pax records are applied. */
export interface TarEntry {
  /** The name as stored (bytes as a latin1 string), e.g. `./etc/foo.conf`. */
  readonly name: string;
  readonly type: TarType;
  /** Link target for hardlinks and symlinks, else ''. */
  readonly linkname: string;
  /** Permission bits with setuid/setgid/sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Owner names (ustar uname/gname or pax), '' when the archive has none. */
  readonly uname: string;
  readonly gname: string;
  readonly size: number;
}

/** Consumes an entry's content. */
export interface TarSink {
  data(chunk: Buffer): void;
  end(): void;
}

/** Thrown for a malformed archive; the message names the entry or offset. */
export class TarError extends Error {
  override readonly name = 'TarError';
}

export interface TarLimits {
  /** Largest GNU long name / pax record accepted, in bytes (default 1 MiB). */
  readonly maxMeta?: number;
  /** Most entries (default 10 million). */
  readonly maxEntries?: number;
}

const BLOCK = 512;

const TYPES: Readonly<Record<string, TarType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'chardev',
  '4': 'blockdev',
  '5': 'directory',
  '6': 'fifo',
};

/** A NUL-terminated field as a latin1 string. */
function cstr(b: Buffer, from: number, len: number): string {
  const field = b.subarray(from, from + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

/** An octal numeric field, or GNU's base-256 form (high bit set); null when malformed. */
function num(b: Buffer, from: number, len: number): number | null {
  const first = b[from] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) return null; // negative or huge: never valid here
    let v = 0;
    for (let i = from + 1; i < from + len; i++) {
      v = v * 256 + (b[i] ?? 0);
      if (v > Number.MAX_SAFE_INTEGER) return null;
    }
    return v;
  }
  const text = cstr(b, from, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  const v = parseInt(text, 8);
  return Number.isSafeInteger(v) ? v : null;
}

function checksumOk(h: Buffer): boolean {
  const want = num(h, 148, 8);
  if (want === null) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return sum === want;
}

/** Parses pax extended header records (`LEN key=value\n`), strictly. */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 12) throw new TarError(`a pax record without a length at byte ${pos}`);
    const lenText = data.subarray(pos, sp).toString('latin1');
    if (!/^[1-9]\d*$/.test(lenText)) throw new TarError(`a pax record with a bad length '${lenText}'`);
    const len = Number(lenText);
    const end = pos + len;
    if (end > data.length || data[end - 1] !== 0x0a) throw new TarError(`a pax record of length ${len} runs past its header`);
    const rec = data.subarray(sp + 1, end - 1).toString('latin1');
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarError(`a pax record without 'key=': '${rec.slice(0, 40)}'`);
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos = end;
  }
  return out;
}

/** Reads a pax numeric value (decimal; a fraction is dropped for times, refused for sizes and ids). */
function paxNumber(key: string, value: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new TarError(`pax ${key}='${value.slice(0, 30)}' is not a whole number`);
  const v = Number(value);
  if (!Number.isSafeInteger(v)) throw new TarError(`pax ${key}='${value}' is too large`);
  return v;
}

type State =
  | { readonly t: 'header' }
  | { readonly t: 'meta'; readonly kind: 'L' | 'K' | 'x' | 'g'; readonly parts: Buffer[]; remaining: number; pad: number }
  | { readonly t: 'body'; readonly sink: TarSink | null; remaining: number; pad: number }
  | { readonly t: 'end' };

/**
 * Parses a tar stream pushed in chunks. `onEntry` returns a sink for the entry's content, or null
 * to skip it. Checks every header's checksum; GNU `L`/`K` records and pax `x` records (path,
 * linkpath, size, uid, gid) apply to the next entry; `g` records are read and ignored. Two zero
 * blocks end the archive; `end()` throws if input stopped inside an entry. Pure.
 */
export class TarReader {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = { t: 'header' };
  private offset = 0;
  private entries = 0;
  private zeroBlocks = 0;
  private longName: string | null = null;
  private longLink: string | null = null;
  private pax: Map<string, string> | null = null;
  private readonly maxMeta: number;
  private readonly maxEntries: number;

  constructor(
    private readonly onEntry: (e: TarEntry) => TarSink | null,
    limits: TarLimits = {},
  ) {
    this.maxMeta = limits.maxMeta ?? 1 << 20;
    this.maxEntries = limits.maxEntries ?? 10_000_000;
  }

  push(chunk: Buffer): void {
    let data = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = Buffer.alloc(0);
    while (data.length > 0) {
      const s = this.state;
      if (s.t === 'end') return; // padding after the end-of-archive blocks
      if (s.t === 'body' || s.t === 'meta') {
        if (s.remaining > 0) {
          const n = Math.min(s.remaining, data.length);
          if (s.t === 'body') s.sink?.data(data.subarray(0, n));
          else s.parts.push(Buffer.from(data.subarray(0, n)));
          s.remaining -= n;
          this.offset += n;
          data = data.subarray(n);
          if (s.remaining > 0) continue;
        }
        if (s.pad > 0) {
          const n = Math.min(s.pad, data.length);
          s.pad -= n;
          this.offset += n;
          data = data.subarray(n);
          if (s.pad > 0) continue;
        }
        this.state = { t: 'header' };
        if (s.t === 'body') s.sink?.end();
        else this.finishMeta(s.kind, Buffer.concat(s.parts));
        continue;
      }
      if (data.length < BLOCK) {
        this.buf = Buffer.from(data);
        return;
      }
      const h = data.subarray(0, BLOCK);
      data = data.subarray(BLOCK);
      this.header(h);
      this.offset += BLOCK;
    }
  }

  /** Ends the input; throws when it stopped inside an entry. A missing end-of-archive marker is tolerated, as GNU tar does. */
  end(): void {
    const s = this.state;
    if (s.t === 'body' || s.t === 'meta') throw new TarError(`the archive ends inside an entry: ${s.remaining + s.pad} bytes missing (truncated?)`);
    if (this.buf.length > 0) throw new TarError(`the archive ends with ${this.buf.length} stray bytes (truncated?)`);
    if (this.longName !== null || this.longLink !== null || this.pax !== null) throw new TarError('the archive ends after a long-name or pax record without its entry');
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) this.state = { t: 'end' };
      return;
    }
    if (this.zeroBlocks > 0) throw new TarError(`at offset ${this.offset}: a lone zero block inside the archive`);
    if (!checksumOk(h)) throw new TarError(`at offset ${this.offset}: a header with a bad checksum (not a tar archive, or damaged)`);
    const typeflag = String.fromCharCode(h[156] ?? 0);
    let size = num(h, 124, 12);
    if (size === null) throw new TarError(`at offset ${this.offset}: a header with a bad size field`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      if (size > this.maxMeta) throw new TarError(`at offset ${this.offset}: a ${typeflag} record of ${size} bytes (at most ${this.maxMeta})`);
      this.state = { t: 'meta', kind: typeflag, parts: [], remaining: size, pad };
      if (size === 0) this.finishMeta(typeflag, Buffer.alloc(0));
      return;
    }
    if (++this.entries > this.maxEntries) throw new TarError(`more than ${this.maxEntries} entries`);
    const magic = h.subarray(257, 263).toString('latin1');
    let name = cstr(h, 0, 100);
    // ustar (POSIX `ustar\0`): a prefix field joins the name; GNU (`ustar  `) uses those bytes otherwise.
    if (magic === 'ustar\0') {
      const prefix = cstr(h, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    let linkname = cstr(h, 157, 100);
    const ustar = magic === 'ustar\0' || magic === 'ustar ';
    let uname = ustar ? cstr(h, 265, 32) : '';
    let gname = ustar ? cstr(h, 297, 32) : '';
    let uid = num(h, 108, 8);
    let gid = num(h, 116, 8);
    const mode = num(h, 100, 8);
    if (uid === null || gid === null || mode === null) throw new TarError(`at offset ${this.offset}: entry '${name.slice(0, 100)}' has a bad mode, uid or gid field`);
    if (this.longName !== null) name = this.longName;
    if (this.longLink !== null) linkname = this.longLink;
    const pax = this.pax;
    if (pax !== null) {
      for (const [k, v] of pax) {
        if (k === 'path') name = v;
        else if (k === 'linkpath') linkname = v;
        else if (k === 'size') size = paxNumber(k, v);
        else if (k === 'uid') uid = paxNumber(k, v);
        else if (k === 'gid') gid = paxNumber(k, v);
        else if (k === 'uname') uname = v;
        else if (k === 'gname') gname = v;
      }
    }
    this.longName = null;
    this.longLink = null;
    this.pax = null;
    if (name === '') throw new TarError(`at offset ${this.offset}: an entry without a name`);
    const type = TYPES[typeflag] ?? 'other';
    // Only regular files carry content; for the others a size field is ignored, as GNU tar does for links.
    const bodySize = type === 'file' || type === 'other' ? size : 0;
    const entry: TarEntry = { name, type, linkname, mode: mode & 0o7777, uid, gid, uname, gname, size: bodySize };
    const sink = this.onEntry(entry);
    const bodyPad = (BLOCK - (bodySize % BLOCK)) % BLOCK;
    this.state = { t: 'body', sink, remaining: bodySize, pad: bodyPad };
    if (bodySize === 0) {
      sink?.end();
      this.state = { t: 'header' };
    }
  }

  private finishMeta(kind: 'L' | 'K' | 'x' | 'g', data: Buffer): void {
    this.state = { t: 'header' };
    if (kind === 'g') return;
    if (kind === 'x') {
      this.pax = parsePax(data);
      return;
    }
    const nul = data.indexOf(0);
    const text = data.subarray(0, nul < 0 ? data.length : nul).toString('latin1');
    if (kind === 'L') this.longName = text;
    else this.longLink = text;
  }
}

/** Reads a whole (small) archive in memory: every entry with its content. */
export function readTar(data: Buffer, limits: TarLimits = {}): { entry: TarEntry; content: Buffer }[] {
  const out: { entry: TarEntry; content: Buffer }[] = [];
  const reader = new TarReader((entry) => {
    const parts: Buffer[] = [];
    return {
      data: (c) => parts.push(Buffer.from(c)),
      end: () => out.push({ entry, content: Buffer.concat(parts) }),
    };
  }, limits);
  reader.push(data);
  reader.end();
  return out;
}

/** An entry name as an absolute path: `./etc/x` and `etc/x` give `/etc/x`; `.` gives `/`. Null for names with `..`. */
export function entryPath(name: string): string | null {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return null;
    parts.push(p);
  }
  return `/${parts.join('/')}`;
}
