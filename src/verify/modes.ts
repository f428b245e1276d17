// Mode and owner of packaged files against the signed .deb's data.tar (trust store records), after dpkg-statoverride.
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { StatOverride } from '../dpkg/statoverride.js';
import type { BytePath, Diversion } from '../dpkg/types.js';
import { readCapped } from '../trust/safeio.js';
import { resolveInRoot } from '../trust/rootpath.js';
import type { StoredFile } from '../trust/storeformat.js';
import type { Accounts } from '../unpackaged/accounts.js';
import type { Finding } from './finding.js';

/** One package to check: its id, its signed entries, and its postinst as installed (when it hashes to the signed one). */
export interface ModeJob {
  readonly id: string;
  readonly name: string;
  readonly files: readonly StoredFile[];
  /** The package's postinst text, only when its SHA-256 equals the signed record's; else null. */
  readonly postinst: string | null;
}

/** What the signed .deb (or a statoverride) says a file's mode and owner are on this system. */
export interface Expected {
  readonly mode: number;
  readonly uid: number | null;
  readonly gid: number | null;
  readonly owner: string;
}

const oct = (m: number): string => m.toString(8).padStart(4, '0');

function idOf(name: string, fallback: number, ids: ReadonlyMap<string, number>): number | null {
  if (name.startsWith('#')) return /^#\d+$/.test(name) ? Number(name.slice(1)) : null;
  if (name === '') return fallback;
  // dpkg gives the named user when the system has it, else the number in the archive.
  return ids.get(name) ?? fallback;
}

/** The mode and owner a file should have: its statoverride when there is one, else data.tar's (names mapped to ids as dpkg does). */
export function expectedOf(f: StoredFile, override: StatOverride | undefined, acc: Accounts): Expected {
  if (override !== undefined) {
    return { mode: override.mode, uid: idOf(override.user, -1, acc.userIds), gid: idOf(override.group, -1, acc.groupIds), owner: `${override.user}:${override.group}` };
  }
  return { mode: f.mode, uid: idOf(f.user, f.uid, acc.userIds), gid: idOf(f.group, f.gid, acc.groupIds), owner: `${f.user === '' ? `#${f.uid}` : f.user}:${f.group === '' ? `#${f.gid}` : f.group}` };
}

/**
 * The rule for maintainer scripts that set their own files' mode or owner (man-db makes man
 * setuid, openssh-client gives ssh-agent group _ssh, gstreamer's helper falls back to setuid):
 * a difference is not a finding when the package's postinst, as signed, runs chmod, chown or chgrp
 * and names the file (its path or its file name). A postinst that does not hash to the signed one
 * excuses nothing.
 */
export function excusedByPostinst(postinst: string | null, p: BytePath): boolean {
  if (postinst === null || !/\b(chmod|chown|chgrp)\b/.test(postinst)) return false;
  return postinst.includes(p) || postinst.includes(path.posix.basename(p));
}

/** The SHA-256 of the installed postinst, read safely (no link followed, 1 MiB at most); null when absent or unreadable. */
export async function readPostinst(file: string, signedSha256: string | undefined): Promise<string | null> {
  if (signedSha256 === undefined) return null;
  try {
    const b = await readCapped(file, 1 << 20);
    if (b === null || createHash('sha256').update(b).digest('hex') !== signedSha256) return null;
    return b.toString('latin1');
  } catch {
    return null;
  }
}

/**
 * Compares each regular file a signed record lists with lstat of the installed file (at its
 * divert-to path when another package diverted it). Anything that is not a regular file now is
 * left to the content check (missing, wrong-type).
 */
export async function checkModes(
  root: string,
  jobs: readonly ModeJob[],
  diversions: readonly Diversion[],
  overrides: readonly StatOverride[],
  acc: Accounts,
): Promise<Finding[]> {
  const byPath = new Map(overrides.map((o) => [o.path, o]));
  const diverted = new Map(diversions.map((d) => [d.from, d]));
  const out: Finding[] = [];
  for (const job of jobs) {
    for (const f of job.files) {
      if (f.type !== 'file') continue;
      const d = diverted.get(f.path);
      const p = d !== undefined && d.by !== job.name ? d.to : f.path;
      let st;
      try {
        const dir = await resolveInRoot(root, path.posix.dirname(p));
        st = await lstat(Buffer.from(path.join(dir, path.posix.basename(p)), 'latin1'));
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const want = expectedOf(f, byPath.get(p), acc);
      const mode = st.mode & 0o7777;
      const wrong: string[] = [];
      if (mode !== want.mode) wrong.push(`mode ${oct(mode)} (signed ${oct(want.mode)})`);
      if (want.uid !== null && st.uid !== want.uid) wrong.push(`owner uid ${st.uid} (signed ${want.uid})`);
      if (want.gid !== null && st.gid !== want.gid) wrong.push(`group gid ${st.gid} (signed ${want.gid})`);
      if (wrong.length === 0 || excusedByPostinst(job.postinst, f.path)) continue;
      const added = mode & ~want.mode & 0o6000;
      const owner = `${acc.users.get(st.uid) ?? `#${st.uid}`}:${acc.groups.get(st.gid) ?? `#${st.gid}`}`;
      out.push({
        package: job.id,
        path: p,
        status: 'metadata-changed',
        conffile: false,
        expected: `${oct(want.mode)} ${want.owner}`,
        actual: `${oct(mode)} ${owner}`,
        detail: `${wrong.join(', ')}${added !== 0 ? `: ${added & 0o4000 ? 'setuid' : 'setgid'} added` : ''}${byPath.has(p) ? ' (against its dpkg-statoverride entry)' : ''}`,
      });
    }
  }
  return out;
}
