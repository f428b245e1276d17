// Parser of a package's info/*.md5sums file: `HASH  path` lines to a path -> md5 map, bad lines to warnings.

import { excerpt, normalizeDbPath } from './bytes.js';
import type { BytePath, DbWarning } from './types.js';

/** Value of a hex digit char code, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

type LineResult =
  | { readonly kind: 'ok'; readonly path: BytePath; readonly md5: string }
  | { readonly kind: 'skip' }
  | { readonly kind: 'bad'; readonly message: string };

const EXPECTED = "expected '<32 hex digits>  <path>'";

/** Parses one line (without its `\n`). Pure, so it can be re-run to find an earlier duplicate. */
function parseLine(raw: string): LineResult {
  const line = raw.charCodeAt(raw.length - 1) === 0x0d ? raw.slice(0, -1) : raw;
  if (line === '') return { kind: 'skip' };
  let sp = line.indexOf(' ');
  if (sp < 0) sp = line.length;
  let upper = false;
  let hexOk = true;
  for (let i = 0; i < sp; i++) {
    const c = line.charCodeAt(i);
    if (hexValue(c) < 0) {
      hexOk = false;
      break;
    }
    if (c >= 0x41 && c <= 0x46) upper = true;
  }
  const hash = line.slice(0, sp);
  if (!hexOk) {
    return { kind: 'bad', message: `${EXPECTED}, found a hash with non-hex characters '${excerpt(hash)}'` };
  }
  if (sp !== 32) {
    return { kind: 'bad', message: `${EXPECTED}, found a hash of ${sp} hex digits '${excerpt(hash)}'` };
  }
  const marker = line.charCodeAt(33);
  const isMarker = marker === 0x20 || marker === 0x2a;
  if (line.length <= 33 || (line.length === 34 && isMarker)) {
    return { kind: 'bad', message: `${EXPECTED}, found no path after the hash` };
  }
  if (!isMarker) {
    return {
      kind: 'bad',
      message: `${EXPECTED}, found '${excerpt(line.slice(32, 34))}' instead of two spaces (or ' *') after the hash`,
    };
  }
  const rawPath = line.slice(34);
  const norm = normalizeDbPath(rawPath, true);
  if (!norm.ok) return { kind: 'bad', message: `${norm.reason}: '${excerpt(rawPath)}'; skipping it` };
  if (norm.path === '/') return { kind: 'bad', message: `${EXPECTED}, found the path '${excerpt(rawPath)}', which names no file` };
  return { kind: 'ok', path: norm.path, md5: upper ? hash.toLowerCase() : hash };
}

/** 1 for the char codes of lowercase hex digits. */
const LOWER_HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

/**
 * Whether the line `text[pos..end)` is well formed and needs no normalisation:
 * `<32 lowercase hex>  path` with a path not starting with `.` or `/`, without `//`, `/.`, NUL, and
 * not ending in `/` or `\r`. Nearly every line of a real database is; checking it in place, without
 * slicing the line first, halves the parse time of a whole machine.
 */
function isPlainLine(text: string, pos: number, end: number): boolean {
  if (end - pos < 36 || text.charCodeAt(pos + 32) !== 0x20 || text.charCodeAt(pos + 33) !== 0x20) return false;
  for (let j = pos; j < pos + 32; j++) {
    const c = text.charCodeAt(j);
    if (c > 0x66 || LOWER_HEX[c] !== 1) return false;
  }
  const first = text.charCodeAt(pos + 34);
  const last = text.charCodeAt(end - 1);
  return first !== 0x2e && first !== 0x2f && last !== 0x2f && last !== 0x0d;
}

/**
 * Parses the text of an md5sums file (decoded as latin1). Paths are normalised to one leading `/`.
 * Bad lines (wrong hash length, non-hex, no separator, no path, a path escaping the root, a
 * duplicate path) are skipped with a warning naming the package, the file and the line; for a
 * duplicate the first entry is kept. Never throws.
 */
export function parseMd5sums(text: string, file: string, pkg: string): { sums: Map<BytePath, string>; warnings: DbWarning[] } {
  const sums = new Map<BytePath, string>();
  const warnings: DbWarning[] = [];
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const start = pos;
    pos = end + 1;
    lineNo++;
    let path: BytePath | null = null;
    let md5 = '';
    if (isPlainLine(text, start, end)) {
      const p = text.slice(start + 34, end);
      if (p.indexOf('//') < 0 && p.indexOf('/.') < 0 && p.indexOf('\0') < 0) {
        path = `/${p}`;
        md5 = text.slice(start, start + 32);
      }
    }
    if (path === null) {
      const r = parseLine(text.slice(start, end));
      if (r.kind === 'skip') continue;
      if (r.kind === 'bad') {
        warnings.push({ package: pkg, file, line: lineNo, message: r.message });
        continue;
      }
      path = r.path;
      md5 = r.md5;
    }
    if (sums.has(path)) {
      warnings.push({
        package: pkg,
        file,
        line: lineNo,
        message: `duplicate entry for ${excerpt(path)} (first at line ${firstLineOf(text, path)}); keeping the first`,
      });
      continue;
    }
    sums.set(path, md5);
  }
  return { sums, warnings };
}

/** The 1-based line where `path` first appears (duplicates are rare, so this re-scan is cheap overall). */
function firstLineOf(text: string, path: BytePath): number {
  const lines = text.split('\n');
  for (let j = 0; j < lines.length; j++) {
    const r = parseLine(lines[j] ?? '');
    if (r.kind === 'ok' && r.path === path) return j + 1;
  }
  return 0;
}
