// Resolves a path of the checked system to a host path, following symlinks inside the root as chroot would.
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';

const MAX_LINKS = 40;

/**
 * The host path of `p` (absolute, on the system under `root`) with every symlink resolved inside
 * the root: an absolute target restarts at the root and `..` never climbs above it. A component
 * that does not exist ends the walk: the rest is appended unresolved (the caller's open fails).
 */
export async function resolveInRoot(root: string, p: string): Promise<string> {
  const base = path.resolve(root);
  const pending = p.split('/').filter((c) => c !== '' && c !== '.').reverse();
  const cur: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const host = path.join(base, ...cur, c);
    let isLink: boolean;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch {
      return path.join(base, ...cur, c, ...pending.reverse());
    }
    if (!isLink) {
      cur.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error('ELOOP: too many levels of symbolic links'), { code: 'ELOOP' });
    const target = await readlink(host);
    if (target.startsWith('/')) cur.length = 0;
    pending.push(...target.split('/').filter((x) => x !== '' && x !== '.').reverse());
  }
  return path.join(base, ...cur);
}
