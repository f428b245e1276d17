// `pkgwatch agent`: runs the agent in the foreground until SIGTERM; SIGHUP reloads the config.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { Agent } from '../agent/agent.js';
import { Logger } from '../agent/log.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { PkgwatchError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';

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

/** The configuration with `--state-dir` applied. */
export function loadStateConfig(args: { config: string | undefined; stateDir: string | undefined }): Promise<ResolvedConfig> {
  return loadConfig({ file: args.config, overrides: args.stateDir === undefined ? {} : { stateDir: args.stateDir } });
}

export function agentOptions(y: Argv): Argv<AgentArgs> {
  return configOption(y)
    .option('root', { describe: 'verify the system under DIR (overrides `root`)', type: 'string', requiresArg: true })
    .option('state-dir', { describe: 'keep state in DIR (overrides `state_dir`)', type: 'string', requiresArg: true })
    .option('log-format', { describe: 'log lines as text or one JSON object per line', choices: ['text', 'json'] as const, default: 'text' as const }) as unknown as Argv<AgentArgs>;
}

/** The package version, for the start-up log line. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs the agent; resolves with the exit code after SIGTERM or SIGINT. */
export async function runAgent(args: AgentArgs): Promise<ExitCode> {
  const overrides = { ...(args.root === undefined ? {} : { root: args.root }), ...(args.stateDir === undefined ? {} : { stateDir: args.stateDir }) };
  const load = (): ReturnType<typeof loadConfig> => loadConfig({ file: args.config, overrides });
  const config = await load();
  const logger = new Logger({ format: args.logFormat, journal: process.env['JOURNAL_STREAM'] !== undefined });
  const agent = new Agent({ config, logger, version: packageVersion() });
  // Signals are handled from the first moment: a SIGTERM or SIGHUP during start-up must not kill
  // the agent with the default action; both wait until start-up is over.
  let started = false;
  let stopRequested = false;
  let finish: (code: ExitCode) => void = () => undefined;
  const done = new Promise<ExitCode>((resolve) => {
    finish = resolve;
  });
  let reloading = Promise.resolve();
  const onHup = (): void => {
    if (!started) return; // start-up reads the config anyway
    reloading = reloading.then(async () => {
      try {
        await agent.reload(await load());
      } catch (err) {
        // A bad edit never stops a running agent: it keeps the config it has and says why.
        const message = err instanceof PkgwatchError ? err.message : String(err);
        logger.log({ kind: 'config.invalid', message });
        agent.configInvalid(message);
      }
    });
  };
  const stop = (): void => {
    process.off('SIGHUP', onHup);
    void reloading.then(() => agent.close()).then(() => finish(EXIT.ok));
  };
  const onStop = (): void => {
    stopRequested = true;
    if (started) stop();
  };
  process.on('SIGHUP', onHup);
  process.once('SIGTERM', onStop);
  process.once('SIGINT', onStop);
  try {
    await agent.start();
  } catch (err) {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    await agent.close().catch(() => undefined);
    throw err;
  }
  started = true;
  if (stopRequested) stop();
  return done;
}
