// JSON shapes of findings and warnings, shared by `check --format json`, the agent's state and alerts.
import { displayPath } from '../dpkg/bytes.js';
import type { DbWarning } from '../dpkg/types.js';
import type { EntryStat, FileKind, Finding, FindingStatus } from './finding.js';

/** What lstat found at an unowned or setuid finding's path, as JSON. */
export interface EntryStatJson {
  type: FileKind;
  size: number;
  uid: number;
  gid: number;
  user: string | null;
  group: string | null;
  /** Octal, four digits: `"4755"`. */
  mode: string;
  /** ISO 8601 UTC. */
  mtime: string;
  /** Symlinks: the target, escaped like `path`. */
  target?: string;
  /** A directory reported as one finding: the entries below it. */
  entries?: number;
}

/** A finding as it appears in JSON output, agent state and alerts: paths escaped for people. */
export interface FindingJson {
  package: string;
  path: string;
  status: FindingStatus;
  conffile: boolean;
  expected: string | null;
  actual: string | null;
  detail: string | null;
  /** Only on unowned, setuid and baseline findings. */
  stat?: EntryStatJson;
  /** `"baseline"` on findings of the persistence points' baseline; absent otherwise. */
  source?: 'baseline';
  /**
   * Only on the agent's database-changed findings on an md5sums file: the entries that changed
   * (at most 50, in the file's order), and how many more did.
   */
  entries?: DbEntryJson[];
  entriesOmitted?: number;
}

/** One md5sums entry a rewrite changed: the md5 recorded before (null: added) and now (null: removed). */
export interface DbEntryJson {
  path: string;
  expected: string | null;
  actual: string | null;
}

/**
 * Exactly the documented fields of a finding, in their documented order: what the agent keeps of
 * `check`'s JSON (which adds `ignored` for people) and what webhooks carry.
 */
export function findingFields(f: FindingJson): FindingJson {
  const out: FindingJson = { package: f.package, path: f.path, status: f.status, conffile: f.conffile, expected: f.expected, actual: f.actual, detail: f.detail };
  if (f.stat !== undefined) out.stat = f.stat;
  if (f.source !== undefined) out.source = f.source;
  if (f.entries !== undefined) out.entries = f.entries.map((e) => ({ path: e.path, expected: e.expected, actual: e.actual }));
  if (f.entriesOmitted !== undefined) out.entriesOmitted = f.entriesOmitted;
  return out;
}

/** `4755`: permission bits as four octal digits. */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** An mtime as ISO 8601; one a Date cannot hold (set by hand beyond year 275760) as milliseconds. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

/** The JSON form of what lstat found. */
export function entryStatJson(s: EntryStat): EntryStatJson {
  const out: EntryStatJson = {
    type: s.kind,
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    user: s.user === null ? null : displayPath(s.user),
    group: s.group === null ? null : displayPath(s.group),
    mode: octalMode(s.mode),
    mtime: isoTime(s.mtimeMs),
  };
  if (s.target !== undefined) out.target = displayPath(s.target);
  if (s.entries !== undefined) out.entries = s.entries;
  return out;
}

/** A database warning as it appears in JSON output. */
export interface WarningJson {
  package: string | null;
  file: string;
  line: number | null;
  message: string;
}

/** The JSON form of a finding: bytes that are not UTF-8 in path and detail escaped as `\xNN`. */
export function findingJson(f: Finding): FindingJson {
  const out: FindingJson = {
    package: f.package,
    path: displayPath(f.path),
    status: f.status,
    conffile: f.conffile,
    expected: f.expected,
    actual: f.actual,
    detail: f.detail === null ? null : displayPath(f.detail),
  };
  if (f.stat !== undefined) out.stat = entryStatJson(f.stat);
  if (f.source !== undefined) out.source = f.source;
  return out;
}

/** The JSON form of a database warning. */
export function warningJson(w: DbWarning): WarningJson {
  return { package: w.package, file: w.file, line: w.line, message: displayPath(w.message) };
}

/** `12.3 MB`: sizes in decimal units, as every output of pkgwatch prints them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
