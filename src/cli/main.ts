#!/usr/bin/env node
// The pkgwatch command line: parses arguments, runs one command, and is the only place that exits.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PkgwatchError, usageError } from '../errors.js';
import { agentOptions, runAgent } from './agent.js';
import { alertCommand } from './alert.js';
import { checkOptions, runCheck } from './check.js';
import { configCommand } from './config.js';
import { notifyOptions, runNotify } from './notify.js';
import { offlineHelperOptions, runOfflineHelper } from './offlinehelper.js';
import { onlineOptions, runOnline } from './online.js';
import { runStatus, statusOptions } from './status.js';
import { trustCommand } from './trust.js';
import { EXIT, type ExitCode } from './exit.js';

async function main(argv: string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  await yargs(argv)
    .scriptName('pkgwatch')
    .usage('$0 <command> [options]')
    .command(
      'check [packages..]',
      'verify installed packages against dpkg\'s md5sums (all by default)',
      (y) => checkOptions(y),
      async (args) => {
        code = await runCheck(args);
      },
    )
    .command(
      'agent',
      'run the agent: scheduled and real-time checks, alerts (the systemd service runs this)',
      (y) => agentOptions(y),
      async (args) => {
        code = await runAgent(args);
      },
    )
    .command(
      'status',
      'show what the agent is doing: runs, open findings, watcher coverage, dpkg',
      (y) => statusOptions(y),
      async (args) => {
        code = await runStatus(args);
      },
    )
    .command('config', 'validate or print the agent configuration (pkgwatch config check|show)', (y) =>
      configCommand(y, (c) => {
        code = c;
      }),
    )
    .command(
      'online',
      'bring the site back after the agent took it offline: re-checks the scope first, refuses while findings are open',
      (y) => onlineOptions(y),
      async (args) => {
        code = await runOnline(args);
      },
    )
    .command('trust', "the trust store recorded at install time: pkgwatch trust record|status|verify", (y) =>
      trustCommand(y, (c) => {
        code = c;
      }),
    )
    .command('alert', 'alerts: pkgwatch alert test', (y) =>
      alertCommand(y, (c) => {
        code = c;
      }),
    )
    .command(
      'offline-helper',
      'take the offline steps that need root (pkgwatch-offline.service runs this)',
      (y) => offlineHelperOptions(y),
      async (args) => {
        code = await runOfflineHelper(args);
      },
    )
    .command(
      'notify <event>',
      'tell the agent a dpkg run starts or ends (the dpkg hook runs this)',
      (y) => notifyOptions(y),
      async (args) => {
        code = await runNotify(args);
      },
    )
    // `pkgwatch completion >/etc/bash_completion.d/pkgwatch`: yargs' own bash completion script.
    .completion('completion', 'print a bash completion script (save it as /etc/bash_completion.d/pkgwatch)')
    .demandCommand(1, 'name a command, e.g. `pkgwatch check`')
    .strict()
    .recommendCommands()
    .help()
    .version()
    .wrap(null)
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs reports its own parse errors (a missing option value) as a YError: those are usage errors.
      if (err !== undefined && err.name !== 'YError') throw err;
      const text = msg ?? err?.message ?? 'bad arguments';
      // recommendCommands() words an unknown command as a bare suggestion; say what was wrong too.
      const unknown = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
      const said = text.startsWith('Did you mean') ? `unknown command '${unknown}'. ${text}` : text;
      throw usageError(`${said} (see pkgwatch --help)`);
    })
    .parseAsync();
  return code;
}

function report(err: unknown): ExitCode {
  if (err instanceof PkgwatchError) {
    process.stderr.write(`pkgwatch: ${err.kind === 'usage' ? '' : `${err.kind} error: `}${err.message}\n`);
    return EXIT.error;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`pkgwatch: internal error (a bug; please report it with this output):\n${text}\n`);
  return EXIT.error;
}

/**
 * `pkgwatch check | head`: the reader went away. Stop at once and quietly, with the status a shell
 * gives a program killed by SIGPIPE (128 + 13), as `dpkg --verify` and `debsums` end there. Node
 * ignores SIGPIPE, so without this the write error would end the process with a stack trace.
 */
const EXIT_PIPE = 141;

const args = hideBin(process.argv);
// The agent logs to stdout for journald: losing it is not a reason to stop watching quietly.
if (args[0] !== 'agent') {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_PIPE);
    process.exitCode = report(err);
  });
}

main(args).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
