// Walks a directory tree inside a root with lstat: never follows a symlink, never leaves the
// tree's filesystem, stops after a set number of entries. Reads no file's content.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { joinPath, joinRoot } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import { errnoCode, osErrorText } from '../errors.js';
import type { FileKind } from '../verify/finding.js';
import { kindOf } from '../verify/check.js';

/** One entry as lstat saw it; `path` is on the checked system (no root prefix), as bytes. */
export interface WalkEntry {
  readonly path: BytePath;
  readonly kind: FileKind;
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  /** st_mode & 0o7777. */
  readonly mode: number;
  readonly mtimeMs: number;
  readonly dev: number;
  readonly ino: number;
  /** A symlink's target (readlink, never followed). */
  readonly target?: BytePath;
}

/** What a walk reports, in pre-order: a directory comes before everything below it. */
export type WalkEvent =
  | { readonly t: 'entry'; readonly entry: WalkEntry }
  /** A directory that could not be listed, or an entry that could not be lstat'ed. */
  | { readonly t: 'unreadable'; readonly path: BytePath; readonly error: string }
  /** A directory on another filesystem: its entry came before, its content is not walked. */
  | { readonly t: 'mount'; readonly path: BytePath }
  /** The walk stopped after `max` entries. */
  | { readonly t: 'cap'; readonly path: BytePath; readonly max: number };

export interface WalkOptions {
  /** Stop after this many entries (a warning, not an error: a huge tree cannot stall the run). */
  readonly maxEntries: number;
  /** Directories not to enter (the operator's allowed trees); their own entry is still reported. */
  readonly prune?: (e: WalkEntry) => boolean;
}

/** The default entry cap of one walk. */
export const DEFAULT_MAX_ENTRIES = 1_000_000;


/** A WalkEntry from lstat's answer (and readlink's, for a symlink). */
export function entryOf(path: BytePath, st: Stats, target?: BytePath): WalkEntry {
  const e = { path, kind: kindOf(st), size: st.size, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino };
  return target === undefined ? e : { ...e, target };
}

/** lstat of one path inside the root (and its link target), or the error text; null when it is gone. */
export function lstatEntry(root: string, path: BytePath): WalkEntry | { error: string } | null {
  const host = joinRoot(root, path);
  try {
    const st = lstatSync(host);
    if (!st.isSymbolicLink()) return entryOf(path, st);
    let target: BytePath = '';
    try {
      target = readlinkSync(host, { encoding: 'buffer' }).toString('latin1');
    } catch {
      // gone between lstat and readlink: the entry was there, its target is unknown
    }
    return entryOf(path, st, target);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return { error: osErrorText(err) };
  }
}

/**
 * Names in the directory `seen` (as lstat saw it), byte order, as byte strings; or the error.
 * readdir follows a symlink, so the directory is lstat'ed again afterwards: one swapped for a link
 * (or another directory) while it was read is an error, not the listing of wherever it pointed.
 */
function list(root: string, seen: WalkEntry): string[] | { error: string } {
  const host = joinRoot(root, seen.path);
  try {
    const names = readdirSync(host, { encoding: 'buffer' });
    const again = lstatSync(host);
    if (!again.isDirectory() || again.ino !== seen.ino || again.dev !== seen.dev) return { error: 'ECHANGED: replaced while it was read' };
    return names.sort((a, b) => Buffer.compare(a, b)).map((b) => b.toString('latin1'));
  } catch (err) {
    return { error: osErrorText(err) };
  }
}

/**
 * Walks the directory `start` (a real directory inside `root`, not itself reported) depth first,
 * in byte order. Entries on another device than `start` are reported but not entered (-xdev).
 * Synchronous, one lstat per entry; callers that must stay responsive yield between events.
 */
export function* walkTree(root: string, start: BytePath, opts: WalkOptions): Generator<WalkEvent> {
  const top = lstatEntry(root, start);
  if (top === null || 'error' in top || top.kind !== 'directory') return;
  const dev = top.dev;
  let count = 0;
  const first = list(root, top);
  if ('error' in first) {
    yield { t: 'unreadable', path: start, error: first.error };
    return;
  }
  const stack: { dir: BytePath; names: string[]; i: number }[] = [{ dir: start, names: first, i: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame === undefined) break;
    if (frame.i >= frame.names.length) {
      stack.pop();
      continue;
    }
    const path = joinPath(frame.dir, frame.names[frame.i++] ?? '');
    const e = lstatEntry(root, path);
    if (e === null) continue;
    if (count >= opts.maxEntries) {
      yield { t: 'cap', path: start, max: opts.maxEntries };
      return;
    }
    count++;
    if ('error' in e) {
      yield { t: 'unreadable', path, error: e.error };
      continue;
    }
    yield { t: 'entry', entry: e };
    if (e.kind !== 'directory' || (opts.prune?.(e) ?? false)) continue;
    if (e.dev !== dev) {
      yield { t: 'mount', path };
      continue;
    }
    const names = list(root, e);
    if ('error' in names) yield { t: 'unreadable', path, error: names.error };
    else stack.push({ dir: path, names, i: 0 });
  }
}
