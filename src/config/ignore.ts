// `[ignore] paths`: absolute globs compiled to one matcher over byte-string paths.
import { fromUtf8 } from '../dpkg/bytes.js';

function hex(c: number): string {
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

/** A bracket expression at `seg[start] === '['` as RegExp source and the index after `]`, or null. */
function bracket(seg: string, start: number): { src: string; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (seg[i] === '!' || seg[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (;;) {
    if (i >= seg.length) return null;
    let c = seg.charCodeAt(i);
    if (c === 0x5d && !first) break; // ]
    first = false;
    if (c === 0x5c && i + 1 < seg.length) c = seg.charCodeAt(++i); // \x is x
    i++;
    if (seg[i] === '-' && i + 1 < seg.length && seg[i + 1] !== ']') {
      let hi = seg.charCodeAt(i + 1);
      i += 2;
      if (hi === 0x5c && i < seg.length) hi = seg.charCodeAt(i++);
      if (c <= hi) body += `${hex(c)}-${hex(hi)}`;
      continue;
    }
    body += hex(c);
  }
  // A class never matches the `/` between segments, even as a range or negated.
  const src = body === '' ? (negate ? '[^/]' : '(?!)') : `(?!/)[${negate ? '^' : ''}${body}]`;
  return { src, next: i + 1 };
}

/** One path segment (no `/`) as RegExp source: `*`, `?`, `[...]`, `\x`; the rest literal. */
function segmentSource(seg: string): string {
  let src = '';
  for (let i = 0; i < seg.length; ) {
    const ch = seg[i] ?? '';
    if (ch === '*') {
      while (seg[i] === '*') i++;
      src += '[^/]*';
    } else if (ch === '?') {
      src += '[^/]';
      i++;
    } else if (ch === '[') {
      const b = bracket(seg, i);
      src += b === null ? hex(0x5b) : b.src;
      i = b === null ? i + 1 : b.next;
    } else {
      if (ch === '\\' && i + 1 < seg.length) i++;
      src += hex(seg.charCodeAt(i));
      i++;
    }
  }
  return src;
}

/**
 * RegExp source of one absolute glob. `*` and `?` stay within a segment; a whole segment `**`
 * matches any number of segments, none included; a trailing `/**` matches everything below the
 * directory but not the directory itself. The glob is UTF-8 text and is matched as bytes.
 */
export function globSource(glob: string): string {
  const bytes = fromUtf8(glob);
  const segs = bytes.split('/');
  let src = segs[0] === '' ? '' : segmentSource(segs[0] ?? '');
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    if (seg !== '**') src += `/${segmentSource(seg)}`;
    else if (i === segs.length - 1) src += '/[\\s\\S]+';
    else src += '(?:/[\\s\\S]*)?';
  }
  return src;
}

/**
 * Compiles `[ignore] paths` globs (validated: absolute, not ending in `/`) to one predicate over
 * absolute paths held as byte strings (one char per byte, as the verifier's findings hold them).
 * `*` and `?` do not cross `/` and match a leading dot; `?` and `[abc]` match one byte.
 */
export function compileIgnore(globs: readonly string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const re = new RegExp(`^(?:${globs.map(globSource).join('|')})$`);
  return (path) => re.test(path);
}

/**
 * The ignore globs as a test on findings' JSON paths (FindingJson, the agent's state): those carry
 * paths as people read them (UTF-8), the compiled globs match bytes, so the path goes back to its
 * bytes first.
 */
export function compileIgnoreJson(globs: readonly string[]): (path: string) => boolean {
  const matches = compileIgnore(globs);
  return (p) => matches(fromUtf8(p));
}
