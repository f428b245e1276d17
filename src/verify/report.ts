// JSON shapes of findings and warnings, shared by `check --format json`, the agent's state and alerts.
import { displayPath } from '../dpkg/bytes.js';
import type { DbWarning } from '../dpkg/types.js';
import type { Finding, FindingStatus } from './finding.js';

/** A finding as it appears in JSON output, agent state and alerts: paths escaped for people. */
export interface FindingJson {
  package: string;
  path: string;
  status: FindingStatus;
  conffile: boolean;
  expected: string | null;
  actual: string | null;
  detail: string | null;
}

/**
 * Exactly the documented fields of a finding, in their documented order: what the agent keeps of
 * `check`'s JSON (which adds `ignored` for people) and what webhooks carry.
 */
export function findingFields(f: FindingJson): FindingJson {
  return { package: f.package, path: f.path, status: f.status, conffile: f.conffile, expected: f.expected, actual: f.actual, detail: f.detail };
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
  return {
    package: f.package,
    path: displayPath(f.path),
    status: f.status,
    conffile: f.conffile,
    expected: f.expected,
    actual: f.actual,
    detail: f.detail === null ? null : displayPath(f.detail),
  };
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
