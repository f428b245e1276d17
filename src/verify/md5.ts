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

/** One file after another through OpenSSL's MD5, reading into one reused buffer. */
export class StreamMd5 implements FdHasher {
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  hashFds(fds: readonly number[]): FdDigests {
    const digests: (string | Error)[] = [];
    const bytes: number[] = [];
    for (const fd of fds) {
      let n = 0;
      try {
        const h = createHash('md5');
        for (;;) {
          const got = readSync(fd, this.buf, 0, this.buf.length, null);
          if (got === 0) break;
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
