// `pkgwatch offline-helper`: run as root by pkgwatch-offline.service when the agent (unprivileged)
// records that the site goes offline; stops the units and runs the command the config names.
import type { Argv } from 'yargs';
import { readHelperResult, readOfflineRecord, writeHelperResult } from '../respond/offlinestate.js';
import { loadConfig } from '../config/load.js';
import { takeOffline } from '../respond/actions.js';
import { configOption } from './agent.js';
import { EXIT, type ExitCode } from './exit.js';

export interface OfflineHelperArgs {
  config: string | undefined;
}

export function offlineHelperOptions(y: Argv): Argv<OfflineHelperArgs> {
  return configOption(y);
}

/**
 * Acts once per request: what to do comes from the config (root's), never from the record the
 * agent wrote, so the unprivileged agent can ask for the site to go offline and nothing else.
 * Exit 0 when there was nothing to do or every step worked, 2 when a step failed.
 */
export async function runOfflineHelper(args: OfflineHelperArgs): Promise<ExitCode> {
  const cfg = await loadConfig({ file: args.config });
  const record = readOfflineRecord(cfg.stateDir);
  if (!record.active || record.request === null) {
    process.stdout.write('the site is not (being taken) offline: nothing to do\n');
    return EXIT.ok;
  }
  const done = readHelperResult(cfg.stateDir);
  if (done?.request === record.request) {
    process.stdout.write(`request ${record.request} was handled at ${done.finished}: nothing to do\n`);
    return EXIT.ok;
  }
  const actions = await takeOffline(cfg.offline, { since: record.since ?? new Date().toISOString(), reason: record.reason ?? 'taken offline by pkgwatch' }, [
    'stop_units',
    'command',
  ]);
  writeHelperResult(cfg.stateDir, { version: 1, request: record.request, finished: new Date().toISOString(), actions });
  for (const a of actions) process.stdout.write(`${a.ok ? 'ok' : 'FAILED'} ${a.action} ${a.target}: ${a.detail}\n`);
  return actions.every((a) => a.ok) ? EXIT.ok : EXIT.error;
}
