// `pkgwatch offline-helper`: run as root by pkgwatch-offline.service when the agent (unprivileged)
// records that the site goes offline; stops the units and runs the command the config names.
import path from 'node:path';
import { HELPER_RESULT_FILE, readHelperResult, readOfflineRecord, writeHelperResult, type HelperResult, type OfflineRecord } from '../respond/offlinestate.js';
import { loadConfig } from '../config/load.js';
import { takeOffline } from '../respond/actions.js';
import type { OfflineHelperArgs } from './options.js';
import { EXIT, type ExitCode } from './exit.js';
import { printable } from '../decode.js';
import { PkgwatchError } from '../errors.js';

/**
 * Acts once per request: what to do comes from the config (root's), never from the record the
 * agent wrote, so the unprivileged agent can ask for the site to go offline and nothing else. The
 * files it reads and writes are in the agent's folder: read without following links, size-capped
 * and decoded strictly; written under unique temp names and given to the agent's user.
 * Exit 0 when there was nothing to do or every step worked, 2 when a step failed or the record
 * cannot be read.
 */
export async function runOfflineHelper(args: OfflineHelperArgs): Promise<ExitCode> {
  const cfg = await loadConfig({ file: args.config });
  let record: OfflineRecord;
  try {
    record = readOfflineRecord(cfg.stateDir);
  } catch (err) {
    throw new PkgwatchError('usage', `${printable((err as Error).message)}; nothing was done`, { cause: err });
  }
  if (!record.active || record.request === null) {
    process.stdout.write('the site is not (being taken) offline: nothing to do\n');
    return EXIT.ok;
  }
  let done: HelperResult | null = null;
  try {
    done = readHelperResult(cfg.stateDir);
  } catch (err) {
    // Acting again is what the agent asked for anyway; the new result replaces the bad file.
    process.stderr.write(`pkgwatch: warning: ${printable((err as Error).message)}; acting on request ${printable(record.request)} as not yet handled\n`);
  }
  if (done?.request === record.request) {
    process.stdout.write(`request ${printable(record.request)} was handled at ${done.finished}: nothing to do\n`);
    return EXIT.ok;
  }
  const actions = await takeOffline(cfg.offline, { since: record.since ?? new Date().toISOString(), reason: record.reason ?? 'taken offline by pkgwatch' }, [
    'stop_units',
    'command',
  ]);
  for (const a of actions) process.stdout.write(`${a.ok ? 'ok' : 'FAILED'} ${a.action} ${a.target}: ${a.detail}\n`);
  try {
    writeHelperResult(cfg.stateDir, { version: 1, request: record.request, finished: new Date().toISOString(), actions });
  } catch (err) {
    const file = path.join(cfg.stateDir, HELPER_RESULT_FILE);
    throw new PkgwatchError('usage', `the steps ran (above), but their outcome could not be written to ${file}: ${(err as Error).message}`, { cause: err });
  }
  return actions.every((a) => a.ok) ? EXIT.ok : EXIT.error;
}
