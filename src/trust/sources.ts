// apt's sources: one-line `sources.list` and deb822 `.sources` entries, with the keys each may be signed by.
import { fieldText, parseDeb822, shorten } from './deb822.js';

/** What `Signed-By` names: keyring files, key fingerprints, and inline armored key blocks. */
export interface SignedBy {
  /** Absolute paths of keyring files (on the checked system). */
  readonly keyrings: readonly string[];
  /** Fingerprints (uppercase hex): the signer must be one of these. */
  readonly fingerprints: readonly string[];
  /** Armored public-key blocks given inline in a .sources file. */
  readonly inline: readonly string[];
}

/** One repository suite apt fetches binary indexes from. */
export interface SourceEntry {
  /** The URI with a trailing `/`. */
  readonly uri: string;
  /** `bookworm`, or for a flat repository its directory ending in `/` (`./`, `sub/`). */
  readonly suite: string;
  /** Empty for a flat repository. */
  readonly components: readonly string[];
  readonly signedBy: SignedBy | null;
  /** `trusted=yes`: apt takes its indexes without a signature; pkgwatch never does. */
  readonly trusted: boolean;
  /** Where it was declared, for messages. */
  readonly file: string;
  readonly line: number;
}

/** A line or paragraph pkgwatch could not read. */
export interface SourceProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const FPR_RE = /^[0-9A-Fa-f]{40}$/;

/** Splits Signed-By values: comma- or space-separated paths and fingerprints (a `!` suffix, "this subkey only", is dropped). */
function signedBy(values: readonly string[], inline: readonly string[]): SignedBy {
  const keyrings: string[] = [];
  const fingerprints: string[] = [];
  for (const v of values) {
    for (const word of v.split(/[\s,]+/)) {
      if (word === '') continue;
      const w = word.endsWith('!') ? word.slice(0, -1) : word;
      if (FPR_RE.test(w)) fingerprints.push(w.toUpperCase());
      else keyrings.push(w);
    }
  }
  return { keyrings, fingerprints, inline };
}

function withSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** Parses a one-line style file (`sources.list`, `*.list`). `deb-src` and comments are skipped. */
export function parseSourcesList(text: string, file: string): { entries: SourceEntry[]; problems: SourceProblem[] } {
  const entries: SourceEntry[] = [];
  const problems: SourceProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') return;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(body);
    if (m === null) {
      problems.push({ file, line, message: `expected 'deb [options] URI SUITE [COMPONENT...]', found '${shorten(body)}'` });
      return;
    }
    if (m[1] === 'deb-src') return;
    const options = new Map<string, string>();
    for (const opt of (m[2] ?? '').trim().split(/\s+/)) {
      if (opt === '') continue;
      const eq = opt.indexOf('=');
      if (eq <= 0) {
        problems.push({ file, line, message: `option '${shorten(opt)}' is not key=value` });
        return;
      }
      options.set(opt.slice(0, eq).toLowerCase(), opt.slice(eq + 1));
    }
    const suite = m[4] as string;
    const components = (m[5] ?? '').trim().split(/\s+/).filter((c) => c !== '');
    if (suite.endsWith('/') !== (components.length === 0)) {
      problems.push({ file, line, message: suite.endsWith('/') ? `a flat repository (suite '${shorten(suite)}') takes no components` : `suite '${shorten(suite)}' needs at least one component` });
      return;
    }
    const sb = options.get('signed-by');
    entries.push({
      uri: withSlash(m[3] as string),
      suite,
      components,
      signedBy: sb === undefined ? null : signedBy([sb], []),
      trusted: options.get('trusted') === 'yes',
      file,
      line,
    });
  });
  return { entries, problems };
}

/** Parses a deb822 `.sources` file. Paragraphs with `Enabled: no` or without `deb` in Types are skipped. */
export function parseSourcesDeb822(text: string, file: string): { entries: SourceEntry[]; problems: SourceProblem[] } {
  const entries: SourceEntry[] = [];
  const problems: SourceProblem[] = [];
  const parsed = parseDeb822(text, { comments: true, maxLine: 64 * 1024, maxMore: 10_000 });
  for (const p of parsed.problems) problems.push({ file, line: p.line, message: p.message });
  for (const para of parsed.paragraphs) {
    const get = (name: string): string => para.fields.get(name)?.value ?? '';
    const words = (name: string): string[] => get(name).split(/\s+/).filter((w) => w !== '');
    if (get('enabled').toLowerCase() === 'no') continue;
    const types = words('types');
    if (!types.includes('deb')) {
      if (types.length === 0) problems.push({ file, line: para.line, message: 'a paragraph without Types' });
      continue;
    }
    const uris = words('uris');
    const suites = words('suites');
    const components = words('components');
    if (uris.length === 0 || suites.length === 0) {
      problems.push({ file, line: para.line, message: `a paragraph without ${uris.length === 0 ? 'URIs' : 'Suites'}` });
      continue;
    }
    let sb: SignedBy | null = null;
    const field = para.fields.get('signed-by');
    if (field !== undefined) {
      const text = fieldText(field);
      if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
        // deb822 folds the key: continuation lines, with ` .` standing for an empty line.
        const armored = [field.value, ...field.more.map((l) => (l.trim() === '.' ? '' : l.trim()))].filter((l, i) => i > 0 || l !== '').join('\n');
        sb = signedBy([], [armored]);
      } else {
        sb = signedBy(text.split('\n'), []);
      }
    }
    const trusted = get('trusted').toLowerCase() === 'yes';
    for (const uri of uris) {
      for (const suite of suites) {
        const flat = suite.endsWith('/');
        if (flat !== (components.length === 0)) {
          problems.push({ file, line: para.line, message: flat ? `a flat repository (suite '${shorten(suite)}') takes no components` : `suite '${shorten(suite)}' needs Components` });
          continue;
        }
        entries.push({ uri: withSlash(uri), suite, components: flat ? [] : components, signedBy: sb, trusted, file, line: para.line });
      }
    }
  }
  return { entries, problems };
}
