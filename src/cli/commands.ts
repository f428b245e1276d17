// The command table: every command's name, description, options and (loaded only when it runs) code.
// yargs registers it (src/cli/parse.ts) and `pkgwatch --help` prints it without loading yargs.
import type { Argv } from 'yargs';
import type { ExitCode } from './exit.js';
import {
  agentOptions,
  alertTestOptions,
  baselineAcceptOptions,
  baselineDiffOptions,
  baselineInitOptions,
  checkOptions,
  configCheckOptions,
  configOptions,
  configShowOptions,
  notifyOptions,
  offlineHelperOptions,
  onlineOptions,
  statusOptions,
  trustOptions,
  trustRecordOptions,
} from './options.js';

/** A command that runs: its module is imported by `run`, never at start-up. */
export interface LeafCommand {
  /** yargs' command string: the name, then positionals (`check [packages..]`). */
  readonly command: string;
  readonly describe: string;
  /** Declares options and positionals (src/cli/options.ts: imports nothing a command runs). */
  readonly options: (y: Argv) => Argv<unknown>;
  /** Imports the command's module and runs it with the parsed arguments. */
  readonly run: (args: unknown) => Promise<ExitCode>;
}

/** A command that only holds subcommands (`pkgwatch config check|show`). */
export interface GroupCommand {
  readonly command: string;
  readonly describe: string;
  readonly subcommands: readonly Command[];
  /** Options declared on the group itself, so that `pkgwatch GROUP --help` lists them too. */
  readonly options?: (y: Argv) => Argv<unknown>;
  /** Said when no subcommand is named. */
  readonly demand: string;
}

export type Command = LeafCommand | GroupCommand;

/** A typed table row: `run` gets what `options` declares. */
function leaf<A>(command: string, describe: string, options: (y: Argv) => Argv<A>, run: (args: A) => Promise<ExitCode>): LeafCommand {
  return { command, describe, options, run: run as (args: unknown) => Promise<ExitCode> };
}

/**
 * Every command, in --help order. To add one: declare its options in options.ts and add a row
 * whose `run` imports the command's module with `await import(...)`, so nothing it needs loads
 * for another command, --help or --version.
 */
export const COMMANDS: readonly Command[] = [
  leaf('check [packages..]', "verify installed packages against dpkg's md5sums (all by default)", checkOptions, async (a) =>
    (await import('./check.js')).runCheck(a),
  ),
  leaf('agent', 'run the agent: scheduled and real-time checks, alerts (the systemd service runs this)', agentOptions, async (a) =>
    (await import('./agent.js')).runAgent(a),
  ),
  leaf('status', 'show what the agent is doing: runs, open findings, watcher coverage, dpkg', statusOptions, async (a) =>
    (await import('./status.js')).runStatus(a),
  ),
  {
    command: 'config',
    describe: 'validate or print the agent configuration (pkgwatch config check|show)',
    demand: 'name a subcommand: `pkgwatch config check` or `pkgwatch config show`',
    options: configOptions,
    subcommands: [
      leaf('check', 'validate the configuration files; list every problem with file and line (exit 2 if any)', configCheckOptions, async (a) =>
        (await import('./config.js')).runConfigCheck(a),
      ),
      leaf('show', 'print the resolved configuration: every key, defaults included, as TOML', configShowOptions, async (a) =>
        (await import('./config.js')).runConfigShow(a),
      ),
    ],
  },
  leaf(
    'online',
    'bring the site back after the agent took it offline: re-checks the scope first, refuses while findings are open',
    onlineOptions,
    async (a) => (await import('./online.js')).runOnline(a),
  ),
  {
    command: 'baseline',
    describe: "the persistence points' local baseline: pkgwatch baseline init|diff|accept [PATH...]",
    demand: 'name a subcommand: pkgwatch baseline init|diff|accept',
    subcommands: [
      leaf('init', 'record the persistence points ([persist] paths) as the baseline in the state dir', baselineInitOptions, async (a) =>
        (await import('./baseline.js')).runInit(a),
      ),
      leaf('diff', 'show what changed at the persistence points since the baseline; exit 1 if anything did', baselineDiffOptions, async (a) =>
        (await import('./baseline.js')).runDiff(a),
      ),
      leaf(
        'accept [paths..]',
        'record the present state of PATH... (default: every persistence point) into the baseline; logged and alerted',
        baselineAcceptOptions,
        async (a) => (await import('./baseline.js')).runAccept(a),
      ),
    ],
  },
  {
    command: 'trust',
    describe: 'the trust store recorded at install time: pkgwatch trust record|status|verify',
    demand: 'name a subcommand: pkgwatch trust record|status|verify',
    subcommands: [
      leaf(
        'record',
        "record .debs in the trust store: as apt's DPkg::Pre-Install-Pkgs hook (protocol version 3 on stdin; always exits 0), or --installed from apt's cache",
        trustRecordOptions,
        async (a) => (await import('./trust.js')).runRecord(a),
      ),
      leaf('status', 'how many installed packages the trust store has signed, unverified (and why), or no record of', trustOptions, async (a) =>
        (await import('./trust.js')).runStatus(a),
      ),
      leaf('verify', "re-derive each installed package's record from its .deb where one is at hand; exit 1 if any differs", trustOptions, async (a) =>
        (await import('./trust.js')).runVerify(a),
      ),
    ],
  },
  {
    command: 'alert',
    describe: 'alerts: pkgwatch alert test',
    demand: 'name a subcommand: pkgwatch alert test',
    subcommands: [
      leaf('test', 'send a test alert through every configured sink (email, webhook) now; exit 0 only if all accepted it', alertTestOptions, async (a) =>
        (await import('./alert.js')).runAlertTest(a),
      ),
    ],
  },
  leaf('offline-helper', 'take the offline steps that need root (pkgwatch-offline.service runs this)', offlineHelperOptions, async (a) =>
    (await import('./offlinehelper.js')).runOfflineHelper(a),
  ),
  leaf('notify <event>', 'tell the agent a dpkg run starts or ends (the dpkg hook runs this)', notifyOptions, async (a) =>
    (await import('./notify.js')).runNotify(a),
  ),
];

/** `pkgwatch completion >/etc/bash_completion.d/pkgwatch`: yargs' own bash completion script. */
export const COMPLETION = { command: 'completion', describe: 'print a bash completion script (save it as /etc/bash_completion.d/pkgwatch)' } as const;

export const USAGE = '$0 <command> [options]';
export const SCRIPT = 'pkgwatch';

/**
 * The top-level --help, as yargs lays it out (wrap off), made from the same table: printed
 * without loading yargs, whose import alone costs more than Node's start.
 * test/cli/help.test.ts holds it equal to what yargs prints.
 */
export function topLevelHelp(): string {
  const commands = [...COMMANDS.map((c) => [`${SCRIPT} ${c.command}`, c.describe] as const), [`${SCRIPT} ${COMPLETION.command}`, COMPLETION.describe] as const];
  const options = [
    ['--help', 'Show help  [boolean]'],
    ['--version', 'Show version number  [boolean]'],
  ] as const;
  const table = (rows: readonly (readonly [string, string])[]): string[] => {
    const width = Math.max(...rows.map(([l]) => l.length)) + 2;
    return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`);
  };
  return [USAGE.replace('$0', SCRIPT), '', 'Commands:', ...table(commands), '', 'Options:', ...table(options), ''].join('\n');
}
