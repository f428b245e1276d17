// `pkgwatch check`: options, one verification run, and its rendering.
import { compileIgnore } from '../config/ignore.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { compileGlob, isGlob } from '../dpkg/fnmatch.js';
import { PkgwatchError, usageError } from '../errors.js';
import type { OpenTrust } from '../trust/record.js';
import { compareFindings, type Finding } from '../verify/finding.js';
import { defaultJobs, verify, type VerifyReport } from '../verify/run.js';
import { EXIT, type ExitCode } from './exit.js';
import type { CheckArgs, Format } from './options.js';
import { ProgressLine } from './progress.js';
import { plural, renderDebsums, renderDpkg, renderJson, renderText, renderWarning, unpackagedFindings, type CheckReport } from './render.js';

/** Runs `check` and writes its report; returns the exit code. */
export async function runCheck(args: CheckArgs): Promise<ExitCode> {
  try {
    return await check(args);
  } catch (err) {
    // Scripts parse stdout: with --format json, an error is a JSON document there too.
    if (args.format === 'json') {
      const e = err instanceof PkgwatchError ? { kind: err.kind, message: err.message } : { kind: 'internal', message: err instanceof Error ? err.message : String(err) };
      await write(`${JSON.stringify({ error: e }, null, 2)}\n`, 'utf8');
    }
    throw err;
  }
}

async function check(args: CheckArgs): Promise<ExitCode> {
  const jobsText = args.jobs ?? String(defaultJobs());
  const jobs = /^\d+$/.test(jobsText.trim()) ? Number(jobsText) : NaN;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) {
    throw usageError(`--jobs must be a whole number from 1 to 256, got '${jobsText}'`);
  }
  if (args.root === '') throw usageError('--root needs a directory, got an empty string');
  const maxMbPerS = args.maxMbPerS.trim() === '' ? NaN : Number(args.maxMbPerS);
  if (!Number.isFinite(maxMbPerS) || maxMbPerS < 0) {
    throw usageError(`--max-mb-per-s must be a number of MB per second, 0 or more, got '${args.maxMbPerS}'`);
  }
  if (!args.verify && !args.unowned && !args.setuid && !args.persist) throw usageError('--no-verify leaves nothing to check; add --unowned, --setuid or --persist');
  // Findings on the agent's [ignore] paths are still reported, marked, and do not set the exit code.
  const config = await loadConfig({ file: args.config });
  const isIgnored = compileIgnore(config.ignore.paths);
  // Globs and paths are both bytes (compileIgnore takes byte-string paths).
  const ignored = (f: Finding): boolean => isIgnored(f.path);
  const machine = args.format !== 'text';
  const signed = args.signed || args.sha256;
  let verified: VerifyReport | null = null;
  if (args.verify) {
    const progress = !args.quiet && ProgressLine.wanted(process.stderr, machine) ? new ProgressLine(process.stderr) : null;
    try {
      verified = await verify({
        root: args.root,
        admindir: args.admindir,
        packages: args.packages,
        withDeps: args.withDeps,
        conffiles: args.conffiles,
        jobs,
        maxBytesPerSecond: maxMbPerS * 1_000_000,
        // The compatible formats print in their tool's order, so a diff against it is empty.
        order: args.format === 'dpkg' || args.format === 'debsums' ? args.format : 'sorted',
        onProgress: progress === null ? undefined : (p) => progress.update(p),
        trust: signed ? await trustOpener(args.root, config.trust, jobs) : undefined,
        hash: args.sha256 || config.trust.hash === 'sha256' ? 'sha256' : 'md5',
        // One command, then exit: a small run is hashed here rather than starting workers.
        inlineSmall: true,
      });
    } finally {
      progress?.done();
    }
  }
  const report = await withWalks(args, config, verified);

  if (args.format !== 'json') for (const w of report.warnings) process.stderr.write(renderWarning(w));
  const dependencies = args.withDeps && verified !== null ? addedByDeps(verified.packages, args.packages) : null;
  switch (args.format) {
    case 'json':
      await write(renderJson(report, ignored, dependencies), 'utf8');
      break;
    case 'dpkg':
      await write(renderDpkg(report), 'latin1');
      break;
    case 'debsums':
      await write(renderDebsums(report, args.root), 'latin1');
      break;
    case 'text':
      await write(
        renderText(report, {
          colour: process.stdout.isTTY && process.env['NO_COLOR'] === undefined,
          ignored,
          showIgnored: args.showIgnored,
          verbose: args.verbose,
          quiet: args.quiet,
          dependencies,
        }),
        'utf8',
      );
      break;
  }
  if (args.format === 'dpkg' || args.format === 'debsums') {
    const left = unpackagedFindings(report).length;
    if (left > 0) {
      process.stderr.write(`pkgwatch: ${plural(left, 'finding')} of --unowned/--setuid/--persist not shown: the ${args.format} format has no such status (--format text or json shows them)\n`);
    }
  }
  return exitCodeOf(report, ignored);
}

