// Byte-string helpers: dpkg paths are bytes held one char per byte; convert, join, normalise and display them.

import type { BytePath } from './types.js';

/** Turns a byte string into the Buffer the fs API needs (one byte per char, lossless). */
export function toFsPath(p: BytePath): Buffer {
  return Buffer.from(p, 'latin1');
}

/** Turns text a person typed (UTF-8) into a byte string comparable with database paths. */
export function fromUtf8(s: string): BytePath {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** `name` in the directory `dir` (absolute paths): `/` + `a` is `/a`, `/x` + `a` is `/x/a`. */
export function joinPath(dir: BytePath, name: string): BytePath {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The directory that holds `p` (absolute): `/a/b` -> `/a`; `/a` -> `/`. */
export function parentPath(p: BytePath): BytePath {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * The host path of database path `p` under `root` (a normal UTF-8 string). Root `/` gives `p`
 * itself; trailing slashes of `root` are dropped so `/srv/root/` and `/srv/root` agree.
 * This is string concatenation only: symlinks inside the root are the verifier's business.
 */
export function joinRoot(root: string, p: BytePath): Buffer {
  const rel = p.startsWith('/') ? p : `/${p}`;
  let end = root.length;
  while (end > 0 && root.charCodeAt(end - 1) === 0x2f) end--;
  if (end === 0) return toFsPath(rel);
  return Buffer.concat([Buffer.from(root.slice(0, end), 'utf8'), toFsPath(rel)]);
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function utf8SeqLength(s: string, i: number): number {
  const b0 = s.charCodeAt(i);
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 === 0xe0) lo = 0xa0; // overlong
    else if (b0 === 0xed) hi = 0x9f; // UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 === 0xf0) lo = 0x90; // overlong
    else if (b0 === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + len > s.length) return 0;
  const b1 = s.charCodeAt(i + 1);
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < len; k++) {
    const b = s.charCodeAt(i + k);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}

function hexEscape(b: number): string {
  return `\\x${b.toString(16).padStart(2, '0')}`;
}

/**
 * A byte string made safe to show to people: valid UTF-8 is shown as characters; bytes that are
 * not part of valid UTF-8, C0 controls, DEL and C1 controls (U+0080..U+009F, which terminals also
 * interpret) are shown as `\xNN` (lowercase hex); a backslash is shown as `\\`, so the output is
 * unambiguous.
 */
export function displayPath(p: BytePath): string {
  // Fast path: printable ASCII without backslash needs no work.
  let plain = true;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return p;

  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === 0x7f) out += hexEscape(c);
      else if (c === 0x5c) out += '\\\\';
      else out += p[i] ?? '';
      i++;
      continue;
    }
    const len = utf8SeqLength(p, i);
    if (len === 0) {
      out += hexEscape(c & 0xff);
      i++;
      continue;
    }
    const seq = p.slice(i, i + len);
    if (len === 2 && c === 0xc2 && p.charCodeAt(i + 1) <= 0x9f) {
      // C1 control: show its bytes, not the control.
      for (let k = 0; k < len; k++) out += hexEscape(seq.charCodeAt(k));
    } else {
      out += Buffer.from(seq, 'latin1').toString('utf8');
    }
    i += len;
  }
  return out;
}

/** Result of normalising a path read from the database. */
export type NormalizedPath =
  | { readonly ok: true; readonly path: BytePath }
  | { readonly ok: false; readonly reason: string };

/**
 * Normalises a database path to one leading `/`, no repeated `/`, no `.` components and no
 * trailing `/` (except `/` itself). With `relativeOk` (md5sums), a path without a leading `/` is
 * taken relative to `/`; without it (list, diversions), such a path is refused. A NUL byte or a
 * `..` component is refused because it would name something outside the package's root.
 */
export function normalizeDbPath(raw: BytePath, relativeOk: boolean): NormalizedPath {
  if (raw.indexOf('\0') >= 0) return { ok: false, reason: 'the path contains a NUL byte' };
  if (raw.charCodeAt(0) !== 0x2f && !relativeOk) {
    return { ok: false, reason: 'expected an absolute path (starting with /)' };
  }
  // Fast path: already normal but for a missing leading `/` (nearly every line of a real database).
  const c0 = raw.charCodeAt(0);
  if (
    raw.length > 1 &&
    c0 !== 0x2e &&
    raw.charCodeAt(raw.length - 1) !== 0x2f &&
    raw.indexOf('//') < 0 &&
    raw.indexOf('/.') < 0
  ) {
    return { ok: true, path: c0 === 0x2f ? raw : `/${raw}` };
  }
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: "the path has a '..' component (it would escape the root)" };
    parts.push(part);
  }
  return { ok: true, path: `/${parts.join('/')}` };
}

/** Shortens text from the database for a warning: escaped for display, cut to `max` characters. */
export function excerpt(s: string, max = 60): string {
  const shown = displayPath(s.length > max * 4 ? s.slice(0, max * 4) : s);
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}

/**
 * A host path as a path on the checked system: without the root prefix when it is under the root
 * (the dpkg database of a --root system), unchanged otherwise (an --admindir elsewhere).
 * `root` is absolute, as the loader resolves it.
 */
export function pathOnSystem(root: string, hostPath: string): BytePath {
  const r = root.length > 1 ? root.replace(/\/+$/, '') : root;
  if (r === '/') return fromUtf8(hostPath);
  return fromUtf8(hostPath.startsWith(`${r}/`) ? hostPath.slice(r.length) : hostPath);
}
