// A repository's Packages index, streamed: the stanzas of the wanted packages (name, version, arch, .deb hash).
import { Deb822Parser, LineSplitter, shorten, type Deb822Paragraph } from './deb822.js';

/** One stanza of a Packages index: what the signed chain says a .deb must be. */
export interface IndexEntry {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  /** `pool/main/n/nginx/nginx_1.22.1-9_amd64.deb`: where the repository keeps it. */
  readonly filename: string;
  readonly size: number;
  /** Lowercase hex SHA256 of the whole .deb. */
  readonly sha256: string;
  /** 1-based line of the stanza in the (decompressed) index. */
  readonly line: number;
}

/** A problem in an index that does not stop reading it. */
export interface IndexProblem {
  readonly line: number;
  readonly message: string;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;
const VERSION_RE = /^[A-Za-z0-9.+~:-]+$/;
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Reads a Packages index pushed as byte strings (latin1), keeping the stanzas whose Package the
 * `wanted` predicate accepts. A malformed stanza is a problem (with its line) and is dropped; a
 * wanted stanza without a valid SHA256, Size or Filename is a problem too, because it cannot vouch
 * for a .deb. Pure.
 */
export class PackagesReader {
  readonly entries: IndexEntry[] = [];
  readonly problems: IndexProblem[] = [];
  /** Every package name that had a stanza (wanted or not), to tell "not this version" from "never heard of it". */
  readonly names = new Set<string>();
  private readonly lines: LineSplitter;
  private readonly parser: Deb822Parser;
  private readonly maxProblems = 100;

  constructor(private readonly wanted: (name: string) => boolean) {
    this.parser = new Deb822Parser(
      { keep: () => false, maxLine: 1 << 20 },
      (p) => this.paragraph(p),
      (p) => this.problem(p.line, p.message),
    );
    this.lines = new LineSplitter((text, n) => this.parser.line(text, n));
  }

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
    this.parser.end();
  }

  private problem(line: number, message: string): void {
    if (this.problems.length < this.maxProblems) this.problems.push({ line, message });
  }

  private paragraph(p: Deb822Paragraph): void {
    const get = (name: string): string | undefined => p.fields.get(name)?.value;
    const name = get('package');
    if (name === undefined || !NAME_RE.test(name)) {
      this.problem(p.line, name === undefined ? 'a stanza without Package' : `Package: '${shorten(name)}' is not a package name`);
      return;
    }
    this.names.add(name);
    if (!this.wanted(name)) return;
    const version = get('version') ?? '';
    const architecture = get('architecture') ?? '';
    const filename = get('filename') ?? '';
    const size = get('size') ?? '';
    const sha256 = get('sha256') ?? '';
    const bad: string[] = [];
    if (!VERSION_RE.test(version)) bad.push(`Version '${shorten(version)}'`);
    if (!ARCH_RE.test(architecture)) bad.push(`Architecture '${shorten(architecture)}'`);
    if (filename === '' || filename.includes('\0')) bad.push('no Filename');
    if (!/^\d{1,15}$/.test(size)) bad.push(`Size '${shorten(size)}'`);
    if (!SHA256_RE.test(sha256)) bad.push(sha256 === '' ? 'no SHA256' : `SHA256 '${shorten(sha256)}'`);
    if (bad.length > 0) {
      this.problem(p.line, `the stanza of ${name} cannot vouch for a .deb: bad or missing ${bad.join(', ')}`);
      return;
    }
    this.entries.push({ package: name, version, architecture, filename, size: Number(size), sha256, line: p.line });
  }
}
