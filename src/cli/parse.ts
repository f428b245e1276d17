// Parses a command line with yargs from the command table and runs the command it names.
import yargs, { type Argv } from 'yargs';
import { usageError } from '../errors.js';
import { COMMANDS, COMPLETION, SCRIPT, USAGE, type Command } from './commands.js';
import { EXIT, type ExitCode } from './exit.js';
import { packageVersion } from './options.js';

/** Registers `commands` on `y`; the one that runs hands its exit code to `done`. */
function register(y: Argv, commands: readonly Command[], done: (code: ExitCode) => void): Argv {
  let out = y;
  for (const c of commands) {
    out =
      'subcommands' in c
        ? out.command(c.command, c.describe, (s) => register(c.options === undefined ? s : (c.options(s) as Argv), c.subcommands, done).demandCommand(1, c.demand))
        : out.command(c.command, c.describe, c.options, async (args) => {
            done(await c.run(args));
          });
  }
  return out;
}

/**
 * yargs renders the running command's whole help text before the command runs, only to keep it for
 * a later showHelp(), which pkgwatch never calls once a command runs (its failures print no help).
 * That rendering costs more CPU than the parsing; yargs has no switch for it, so this replaces the
 * (internal) method, and does nothing if a yargs version no longer has it.
 */
function skipHelpCache(y: Argv): Argv {
  type Usage = { cacheHelpMessage?: unknown };
  const internal = (y as unknown as { getInternalMethods?: () => { getUsageInstance?: () => Usage | undefined } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = (): void => undefined;
  return y;
}

/** The whole command line parser; `done` receives the exit code of the command that ran. */
export function commandLine(argv: readonly string[], done: (code: ExitCode) => void, commands: readonly Command[] = COMMANDS): Argv {
  return register(skipHelpCache(yargs([...argv])).scriptName(SCRIPT).usage(USAGE), commands, done)
    .completion(COMPLETION.command, COMPLETION.describe)
    .demandCommand(1, 'name a command, e.g. `pkgwatch check`')
    .strict()
    .recommendCommands()
    .help()
    .version(packageVersion())
    .wrap(null)
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs reports its own parse errors (a missing option value) as a YError: those are usage errors.
      if (err !== undefined && err.name !== 'YError') throw err;
      const text = msg ?? err?.message ?? 'bad arguments';
      // recommendCommands() words an unknown command as a bare suggestion; say what was wrong too.
      const unknown = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
      const said = text.startsWith('Did you mean') ? `unknown command '${unknown}'. ${text}` : text;
      throw usageError(`${said} (see pkgwatch --help)`);
    });
}

/** Parses `argv` and runs the command it names; resolves with its exit code. */
export async function parseAndRun(argv: readonly string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  await commandLine(argv, (c) => {
    code = c;
  }).parseAsync();
  return code;
}
