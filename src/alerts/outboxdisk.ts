// The outbox as other processes see it: `pkgwatch online` queues alerts into it, `pkgwatch status`
// counts what is pending, both without an agent and as root; the agent's Outbox picks the files up.
import path from 'node:path';
import { SafeDir, inDir } from '../safedir.js';
import { decodeAlertEvent, encodeEntry, entryFileName, errorText, isSinkDirName, parseEntryFileName } from './outboxfile.js';
import type { AlertEvent } from './sink.js';

/**
 * Queues `event` for the named sinks from another process (the `pkgwatch online` CLI): the same
 * durable files `Outbox.enqueue` writes; the agent picks them up at its next `rescan()` (at the
 * latest within a minute). `dir` is the outbox in the agent's state dir: the state dir's path is
 * trusted, everything in it is opened without following links. Run as root, the folders it has to
 * create and the files it writes go to the state dir's owner (the agent's user) through their own
 * descriptors; a folder there that is a link, or owned by someone else, is refused. Throws, naming
 * the file or folder, when one cannot be written.
 */
export function enqueueDurable(dir: string, sinks: readonly string[], event: AlertEvent): void {
  let checked: AlertEvent;
  try {
    checked = decodeAlertEvent(JSON.parse(JSON.stringify(event)), 'event');
  } catch (err) {
    throw new Error(`cannot queue the alert: not a valid alert event (${errorText(err)})`, { cause: err });
  }
  for (const sink of sinks) {
    if (!isSinkDirName(sink)) throw new Error(`cannot queue the alert for ${JSON.stringify(sink)}: not a sink name`);
  }
  const queuedMs = Date.now();
  const name = entryFileName(queuedMs, checked.id);
  const state = SafeDir.open(path.dirname(dir));
  try {
    const outbox = openDir(state, path.basename(dir));
    try {
      for (const sink of new Set(sinks)) {
        const folder = openDir(outbox, sink);
        try {
          folder.writeAtomic(name, encodeEntry(sink, queuedMs, checked), 0o600);
        } catch (err) {
          throw new Error(`cannot write ${folder.show(name)}: ${errorText(err)}`, { cause: err });
        } finally {
          folder.close();
        }
      }
    } finally {
      outbox.close();
    }
  } finally {
    state.close();
  }
}

function openDir(parent: SafeDir, name: string): SafeDir {
  const d = parent.dir(name, true);
  if (d === null) throw new Error(`internal error: ${parent.show(name)} was not created`);
  return d;
}

/**
 * What is queued on disk per sink folder, read without an agent (for `pkgwatch status` when the
 * agent is down, or to correct a status file that is behind): pending count and oldest queue time.
 * Only names are read, and no link is followed. Throws an Error naming the folder when the outbox
 * or a sink folder in it is a link or not a folder.
 */
export function pendingOnDisk(dir: string): Map<string, { pending: number; oldest: string | null }> {
  const out = new Map<string, { pending: number; oldest: string | null }>();
  return inDir(path.dirname(dir), out, (state) => {
    const outbox = state.dir(path.basename(dir), false);
    if (outbox === null) return out;
    try {
      for (const sink of outbox.names().filter(isSinkDirName)) {
        const folder = outbox.dir(sink, false);
        if (folder === null) continue;
        try {
          const times = folder.names().map(parseEntryFileName).filter((p) => p !== null).map((p) => p.queuedMs);
          out.set(sink, { pending: times.length, oldest: times.length === 0 ? null : new Date(Math.min(...times)).toISOString() });
        } finally {
          folder.close();
        }
      }
    } finally {
      outbox.close();
    }
    return out;
  });
}
