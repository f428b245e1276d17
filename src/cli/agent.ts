// `pkgwatch agent`: runs the agent in the foreground until SIGTERM; SIGHUP reloads the config.
import { Agent } from '../agent/agent.js';
import { Logger } from '../agent/log.js';
import { loadConfig } from '../config/load.js';
import { PkgwatchError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';
import { packageVersion, type AgentArgs } from './options.js';

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
