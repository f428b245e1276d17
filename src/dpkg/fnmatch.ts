// fnmatch(3) without FNM_PATHNAME or FNM_PERIOD, compiled to an anchored RegExp over byte strings.

/** POSIX character classes in the C locale, as RegExp class bodies. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '\\x21-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7e',
  space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
};

function hex(c: number): string {
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

/** A char as a RegExp atom that is safe inside and outside a class (byte strings: codes < 256). */
function charAtom(c: number): string {
  if (c > 0xff) return `\\u${c.toString(16).padStart(4, '0')}`;
  return hex(c);
}

function escapeLiteral(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * Parses a bracket expression starting at `glob[start] === '['`. Returns the RegExp source and the
 * index after the closing `]`, or null when there is no closing `]` (then `[` is a literal).
 */
function parseBracket(glob: string, start: number): { src: string; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  const items: string[] = [];
  let first = true;
  for (;;) {
    if (i >= glob.length) return null;
    let ch = glob[i] ?? '';
    if (ch === ']' && !first) {
      i++;
      break;
    }
    first = false;
    if (ch === '[' && glob[i + 1] === ':') {
      const end = glob.indexOf(':]', i + 2);
      const name = end >= 0 ? glob.slice(i + 2, end) : '';
      const body = POSIX_CLASSES[name];
      if (body !== undefined) {
        items.push(body);
        i = end + 2;
        continue;
      }
    }
    if (ch === '\\' && i + 1 < glob.length) {
      i++;
      ch = glob[i] ?? '';
    }
    const lo = ch.charCodeAt(0);
    i++;
    // A range `a-z`; a `-` just before `]` is literal.
    if (glob[i] === '-' && i + 1 < glob.length && glob[i + 1] !== ']') {
      let j = i + 1;
      if (glob[j] === '\\' && j + 1 < glob.length) j++;
      const hi = (glob[j] ?? '').charCodeAt(0);
      i = j + 1;
      if (lo <= hi) items.push(`${charAtom(lo)}-${charAtom(hi)}`);
      // A reversed range matches nothing, as in glibc.
      continue;
    }
    items.push(charAtom(lo));
  }
  let src: string;
  if (items.length === 0) src = negate ? '[\\s\\S]' : '(?!)';
  else src = `[${negate ? '^' : ''}${items.join('')}]`;
  return { src, next: i };
}

/**
 * Compiles an fnmatch(3) glob (no FNM_PATHNAME, no FNM_PERIOD) to an anchored RegExp: `*` matches
 * any sequence including `/`, `?` one char, `[abc]`, `[a-z]`, `[!a]`, `[^a]` and `[[:alpha:]]`
 * classes, `\x` the char x. An unterminated `[` is a literal `[`. Works on byte strings.
 */
export function compileGlob(glob: string): RegExp {
  let src = '';
  let i = 0;
  while (i < glob.length) {
    const ch = glob[i] ?? '';
    if (ch === '*') {
      while (glob[i] === '*') i++;
      src += '[\\s\\S]*';
      continue;
    }
    if (ch === '?') {
      src += '[\\s\\S]';
      i++;
      continue;
    }
    if (ch === '[') {
      const bracket = parseBracket(glob, i);
      if (bracket !== null) {
        src += bracket.src;
        i = bracket.next;
        continue;
      }
      src += '\\[';
      i++;
      continue;
    }
    if (ch === '\\' && i + 1 < glob.length) {
      src += escapeLiteral(glob[i + 1] ?? '');
      i += 2;
      continue;
    }
    src += escapeLiteral(ch);
    i++;
  }
  return new RegExp(`^(?:${src})$`);
}

/** Whether `s` contains an unescaped `*`, `?` or `[` (and so is a pattern, not a plain name). */
export function isGlob(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}
