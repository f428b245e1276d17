// The setuid walk: every setuid or setgid regular file on the local filesystems, and the decision
// which of them no package or dpkg-statoverride accounts for.
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fromUtf8, joinPath, joinRoot } from '../dpkg/bytes.js';
import type { StatOverride } from '../dpkg/statoverride.js';
import type { BytePath } from '../dpkg/types.js';
import { errnoCode, osErrorText } from '../errors.js';
import type { Finding } from '../verify/finding.js';
import { octalMode } from '../verify/report.js';
import type { Accounts } from './accounts.js';
import { describeStat, entryStat } from './describe.js';
import { entersMount, SKIPPED_DIRS, type Mount } from './mounts.js';
import type { OwnershipIndex } from './ownership.js';
import { entryOf, type WalkEntry } from './walk.js';

/** What the walk found and what it cost. */
export interface SetuidWalk {
  /** Regular files with a setuid or setgid bit. */
  readonly files: WalkEntry[];
  /** Entries met (of every kind), the measure of the walk's cost. */
  readonly entries: number;
  /** The filesystems walked, by where they start on the checked system. */
  readonly filesystems: BytePath[];
  /** Mounts not entered: where, and their type. */
  readonly skipped: { readonly path: BytePath; readonly fstype: string }[];
  /** Directories that could not be listed. */
  readonly unreadable: { readonly path: BytePath; readonly error: string }[];
  /** The walk stopped at the entry cap. */
  readonly capped: boolean;
}

export interface SetuidWalkOptions {
  /** The host's mount table by mount point (readMounts()). */
  readonly mounts: ReadonlyMap<BytePath, Mount>;
  readonly maxEntries: number;
  /** Yield to the event loop after this many entries, so an agent stays responsive. */
  readonly yieldEvery?: number;
  readonly signal?: AbortSignal | undefined;
}

const SETID = 0o6000;

/**
 * Walks the system under `root` (a host directory) for setuid and setgid regular files: the
 * root's filesystem, and every local filesystem mounted inside it (once each, -xdev within each);
 * never /proc, /sys, /dev or /run of the root. Only directories and regular files are lstat'ed;
 * nothing is opened.
 */
export async function walkSetuid(root: string, opts: SetuidWalkOptions): Promise<SetuidWalk> {
  const hostPrefix = root.replace(/\/+$/, '');
  const hostOf = (p: BytePath): BytePath => `${fromUtf8(hostPrefix)}${p === '/' && hostPrefix !== '' ? '' : p}`;
  const out: { -readonly [K in keyof SetuidWalk]: SetuidWalk[K] } = { files: [], entries: 0, filesystems: [], skipped: [], unreadable: [], capped: false };
  const start = lstatSync(joinRoot(root, '/'));
  const devs = new Set<number>([start.dev]);
  out.filesystems.push('/');
  const yieldEvery = opts.yieldEvery ?? 4096;
  let sinceYield = 0;
  const stack: { dir: BytePath; dev: number; names: Dirent<Buffer>[]; i: number }[] = [];
  // readdir follows a symlink: the directory is lstat'ed again after it was read, and one swapped
  // for a link or another directory meanwhile is reported, not listed.
  const enter = (dir: BytePath, seen: Stats): void => {
    const host = joinRoot(root, dir);
    try {
      const names = readdirSync(host, { encoding: 'buffer', withFileTypes: true });
      const again = lstatSync(host);
      if (!again.isDirectory() || again.ino !== seen.ino || again.dev !== seen.dev) {
        out.unreadable.push({ path: dir, error: 'ECHANGED: replaced while it was read' });
        return;
      }
      stack.push({ dir, dev: seen.dev, names, i: 0 });
    } catch (err) {
      out.unreadable.push({ path: dir, error: osErrorText(err) });
    }
  };
  enter('/', start);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame === undefined) break;
    if (frame.i >= frame.names.length) {
      stack.pop();
      continue;
    }
    const d = frame.names[frame.i++];
    if (d === undefined) continue;
    if (out.entries >= opts.maxEntries) {
      out.capped = true;
      break;
    }
    out.entries++;
    if (++sinceYield >= yieldEvery) {
      sinceYield = 0;
      await yieldToLoop();
      opts.signal?.throwIfAborted();
    }
    const path = joinPath(frame.dir, d.name.toString('latin1'));
    if (!d.isFile() && !d.isDirectory()) continue;
    let st;
    try {
      st = lstatSync(joinRoot(root, path));
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') out.unreadable.push({ path, error: osErrorText(err) });
      continue;
    }
    if (st.isFile()) {
      if ((st.mode & SETID) !== 0) out.files.push(entryOf(path, st));
      continue;
    }
    if (!st.isDirectory() || SKIPPED_DIRS.includes(path)) continue;
    const mount = opts.mounts.get(hostOf(path));
    if (st.dev === frame.dev && mount === undefined) {
      enter(path, st);
      continue;
    }
    // A filesystem boundary: another device, or a mount point (a bind mount keeps the device).
    if (mount !== undefined && entersMount(mount) && !devs.has(st.dev)) {
      devs.add(st.dev);
      out.filesystems.push(path);
      enter(path, st);
    } else {
      out.skipped.push({ path, fstype: mount?.fstype ?? 'unknown' });
    }
  }
  return out;
}

/** The uid or gid a dpkg-statoverride name stands for (`#0` or a name), or null when the system does not know it. */
function idOf(name: string, ids: ReadonlyMap<string, number>): number | null {
  if (/^#\d+$/.test(name)) return Number(name.slice(1));
  return ids.get(name) ?? null;
}

/**
 * The setuid findings: every setuid or setgid file no package owns, and a packaged one whose mode
 * or owner differs from its dpkg-statoverride entry. A packaged setuid file without an entry is
 * not reported: dpkg's database does not record the mode a .deb gave it (that needs the .deb).
 * `overrides` is keyed by the path a walk meets. Pure.
 */
export function judgeSetuid(index: OwnershipIndex, overrides: ReadonlyMap<BytePath, StatOverride>, accounts: Accounts, files: readonly WalkEntry[]): Finding[] {
  const findings: Finding[] = [];
  for (const e of files) {
    const stat = entryStat(e, accounts);
    const found = `${octalMode(e.mode)} ${stat.user ?? `#${e.uid}`}:${stat.group ?? `#${e.gid}`}`;
    const owners = index.owners(e.path);
    if (owners.length === 0) {
      findings.push({ package: '', path: e.path, status: 'setuid', conffile: false, expected: null, actual: found, detail: `no package installed this ${setidWord(e.mode)} file: ${describeStat(stat)}`, stat });
      continue;
    }
    const so = overrides.get(e.path);
    if (so === undefined) continue;
    const uid = idOf(so.user, accounts.userIds);
    const gid = idOf(so.group, accounts.groupIds);
    const differs = so.mode !== e.mode || (uid !== null && uid !== e.uid) || (gid !== null && gid !== e.gid);
    if (!differs) continue;
    const expected = `${octalMode(so.mode)} ${so.user}:${so.group}`;
    findings.push({
      package: owners[0] ?? '',
      path: e.path,
      status: 'setuid',
      conffile: false,
      expected,
      actual: found,
      detail: `dpkg-statoverride gives it ${expected}, found ${found}: ${describeStat(stat)}`,
      stat,
    });
  }
  return findings;
}

function setidWord(mode: number): string {
  if ((mode & 0o4000) !== 0 && (mode & 0o2000) !== 0) return 'setuid and setgid';
  return (mode & 0o4000) !== 0 ? 'setuid' : 'setgid';
}
