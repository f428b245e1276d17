// The agent's checks of the scoped packages: `verify` with the size each file had when it last
// verified, so a file of another size is changed at once; each check brings the sizes up to date.
import type { BytePath } from '../dpkg/types.js';
import { findingJson, type FindingJson } from '../verify/report.js';
import { verify, type KnownSize, type VerifySummary } from '../verify/run.js';
import { loadSizes, pruneSizes, recordSizes, saveSizes, type SizeRecords } from './sizes.js';
import type { Scope } from './scope.js';

/** What a check found, and what it covered. */
export interface ScopedCheck {
  /** The packages it checked (packageId). */
  readonly packages: ReadonlySet<string>;
  readonly findings: FindingJson[];
  readonly summary: VerifySummary;
}

export interface ScopedChecksOptions {
  readonly root: () => string;
  readonly withDeps: () => boolean;
  /** Where sizes.json is kept. */
  readonly stateDir: string;
  readonly signal: AbortSignal;
}

export class ScopedChecks {
  private sizes: SizeRecords = new Map<BytePath, KnownSize>();
  /** The sizes changed since they were last saved. */
  private dirty = false;

  constructor(private readonly opts: ScopedChecksOptions) {}

  /** Reads the sizes kept in state_dir; returns a warning when they could not be used. */
  load(): string | null {
    const loaded = loadSizes(this.opts.stateDir);
    this.sizes = loaded.sizes;
    return loaded.warning;
  }

  /** Saves the sizes when they changed; throws (naming the file) when that fails, and retries on the next call. */
  save(): void {
    if (!this.dirty) return;
    saveSizes(this.opts.stateDir, this.sizes);
    this.dirty = false;
  }

  /** Forgets files no longer in the scope. */
  follow(scope: Scope): void {
    if (pruneSizes(this.sizes, scope.paths)) this.dirty = true;
  }

  /**
   * Checks the scope's packages (only `paths` when given, for real-time checks and re-checks).
   * `record`: keep the sizes of the files that verified (not for a check whose result is dropped).
   */
  async check(scope: Scope, paths: ReadonlySet<BytePath> | null, jobs: number): Promise<ScopedCheck & { record(): void }> {
    const report = await verify({
      root: this.opts.root(),
      packages: scope.args,
      withDeps: this.opts.withDeps(),
      conffiles: true,
      jobs,
      paths: paths ?? undefined,
      sizes: this.sizes,
      signal: this.opts.signal,
    });
    return {
      packages: new Set(report.packages),
      findings: report.findings.map(findingJson),
      summary: report.summary,
      record: () => {
        if (recordSizes(this.sizes, report.verifiedSizes)) this.dirty = true;
      },
    };
  }
}
