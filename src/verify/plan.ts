// The pure core of verification: decides which paths of which packages are checked, where and
// against which hash, and turns worker outcomes into findings. No I/O here.
import { pathOnSystem } from '../dpkg/bytes.js';
import { isPathExcluded } from '../dpkg/dpkgcfg.js';
import { packageId } from '../dpkg/loader.js';
import type { BytePath, Database, DbWarning, Diversion, PackageFiles, PackageRecord } from '../dpkg/types.js';
import { compareFindings, type Finding } from './finding.js';
import type { BatchProblem } from './protocol.js';

/** One path to check for one package. */
export interface PlannedItem {
  readonly pkg: string;
  /** The path as the package lists it. */
  readonly listed: BytePath;
  /** Where it is checked: `listed`, or the divert-to path when another package diverted it. */
  readonly path: BytePath;
  /** Expected md5, or null to check existence only. */
  readonly md5: string | null;
  readonly conffile: boolean;
  /** Matched by a dpkg path-exclude rule: its absence is not a finding. */
  readonly excluded: boolean;
  readonly diversion: Diversion | null;
  /** Its place among its package's items in the run's tool order (PlanOptions.order). */
  readonly rank: number;
}

export interface Plan {
  readonly items: readonly PlannedItem[];
  /** Findings known before any file is checked (an unreadable md5sums or .list). */
  readonly findings: readonly Finding[];
  readonly warnings: readonly DbWarning[];
  readonly packages: number;
  /** Packages whose md5sums is empty: existence-only items that are regular files earn a warning. */
  readonly emptySums: ReadonlyMap<string, string>;
}

export interface PlanOptions {
  /** Check conffiles recorded in status (default true; `--no-conffiles` turns it off). */
  readonly conffiles: boolean;
  /** Plan only these paths (listed or divert-to), for real-time checks; null: every path. */
  readonly only?: ReadonlySet<BytePath> | null;
  /**
   * The order of paths within a package that item ranks follow: `dpkg`, the package's
   * `.list` order, as `dpkg --verify` walks it; `debsums`, its md5sums file's order, then its
   * conffiles in the status file's order, then the paths only its `.list` names; `sorted`
   * (default): `.list` order with conffiles last, as nothing reads the ranks then.
   */
  readonly order?: ToolOrder;
}

/** Whose order findings follow: `sorted` by package and path, or the order the named tool prints. */
export type ToolOrder = 'sorted' | 'dpkg' | 'debsums';

/** A selected package with its info files. */
export interface PackageInput {
  readonly pkg: PackageRecord;
  readonly files: PackageFiles;
}

/**
 * Decides every check of a run, package by package as their info files arrive, following
 * shared/dpkg-semantics.md "Per path". Items are numbered in the order `add` returns them.
 */
export class Planner {
  private readonly diverted = new Map<BytePath, Diversion>();
  private readonly items: PlannedItem[] = [];
  private readonly findings: Finding[] = [];
  private readonly warnings: DbWarning[] = [];
  private readonly emptySums = new Map<string, string>();
  private readonly withoutList: PackageInput[] = [];
  private packages = 0;

  constructor(
    private readonly db: Database,
    private readonly opts: PlanOptions,
  ) {
    for (const d of db.diversions) this.diverted.set(d.from, d);
  }

