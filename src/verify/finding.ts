// What a finding is: the records the verifier produces and every output format renders.
import type { BytePath } from '../dpkg/types.js';

/**
 * The ways a packaged path can fail verification. The verifier produces the first four; the agent
 * adds `database-changed`: dpkg's own record of a package (md5sums, .list, Conffiles) changed while
 * no dpkg was running; and `written`, only in `file.written` alerts: the file was written while no
 * dpkg was running, whatever its content is now.
 */
export type FindingStatus = 'changed' | 'missing' | 'wrong-type' | 'unreadable' | 'database-changed' | 'written';

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
}

/** Orders findings by package, then by path bytes. */
export function compareFindings(a: Finding, b: Finding): number {
  if (a.package !== b.package) return a.package < b.package ? -1 : 1;
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return 0;
}
