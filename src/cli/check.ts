// `pkgwatch check`: options, one verification run, and its rendering.
import type { Argv } from 'yargs';
import { compileIgnore } from '../config/ignore.js';
import { loadConfig } from '../config/load.js';
import { usageError } from '../errors.js';
import type { Finding } from '../verify/finding.js';
import { defaultJobs, verify, type VerifyReport } from '../verify/run.js';
import { EXIT, type ExitCode } from './exit.js';
import { ProgressLine } from './progress.js';
import { FORMATS, renderDebsums, renderDpkg, renderJson, renderText, renderWarning, type Format } from './render.js';

export interface CheckArgs {
  packages: string[];
  config: string | undefined;
  root: string;
  admindir: string | undefined;
  withDeps: boolean;
  conffiles: boolean;
  jobs: number;
  maxMbPerS: number;
  format: Format;
}

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
    .option('jobs', { alias: 'j', describe: 'hashing threads', type: 'number', default: defaultJobs(), defaultDescription: 'all cores', requiresArg: true })
    .option('max-mb-per-s', {
      describe: 'hash at most N MB per second in all (background checks on a busy server); 0 = no limit',
      type: 'number',
      default: 0,
      requiresArg: true,
    })
    .option('format', { alias: 'f', describe: 'output format', choices: FORMATS, default: 'text', requiresArg: true }) as unknown as Argv<CheckArgs>;
}

/** Runs `check` and writes its report; returns the exit code. */
export async function runCheck(args: CheckArgs): Promise<ExitCode> {
  if (!Number.isInteger(args.jobs) || args.jobs < 1 || args.jobs > 256) {
    throw usageError(`--jobs must be a whole number from 1 to 256, got '${String(args.jobs)}'`);
  }
  if (args.root === '') throw usageError('--root needs a directory, got an empty string');
  if (!Number.isFinite(args.maxMbPerS) || args.maxMbPerS < 0) {
    throw usageError(`--max-mb-per-s must be a number of MB per second, 0 or more, got '${String(args.maxMbPerS)}'`);
  }
  // Findings on the agent's [ignore] paths are still reported, marked, and do not set the exit code.
  const config = await loadConfig({ file: args.config });
  const isIgnored = compileIgnore(config.ignore.paths);
  // Globs and paths are both bytes (compileIgnore takes byte-string paths).
  const ignored = (f: Finding): boolean => isIgnored(f.path);
  const machine = args.format !== 'text';
  const progress = ProgressLine.wanted(process.stderr, machine) ? new ProgressLine(process.stderr) : null;
  let report: VerifyReport;
  try {
    report = await verify({
      root: args.root,
      admindir: args.admindir,
      packages: args.packages,
      withDeps: args.withDeps,
      conffiles: args.conffiles,
      jobs: args.jobs,
      maxBytesPerSecond: args.maxMbPerS * 1_000_000,
      onProgress: progress === null ? undefined : (p) => progress.update(p),
    });
  } finally {
    progress?.done();
  }

  if (args.format !== 'json') for (const w of report.warnings) process.stderr.write(renderWarning(w));
  switch (args.format) {
    case 'json':
      await write(renderJson(report, ignored), 'utf8');
      break;
    case 'dpkg':
      await write(renderDpkg(report), 'latin1');
      break;
    case 'debsums':
      await write(renderDebsums(report, args.root), 'latin1');
      break;
    case 'text':
      await write(renderText(report, process.stdout.isTTY && process.env['NO_COLOR'] === undefined, ignored), 'utf8');
      break;
  }
  return exitCodeOf(report, ignored);
}

/** 1 when anything is changed, missing or of the wrong type; 3 when only unreadable files; else 0. */
export function exitCodeOf(report: VerifyReport, ignored: (f: Finding) => boolean = () => false): ExitCode {
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
