#!/usr/bin/env node
// The pkgwatch command line: parses arguments, runs one command, and is the only place that exits.
import { PkgwatchError } from '../errors.js';
import { topLevelHelp } from './commands.js';
import { EXIT, type ExitCode } from './exit.js';
import { fastParse } from './fastparse.js';
import { packageVersion } from './options.js';

/**
 * `pkgwatch --version` and `pkgwatch --help` are answered from the command table alone, plain
 * command lines are parsed without yargs (src/cli/fastparse.ts); anything else loads yargs. The
 * command that runs loads its own modules (src/cli/commands.ts).
 */
async function main(argv: string[]): Promise<ExitCode> {
  const only = argv.length === 1 ? argv[0] : undefined;
  if (only === '--version' || only === '--help') {
    process.stdout.write(only === '--version' ? `${packageVersion()}\n` : topLevelHelp());
    return EXIT.ok;
  }
  const fast = fastParse(argv);
  if (fast !== null) return fast.command.run(fast.args);
  const { parseAndRun } = await import('./parse.js');
  return parseAndRun(argv);
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

const args = process.argv.slice(2);
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
