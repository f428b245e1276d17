// Which directory trees must hold only what packages installed: the checked packages' application
// directories, the trees only they own, and the operator's `[unowned] trees`.
import type { BytePath } from '../dpkg/types.js';
import type { OwnershipIndex } from './ownership.js';

/** Why a directory is a tree. */
export type TreeReason = 'app-dir' | 'own' | 'config';

/** A directory walked for unowned entries, with whose it is. */
export interface Tree {
  /** The directory, as a walk meets it (parent resolved inside the root). */
  readonly path: BytePath;
  /** The package whose tree it is (the first checked package that lists it); '' for an operator's tree. */
  readonly package: string;
  readonly reason: TreeReason;
}

/** Where web applications live: every directory the checked packages list below these is a tree. */
export const APP_DIRS: readonly BytePath[] = ['/srv', '/var/www', '/opt'];

/**
 * Where a directory only the checked packages own is still not an application's tree: the
 * administrator's and the system's own places (configuration, state, logs, homes, mounts,
 * /usr/local), which the persistence checks cover instead.
 */
export const SYSTEM_PLACES: readonly BytePath[] = ['/etc', '/var', '/run', '/tmp', '/home', '/root', '/dev', '/proc', '/sys', '/boot', '/media', '/mnt', '/usr/local', '/lost+found', '/srv', '/opt'];

function under(p: BytePath, dir: BytePath): boolean {
  return p.startsWith(`${dir}/`);
}

function isSystemPlace(p: BytePath): boolean {
  return SYSTEM_PLACES.some((d) => p === d || under(p, d));
}

/** A package whose trees are wanted: its id and its .list. */
export interface SubjectList {
  readonly id: string;
  readonly paths: readonly BytePath[];
}

/**
 * The trees of the checked packages, outermost only, sorted by path. A directory is one when a
 * checked package lists it (it is the parent of another path it lists) and it lies below
 * /srv, /var/www or /opt; with `ownTrees`, also when only checked packages list it and it is not
 * in a system place (an application's own tree, /usr/share/my-app). `canonical` maps a listed
 * path to where a walk meets it. Pure.
 */
export function packageTrees(
  index: OwnershipIndex,
  subjects: readonly SubjectList[],
  opts: { readonly ownTrees: boolean; readonly canonical?: (p: BytePath) => BytePath },
): Tree[] {
  const canonical = opts.canonical ?? ((p: BytePath): BytePath => p);
  const ids = new Set(subjects.map((s) => s.id));
  const found = new Map<BytePath, Tree>();
  const sorted = [...subjects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const s of sorted) {
    // Directories are the parents of listed paths; below the application directories every listed
    // path is a candidate (an empty directory the package ships), the walk skips what is no directory.
    const dirs = new Set<BytePath>();
    for (const p of s.paths) {
      const cut = p.lastIndexOf('/');
      if (cut > 0) dirs.add(p.slice(0, cut));
      if (APP_DIRS.some((a) => under(p, a))) dirs.add(p);
    }
    for (const d of dirs) {
      let reason: TreeReason | null = null;
      if (APP_DIRS.some((a) => under(d, a))) reason = 'app-dir';
      else if (opts.ownTrees && !isSystemPlace(d) && index.ownedOnlyBy(d, ids)) reason = 'own';
      if (reason === null) continue;
      const path = canonical(d);
      if (!found.has(path)) found.set(path, { path, package: s.id, reason });
    }
  }
  return outermost([...found.values()]);
}

/** The trees with those inside another removed (the outer one stands for them), sorted by path. */
export function outermost(trees: readonly Tree[]): Tree[] {
  const sorted = [...trees].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: Tree[] = [];
  for (const t of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (t.path === last.path || under(t.path, last.path) || last.path === '/')) continue;
    out.push(t);
  }
  return out;
}
