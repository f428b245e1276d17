// The hashing interface the verifier uses, and its plain node:crypto implementation.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** Digests of open descriptors, each read from its position to EOF; descriptors are not closed. */
export interface FdDigests {
  /** Lowercase hex md5 per descriptor, or the Error a read threw for it. */
  readonly digests: (string | Error)[];
  readonly bytes: number[];
}

/** Hashes whole open files. One instance per thread, reused. */
export interface FdHasher {
  hashFds(fds: readonly number[]): FdDigests;
}

const READ_BUFFER_BYTES = 256 * 1024;

/** One file after another through OpenSSL's MD5 (or SHA-256), reading into one reused buffer. */
export class StreamMd5 implements FdHasher {
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly throttle: Throttle | null;

  /** `maxBytesPerSecond` > 0 paces the reads (a token bucket; sleeps block this thread only). */
  constructor(
    maxBytesPerSecond = 0,
    private readonly algorithm: 'md5' | 'sha256' = 'md5',
  ) {
    this.throttle = maxBytesPerSecond > 0 ? new Throttle(maxBytesPerSecond) : null;
  }

  hashFds(fds: readonly number[]): FdDigests {
    const digests: (string | Error)[] = [];
    const bytes: number[] = [];
    for (const fd of fds) {
      let n = 0;
      try {
        const h = createHash(this.algorithm);
        for (;;) {
          const got = readSync(fd, this.buf, 0, this.buf.length, null);
          if (got === 0) break;
          this.throttle?.take(got);
          h.update(got === this.buf.length ? this.buf : this.buf.subarray(0, got));
          n += got;
        }
        digests.push(h.digest('hex'));
      } catch (err) {
        digests.push(err instanceof Error ? err : new Error(String(err)));
      }
      bytes.push(n);
    }
    return { digests, bytes };
  }
}

/** Paces a thread to a byte rate: after each read, sleeps until the bytes read so far are due. */
class Throttle {
  private readonly started = performance.now();
  private bytes = 0;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly bytesPerSecond: number) {}

  take(n: number): void {
    this.bytes += n;
    const dueMs = (this.bytes / this.bytesPerSecond) * 1000;
    const ahead = dueMs - (performance.now() - this.started);
    // Atomics.wait is the one synchronous sleep Node allows; worker threads may use it.
    if (ahead > 1) Atomics.wait(this.sleeper, 0, 0, ahead);
  }
}
