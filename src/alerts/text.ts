// Text helpers for the email message: safe characters, plurals, times, and lines that fit a phone.

/** The widest a body line gets (a longer word stays whole). */
export const WIDTH = 72;

// C0 controls, DEL and C1 controls; and the Unicode line separators and bidi controls that make text
// display in another order than it is (a path could pretend to be a different path).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the disk (package names, paths, details) or from a server made safe to show and to put
 * in a header: control characters become `\xNN`, bidi controls `\uNNNN`. Backslashes are left as
 * they are (FindingJson paths already show a backslash as `\\`).
 */
export function safeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** `1 file`, `3 files`. */
export function plural(n: number, word: string): string {
  return `${n} ${n === 1 ? word : `${word}s`}`;
}

/** ISO 8601 UTC, or the text as given (made safe) when it is not a time. */
export function iso(t: string | null): string {
  if (t === null) return 'an unknown time';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? safeText(t) : d.toISOString();
}

/** Breaks text at spaces so lines stay within WIDTH; a word longer than that stays whole. */
export function wrap(text: string, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      out.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  out.push(line);
  return out;
}
