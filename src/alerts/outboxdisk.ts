// The outbox as other processes see it: `pkgwatch online` queues alerts into it, `pkgwatch status`
// counts what is pending, both without an agent; the agent's Outbox picks the files up.
import fs from 'node:fs';
import path from 'node:path';
import { decodeAlertEvent, encodeEntry, entryFileName, errorText, isSinkDirName, parseEntryFileName } from './outboxfile.js';
import { OutboxStore } from './outboxstore.js';
import type { AlertEvent } from './sink.js';

/**
 * Queues `event` for the named sinks from another process (the `pkgwatch online` CLI): the same
 * durable files `Outbox.enqueue` writes; the agent picks them up at its next `rescan()` (at the
 * latest within a minute). Throws, naming the file, when one cannot be written.
 */
export function enqueueDurable(dir: string, sinks: readonly string[], event: AlertEvent): void {
  let checked: AlertEvent;
  try {
    checked = decodeAlertEvent(JSON.parse(JSON.stringify(event)), 'event');
  } catch (err) {
    throw new Error(`cannot queue the alert: not a valid alert event (${errorText(err)})`, { cause: err });
  }
  const queuedMs = Date.now();
  const store = new OutboxStore(dir, () => undefined);
  const owner = agentOwner(dir);
  for (const sink of new Set(sinks)) {
    if (!isSinkDirName(sink)) throw new Error(`cannot queue the alert for ${JSON.stringify(sink)}: not a sink name`);
    if (owner !== undefined) giveDirs([dir, path.join(dir, sink)], owner);
    store.write(sink, entryFileName(queuedMs, checked.id), encodeEntry(sink, queuedMs, checked), owner);
  }
}

/**
 * Root (`pkgwatch online`) queuing into the agent's outbox: the owner of state_dir (the outbox's
 * parent), so that the unprivileged agent can read and remove what root queued. Undefined otherwise.
 */
function agentOwner(dir: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const st = fs.statSync(path.dirname(dir));
    return st.uid === 0 ? undefined : { uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

/** Creates the folders (0700) that are missing and gives root-owned ones to `owner`. */
function giveDirs(dirs: readonly string[], owner: { uid: number; gid: number }): void {
  for (const d of dirs) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    if (fs.statSync(d).uid === 0) fs.chownSync(d, owner.uid, owner.gid);
  }
}

/**
 * What is queued on disk per sink folder, read without an agent (for `pkgwatch status` when the
 * agent is down, or to correct a status file that is behind): pending count and oldest queue time.
 */
export function pendingOnDisk(dir: string): Map<string, { pending: number; oldest: string | null }> {
  const out = new Map<string, { pending: number; oldest: string | null }>();
  let sinks: string[];
  try {
    sinks = fs.readdirSync(dir).filter(isSinkDirName);
  } catch {
    return out;
  }
  for (const sink of sinks) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, sink));
    } catch {
      continue;
    }
    const times = names.map(parseEntryFileName).filter((p) => p !== null).map((p) => p.queuedMs);
    out.set(sink, { pending: times.length, oldest: times.length === 0 ? null : new Date(Math.min(...times)).toISOString() });
  }
  return out;
}
