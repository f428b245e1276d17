// A worker's batch logic: checks paths, hashes small files per batch and big files in groups, so
// multi-lane hashing always has several files to work on at once.
import { closeSync } from 'node:fs';
import { isOpened, judgeDigest, sizeDiffers, type CheckOutcome, type PathChecker } from './check.js';
import { StreamMd5, type FdHasher } from './md5.js';
import { LANES } from './md5simd.js';
import type { BatchProblem, BatchRequest, BatchResult } from './protocol.js';

/**
 * Files this large are held open and hashed together with other big files: three quarters of a
 * Debian system's bytes sit in a few hundred such files, and hashing them side by side is what
 * keeps every lane busy.
 */
const BIG_FILE_BYTES = 1 << 20;
/** Big files held open at most before they are hashed: bounds open descriptors per worker. */
const BIG_GROUP_MAX = 64;

interface Pending {
  readonly i: number;
  readonly fd: number;
  readonly size: number;
  readonly md5: string;
}

/** Runs batches on one thread; holds big files across batches until a group is full or flushed. */
export class BatchRunner {
  private big: Pending[] = [];
  private bigBytes = 0;
  private bigMax = 0;

  /** `sizes`: batches carry known sizes, and results report the sizes of files that verified. */
  constructor(
    private readonly checker: PathChecker,
    private readonly hasher: FdHasher,
    private readonly sizes = false,
    /** For expected hashes of 64 hex digits (`check --signed --sha256`): SHA-256, file by file. */
    private readonly sha256: FdHasher = new StreamMd5(0, 'sha256'),
  ) {}

  /** Number of big files waiting to be hashed. */
  get deferred(): number {
    return this.big.length;
  }

  run(req: BatchRequest): BatchResult {
    const out = new Collector(this.sizes);
    const small: Pending[] = [];
    for (let k = 0; k < req.paths.length; k++) {
      const i = req.base + k;
      const path = req.paths[k] as string;
      const md5 = req.md5s[k] ?? '';
      if (md5 === '') {
        const o = this.checker.exists(path);
        out.add(i, o);
        if (o.status === null && o.kind === 'file') out.regular.push(i);
        continue;
      }
      const opened = this.checker.open(path);
      if (!isOpened(opened)) {
        out.add(i, opened);
        continue;
      }
      // A big file whose size is not the one on record is changed without being read; a small one
      // is hashed still (it costs nothing, and the finding then carries the md5 found).
      const known = req.sizes?.[k] ?? -1;
      if (known >= 0 && opened.size !== known && opened.size >= BIG_FILE_BYTES) {
        closeSync(opened.fd);
        out.add(i, sizeDiffers(known, opened.size));
        continue;
      }
      const p = { i, fd: opened.fd, size: opened.size, md5 };
      if (md5.length === 64) {
        this.hashWith(this.sha256, [p], out);
        continue;
      }
      if (opened.size >= BIG_FILE_BYTES) {
        this.big.push(p);
        this.bigBytes += p.size;
        this.bigMax = Math.max(this.bigMax, p.size);
      } else {
        small.push(p);
      }
    }
    this.hash(small, out);
    // Early once there is a file per lane and the largest is at most 1/LANES of the group's bytes:
    // it then does not run alone in one lane for long after the others end.
    const balanced = this.big.length >= LANES && this.bigBytes >= LANES * this.bigMax;
    if (balanced || this.big.length >= BIG_GROUP_MAX) this.hashBig(out);
    return out.result(req.id, this.big.length);
  }

  /** Hashes every big file still held. */
  flush(id: number): BatchResult {
    const out = new Collector(this.sizes);
    this.hashBig(out);
    return out.result(id, 0);
  }

  private hashBig(out: Collector): void {
    const group = this.big;
    this.big = [];
    this.bigBytes = 0;
    this.bigMax = 0;
    this.hash(group, out);
  }

  /** Hashes a group, largest first (so lanes finish together), and closes every descriptor. */
  private hash(group: Pending[], out: Collector): void {
    this.hashWith(this.hasher, group, out);
  }

  private hashWith(hasher: FdHasher, group: Pending[], out: Collector): void {
    if (group.length === 0) return;
    group.sort((a, b) => b.size - a.size);
    try {
      const r = hasher.hashFds(group.map((p) => p.fd));
      group.forEach((p, k) => {
        const o = judgeDigest(p.md5, r.digests[k] ?? new Error('no digest'), r.bytes[k] ?? 0);
        out.add(p.i, o);
        // The bytes that matched the md5 are the file's size: what a later check compares with.
        if (o.status === null) out.verify(p.i, o.bytes);
      });
    } finally {
      for (const p of group) closeSync(p.fd);
    }
  }
}

class Collector {
  readonly problems: BatchProblem[] = [];
  readonly regular: number[] = [];
  readonly verified: number[] = [];
  bytes = 0;
  completed = 0;

  constructor(private readonly sizes: boolean) {}

  verify(i: number, size: number): void {
    if (this.sizes) this.verified.push(i, size);
  }

  add(i: number, o: CheckOutcome): void {
    this.completed++;
    this.bytes += o.bytes;
    if (o.status !== null) this.problems.push({ i, status: o.status, actual: o.actual, detail: o.detail });
  }

  result(id: number, deferred: number): BatchResult {
    return { id, completed: this.completed, deferred, problems: this.problems, bytes: this.bytes, regular: this.regular, verified: this.verified };
  }
}
