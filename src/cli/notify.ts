// `pkgwatch notify dpkg-start|dpkg-end`: what the dpkg hook runs, so the agent knows an upgrade
// is in progress before dpkg's lock shows in /proc/locks.
import type { Argv } from 'yargs';
import { markDpkgEnd, markDpkgStart } from '../dpkgrun/marker.js';
import { loadStateConfig, stateDirOptions } from './agent.js';
import { EXIT, type ExitCode } from './exit.js';

export const NOTIFY_EVENTS = ['dpkg-start', 'dpkg-end'] as const;

export interface NotifyArgs {
  event: (typeof NOTIFY_EVENTS)[number];
  config: string | undefined;
  stateDir: string | undefined;
}

export function notifyOptions(y: Argv): Argv<NotifyArgs> {
  return stateDirOptions(y).positional('event', { describe: 'what happened', choices: NOTIFY_EVENTS, demandOption: true });
}

export async function runNotify(args: NotifyArgs): Promise<ExitCode> {
  const config = await loadStateConfig(args);
  if (args.event === 'dpkg-start') markDpkgStart(config.stateDir);
  else markDpkgEnd(config.stateDir);
  return EXIT.ok;
}
