// The mount table (/proc/self/mountinfo) and which mounts a whole-system walk enters: local
// filesystems only, never /proc, /sys, /dev, /run, network or pseudo filesystems.
import { readFileSync } from 'node:fs';
import type { BytePath } from '../dpkg/types.js';

/** One line of mountinfo. */
export interface Mount {
  /** Where it is mounted, on the host, as bytes. */
  readonly mountPoint: BytePath;
  readonly fstype: string;
  /** Per-mount options (`rw,nosuid,relatime`). */
  readonly options: readonly string[];
}

/** Undoes the kernel's octal escapes of space, tab, newline and backslash in mountinfo paths. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses mountinfo (decoded as latin1); lines it cannot read are skipped. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0) continue;
    const mountPoint = f[4];
    const fstype = f[dash + 1];
    if (mountPoint === undefined || fstype === undefined) continue;
    out.push({ mountPoint: unescape(mountPoint), fstype, options: (f[5] ?? '').split(',') });
  }
  return out;
}

/** Filesystems on local storage, where a setuid file can be planted and survive a reboot (and tmpfs, overlay). */
export const LOCAL_FSTYPES: ReadonlySet<string> = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'jfs', 'reiserfs', 'zfs', 'bcachefs', 'nilfs2', 'overlay', 'tmpfs',
]);

/** Never walked, whatever is mounted there: kernel and runtime interfaces, not files. */
export const SKIPPED_DIRS: readonly BytePath[] = ['/proc', '/sys', '/dev', '/run'];

/**
 * Whether a walk enters a filesystem mounted inside it: a local type, and for tmpfs only when a
 * setuid bit means something there (not mounted nosuid). Network (nfs, cifs, fuse.sshfs) and
 * pseudo filesystems (proc, sysfs, cgroup, devpts...) are never entered.
 */
export function entersMount(m: Mount): boolean {
  if (!LOCAL_FSTYPES.has(m.fstype)) return false;
  return !(m.fstype === 'tmpfs' && m.options.includes('nosuid'));
}

/** The host's mount table, by mount point (the last mount on a point wins, as it hides the others); empty when unreadable. */
export function readMounts(file = '/proc/self/mountinfo'): Map<BytePath, Mount> {
  let text = '';
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    // no /proc: every mount point is then treated as another filesystem and not entered
  }
  return new Map(parseMountinfo(text).map((m) => [m.mountPoint, m]));
}
