// `pkgwatch notify dpkg-start|dpkg-end`: what the dpkg hook runs, so the agent knows an upgrade
// is in progress before dpkg's lock shows in /proc/locks.
import { markDpkgEnd, markDpkgStart } from '../dpkgrun/marker.js';
import type { NotifyArgs } from './options.js';
import { loadStateConfig } from './stateconfig.js';
import { EXIT, type ExitCode } from './exit.js';

export async function runNotify(args: NotifyArgs): Promise<ExitCode> {
  const config = await loadStateConfig(args);
  if (args.event === 'dpkg-start') markDpkgStart(config.stateDir);
  else markDpkgEnd(config.stateDir);
  return EXIT.ok;
}
