// Decompression of .deb members and apt's index files: gz in-process, xz, zstd and lz4 by their tools.
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { errnoCode } from '../errors.js';

/** The compressions pkgwatch reads. */
export type Compression = 'none' | 'gz' | 'xz' | 'zstd' | 'lz4';

/** The compression a file name's suffix says (`control.tar.xz`, `..._Packages.lz4`); null when unknown. */
export function compressionOf(name: string, base: string): Compression | null {
  if (name === base) return 'none';
  const suffix = name.startsWith(`${base}.`) ? name.slice(base.length + 1) : null;
  switch (suffix) {
    case 'gz':
      return 'gz';
    case 'xz':
      return 'xz';
    case 'zst':
      return 'zstd';
    case 'lz4':
      return 'lz4';
    default:
      return null;
  }
}

/** The Debian package that provides each external decompressor (for "install it" messages). */
const TOOLS: Readonly<Record<'xz' | 'zstd' | 'lz4', { argv: readonly string[]; pkg: string }>> = {
  // xz's memory limit refuses streams that claim a huge dictionary instead of allocating it.
  xz: { argv: ['xz', '--decompress', '--stdout', '--memlimit-decompress=512MiB', '--quiet'], pkg: 'xz-utils' },
  zstd: { argv: ['zstd', '--decompress', '--stdout', '--quiet', '--memory=512MB'], pkg: 'zstd' },
  lz4: { argv: ['lz4', '--decompress', '--stdout', '--quiet'], pkg: 'lz4' },
};

/** Thrown when input does not decompress, grows beyond its limit, or the tool is missing. */
export class DecompressError extends Error {
  override readonly name = 'DecompressError';
}

/** A decompressor fed by `write` (which waits while the decoder is busy); output goes to `onData`. */
export interface Decoder {
  write(chunk: Buffer): Promise<void>;
  /** Ends the input and resolves once all output was delivered; rejects on a decoding error. */
  end(): Promise<void>;
  /** Stops at once (the consumer gave up); later calls reject. */
  abort(): void;
}

/**
 * A decoder for `kind`. Output beyond `maxOut` bytes stops it with an error, so a decompression
 * bomb costs bounded time and nothing else. xz, zstd and lz4 run as child processes (argv, no
 * shell) with stdin and stdout as pipes.
 */
export function createDecoder(kind: Compression, onData: (chunk: Buffer) => void, maxOut: number): Decoder {
  let out = 0;
  let failure: Error | null = null;
  const deliver = (chunk: Buffer, stop: () => void): void => {
    if (failure !== null) return;
    out += chunk.length;
    if (out > maxOut) {
      failure = new DecompressError(`it decompresses to more than ${maxOut} bytes`);
      stop();
      return;
    }
    try {
      onData(chunk);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      stop();
    }
  };
  if (kind === 'none') {
    return {
      write: (chunk) => {
        deliver(chunk, () => undefined);
        return failure === null ? Promise.resolve() : Promise.reject(failure);
      },
      end: () => (failure === null ? Promise.resolve() : Promise.reject(failure)),
      abort: () => {
        failure ??= new DecompressError('aborted');
      },
    };
  }
  if (kind === 'gz') {
    const z = createGunzip();
    const done = new Promise<void>((resolve, reject) => {
      z.on('data', (c: Buffer) => deliver(c, () => z.destroy()));
      z.on('end', () => (failure === null ? resolve() : reject(failure)));
      z.on('close', () => (failure === null ? resolve() : reject(failure)));
      z.on('error', (err) => reject(failure ?? new DecompressError(`gzip: ${err.message}`)));
    });
    done.catch(() => undefined);
    return streamDecoder(
      z,
      done,
      () => failure,
      () => z.destroy(),
    );
  }
  const tool = TOOLS[kind];
  const child = spawn(tool.argv[0] as string, tool.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const done = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => deliver(c, () => child.kill('SIGKILL')));
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString('utf8');
    });
    child.on('error', (err) => {
      const missing = errnoCode(err) === 'ENOENT';
      failure ??= new DecompressError(missing ? `${tool.argv[0]} is not installed (apt-get install ${tool.pkg})` : `${tool.argv[0]}: ${err.message}`);
      reject(failure);
    });
    child.on('close', (code, signal) => {
      if (failure !== null) reject(failure);
      else if (code === 0) resolve();
      else {
        const why = stderr.trim().split('\n')[0] ?? '';
        reject(new DecompressError(`${tool.argv[0]} failed (${code === null ? `signal ${signal ?? '?'}` : `exit ${code}`})${why === '' ? '' : `: ${why}`}`));
      }
    });
  });
  done.catch(() => undefined);
  // The tool may exit early on bad input: writes then fail with EPIPE, which `done` reports better.
  child.stdin.on('error', () => undefined);
  return streamDecoder(
    child.stdin,
    done,
    () => failure,
    () => child.kill('SIGKILL'),
  );
}

function streamDecoder(input: NodeJS.WritableStream, done: Promise<void>, failed: () => Error | null, kill: () => void): Decoder {
  let aborted = false;
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        const f = failed();
        if (f !== null || aborted) {
          reject(f ?? new DecompressError('aborted'));
          return;
        }
        // Resolve on drain or on the end of the decoder, whichever comes first (a dead tool never drains).
        const ok = input.write(chunk);
        if (ok) resolve();
        else {
          const onDrain = (): void => resolve();
          input.once('drain', onDrain);
          done.then(
            () => {
              input.removeListener('drain', onDrain);
              resolve();
            },
            (err: unknown) => {
              input.removeListener('drain', onDrain);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
        }
      }),
    end: () => {
      input.end();
      return done;
    },
    abort: () => {
      aborted = true;
      kill();
    },
  };
}

/** Decompresses a whole buffer (a control.tar member), refusing more than `maxOut` bytes of output. */
export async function decompressBuffer(kind: Compression, input: Buffer, maxOut: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const d = createDecoder(kind, (c) => parts.push(Buffer.from(c)), maxOut);
  try {
    await d.write(input);
    await d.end();
  } catch (err) {
    d.abort();
    throw err;
  }
  return Buffer.concat(parts);
}
