// How findings on what no package installed describe the entry: lstat's answer, as a record and as text.
import type { EntryStat } from '../verify/finding.js';
import { formatBytes, octalMode } from '../verify/report.js';
import type { Accounts } from './accounts.js';
import type { WalkEntry } from './walk.js';

/** What entryStat reads: a walked entry, or a baseline record of one. */
export type StatFields = Pick<WalkEntry, 'kind' | 'size' | 'uid' | 'gid' | 'mode' | 'mtimeMs' | 'target'>;

/** The finding's stat record of a walked entry (or its baseline record); `entries` for a directory reported as one. */
export function entryStat(e: StatFields, accounts: Accounts, entries?: number): EntryStat {
  const s: EntryStat = {
    kind: e.kind,
    size: e.size,
    uid: e.uid,
    gid: e.gid,
    user: accounts.users.get(e.uid) ?? null,
    group: accounts.groups.get(e.gid) ?? null,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
  };
  if (e.target !== undefined) Object.assign(s, { target: e.target });
  if (entries !== undefined) Object.assign(s, { entries });
  return s;
}

/** `www-data:www-data (33:33)`, or the numbers alone where the system has no name. */
export function ownerText(s: EntryStat): string {
  const names = `${s.user ?? String(s.uid)}:${s.group ?? String(s.gid)}`;
  return s.user === null && s.group === null ? names : `${names} (${s.uid}:${s.gid})`;
}

function mtimeText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

/**
 * `file, 31 B, www-data:www-data (33:33), mode 0644, modified 2025-01-02T03:04:05.000Z`; a
 * directory says how many entries lie below it, a symlink where it points. A byte string, like
 * every finding's detail (renderers escape it).
 */
export function describeStat(s: EntryStat): string {
  let what: string;
  if (s.kind === 'directory') what = s.entries === undefined ? 'directory' : `directory with ${s.entries.toLocaleString('en-US')} ${s.entries === 1 ? 'entry' : 'entries'} below it`;
  else if (s.kind === 'symlink') what = `symlink -> ${s.target ?? ''}`;
  else if (s.kind === 'file') what = `file, ${formatBytes(s.size)}`;
  else what = s.kind;
  return `${what}, ${ownerText(s)}, mode ${octalMode(s.mode)}, modified ${mtimeText(s.mtimeMs)}`;
}
