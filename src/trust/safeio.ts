// Opening files others may have planted (apt's lists and cache): regular files only, no links followed, sizes capped.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { osErrorText } from '../errors.js';

/** A regular file opened for reading, with its size at open time. */
export interface OpenedRegular {
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens `file` with O_NOFOLLOW|O_NONBLOCK (a symlink fails, a FIFO cannot block) and checks with
 * fstat that it is a regular file. Throws an Error whose message is `CODE: description`.
 */
export async function openRegular(file: string): Promise<OpenedRegular> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw Object.assign(new Error('EINVAL: not a regular file'), { code: 'EINVAL' });
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Chunk size for streaming reads: large enough for throughput, small enough to hash as it comes. */
export const CHUNK = 1 << 20;

/** Reads the file in chunks (fresh buffers, so callers may keep them), stopping after `max` bytes with an error. */
export async function* readChunks(h: FileHandle, max: number): AsyncGenerator<Buffer> {
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await h.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) return;
    total += bytesRead;
    if (total > max) throw new Error(`larger than ${max} bytes`);
    yield buf.subarray(0, bytesRead);
  }
}

/** Reads a whole regular file of at most `max` bytes; null when it does not exist. */
export async function readCapped(file: string, max: number): Promise<Buffer | null> {
  let opened: OpenedRegular;
  try {
    opened = await openRegular(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new Error(osErrorText(err), { cause: err });
  }
  try {
    if (opened.size > max) throw new Error(`the file is ${opened.size} bytes, more than the ${max} accepted`);
    const parts: Buffer[] = [];
    for await (const c of readChunks(opened.handle, max)) parts.push(c);
    return Buffer.concat(parts);
  } finally {
    await opened.handle.close();
  }
}
