// The inotify plumbing through chokidar: one watch on one directory alone (no per-file watches, no
// chokidar events of its own), waiting for it to be set up, and telling whether it really holds.
import { lstat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';

/** A chokidar watcher that neither gets ready nor fails in this long is counted as failed. */
const READY_TIMEOUT_MS = 30_000;

/** Starts a chokidar watcher on the directory `key` (UTF-8 host path) alone. */
export function createDirWatch(key: string): FSWatcher {
  return watch(key, {
    // Not persistent: chokidar shares persistent fs.watch handles between its watchers by path,
    // and a shared handle on a directory that was deleted stays dead when one of them re-adds it.
    // So the watcher does not keep the process alive by itself.
    persistent: false,
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
    depth: 0,
    ignorePermissionErrors: false,
    // Only the directory itself: chokidar then keeps no watch per file and emits no events of its own.
    ignored: (p: string) => p !== key,
  });
}

/**
 * Waits until `fsw` is set up, failed or timed out; returns the first error seen meanwhile (or null).
 * Until the watch is set up, an error means it failed (ENOSPC comes from fs.watch itself, just
 * before chokidar would have got ready); errors after that go to `onLateError`, one by one.
 */
export async function untilReady(fsw: FSWatcher, onLateError: (err: unknown) => void): Promise<unknown> {
  let settled = false;
  let firstError: unknown = null;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, READY_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    fsw.once('ready', done);
    fsw.on('error', (err: unknown) => {
      if (settled) {
        onLateError(err);
        return;
      }
      firstError ??= err;
      setImmediate(done);
    });
  });
  settled = true;
  return firstError;
}

/** Whether `fsw` really watches `key`: chokidar keeps a closer per path it watches; none means fs.watch failed. */
export function holds(fsw: FSWatcher, key: string): boolean {
  return fsw._closers.has(key);
}

/** The inode number at host path `host` (bytes as latin1), or null when nothing is there. */
export async function inoOf(host: string): Promise<bigint | null> {
  try {
    return (await lstat(Buffer.from(host, 'latin1'), { bigint: true })).ino;
  } catch {
    return null;
  }
}
