// The watcher's event queue: raw events of a path merged while they wait, each classified by an lstat
// as add, change or unlink, and published in order of arrival.
import { lstat } from 'node:fs/promises';
import type { BytePath } from '../dpkg/types.js';
import { errnoCode } from '../errors.js';
import type { WatchEvent, WatchEventKind } from './types.js';

/** Queued event for one path. */
interface Pending {
  readonly host: Buffer;
  rename: boolean;
}

/** Merges and publishes path events; nothing is published after close(). */
export class EventQueue {
  private readonly pending = new Map<BytePath, Pending>();
  private flushScheduled = false;
  private closed = false;
  private readonly publish: (e: WatchEvent) => void;
  private readonly onPublishError: (p: BytePath, err: unknown) => void;

  /** `publish` gets each event; when it throws, `onPublishError` is told and the rest go on. */
  constructor(publish: (e: WatchEvent) => void, onPublishError: (p: BytePath, err: unknown) => void) {
    this.publish = publish;
    this.onPublishError = onPublishError;
  }

  /** Queues an event for `p`, whose host path `host()` gives (asked only when none is queued). */
  add(p: BytePath, host: () => Buffer, rename: boolean): void {
    if (this.closed) return;
    const e = this.pending.get(p);
    if (e !== undefined) e.rename ||= rename;
    else this.pending.set(p, { host: host(), rename });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
  }

  /** Classifies and publishes what is queued; events queued meanwhile go out in the next round. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.closed) {
        const batch = [...this.pending];
        this.pending.clear();
        const kinds = await Promise.all(batch.map(([, e]) => kindAt(e)));
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i];
          const kind = kinds[i];
          if (this.closed || item === undefined || kind === undefined) return;
          try {
            this.publish({ path: item[0], kind });
          } catch (err) {
            this.onPublishError(item[0], err);
          }
        }
      }
    } finally {
      this.flushScheduled = false;
    }
  }
}

async function kindAt(e: Pending): Promise<WatchEventKind> {
  try {
    await lstat(e.host);
    return e.rename ? 'add' : 'change';
  } catch (err) {
    const code = errnoCode(err) ?? 'EUNKNOWN';
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'unlink' : 'change';
  }
}
