// One verification run: load the database, select packages, plan, hash on the pool, collect.
import { availableParallelism } from 'node:os';
import { mapLimit } from '../concurrency.js';
import { loadDatabase, loadPackageFiles, packageId } from '../dpkg/loader.js';
import { selectionOrder, selectPackages } from '../dpkg/select.js';
import type { BytePath, DbWarning } from '../dpkg/types.js';
import type { OpenTrust, TrustSession } from '../trust/record.js';
import type { Finding } from './finding.js';
import { collectFindings, Planner, sortFindings, type PlannedItem, type ToolOrder } from './plan.js';
import { Hashing } from './hashing.js';
import type { PoolProgress } from './pool.js';
import { keyOf, reconcile, withSha256, type TrustEntry } from './signed.js';
import { checkModes, readPostinst, type ModeJob } from './modes.js';
import { loadStatOverrides } from '../dpkg/admindb.js';
import { loadAccounts } from '../unpackaged/accounts.js';

export interface VerifyRequest {
  /** The system to verify (dpkg's --root); `/` by default. */
  readonly root: string;
  /** dpkg's --admindir, a host path; `<root>/var/lib/dpkg` when absent. */
  readonly admindir?: string | undefined;
  /** Package names or shell-style patterns; empty = every installed package. */
  readonly packages: readonly string[];
  /** Add the Depends/Pre-Depends closure of the named packages. */
  readonly withDeps: boolean;
  /** Check conffiles recorded in status. */
  readonly conffiles: boolean;
  /** Hashing worker threads. */
  readonly jobs: number;
  /** Check only these paths (as listed by their packages, or their divert-to paths): real-time checks. */
  readonly paths?: ReadonlySet<BytePath> | undefined;
  /** Hash at most this many bytes per second in all (0 or absent: unthrottled). */
  readonly maxBytesPerSecond?: number | undefined;
  /**
   * The size each file had when it last verified, by the path checked (the agent keeps them): a
   * file of 1 MiB or more whose md5 is still the recorded one but whose size differs is `changed`
   * without being read (`actual` null; `detail` gives both sizes). Smaller files are hashed anyway.
   * When given, the report's `verifiedSizes` holds the sizes of the files that verified in this run.
   */
  readonly sizes?: ReadonlyMap<BytePath, KnownSize> | undefined;
  /**
   * `check --signed`: opens the sources of signed records for the selected packages; each package's
   * database is then held to its signed .deb and its files checked against the signed hashes.
   */
  readonly trust?: OpenTrust | undefined;
  /**
   * With `trust`: `sha256` checks files against the SHA-256 the trust store recorded from data.tar
   * (where a package has such a record) instead of the md5.
   */
  readonly hash?: 'md5' | 'sha256' | undefined;
  /**
   * The order of the report's findings: `sorted` (default) by package, then path; `dpkg` and
   * `debsums` as that tool prints them (see selectionOrder and PlanOptions.order).
   */
  readonly order?: ToolOrder | undefined;
  /**
   * Hash a run of at most INLINE_MAX_ITEMS paths on this thread, without starting workers (a
   * one-shot command's start-up cost). It blocks the event loop until the last byte is read, so a
   * long-running process (the agent: its watcher, timers and watchdog) never sets it.
   */
  readonly inlineSmall?: boolean | undefined;
  /** Aborting stops the workers and rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: VerifyProgress) => void) | undefined;
}

/** Where a run is, for progress displays. */
/** A file's size when it last verified against `md5`. */
export interface KnownSize {
  readonly md5: string;
  readonly size: number;
}

export interface VerifyProgress {
  readonly packagesDone: number;
  readonly packagesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
}

export interface VerifySummary {
  readonly packages: number;
  readonly files: number;
  readonly bytes: number;
  readonly durationMs: number;
}

export interface VerifyReport {
  /** The packages this run checked (packageId), so callers know what a clean result covers. */
  readonly packages: readonly string[];
  /** In the request's order (sorted by package, then path, by default). */
  readonly findings: readonly Finding[];
  readonly warnings: readonly DbWarning[];
  readonly summary: VerifySummary;
  /** With VerifyRequest.sizes: each hashed file that verified, by the path checked, with its md5 and size. */
  readonly verifiedSizes: ReadonlyMap<BytePath, KnownSize> | null;
  /** With `trust`: one entry per checked package, in the order of `packages`. */
  readonly trust?: readonly TrustEntry[];
}

/** Default for --jobs: one hashing thread per core. */
export function defaultJobs(): number {
  return availableParallelism();
}

/** Info files are read this many at a time: enough to keep the disk busy, few descriptors. */
const LOAD_CONCURRENCY = 32;

/**
 * Verifies the selected packages of one system. The worker threads start first and hash while
 * the info files are still loading. Throws PkgwatchError for usage and database errors.
 */
export async function verify(req: VerifyRequest): Promise<VerifyReport> {
  const started = performance.now();
  let progress: ((p: PoolProgress) => void) | undefined;
  req.signal?.throwIfAborted();
  const sizes = req.sizes;
  // A full check starts its workers at once, to hash while the database loads; a run of a few
  // packages or paths may never need them (src/verify/hashing.ts).
  const pool = new Hashing({
    root: req.root,
    jobs: req.jobs,
    onProgress: (p) => progress?.(p),
    maxBytesPerSecond: req.maxBytesPerSecond ?? 0,
    sizes: sizes !== undefined,
    eager: req.inlineSmall !== true || (req.packages.length === 0 && req.paths === undefined),
  });
  const onAbort = (): void => pool.abort(req.signal?.reason instanceof Error ? req.signal.reason : new Error('verification aborted'));
  req.signal?.addEventListener('abort', onAbort, { once: true });
  let trust: TrustSession | null = null;
  try {
    const db = await loadDatabase(req.admindir === undefined ? { root: req.root } : { root: req.root, admindir: req.admindir });
    const selectWarnings: DbWarning[] = [];
    const selected = selectPackages(db, req.packages, req.withDeps, selectWarnings);
    const order = req.order ?? 'sorted';
    const planner = new Planner(db, { conffiles: req.conffiles, only: req.paths ?? null, order });
    if (req.trust !== undefined) trust = await req.trust(selected.map(keyOf));
    const trustEntries = new Map<string, TrustEntry>();
    const trustFindings: Finding[] = [];
    const modeJobs: ModeJob[] = [];
    // Index of the last item of each package, in item order, for the packages-done count.
    const lastItems: number[] = [];
    let queued = 0;
    const enqueue = (items: readonly PlannedItem[]): void => {
      if (items.length === 0) return;
      queued += items.length;
      lastItems.push(queued - 1);
      if (sizes === undefined) {
        pool.add(items);
        return;
      }
      pool.add(
        items.map((it) => {
          const known = sizes.get(it.path);
          return { path: it.path, md5: it.md5, size: known !== undefined && known.md5 === it.md5 ? known.size : -1 };
        }),
      );
    };
    await mapLimit(selected, LOAD_CONCURRENCY, async (pkg) => {
      const files = await loadPackageFiles(db, pkg);
      if (trust === null) {
        enqueue(planner.add({ pkg, files }));
        return;
      }
      const lookup = await trust.lookup(keyOf(pkg));
      const r = reconcile(db, pkg, files, lookup);
      trustEntries.set(r.entry.package, r.entry);
      trustFindings.push(...r.findings);
      const signedFiles = lookup.found ? lookup.record.files : undefined;
      if (!lookup.found || signedFiles === undefined) {
        enqueue(planner.add({ pkg: r.pkg, files: r.files }));
        return;
      }
      const postinst = await readPostinst(files.md5sumsFile.replace(/\.md5sums$/, '.postinst'), lookup.record.scripts?.['postinst']);
      modeJobs.push({ id: r.entry.package, name: pkg.name, files: signedFiles, postinst });
      enqueue(planner.add(req.hash === 'sha256' ? withSha256(r.pkg, r.files, signedFiles) : { pkg: r.pkg, files: r.files }));
    });
    enqueue(planner.finish());
    const onProgress = req.onProgress;
    if (onProgress !== undefined) {
      progress = (p): void => {
        let packagesDone = 0;
        while (packagesDone < lastItems.length && (lastItems[packagesDone] as number) < p.itemsDone) packagesDone++;
        onProgress({
          packagesDone: Math.min(packagesDone, selected.length),
          packagesTotal: selected.length,
          filesDone: p.itemsDone,
          filesTotal: p.itemsTotal,
          bytesDone: p.bytesDone,
        });
      };
    }
    pool.close();
    const result = await pool.done;
    const plan = planner.plan();
    const packageOrder = order === 'sorted' ? null : selectionOrder(db, req.packages, selected, order);
    const collected = collectFindings(plan, result.problems, result.regular, packageOrder);
    const modeWarnings: DbWarning[] = [];
    let verifiedSizes: Map<BytePath, KnownSize> | null = null;
    if (sizes !== undefined) {
      verifiedSizes = new Map();
      for (const [i, size] of result.verified) {
        const it = plan.items[i];
        if (it?.md5 != null) verifiedSizes.set(it.path, { md5: it.md5, size });
      }
    }
    if (modeJobs.length > 0) {
      const overrides = await loadStatOverrides(db.admindir, modeWarnings);
      trustFindings.push(...(await checkModes(db.root, modeJobs, db.diversions, overrides, await loadAccounts(db.root))));
    }
    // --signed findings go after each package's own, in path order.
    const findings = trustFindings.length === 0 ? collected.findings : sortFindings([...collected.findings, ...trustFindings], collected.order);
    const ids = selected.map(packageId);
    return {
      packages: ids,
      findings,
      warnings: [...selectWarnings, ...db.warnings, ...(trust?.warnings ?? []), ...modeWarnings, ...plan.warnings, ...collected.warnings],
      summary: {
        // A check of some paths (real-time) checked the packages that list them, not every selected one.
        packages: req.paths === undefined ? selected.length : new Set(plan.items.map((it) => it.pkg)).size,
        files: plan.items.length,
        bytes: result.bytes,
        durationMs: Math.round(performance.now() - started),
      },
      verifiedSizes,
      ...(trust === null ? {} : { trust: ids.flatMap((id) => trustEntries.get(id) ?? []) }),
    };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    await Promise.all([pool.terminate(), (trust)?.close()]);
  }
}