  /** Plans one package; returns its new items (none yet for a package without .list). */
  add(input: PackageInput): PlannedItem[] {
    const { pkg, files } = input;
    const id = packageId(pkg);
    this.packages++;
    this.warnings.push(...files.warnings);
    // An info file that exists but cannot be read leaves the package unverified: that is an
    // unreadable finding (exit 3), never a quiet "no md5sums" that would let the run pass.
    if (files.md5sumsError !== null) {
      this.unreadableInfo(id, files.md5sumsFile, files.md5sumsError, 'its files are checked for existence only');
    } else if (files.md5sums === null) {
      this.warnings.push({
        package: id,
        file: files.md5sumsFile,
        line: null,
        message: "no md5sums file: the package's files are checked for existence only (old or hand-built package?)",
      });
    } else if (files.md5sums.size === 0) {
      this.emptySums.set(id, files.md5sumsFile);
    }
    if (files.listError !== null) {
      this.unreadableInfo(id, files.listFile, files.listError, 'its md5sums entries are still hashed');
      this.withoutList.push(input);
      return [];
    }
    if (files.list === null) {
      this.warnings.push({
        package: id,
        file: files.listFile,
        line: null,
        message: "no .list file: existence of the package's paths cannot be checked; its md5sums entries are still hashed",
      });
      this.withoutList.push(input);
      return [];
    }
    const list = files.list;
    const sums = files.md5sums ?? new Map<BytePath, string>();
    const debsums = this.opts.order === 'debsums';
    // Ranks: dpkg --verify walks the .list (conffiles included where it lists them); debsums
    // reads the md5sums file, then the conffiles. The lookup tables are built only when needed.
    const listPos = new Map<BytePath, number>();
    if (pkg.conffiles.length > 0 && this.opts.order === 'dpkg') {
      const confPaths = new Set(pkg.conffiles.map((c) => c.path));
      list.forEach((p, i) => {
        if (confPaths.has(p) && !listPos.has(p)) listPos.set(p, i);
      });
    }
    let sumsPos: Map<BytePath, number> | null = null;
    if (debsums) {
      sumsPos = new Map();
      for (const p of sums.keys()) sumsPos.set(p, sumsPos.size);
    }
    const afterSums = sums.size + pkg.conffiles.length;
    const seen = new Set<BytePath>(pkg.conffiles.map((c) => c.path));
    const out = this.conffileItems(pkg, id, (path, k) => (debsums ? sums.size + k : (listPos.get(path) ?? list.length + k)));
    for (let i = 0; i < list.length; i++) {
      const listed = list[i] as BytePath;
      if (seen.has(listed)) continue;
      seen.add(listed);
      // An md5sums entry counts only when the path is in this package's .list (Replaces takeovers).
      const rank = sumsPos === null ? i : (sumsPos.get(listed) ?? afterSums + i);
      this.push(out, pkg, id, listed, sums.get(listed) ?? null, false, rank);
    }
    return out;
  }

  /** Plans the packages that had no .list, now that every other .list is known. */
  finish(): PlannedItem[] {
    const out: PlannedItem[] = [];
    if (this.withoutList.length === 0) return out;
    // Every path some package's .list claims: an md5sums entry of a package without .list defers to it.
    const claimed = new Set<BytePath>();
    for (const it of this.items) if (!it.conffile) claimed.add(it.listed);
    for (const { pkg, files } of this.withoutList) {
      const id = packageId(pkg);
      const sums = files.md5sums ?? new Map<BytePath, string>();
      // Without a .list dpkg --verify walks nothing; both orders follow the md5sums file.
      out.push(...this.conffileItems(pkg, id, (_path, k) => sums.size + k));
      const conffiles = new Set(pkg.conffiles.map((c) => c.path));
      // md5sums keys are unique already; conffiles and paths now owned by others are skipped.
      let rank = 0;
      for (const [path, md5] of sums) {
        if (!conffiles.has(path) && !claimed.has(path)) this.push(out, pkg, id, path, md5, false, rank);
        rank++;
      }
    }
    this.withoutList.length = 0;
    return out;
  }

  /** The plan so far: every item returned by `add` and `finish`, in order. */
  plan(): Plan {
    return { items: this.items, findings: this.findings, warnings: this.warnings, packages: this.packages, emptySums: this.emptySums };
  }

  private unreadableInfo(id: string, file: string, error: string, consequence: string): void {
    this.findings.push({
      package: id,
      path: pathOnSystem(this.db.root, file),
      status: 'unreadable',
      conffile: false,
      expected: null,
      actual: null,
      detail: `${error}: dpkg's record of the package cannot be read; ${consequence}`,
    });
  }

  /** The package's conffile items; `rankOf` gets each conffile's path and its place in the Conffiles field. */
  private conffileItems(pkg: PackageRecord, id: string, rankOf: (path: BytePath, k: number) => number): PlannedItem[] {
    const out: PlannedItem[] = [];
    if (!this.opts.conffiles) return out;
    const seen = new Set<BytePath>();
    pkg.conffiles.forEach((c, k) => {
      if (seen.has(c.path)) return;
      seen.add(c.path);
      // obsolete and remove-on-upgrade conffiles are no longer shipped: never findings.
      if (c.obsolete || c.removeOnUpgrade) return;
      this.push(out, pkg, id, c.path, c.md5, true, rankOf(c.path, k));
    });
    return out;
  }

