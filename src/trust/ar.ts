// A streaming reader of `ar` archives (the outer layer of a .deb): member headers and their bytes.

/** One member's header. */
export interface ArMember {
  /** The name, without GNU ar's trailing `/` and the padding spaces. */
  readonly name: string;
  readonly size: number;
  /** Offset of the member's data in the archive. */
  readonly offset: number;
}

/** What the consumer does with a member's bytes. */
export interface ArSink {
  data(chunk: Buffer): void;
  /** The member's last byte was given. */
  end(): void;
}

const MAGIC = Buffer.from('!<arch>\n', 'latin1');
const HEADER = 60;

/** Thrown for a malformed or truncated archive; the message says where. */
export class ArError extends Error {
  override readonly name = 'ArError';
}

/**
 * Parses an ar archive pushed in chunks. For each member `onMember` returns a sink for its bytes,
 * or null to skip them. Strict: the magic, each header's terminator and decimal size, the padding
 * byte after odd-sized members; `end()` throws if the input stopped inside a member. Pure.
 */
export class ArReader {
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  private state: 'magic' | 'header' | 'data' | 'pad' = 'magic';
  private remaining = 0;
  private member: ArMember | null = null;
  private sink: ArSink | null = null;
  private members = 0;

  constructor(
    private readonly onMember: (m: ArMember) => ArSink | null,
    private readonly maxMembers = 64,
  ) {}

  push(chunk: Buffer): void {
    let data = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, data.length);
        this.sink?.data(data.subarray(0, n));
        this.remaining -= n;
        this.pos += n;
        data = data.subarray(n);
        if (this.remaining === 0) this.finishMember();
        continue;
      }
      if (this.state === 'pad') {
        if (data[0] !== 0x0a) throw new ArError(`at offset ${this.pos}: expected the padding byte '\\n' after member '${this.member?.name ?? ''}'`);
        this.pos++;
        data = data.subarray(1);
        this.state = 'header';
        continue;
      }
      const need = this.state === 'magic' ? MAGIC.length : HEADER;
      if (data.length < need) {
        this.buf = Buffer.from(data);
        return;
      }
      const head = data.subarray(0, need);
      data = data.subarray(need);
      if (this.state === 'magic') {
        if (!head.equals(MAGIC)) throw new ArError('not an ar archive (no !<arch> magic)');
        this.pos += need;
        this.state = 'header';
        continue;
      }
      this.startMember(head);
    }
  }

  /** Ends the input; throws if it stopped inside a member or its header. */
  end(): void {
    if (this.state === 'magic') throw new ArError(this.pos === 0 && this.buf.length === 0 ? 'the file is empty' : 'not an ar archive (too short for the magic)');
    if (this.state === 'data') {
      throw new ArError(`member '${this.member?.name ?? ''}' is cut short: ${this.remaining} of its ${this.member?.size ?? 0} bytes are missing (a truncated file?)`);
    }
    if (this.state === 'pad') throw new ArError(`the file ends without the padding byte after member '${this.member?.name ?? ''}' (a truncated file?)`);
    if (this.buf.length > 0) throw new ArError(`at offset ${this.pos}: ${this.buf.length} stray bytes where a member header belongs (a truncated file?)`);
  }

  private startMember(head: Buffer): void {
    if (++this.members > this.maxMembers) throw new ArError(`more than ${this.maxMembers} members`);
    if (head[58] !== 0x60 || head[59] !== 0x0a) throw new ArError(`at offset ${this.pos}: a member header without its terminator`);
    const field = (from: number, len: number): string => head.subarray(from, from + len).toString('latin1').replace(/ +$/, '');
    let name = field(0, 16);
    if (name.endsWith('/') && name !== '/' && name !== '//') name = name.slice(0, -1);
    const sizeText = field(48, 10);
    if (!/^\d{1,10}$/.test(sizeText)) throw new ArError(`at offset ${this.pos}: member '${name}' has a bad size field '${sizeText}'`);
    if (!/^[!-~]+$/.test(name)) throw new ArError(`at offset ${this.pos}: a member with an unprintable or empty name`);
    const size = Number(sizeText);
    this.pos += HEADER;
    this.member = { name, size, offset: this.pos };
    this.sink = this.onMember(this.member);
    this.remaining = size;
    this.state = 'data';
    if (size === 0) this.finishMember();
  }

  private finishMember(): void {
    this.sink?.end();
    this.sink = null;
    this.state = (this.member?.size ?? 0) % 2 === 1 ? 'pad' : 'header';
  }
}
