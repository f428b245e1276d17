// Compares the persistence points with their baseline: added, changed, missing and wrong-type
// entries as findings with source "baseline". Pure: takes records, returns findings.
import { parentPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import type { Finding } from '../verify/finding.js';
import { formatBytes, octalMode } from '../verify/report.js';
import type { Accounts } from './accounts.js';
import type { BaselineEntry } from './baseline.js';
import { entryStat } from './describe.js';

function owner(uid: number, gid: number, accounts: Accounts): string {
  const u = accounts.users.get(uid);
  const g = accounts.groups.get(gid);
  return u === undefined && g === undefined ? `${uid}:${gid}` : `${u ?? uid}:${g ?? gid} (${uid}:${gid})`;
}

/** `added eve; changed root; removed bob`: the accounts whose lines differ, by name only. */
export function accountChanges(was: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string {
  const added = Object.keys(now).filter((k) => !Object.hasOwn(was, k));
  const removed = Object.keys(was).filter((k) => !Object.hasOwn(now, k));
  const changed = Object.keys(now).filter((k) => Object.hasOwn(was, k) && was[k] !== now[k]);
  const parts: string[] = [];
  if (added.length > 0) parts.push(`added ${added.sort().join(', ')}`);
  if (changed.length > 0) parts.push(`changed ${changed.sort().join(', ')}`);
  if (removed.length > 0) parts.push(`removed ${removed.sort().join(', ')}`);
  return parts.length === 0 ? 'no account line changed (comments, blank lines or their order did)' : parts.join('; ');
}

/** What differs between two records of the same kind; empty when nothing does. */
function differences(was: BaselineEntry, now: BaselineEntry, accounts: Accounts): { parts: string[]; content: boolean } {
  const parts: string[] = [];
  let content = false;
  if (was.kind === 'file' && (was.sha256 !== now.sha256 || was.size !== now.size)) {
    content = true;
    if (was.accounts !== undefined && now.accounts !== undefined) parts.push(`accounts: ${accountChanges(was.accounts, now.accounts)}`);
    else parts.push(`content (${formatBytes(was.size)} -> ${formatBytes(now.size)})`);
  }
  if (was.kind === 'symlink' && was.target !== now.target) parts.push(`target ${was.target ?? ''} -> ${now.target ?? ''}`);
  if (was.mode !== now.mode) parts.push(`mode ${octalMode(was.mode)} -> ${octalMode(now.mode)}`);
  if (was.uid !== now.uid || was.gid !== now.gid) parts.push(`owner ${owner(was.uid, was.gid, accounts)} -> ${owner(now.uid, now.gid, accounts)}`);
  return { parts, content };
}

/**
 * The topmost path of `set` above `p`, below `stop` (a point: what is at a point is its own finding),
 * or undefined.
 */
function topAncestor(p: BytePath, set: ReadonlySet<BytePath>, points: readonly BytePath[]): BytePath | undefined {
  let top: BytePath | undefined;
  for (let d = parentPath(p); d !== '/' && d !== p; d = parentPath(d)) {
    if (set.has(d)) top = d;
    if (points.includes(d)) break;
  }
  return top;
}

/** One line per new or vanished directory with the entries below it counted, as `check --unowned` reports. */
function collapse(paths: readonly BytePath[], points: readonly BytePath[]): Map<BytePath, number> {
  const set = new Set(paths);
  const kept = new Map<BytePath, number>();
  for (const p of paths) if (topAncestor(p, set, points) === undefined) kept.set(p, 0);
  for (const p of paths) {
    const top = topAncestor(p, set, points);
    if (top !== undefined) kept.set(top, (kept.get(top) ?? 0) + 1);
  }
  return kept;
}

function finding(path: BytePath, status: Finding['status'], fields: Partial<Pick<Finding, 'expected' | 'actual' | 'detail' | 'stat'>>): Finding {
  const f: Finding = { package: '', path, status, conffile: false, expected: fields.expected ?? null, actual: fields.actual ?? null, detail: fields.detail ?? null, source: 'baseline' };
  return fields.stat === undefined ? f : { ...f, stat: fields.stat };
}

/**
 * The findings of the present records against the baseline's, for the paths `inScope` admits (below
 * a point both cover, owned by no package, not allowed). `points` are the compared points' paths.
 * Account files' findings name accounts and carry no hash.
 */
export function comparePersist(
  was: ReadonlyMap<BytePath, BaselineEntry>,
  now: ReadonlyMap<BytePath, BaselineEntry>,
  inScope: (p: BytePath) => boolean,
  points: readonly BytePath[],
  accounts: Accounts,
): Finding[] {
  const out: Finding[] = [];
  const added = [...now.keys()].filter((p) => !was.has(p) && inScope(p));
  const gone = [...was.keys()].filter((p) => !now.has(p) && inScope(p));
  for (const [p, below] of collapse(added, points)) {
    const e = now.get(p) as BaselineEntry;
    const more = below > 0 ? `, with ${below.toLocaleString('en-US')} ${below === 1 ? 'entry' : 'entries'} below it` : '';
    out.push(finding(p, 'added', { actual: e.kind, detail: `not in the baseline${more}`, stat: entryStat(e, accounts, e.kind === 'directory' ? below : undefined) }));
  }
  for (const [p, below] of collapse(gone, points)) {
    const e = was.get(p) as BaselineEntry;
    const more = below > 0 ? `, with ${below.toLocaleString('en-US')} ${below === 1 ? 'entry' : 'entries'} below it` : '';
    out.push(finding(p, 'missing', { expected: e.kind, detail: `in the baseline, gone now${more}`, stat: entryStat(e, accounts) }));
  }
  for (const [p, e] of now) {
    const b = was.get(p);
    if (b === undefined || !inScope(p)) continue;
    if (b.kind !== e.kind) {
      out.push(finding(p, 'wrong-type', { expected: b.kind, actual: e.kind, detail: `a ${b.kind} in the baseline, a ${e.kind} now${e.target === undefined ? '' : ` -> ${e.target}`}`, stat: entryStat(e, accounts) }));
      continue;
    }
    const d = differences(b, e, accounts);
    if (d.parts.length === 0) continue;
    // Account files: names only, never a hash of a line or of the file.
    const hashes = d.content && b.accounts === undefined && e.accounts === undefined;
    out.push(
      finding(p, 'changed', {
        expected: hashes ? (b.sha256 ?? null) : null,
        actual: hashes ? (e.sha256 ?? null) : null,
        detail: `since the baseline: ${d.parts.join(', ')}`,
        stat: entryStat(e, accounts),
      }),
    );
  }
  return out;
}