  private push(out: PlannedItem[], pkg: PackageRecord, id: string, listed: BytePath, md5: string | null, conffile: boolean, rank: number): void {
    const d = this.diverted.get(listed);
    // A package's own diversion leaves its file in place; anyone else's moves it to `to`.
    const diversion = d !== undefined && d.by !== pkg.name ? d : null;
    const only = this.opts.only;
    if (only != null && !only.has(listed) && !(diversion !== null && only.has(diversion.to))) return;
    const item: PlannedItem = {
      pkg: id,
      listed,
      path: diversion ? diversion.to : listed,
      md5,
      conffile,
      excluded: isPathExcluded(listed, this.db.pathFilters),
      diversion,
      rank,
    };
    this.items.push(item);
    out.push(item);
  }
}

/** Plans a whole run at once (see Planner). */
export function planChecks(db: Database, inputs: readonly PackageInput[], opts: PlanOptions): Plan {
  const planner = new Planner(db, opts);
  for (const input of inputs) planner.add(input);
  planner.finish();
  return planner.plan();
}

/**
 * Where each package stands in a tool's order (see selectionOrder) and where each finding stands
 * within its package; findings without a rank (on dpkg's own info files: -1 first; --signed
 * ones: after the rest) keep path order among themselves.
 */
export interface FindingOrder {
  readonly packages: ReadonlyMap<string, number>;
  readonly ranks: ReadonlyMap<Finding, number>;
}

/** Sorts findings in place: by package and path, or in a tool's order. */
export function sortFindings(findings: Finding[], order: FindingOrder | null): Finding[] {
  if (order === null) return findings.sort(compareFindings);
  const pkgRank = (f: Finding): number => order.packages.get(f.package) ?? Number.MAX_SAFE_INTEGER;
  return findings.sort((a, b) => {
    const d = pkgRank(a) - pkgRank(b);
    if (d !== 0) return d;
    if (a.package !== b.package) return a.package < b.package ? -1 : 1;
    const r = (order.ranks.get(a) ?? Number.MAX_SAFE_INTEGER) - (order.ranks.get(b) ?? Number.MAX_SAFE_INTEGER);
    return r !== 0 ? r : compareFindings(a, b);
  });
}

/**
 * Turns the outcome of a run into findings, sorted by package and path or, given where each
 * package stands (`packageOrder`), in the order of the tool the plan's ranks follow; and the
 * warnings learnt while checking. `ranks` is the order used, for merging later findings.
 */
export function collectFindings(
  plan: Plan,
  problems: ReadonlyMap<number, BatchProblem>,
  regular: ReadonlySet<number>,
  packageOrder: ReadonlyMap<string, number> | null = null,
): { findings: Finding[]; warnings: DbWarning[]; order: FindingOrder | null } {
  const findings: Finding[] = [...plan.findings];
  const ranks = new Map<Finding, number>();
  for (const f of findings) ranks.set(f, -1);
  for (const [i, p] of problems) {
    const it = plan.items[i];
    if (it === undefined) continue;
    if (p.status === 'missing' && it.excluded) continue;
    const notes: string[] = [];
    if (p.detail !== null) notes.push(p.detail);
    if (it.diversion !== null) {
      const by = it.diversion.by === null ? 'a local diversion' : it.diversion.by;
      notes.push(`diverted from ${it.listed} by ${by}`);
    }
    const f: Finding = {
      package: it.pkg,
      path: it.path,
      status: p.status,
      conffile: it.conffile,
      expected: it.md5,
      actual: p.actual,
      detail: notes.length > 0 ? notes.join('; ') : null,
    };
    findings.push(f);
    ranks.set(f, it.rank);
  }
  const order = packageOrder === null ? null : { packages: packageOrder, ranks };
  sortFindings(findings, order);

  const warnings: DbWarning[] = [];
  if (plan.emptySums.size > 0) {
    const counts = new Map<string, number>();
    for (const i of regular) {
      const it = plan.items[i];
      if (it !== undefined && plan.emptySums.has(it.pkg)) counts.set(it.pkg, (counts.get(it.pkg) ?? 0) + 1);
    }
    for (const [pkg, n] of counts) {
      warnings.push({
        package: pkg,
        file: plan.emptySums.get(pkg) ?? '',
        line: null,
        message: `empty md5sums file while the package's .list holds ${n} regular file(s): they are checked for existence only`,
      });
    }
  }
  return { findings, warnings, order };
}
