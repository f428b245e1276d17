// Resolves database paths inside a root to the paths a walk meets: `/bin/mount` is
// `/usr/bin/mount` when `/bin` links to `usr/bin` (merged /usr).
import { lstatSync, readlinkSync } from 'node:fs';
import { joinPath, joinRoot, parentPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';

/** How many symlinks one resolution may follow, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

type Node = { readonly t: 'dir' } | { readonly t: 'link'; readonly target: BytePath } | { readonly t: 'none' };

/**
 * Resolves directories inside a root as a process chrooted there would: an absolute symlink
 * restarts at the root, `..` never climbs above it. Every lstat is cached for the resolver's
 * lifetime, so make one per run.
 */
export class RootResolver {
  private readonly nodes = new Map<BytePath, Node>();
  private readonly dirs = new Map<BytePath, BytePath | null>();

  constructor(private readonly root: string) {}

  /**
   * `p` with its parent directory resolved and its last component left alone: the path at which
   * a walk that never follows symlinks meets the entry (`/bin/mount` -> `/usr/bin/mount` when
   * `/bin` links to `usr/bin`). `p` itself when the parent does not resolve to a directory.
   */
  canonical(p: BytePath): BytePath {
    const cut = p.lastIndexOf('/');
    if (cut < 0 || p === '/') return p;
    const parent = this.realDir(cut === 0 ? '/' : p.slice(0, cut));
    return parent === null ? p : joinPath(parent, p.slice(cut + 1));
  }

  /** The real path of directory `dir` inside the root, or null when it is not (or not only) a directory there. */
  realDir(dir: BytePath): BytePath | null {
    const hit = this.dirs.get(dir);
    if (hit !== undefined) return hit;
    const real = this.resolve(dir);
    this.dirs.set(dir, real);
    return real;
  }

  private resolve(p: BytePath): BytePath | null {
    const pending = p.split('/').reverse();
    let cur: BytePath = '/';
    let links = 0;
    while (pending.length > 0) {
      const c = pending.pop() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur = parentPath(cur);
        continue;
      }
      const next = joinPath(cur, c);
      const node = this.node(next);
      if (node.t === 'none') return null;
      if (node.t === 'dir') {
        cur = next;
        continue;
      }
      if (++links > MAX_SYMLINKS) return null;
      pending.push(...node.target.split('/').reverse());
      if (node.target.startsWith('/')) cur = '/';
    }
    return cur;
  }

  private node(real: BytePath): Node {
    const hit = this.nodes.get(real);
    if (hit !== undefined) return hit;
    let node: Node;
    try {
      const host = joinRoot(this.root, real);
      const st = lstatSync(host);
      if (st.isDirectory()) node = { t: 'dir' };
      else if (st.isSymbolicLink()) node = { t: 'link', target: readlinkSync(host, { encoding: 'buffer' }).toString('latin1') };
      else node = { t: 'none' };
    } catch {
      node = { t: 'none' };
    }
    this.nodes.set(real, node);
    return node;
  }
}
