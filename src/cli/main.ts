#!/usr/bin/env node
// The pkgwatch command line: parses arguments, runs one command, and is the only place that exits.
import { setFlagsFromString } from 'node:v8';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PkgwatchError, usageError } from '../errors.js';
import { checkOptions, runCheck } from './check.js';
import { EXIT, type ExitCode } from './exit.js';

// Reading ~1,400 info files makes short-lived garbage; a 1 MB young generation (V8's default
// grows to 16 MB) trims a few MB off the peak RSS of a full check at no measurable cost.
setFlagsFromString('--max-semi-space-size=1');

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
    .demandCommand(1, 'name a command, e.g. `pkgwatch check`')
    .strict()
    .recommendCommands()
    .help()
    .version()
    .wrap(null)
    .fail((msg: string | null, err: Error | undefined) => {
      if (err !== undefined) throw err;
      const text = msg ?? 'bad arguments';
      // recommendCommands() words an unknown command as a bare suggestion; say what was wrong too.
      const said = text.startsWith('Did you mean') ? `unknown command '${argv[0] ?? ''}'. ${text}` : text;
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

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
