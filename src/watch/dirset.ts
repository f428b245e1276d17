// The watcher's bookkeeping: paths grouped by system directory, directories resolved inside the root
// (symlinks followed), and the index of directories on the way whose rename means resolving again.
import { lstat, readlink } from 'node:fs/promises';
import type { FSWatcher } from 'chokidar';
import { joinPath, parentPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import { errnoCode, osErrorText } from '../errors.js';

/** How one system directory resolved inside the root. */
export type Resolution =
  | { readonly ok: true; readonly real: BytePath; readonly chain: readonly BytePath[] }
  | { readonly ok: false; readonly existing: BytePath; readonly chain: readonly BytePath[]; readonly error: string | null };

/** The paths of the set that live in one system directory. */
export interface Group {
  readonly sysDir: BytePath;
  /** By name as fs.watch reports it (UTF-8 decoded, so non-UTF-8 names collide safely): full paths. */
  byName: Map<string, BytePath[]>;
  paths: BytePath[];
  /** The watch it is attached to: its real directory's, or (sentinel) its nearest existing ancestor's. */
  watch: Watch | null;
  sentinel: boolean;
  /** The real directory inside the root, when it exists. */
  real: BytePath | null;
  /** Host paths (fs.watch spelling) whose rename means this directory must be resolved again. */
  chain: string[];
  /** Why it cannot be watched, or null. */
  problem: string | null;
}

/** One chokidar watcher on one directory. */
export interface Watch {
  /** The host path as chokidar spells it (UTF-8). */
  readonly key: string;
  /** The host path as bytes (latin1 string). */
  readonly host: string;
  readonly base: string;
  fsw: FSWatcher | null;
  ino: bigint | null;
  /**
   * An event named the directory itself (deleted or moved: its inotify watch may be dead). The
   * inode number cannot tell, as filesystems reuse it at once for a directory made in its place.
   */
  suspect: boolean;
  groups: Set<Group>;
  failed: string | null;
}

/** Symlinks one resolution may follow, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

/** A byte string as fs.watch reports names: UTF-8 decoded, invalid bytes as U+FFFD. */
export function lossy(b: BytePath): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}

/** The path chokidar can watch for host path `host` (bytes), or null when it cannot express it. */
export function chokidarPath(host: string): string | null {
  const buf = Buffer.from(host, 'latin1');
  const s = buf.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(buf) || s.includes('\\')) return null;
  return s;
}

/** `/a//b/` -> `/a/b`; null for the root itself (it has no directory to be watched from). */
function normalize(p: BytePath): BytePath | null {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return parts.length === 0 ? null : `/${parts.join('/')}`;
}

/**
 * Groups `paths` by their directory, keeping (and refilling) the group of `old` for a directory
 * that stays, so its watch stays too. Returns the groups and the number of distinct paths.
 */
export function buildGroups(paths: readonly BytePath[], old: ReadonlyMap<BytePath, Group>): { groups: Map<BytePath, Group>; count: number } {
  const byDir = new Map<BytePath, Set<BytePath>>();
  for (const raw of paths) {
    const p = normalize(raw);
    if (p === null) continue;
    const dir = parentPath(p);
    let s = byDir.get(dir);
    if (s === undefined) byDir.set(dir, (s = new Set()));
    s.add(p);
  }
  const out = new Map<BytePath, Group>();
  let count = 0;
  for (const [dir, set] of byDir) {
    const byName = new Map<string, BytePath[]>();
    for (const p of set) {
      const key = lossy(p.slice(p.lastIndexOf('/') + 1));
      const list = byName.get(key);
      if (list === undefined) byName.set(key, [p]);
      else list.push(p);
    }
    count += set.size;
    const prev = old.get(dir);
    if (prev !== undefined) {
      prev.byName = byName;
      prev.paths = [...set];
      out.set(dir, prev);
    } else {
      out.set(dir, { sysDir: dir, byName, paths: [...set], watch: null, sentinel: false, real: null, chain: [], problem: null });
    }
  }
  return { groups: out, count };
}

/**
 * Resolves a system directory inside the root, component by component; `hostOf` maps a system path
 * to its host path (bytes as a latin1 string).
 */
export async function resolveDir(sysDir: BytePath, hostOf: (sys: BytePath) => string): Promise<Resolution> {
  const chain: BytePath[] = [];
  const todo = sysDir.split('/').filter((c) => c !== '' && c !== '.').reverse();
  let real: BytePath = '/';
  let links = 0;
  for (let c = todo.pop(); c !== undefined; c = todo.pop()) {
    if (c === '..') {
      real = parentPath(real);
      continue;
    }
    const cand = joinPath(real, c);
    chain.push(cand);
    const host = Buffer.from(hostOf(cand), 'latin1');
    try {
      const st = await lstat(host);
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) return { ok: false, existing: real, chain, error: 'ELOOP: too many levels of symbolic links' };
        const target = (await readlink(host, { encoding: 'buffer' })).toString('latin1');
        if (target.startsWith('/')) real = '/';
        todo.push(...target.split('/').filter((x) => x !== '' && x !== '.').reverse());
        continue;
      }
      // Not a directory: the paths in it are absent until one appears (a rename in `real`).
      if (!st.isDirectory()) return { ok: false, existing: real, chain, error: null };
    } catch (err) {
      const code = errnoCode(err) ?? 'EUNKNOWN';
      return { ok: false, existing: real, chain, error: code === 'ENOENT' || code === 'ENOTDIR' ? null : osErrorText(err) };
    }
    real = cand;
  }
  return { ok: true, real, chain };
}

/** Which groups must be resolved again when a host path (fs.watch spelling) is renamed. */
export class ChainIndex {
  private readonly index = new Map<string, Set<Group>>();

  /** Sets the chain of `g` to `hosts` (already in fs.watch spelling). */
  set(g: Group, hosts: string[]): void {
    for (const k of g.chain) {
      const s = this.index.get(k);
      s?.delete(g);
      if (s?.size === 0) this.index.delete(k);
    }
    g.chain = hosts;
    for (const k of g.chain) {
      let s = this.index.get(k);
      if (s === undefined) this.index.set(k, (s = new Set()));
      s.add(g);
    }
  }

  get(host: string): ReadonlySet<Group> | undefined {
    return this.index.get(host);
  }
}
