// `pkgwatch check`: options, one verification run, and its rendering.
import type { Argv } from 'yargs';
import { compileIgnore } from '../config/ignore.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { compileGlob, isGlob } from '../dpkg/fnmatch.js';
import { PkgwatchError, usageError } from '../errors.js';
import type { OpenTrust } from '../trust/record.js';
import { compareFindings, type Finding } from '../verify/finding.js';
import { defaultJobs, verify, type VerifyReport } from '../verify/run.js';
import { EXIT, type ExitCode } from './exit.js';
import { ProgressLine } from './progress.js';
import { FORMATS, plural, renderDebsums, renderDpkg, renderJson, renderText, renderWarning, unpackagedFindings, type CheckReport, type Format } from './render.js';

export interface CheckArgs {
  packages: string[];
  config: string | undefined;
  root: string;
  admindir: string | undefined;
  withDeps: boolean;
  conffiles: boolean;
  jobs: string | undefined;
  maxMbPerS: string;
  format: Format;
  showIgnored: boolean;
  verbose: boolean;
  quiet: boolean;
  unowned: boolean;
  setuid: boolean;
  verify: boolean;
  signed: boolean;
}

/** check's part of the exit-code table in README.md, for `check --help`. */
const EXIT_CODES = [
  'Exit codes:',
  '  0  nothing found (warnings alone are 0)',
  '  1  integrity findings: changed, missing, wrong-type, database-changed, unowned or setuid (not counting ignored paths); with --signed, any forged package',
  '  2  error: bad usage, unknown or not-installed package, unreadable dpkg database or config',
  '  3  incomplete: some files could not be read, nothing else was found',
  '  141  standard output was closed (pkgwatch check | head)',
].join('\n');

/** Declares the options of `check` on a yargs instance. */
export function checkOptions(y: Argv): Argv<CheckArgs> {
  return y
    .positional('packages', {
      describe: "package names (nginx, libc6:amd64) or shell patterns ('python3-*'); none = all installed",
      type: 'string',
      array: true,
      default: [],
    })
    .option('root', { describe: 'verify the system installed under DIR', type: 'string', default: '/', requiresArg: true })
    .option('config', {
      describe: "the agent's config, for its [ignore] paths (default /etc/pkgwatch/pkgwatch.toml if it exists)",
      type: 'string',
      requiresArg: true,
    })
    .option('admindir', { describe: 'dpkg database directory (default <root>/var/lib/dpkg)', type: 'string', requiresArg: true })
    .option('with-deps', { describe: "add the named packages' Depends and Pre-Depends, recursively", type: 'boolean', default: false })
    .option('conffiles', { describe: 'check conffiles (--no-conffiles to skip them)', type: 'boolean', default: true })
    // Strings, parsed here: yargs would turn `--jobs abc` into NaN and lose what was typed.
    .option('jobs', { alias: 'j', describe: 'hashing threads', type: 'string', defaultDescription: 'all cores', requiresArg: true })
    .option('max-mb-per-s', {
      describe: 'hash at most N MB per second in all (background checks on a busy server); 0 = no limit',
      type: 'string',
      default: '0',
      requiresArg: true,
    })
    .option('format', { alias: 'f', describe: 'output format', choices: FORMATS, default: 'text', requiresArg: true })
    .option('show-ignored', { describe: 'text: list findings on [ignore] paths too (they are always counted apart, and always in JSON)', type: 'boolean', default: false })
    .option('verbose', { alias: 'v', describe: 'text: list every missing path, not one line per missing folder', type: 'boolean', default: false })
    .option('quiet', { alias: 'q', describe: 'findings only: no summary, no progress (the exit code is unchanged)', type: 'boolean', default: false })
    .option('unowned', {
      describe: "also walk the checked packages' trees (none named: the configured scope's, and [unowned] trees) for entries no package installed",
      type: 'boolean',
      default: false,
    })
    .option('setuid', { describe: 'also walk the local filesystems for setuid and setgid files no package installed', type: 'boolean', default: false })
    .option('verify', { describe: "verify the packages' files (--no-verify: only the --unowned and --setuid walks)", type: 'boolean', default: true })
    .option('signed', {
      describe: "hold dpkg's database to each package's signed .deb (from [trust] deb_paths or apt's cache, verified against apt's signed indexes)",
      type: 'boolean',
      default: false,
    })
    .epilog(EXIT_CODES) as unknown as Argv<CheckArgs>;
}

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
  if (!args.verify && !args.unowned && !args.setuid) throw usageError('--no-verify leaves nothing to check; add --unowned or --setuid');
  // Findings on the agent's [ignore] paths are still reported, marked, and do not set the exit code.
  const config = await loadConfig({ file: args.config });
  const isIgnored = compileIgnore(config.ignore.paths);
  // Globs and paths are both bytes (compileIgnore takes byte-string paths).
  const ignored = (f: Finding): boolean => isIgnored(f.path);
  const machine = args.format !== 'text';
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
        trust: args.signed ? await trustOpener(args.root, config.trust, jobs) : undefined,
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
      process.stderr.write(`pkgwatch: ${plural(left, 'finding')} of --unowned/--setuid not shown: the ${args.format} format has no such status (--format text or json shows them)\n`);
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
  if (!args.unowned && !args.setuid) return base;
  // Loaded only when asked for: plain `check` does not pay for the index.
  const { checkSetuid, checkUnowned, loadBase } = await import('../unpackaged/run.js');
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
  // The database's own warnings were reported by the verification already.
  const dbWarnings = verified === null ? loaded.warnings : [];
  return {
    ...base,
    // The dpkg and debsums formats keep their tool's order (and leave the walks' findings out).
    findings: sortedUnlessTool(args.format, [...base.findings, ...(unowned?.findings ?? []), ...(setuid?.findings ?? [])]),
    warnings: [...base.warnings, ...dbWarnings, ...(unowned?.warnings ?? []), ...(setuid?.warnings ?? [])],
    unowned,
    setuid,
  };
}

function sortedUnlessTool(format: Format, findings: Finding[]): Finding[] {
  return format === 'dpkg' || format === 'debsums' ? findings : findings.sort(compareFindings);
}

/**
 * `--signed`: opens apt's chain for the packages the run selects. The trust modules are loaded only
 * then. `[trust] fetch` (downloading .debs) is not implemented yet: only .debs at hand are used.
 */
async function trustOpener(root: string, cfg: ResolvedConfig['trust'], jobs: number): Promise<OpenTrust> {
  const { AptChain } = await import('../trust/aptchain.js');
  return (keys) =>
    AptChain.open({
      root,
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

/** 1 when anything is changed, missing, of the wrong type, unowned or setuid, or a package is forged; 3 when only unreadable files; else 0. */
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
