// Every command's options and positionals, declared on yargs, and the argument types they give.
// Light on purpose: it imports no module a command runs (src/cli/commands.ts loads those lazily).
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { DEFAULT_CONFIG_FILE } from '../config/file.js';

/** The output formats of `check`. */
export const FORMATS = ['text', 'json', 'dpkg', 'debsums'] as const;
export type Format = (typeof FORMATS)[number];

export interface AgentArgs {
  config: string | undefined;
  root: string | undefined;
  stateDir: string | undefined;
  logFormat: 'text' | 'json';
}

/** Options shared by every command that finds the agent through its config. */
export function configOption<T>(y: Argv<T>): Argv<T & { config: string | undefined }> {
  return y.option('config', {
    describe: 'main config file (default /etc/pkgwatch/pkgwatch.toml, then conf.d/*.toml beside it)',
    type: 'string',
    requiresArg: true,
  });
}

/** `--config FILE` and `--state-dir DIR`, for the commands that read or write the agent's state. */
export function stateDirOptions<T>(y: Argv<T>): Argv<T & { config: string | undefined; stateDir: string | undefined }> {
  return configOption(y).option('state-dir', {
    describe: "the agent's state directory (overrides `state_dir`)",
    type: 'string',
    requiresArg: true,
  }) as unknown as Argv<T & { config: string | undefined; stateDir: string | undefined }>;
}

export function agentOptions(y: Argv): Argv<AgentArgs> {
  return configOption(y)
    .option('root', { describe: 'verify the system under DIR (overrides `root`)', type: 'string', requiresArg: true })
    .option('state-dir', { describe: 'keep state in DIR (overrides `state_dir`)', type: 'string', requiresArg: true })
    .option('log-format', { describe: 'log lines as text or one JSON object per line', choices: ['text', 'json'] as const, default: 'text' as const }) as unknown as Argv<AgentArgs>;
}

