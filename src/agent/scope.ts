// The agent's scope: which installed packages the configured names and patterns resolve to, the
// paths of their files (what the watcher covers) and their dpkg database files.
import path from 'node:path';
import { loadDatabase, loadPackageFiles, packageId } from '../dpkg/loader.js';
import { selectPackages } from '../dpkg/select.js';
import type { BytePath, Database, PackageRecord } from '../dpkg/types.js';
import { PkgwatchError } from '../errors.js';
import { ADMIN_FILES } from '../dpkgrun/dbadmin.js';
import { INFO_EXTRAS } from '../dpkgrun/dbsnapshot.js';

/** A scoped package that owns a path, and whether the path is one of its conffiles. */
export interface PathOwner {
  readonly package: string;
  readonly conffile: boolean;
}

export interface Scope {
  readonly db: Database;
  /**
   * The configured names/patterns that resolve, then SELF_PACKAGES that are installed; the scoped
   * run checks these (with dependencies, as configured).
   */
  readonly args: readonly string[];
  /** One line per configured name that did not resolve (not installed, unknown). */
  readonly problems: readonly string[];
  readonly packages: readonly PackageRecord[];
  readonly ids: ReadonlySet<string>;
  /** Every path of the scoped packages on the checked system (listed, and divert-to paths). */
  readonly paths: readonly BytePath[];
  /** The scoped packages each of `paths` belongs to (a divert-to path: the diverted package). */
  readonly owners: ReadonlyMap<BytePath, readonly PathOwner[]>;
  /** Host paths of the scoped packages' info files (md5sums, .list, INFO_EXTRAS), and of `status`, `diversions`, `statoverride`. */
  readonly dbFiles: readonly string[];
}

/**
 * Always in the scope when installed, whatever `scope.packages` says: the agent's own code and the
 * runtime that runs it. An integrity agent whose code can be swapped unseen protects nothing.
 */
export const SELF_PACKAGES: readonly string[] = ['pkgwatch', 'nodejs'];

/** Resolves the scope against the database as it is now. Never throws for a bad name: it is a problem. */
export async function resolveScope(root: string, patterns: readonly string[], withDeps: boolean): Promise<Scope> {
  const db = await loadDatabase({ root });
  const args: string[] = [];
  const problems: string[] = [];
  for (const arg of patterns) {
    try {
      selectPackages(db, [arg], false);
      args.push(arg);
    } catch (err) {
      if (!(err instanceof PkgwatchError)) throw err;
      problems.push(err.message);
    }
  }
  for (const name of SELF_PACKAGES) {
    if (args.includes(name) || !isInstalled(db, name)) continue;
    args.push(name);
  }
  const packages = args.length === 0 ? [] : selectPackages(db, args, withDeps);
  const diverted = new Map(db.diversions.map((d) => [d.from, d]));
  const paths = new Set<BytePath>();
  const owners = new Map<BytePath, PathOwner[]>();
  const own = (p: BytePath, owner: PathOwner): void => {
    paths.add(p);
    const list = owners.get(p);
    if (list === undefined) owners.set(p, [owner]);
    else if (!list.some((o) => o.package === owner.package)) list.push(owner);
  };
  const dbFiles = new Set<string>([path.join(db.admindir, 'status'), ...ADMIN_FILES.map((f) => path.join(db.admindir, f))]);
  for (const pkg of packages) {
    const files = await loadPackageFiles(db, pkg);
    const id = packageId(pkg);
    const conffiles = new Set(pkg.conffiles.map((c) => c.path));
    dbFiles.add(files.md5sumsFile);
    dbFiles.add(files.listFile);
    // The other info files under the same base name as the md5sums dpkg keeps for this package.
    const base = files.md5sumsFile.replace(/\.md5sums$/, '');
    for (const ext of INFO_EXTRAS) dbFiles.add(`${base}.${ext}`);
    for (const p of files.list ?? []) {
      const owner = { package: id, conffile: conffiles.has(p) };
      own(p, owner);
      const d = diverted.get(p);
      if (d !== undefined && d.by !== pkg.name) own(d.to, owner);
    }
    for (const c of conffiles) own(c, { package: id, conffile: true });
  }
  return {
    db,
    args,
    problems,
    packages,
    ids: new Set(packages.map(packageId)),
    paths: [...paths],
    owners,
    dbFiles: [...dbFiles],
  };
}

/** True when `name` resolves to an installed package (a checkout of pkgwatch has no package). */
function isInstalled(db: Database, name: string): boolean {
  try {
    return selectPackages(db, [name], false).length > 0;
  } catch (err) {
    if (err instanceof PkgwatchError) return false;
    throw err;
  }
}
