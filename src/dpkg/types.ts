// Typed records of the dpkg database, shared by the parsers, the loader and the verifier.

/**
 * A path or name exactly as bytes, held in a string with one char per byte (latin1 decoding).
 * dpkg file names are bytes and need not be UTF-8; this keeps them lossless. Convert with
 * `toFsPath` before touching the disk and `displayPath` before showing to people.
 */
export type BytePath = string;

/** A problem in the database that does not stop the run: names the package, the file and the line. */
export interface DbWarning {
  /** Package the problem belongs to, when known (`name` or `name:arch`). */
  readonly package: string | null;
  /** The file, as an absolute path on the host (including any --root / --admindir prefix). */
  readonly file: string;
  /** 1-based line number within `file`, when the problem is on one line. */
  readonly line: number | null;
  readonly message: string;
}

/** One `Conffiles:` entry of a status stanza. */
export interface Conffile {
  readonly path: BytePath;
  /** Lowercase hex md5, or null for `newconffile` (no hash recorded yet). */
  readonly md5: string | null;
  /** Flagged `obsolete`: no longer shipped, its absence is not a finding. */
  readonly obsolete: boolean;
  /** Flagged `remove-on-upgrade`: no longer shipped, its absence is not a finding. */
  readonly removeOnUpgrade: boolean;
}

/** One alternative of a dependency: `name[:arch] [(op version)]`. */
export interface Relation {
  readonly name: string;
  /** Arch qualifier (`any`, `native`, `amd64`), or null when there is none. */
  readonly arch: string | null;
  readonly op: '<<' | '<=' | '=' | '>=' | '>>' | null;
  readonly version: string | null;
}

/** A dependency field: every group must be satisfied; a group is satisfied by any one alternative. */
export type RelationList = readonly (readonly Relation[])[];

export type SelectionState = 'unknown' | 'install' | 'hold' | 'deinstall' | 'purge';
export type PackageState =
  | 'not-installed'
  | 'config-files'
  | 'half-installed'
  | 'unpacked'
  | 'half-configured'
  | 'triggers-awaited'
  | 'triggers-pending'
  | 'installed';

/** One stanza of the status file. */
export interface PackageRecord {
  readonly name: string;
  /** `Architecture`, e.g. `amd64` or `all`; empty string when the stanza has none. */
  readonly arch: string;
  /** `Multi-Arch`: `same`, `foreign`, `allowed`, or `no` when absent. */
  readonly multiArch: 'no' | 'same' | 'foreign' | 'allowed';
  readonly version: string;
  readonly want: string;
  readonly flag: string;
  readonly state: string;
  readonly depends: RelationList;
  readonly preDepends: RelationList;
  /** Virtual package names this package provides (versions dropped). */
  readonly provides: readonly string[];
  readonly conffiles: readonly Conffile[];
  /** 1-based line of the stanza's first line in the status file. */
  readonly line: number;
}

/** One entry of the diversions file. */
export interface Diversion {
  readonly from: BytePath;
  readonly to: BytePath;
  /** Diverting package, or null for a local diversion (`:`). */
  readonly by: string | null;
}

/** A `path-exclude` or `path-include` rule from dpkg.cfg; the last matching rule wins. */
export interface PathFilter {
  readonly kind: 'exclude' | 'include';
  /** The glob, as bytes (fnmatch without FNM_PATHNAME). */
  readonly glob: BytePath;
  /** Where it came from, for messages. */
  readonly file: string;
  readonly line: number;
}

/** An md5sums file: path (absolute, normalised to start with `/`) to lowercase hex md5. */
export type Md5Sums = ReadonlyMap<BytePath, string>;

/** Everything the verifier needs from one database, loaded once. */
export interface Database {
  readonly root: string;
  readonly admindir: string;
  readonly nativeArch: string;
  readonly packages: readonly PackageRecord[];
  readonly diversions: readonly Diversion[];
  readonly pathFilters: readonly PathFilter[];
  readonly warnings: readonly DbWarning[];
  /**
   * The admindir's `info/format` (1: Multi-Arch: same packages have `NAME:ARCH.*` info files).
   * Set by `loadDatabase`; when absent, `loadPackageFiles` reads it itself.
   */
  readonly infoFormat?: number;
}

/** Per-package info files, loaded on demand. `null` means the file does not exist. */
export interface PackageFiles {
  readonly md5sums: Md5Sums | null;
  /** Absolute host path of the md5sums file that was read (or would have been). */
  readonly md5sumsFile: string;
  /** Why the md5sums file exists but could not be read (`EACCES: permission denied`), else null. */
  readonly md5sumsError: string | null;
  readonly list: readonly BytePath[] | null;
  readonly listFile: string;
  /** Why the .list file exists but could not be read, else null. */
  readonly listError: string | null;
  readonly warnings: readonly DbWarning[];
}
