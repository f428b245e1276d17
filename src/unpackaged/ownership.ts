// The ownership index: every path some package's .list names (and every diversion's target), at
// the path a walk meets it, with the packages that own it.
import { mapLimit } from '../concurrency.js';
import { loadPackageList, packageId } from '../dpkg/loader.js';
import type { BytePath, Database, DbWarning, Diversion, PackageRecord } from '../dpkg/types.js';

/** One package's part of the index. */
export interface OwnedList {
  /** packageId: `name` or `name:arch`. */
  readonly id: string;
  readonly paths: readonly BytePath[];
  /** Its conffiles (from status); their `.dpkg-old`-style siblings are dpkg's, not an intruder's. */
  readonly conffiles: readonly BytePath[];
}

/**
 * Which package owns which path. Memory-lean on purpose (a machine has ~120,000 listed paths): one
 * Map from path to a small number, the package's index when one package owns the path, or the
 * negative index of a shared owner list (directories, mostly). Paths are stored as a walk meets
 * them (the parent directory resolved inside the root, see RootResolver.canonical) and also as
 * listed when that differs.
 */
export class OwnershipIndex {
  private readonly ids: string[] = [];
  private readonly owner = new Map<BytePath, number>();
  private readonly shared: number[][] = [];
  private readonly conffiles = new Set<BytePath>();

  /**
   * Builds the index from the packages' lists and the diversions. A diversion's target belongs to
   * the packages that list the diverted path (not the diverting one), or to the diverting package
   * when no other lists it. `canonical` maps a database path to the path a walk meets.
   */
  constructor(lists: readonly OwnedList[], diversions: readonly Diversion[], canonical: (p: BytePath) => BytePath = (p) => p) {
    for (const l of lists) {
      const i = this.ids.length;
      this.ids.push(l.id);
      for (const p of l.paths) this.addOwner(p, i, canonical);
      for (const c of l.conffiles) {
        this.conffiles.add(c);
        this.conffiles.add(canonical(c));
      }
    }
    for (const d of diversions) {
      const byIndex = d.by === null ? -1 : this.ids.findIndex((id) => id === d.by || id.split(':')[0] === d.by);
      const owners = this.ownerIndices(d.from).filter((i) => i !== byIndex);
      if (owners.length === 0 && byIndex >= 0) owners.push(byIndex);
      for (const i of owners) this.addOwner(d.to, i, canonical);
      if (owners.length === 0) this.addOwner(d.to, this.localDiversions(), canonical);
    }
  }

  /** How many distinct keys the index holds. */
  get size(): number {
    return this.owner.size;
  }

  /** Whether some package (or a diversion) accounts for the path. */
  has(p: BytePath): boolean {
    return this.owner.has(p);
  }

  /** Whether the path is a conffile of some package. */
  isConffile(p: BytePath): boolean {
    return this.conffiles.has(p);
  }

  /** The packages that own the path, in the order they were added; [] when none does. */
  owners(p: BytePath): string[] {
    return this.ownerIndices(p).map((i) => this.ids[i] ?? '');
  }

  /** Whether every owner of `p` is one of `ids` (false when nobody owns it). */
  ownedOnlyBy(p: BytePath, ids: ReadonlySet<string>): boolean {
    const owners = this.ownerIndices(p);
    return owners.length > 0 && owners.every((i) => ids.has(this.ids[i] ?? ''));
  }

  private ownerIndices(p: BytePath): number[] {
    const v = this.owner.get(p);
    if (v === undefined) return [];
    return v >= 0 ? [v] : [...(this.shared[-v - 1] ?? [])];
  }

  private localIndex = -1;

  /** The pseudo-package of local diversions of paths no package lists. */
  private localDiversions(): number {
    if (this.localIndex < 0) {
      this.localIndex = this.ids.length;
      this.ids.push('(local diversion)');
    }
    return this.localIndex;
  }

  private addOwner(listed: BytePath, i: number, canonical: (p: BytePath) => BytePath): void {
    this.addKey(listed, i);
    const real = canonical(listed);
    if (real !== listed) this.addKey(real, i);
  }

  private addKey(p: BytePath, i: number): void {
    const v = this.owner.get(p);
    if (v === undefined) {
      this.owner.set(p, i);
    } else if (v >= 0) {
      if (v !== i) {
        this.shared.push([v, i]);
        this.owner.set(p, -this.shared.length);
      }
    } else {
      const list = this.shared[-v - 1];
      if (list !== undefined && !list.includes(i)) list.push(i);
    }
  }
}

/** The packages whose files are on the disk: every status record but `not-installed` (config-files keeps its conffiles). */
export function ownerPackages(db: Database): PackageRecord[] {
  return db.packages.filter((p) => p.state !== 'not-installed');
}

/** The .list files read: per package, its paths and conffiles; problems go to `warnings`. */
export async function loadOwnedLists(db: Database, warnings: DbWarning[], concurrency = 32): Promise<OwnedList[]> {
  const pkgs = ownerPackages(db);
  const lists = await mapLimit(pkgs, concurrency, (pkg) => loadPackageList(db, pkg));
  return pkgs.map((pkg, i) => {
    const l = lists[i];
    if (l !== undefined) {
      warnings.push(...l.warnings);
      if (l.listError !== null) {
        warnings.push({ package: packageId(pkg), file: l.listFile, line: null, message: `cannot read the file (${l.listError}); the files it names will be reported as unowned` });
      }
    }
    return { id: packageId(pkg), paths: l?.list ?? [], conffiles: pkg.conffiles.map((c) => c.path) };
  });
}