/** The verification's report with the findings of the --unowned and --setuid walks added. */
async function withWalks(args: CheckArgs, config: ResolvedConfig, verified: VerifyReport | null): Promise<CheckReport> {
  const base: CheckReport = {
    packages: verified?.packages ?? [],
    findings: verified?.findings ?? [],
    warnings: verified?.warnings ?? [],
    summary: verified?.summary ?? null,
    ...(verified?.trust === undefined ? {} : { trust: verified.trust }),
  };
  if (!args.unowned && !args.setuid && !args.persist) return base;
  // Loaded only when asked for: plain `check` does not pay for the index.
  const { checkSetuid, checkUnowned, loadBase } = await import('../unpackaged/run.js');
  const { checkPersist } = await import('../unpackaged/persist.js');
  const loaded = await loadBase(args.root, args.admindir);
  const unowned = args.unowned
    ? await checkUnowned(loaded, {
        packages: args.packages,
        withDeps: args.withDeps,
        scope: config.scope,
        trees: config.unowned.trees,
        allow: config.unowned.allow,
      })
    : null;
  const setuid = args.setuid ? await checkSetuid(loaded) : null;
  const persist = args.persist ? await checkPersist(loaded, persistRequest(config), config.stateDir) : null;
  // The database's own warnings were reported by the verification already.
  const dbWarnings = verified === null ? loaded.warnings : [];
  return {
    ...base,
    // The dpkg and debsums formats keep their tool's order (and leave the walks' findings out).
    findings: sortedUnlessTool(args.format, [...base.findings, ...(unowned?.findings ?? []), ...(setuid?.findings ?? []), ...(persist?.findings ?? [])]),
    warnings: [...base.warnings, ...dbWarnings, ...(unowned?.warnings ?? []), ...(setuid?.warnings ?? []), ...(persist?.warnings ?? [])],
    unowned,
    setuid,
    persist,
  };
}

/** The persistence points of the configuration: `[persist] paths` and `add`, and `allow`. */
export function persistRequest(config: ResolvedConfig): { points: string[]; allow: readonly string[] } {
  return { points: [...new Set([...config.persist.paths, ...config.persist.add])], allow: config.persist.allow };
}

function sortedUnlessTool(format: Format, findings: Finding[]): Finding[] {
  return format === 'dpkg' || format === 'debsums' ? findings : findings.sort(compareFindings);
}

/**
 * `--signed`: opens the trust store, then (for packages it has no signed record of) apt's chain, for the packages the run selects. The trust modules are loaded only
 * then. `[trust] fetch` (downloading .debs) is not implemented yet: only .debs at hand are used.
 */
async function trustOpener(root: string, cfg: ResolvedConfig['trust'], jobs: number): Promise<OpenTrust> {
  const { openSession } = await import('../trust/session.js');
  return (keys) =>
    openSession({
      root,
      store: cfg.store,
      debPaths: cfg.debPaths,
      keyrings: cfg.keyrings,
      names: new Set(keys.map((k) => k.name)),
      now: new Date(),
      // Each .deb read may run a decompressor beside the hashing threads: a few at a time.
      concurrency: Math.min(jobs, 4),
    });
}

/** The checked packages (packageId) that no argument named: what --with-deps added. */
function addedByDeps(checked: readonly string[], args: readonly string[]): string[] {
  const named = args.map((a): ((id: string) => boolean) => {
    if (!isGlob(a)) return (id) => id === a || id.split(':')[0] === a.split(':')[0];
    const re = compileGlob(a);
    return (id) => re.test(id) || re.test(id.split(':')[0] ?? id);
  });
  return checked.filter((id) => !named.some((m) => m(id)));
}

/** 1 when anything is changed, missing, of the wrong type, unowned, setuid or added, or a package is forged; 3 when only unreadable files; else 0. */
export function exitCodeOf(report: CheckReport, ignored: (f: Finding) => boolean = () => false): ExitCode {
  // A forged database is a finding whatever [ignore] says about the paths of its files.
  if (report.trust?.some((e) => e.state === 'forged') === true) return EXIT.findings;
  let unreadable = false;
  for (const f of report.findings) {
    if (ignored(f)) continue;
    if (f.status !== 'unreadable') return EXIT.findings;
    unreadable = true;
  }
  return unreadable ? EXIT.incomplete : EXIT.ok;
}

function write(text: string, encoding: BufferEncoding): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(Buffer.from(text, encoding), (err) => (err ? reject(err) : resolve()));
  });
}
