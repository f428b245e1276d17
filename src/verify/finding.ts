// What a finding is: the records the verifier produces and every output format renders.
import type { BytePath } from '../dpkg/types.js';

/**
 * The ways a packaged path can fail verification. The verifier produces the first four; the agent
 * adds `database-changed`: dpkg's own record of a package (md5sums, .list, Conffiles) changed while
 * no dpkg was running; `written`, only in `file.written` alerts: the file was written while no
 * dpkg was running, whatever its content is now. `unowned` (an entry in an application's tree that
 * no package installed) and `setuid` (a setuid or setgid file no package installed, or one whose
 * mode dpkg-statoverride does not give it) come from src/unpackaged, as does `added` (an entry below a
 * persistence point that the baseline does not have; its other findings use the first four statuses).
 * `metadata-changed` (`check --signed` with a trust store record): a packaged file's mode or owner
 * differs from its signed .deb.
 */
export type FindingStatus = 'changed' | 'missing' | 'wrong-type' | 'unreadable' | 'database-changed' | 'metadata-changed' | 'written' | 'unowned' | 'setuid' | 'added';

/** Every status, in the order summaries list them. */
export const FINDING_STATUSES: readonly FindingStatus[] = ['changed', 'missing', 'wrong-type', 'unreadable', 'database-changed', 'metadata-changed', 'written', 'unowned', 'setuid', 'added'];

/** The kind of filesystem object found where a regular file belongs. */
export type FileKind =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'character-device'
  | 'block-device'
  | 'unknown';

/** What lstat said of an entry no package installed (unowned and setuid findings); its content is never read. */
export interface EntryStat {
  readonly kind: FileKind;
  /** st_size in bytes (a symlink: the length of its target). */
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  /** Names from the checked system's /etc/passwd and /etc/group, null when it has none for the id. */
  readonly user: string | null;
  readonly group: string | null;
  /** Permission bits with setuid, setgid and sticky: st_mode & 0o7777. */
  readonly mode: number;
  readonly mtimeMs: number;
  /** A symlink's target, as bytes. */
  readonly target?: BytePath;
  /** A directory reported as one finding: how many entries lie below it. */
  readonly entries?: number;
}

/** One failed path. `path` is bytes, without the --root prefix; renderers escape it for people. */
export interface Finding {
  /** Owning package as dpkg-query's binary:Package (`name`, or `name:arch` for Multi-Arch: same). */
  readonly package: string;
  /** The path that was checked: for a diverted file, the divert-to path. */
  readonly path: BytePath;
  readonly status: FindingStatus;
  readonly conffile: boolean;
  /** md5 recorded by dpkg, or null where the path is only checked for existence. */
  readonly expected: string | null;
  /** md5 found (changed), kind found (wrong-type), otherwise null. */
  readonly actual: string | null;
  /** Human explanation: the OS error, the link target, the diversion. */
  readonly detail: string | null;
  /** unowned, setuid and baseline findings: what lstat found there (a missing entry: what was recorded). */
  readonly stat?: EntryStat;
  /** `baseline`: held to the local baseline of the persistence points, not to a package. */
  readonly source?: 'baseline';
}

/** Orders findings by package, then by path bytes. */
export function compareFindings(a: Finding, b: Finding): number {
  if (a.package !== b.package) return a.package < b.package ? -1 : 1;
  if (a.source !== b.source) return (a.source ?? '') < (b.source ?? '') ? -1 : 1;
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return 0;
}