/** The package version, for --version and the agent's start-up log line. */
export function packageVersion(): string {
  // dist/cli/ in a build and an install; build/src/cli/ when the tests import it.
  const file = new URL(import.meta.url.includes('/build/src/') ? '../../../package.json' : '../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}


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
  persist: boolean;
  verify: boolean;
  signed: boolean;
  sha256: boolean;
}

/** check's part of the exit-code table in README.md, for `check --help`. */
const EXIT_CODES = [
  'Exit codes:',
  '  0  nothing found (warnings alone are 0)',
  '  1  integrity findings: changed, missing, wrong-type, database-changed, metadata-changed, unowned, setuid or added (not counting ignored paths); with --signed, any forged package',
  '  2  error: bad usage, unknown or not-installed package, unreadable dpkg database or config; --persist with no baseline (run pkgwatch baseline init)',
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
    .option('persist', {
      describe: 'also compare the persistence points ([persist] paths: cron, systemd units, authorized_keys, ...) with the baseline in state_dir (pkgwatch baseline init)',
      type: 'boolean',
      default: false,
    })
    .option('verify', { describe: "verify the packages' files (--no-verify: only the --unowned, --setuid and --persist checks)", type: 'boolean', default: true })
    .option('signed', {
      describe: "hold dpkg's database to each package's signed .deb (from the trust store, else [trust] deb_paths or apt's cache, verified against apt's signed indexes)",
      type: 'boolean',
      default: false,
    })
    .option('sha256', {
      describe: "with --signed (implied): check files against the SHA-256 the trust store recorded from each .deb's data.tar instead of its md5 (as [trust] hash = \"sha256\")",
      type: 'boolean',
      default: false,
    })
    .epilog(EXIT_CODES) as unknown as Argv<CheckArgs>;
}

export interface AlertTestArgs {
  config: string | undefined;
  json: boolean;
}

export function alertTestOptions(y: Argv): Argv<AlertTestArgs> {
  return configOption(y).option('json', { describe: 'print the results as JSON', type: 'boolean', default: false });
}

export interface ConfigArgs {
  config: string | undefined;
}

export interface ConfigCheckArgs extends ConfigArgs {
  json: boolean;
}

export interface ConfigShowArgs extends ConfigArgs {
  json: boolean;
  showSecrets: boolean;
}

/** Declares `--config FILE`, shared by both subcommands (and listed by `config --help`). */
export function configOptions(y: Argv): Argv<ConfigArgs> {
  return y.option('config', {
    describe: `main config file; its drop-ins are conf.d/*.toml beside it (default ${DEFAULT_CONFIG_FILE}, which may be absent)`,
    type: 'string',
    requiresArg: true,
  });
}

export function configCheckOptions(y: Argv): Argv<ConfigCheckArgs> {
  return configOptions(y).option('json', {
    describe: 'print one JSON document on stdout instead: {"ok", "errors": [{"file", "line", "key", "message"}], and "files" when ok}; same exit code',
    type: 'boolean',
    default: false,
  });
}

export function configShowOptions(y: Argv): Argv<ConfigShowArgs> {
  return configOptions(y)
    .option('json', { describe: 'print JSON instead (units resolved: ms, bytes/s)', type: 'boolean', default: false })
    .option('show-secrets', { describe: 'print the webhook secret and header values, and the credentials, path and query of the webhook and SMTP URLs, instead of (hidden)', type: 'boolean', default: false }) as unknown as Argv<ConfigShowArgs>;
}

export const NOTIFY_EVENTS = ['dpkg-start', 'dpkg-end'] as const;

export interface NotifyArgs {
  event: (typeof NOTIFY_EVENTS)[number];
  config: string | undefined;
  stateDir: string | undefined;
}

export function notifyOptions(y: Argv): Argv<NotifyArgs> {
  return stateDirOptions(y).positional('event', { describe: 'what happened', choices: NOTIFY_EVENTS, demandOption: true });
}

export interface OfflineHelperArgs {
  config: string | undefined;
}

export function offlineHelperOptions(y: Argv): Argv<OfflineHelperArgs> {
  return configOption(y);
}

export interface OnlineArgs {
  config: string | undefined;
  stateDir: string | undefined;
  force: boolean;
}

export function onlineOptions(y: Argv): Argv<OnlineArgs> {
  return stateDirOptions(y)
    .option('force', {
      describe: 'bring the site back even though findings are still open (logged and alerted)',
      type: 'boolean',
      default: false,
    });
}

export interface StatusArgs {
  config: string | undefined;
  stateDir: string | undefined;
  json: boolean;
}

export function statusOptions(y: Argv): Argv<StatusArgs> {
  return stateDirOptions(y)
    .option('json', { describe: 'print the status as one JSON document', type: 'boolean', default: false });
}

export interface BaselineArgs {
  config: string | undefined;
  stateDir: string | undefined;
  root: string | undefined;
  force: boolean;
  format: 'text' | 'json';
  paths: string[];
}

function baselineCommon<T>(y: Argv<T>): Argv<T & { config: string | undefined; stateDir: string | undefined; root: string | undefined }> {
  return stateDirOptions(y).option('root', { describe: 'the system installed under DIR (overrides `root`)', type: 'string', requiresArg: true });
}

export function baselineInitOptions(y: Argv): Argv<BaselineArgs> {
  return baselineCommon(y).option('force', { describe: 'replace an existing baseline', type: 'boolean', default: false }) as unknown as Argv<BaselineArgs>;
}

export function baselineDiffOptions(y: Argv): Argv<BaselineArgs> {
  return baselineCommon(y).option('format', { alias: 'f', describe: 'output format', choices: ['text', 'json'] as const, default: 'text' as const, requiresArg: true }) as unknown as Argv<BaselineArgs>;
}

export function baselineAcceptOptions(y: Argv): Argv<BaselineArgs> {
  return baselineCommon(y).positional('paths', { describe: 'paths on the checked system at or below a persistence point', type: 'string', array: true, default: [] }) as unknown as Argv<BaselineArgs>;
}

export interface TrustArgs {
  config: string | undefined;
  root: string | undefined;
  admindir: string | undefined;
  json: boolean;
}

export interface TrustRecordArgs extends TrustArgs {
  installed: boolean;
}

export function trustOptions(y: Argv): Argv<TrustArgs> {
  return configOption(y)
    .option('root', { describe: "the system apt installs into (default: apt's Dir from the hook's input, else /)", type: 'string', requiresArg: true })
    .option('admindir', { describe: 'dpkg database directory (default <root>/var/lib/dpkg)', type: 'string', requiresArg: true })
    .option('json', { describe: 'print the result as JSON', type: 'boolean', default: false });
}

export function trustRecordOptions(y: Argv): Argv<TrustRecordArgs> {
  return trustOptions(y).option('installed', {
    describe: "back-fill the store for what is installed now, from [trust] deb_paths and apt's cache",
    type: 'boolean',
    default: false,
  });
}
