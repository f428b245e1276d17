// Strict deb822 paragraphs (Release, Packages, control, .sources), line by line so huge indexes stream.

/** One field of a paragraph. */
export interface Deb822Field {
  /** The name as written (`SHA256`). */
  readonly name: string;
  /** The value on the field's own line, trimmed. */
  readonly value: string;
  /** Continuation lines without their leading space or tab (kept only for fields `keep` accepts). */
  readonly more: readonly string[];
  /** 1-based line of the field name. */
  readonly line: number;
}

/** A paragraph: fields by lowercase name. */
export interface Deb822Paragraph {
  readonly fields: ReadonlyMap<string, Deb822Field>;
  /** 1-based line of its first field. */
  readonly line: number;
}

/** A malformed paragraph: where, and what was wrong. The paragraph is dropped. */
export interface Deb822Problem {
  readonly line: number;
  readonly message: string;
}

export interface Deb822Options {
  /** `#` lines are comments (apt's .sources files); elsewhere a `#` line is an error. */
  readonly comments?: boolean;
  /** Keep the continuation lines of this field (lowercase name); others are checked but not stored. */
  readonly keep?: (name: string) => boolean;
  /** Longest line accepted, in characters (default 1 MiB). */
  readonly maxLine?: number;
  /** Most continuation lines kept for one field (default 1,000,000). */
  readonly maxMore?: number;
}

/** deb822 field names: printable ASCII but `:` and space, not starting with `#` or `-`. */
const NAME_RE = /^[!-9;-~]+$/;

/**
 * Pushes lines (without `\n`) and emits each complete paragraph, or a problem for a malformed one
 * (which is then dropped whole: a half-read stanza is never used). Pure: no I/O.
 */
export class Deb822Parser {
  private fields = new Map<string, { name: string; value: string; more: string[]; line: number }>();
  private current: { more: string[]; kept: boolean; count: number } | null = null;
  private start = 0;
  private bad: Deb822Problem | null = null;
  private readonly maxLine: number;
  private readonly maxMore: number;

  constructor(
    private readonly opts: Deb822Options,
    private readonly onParagraph: (p: Deb822Paragraph) => void,
    private readonly onProblem: (p: Deb822Problem) => void,
  ) {
    this.maxLine = opts.maxLine ?? 1 << 20;
    this.maxMore = opts.maxMore ?? 1_000_000;
  }

  /** Feeds one line; `lineNo` is 1-based. */
  line(text: string, lineNo: number): void {
    if (this.opts.comments === true && text.charCodeAt(0) === 0x23) return;
    if (isBlank(text)) {
      this.flush();
      return;
    }
    if (this.bad !== null) return;
    if (text.length > this.maxLine) {
      this.fail(lineNo, `a line of ${text.length} characters (at most ${this.maxLine})`);
      return;
    }
    const c0 = text.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      const cur = this.current;
      if (cur === null) {
        this.fail(lineNo, 'a continuation line (starting with a space) before any field');
        return;
      }
      if (++cur.count > this.maxMore) {
        this.fail(lineNo, `a field with more than ${this.maxMore} lines`);
        return;
      }
      if (cur.kept) cur.more.push(text.slice(1));
      return;
    }
    if (this.fields.size === 0) this.start = lineNo;
    const colon = text.indexOf(':');
    const name = colon < 0 ? '' : text.slice(0, colon);
    if (colon <= 0 || !NAME_RE.test(name) || c0 === 0x23 || c0 === 0x2d) {
      this.fail(lineNo, `expected 'Field: value', found '${shorten(text)}'`);
      return;
    }
    const key = name.toLowerCase();
    if (this.fields.has(key)) {
      this.fail(lineNo, `field '${name}' appears twice in one paragraph`);
      return;
    }
    const kept = this.opts.keep?.(key) ?? true;
    const more: string[] = [];
    this.fields.set(key, { name, value: text.slice(colon + 1).trim(), more, line: lineNo });
    this.current = { more, kept, count: 0 };
  }

  /** Ends the input: emits the last paragraph. */
  end(): void {
    this.flush();
  }

  private fail(line: number, message: string): void {
    this.bad = { line, message };
  }

  private flush(): void {
    if (this.bad !== null) this.onProblem(this.bad);
    else if (this.fields.size > 0) this.onParagraph({ fields: this.fields, line: this.start });
    this.fields = new Map();
    this.current = null;
    this.bad = null;
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** A short, printable excerpt of input for messages. */
export function shorten(s: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const printable = s.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/**
 * Splits streamed text (byte strings, one char per byte) into lines for a line consumer. A line
 * longer than `maxLine` is cut there (the consumer sees the overlong prefix and rejects it).
 */
export class LineSplitter {
  private rest = '';
  private lineNo = 0;
  /** Inside a line that was already handed over as too long: drop input up to its end. */
  private skipping = false;

  constructor(
    private readonly onLine: (text: string, lineNo: number) => void,
    private readonly maxLine = 1 << 20,
  ) {}

  push(chunk: string): void {
    let from = 0;
    if (this.skipping) {
      const nl = chunk.indexOf('\n');
      if (nl < 0) return;
      this.skipping = false;
      from = nl + 1;
    }
    const text = this.rest === '' ? chunk : this.rest + chunk.slice(from);
    let pos = this.rest === '' ? from : 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      this.onLine(text.slice(pos, nl), ++this.lineNo);
      pos = nl + 1;
    }
    const remainder = text.slice(pos);
    if (remainder.length > this.maxLine) {
      // An endless line: hand it over now, as one too-long line, and skip the rest of it.
      this.onLine(remainder, ++this.lineNo);
      this.rest = '';
      this.skipping = true;
    } else {
      this.rest = remainder;
    }
  }

  /** Ends the input: the last line, when it has no `\n`. */
  end(): void {
    if (this.rest !== '') this.onLine(this.rest, ++this.lineNo);
    this.rest = '';
  }
}

/** Parses a whole text into paragraphs and problems. */
export function parseDeb822(text: string, opts: Deb822Options = {}): { paragraphs: Deb822Paragraph[]; problems: Deb822Problem[] } {
  const paragraphs: Deb822Paragraph[] = [];
  const problems: Deb822Problem[] = [];
  const parser = new Deb822Parser(opts, (p) => paragraphs.push(p), (p) => problems.push(p));
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => parser.line(l, i + 1));
  parser.end();
  return { paragraphs, problems };
}

/** The whole value of a field: its first line and continuation lines, joined with `\n`. */
export function fieldText(f: Deb822Field): string {
  return f.more.length === 0 ? f.value : [f.value, ...f.more].join('\n');
}
