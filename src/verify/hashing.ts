// Where a run's paths are checked: on the calling thread when they are few (one package, a
// real-time check), else on the worker pool, which costs a Node start-up per thread to begin.
import { BatchRunner } from './batch.js';
import { PathChecker } from './check.js';
import { StreamMd5 } from './md5.js';
import type { BatchProblem } from './protocol.js';
import { CheckPool, type PoolItem, type PoolProgress, type PoolResult } from './pool.js';

/**
 * Up to this many paths are checked on the calling thread. Starting a worker costs about as much
 * CPU as checking a few hundred small files, and a package of this size is mostly small files; a
 * run that grows past it moves to the pool, with what it had queued.
 */
export const INLINE_MAX_ITEMS = 256;

export interface HashingOptions {
  readonly root: string;
  readonly jobs: number;
  readonly onProgress?: ((p: PoolProgress) => void) | undefined;
  readonly maxBytesPerSecond: number;
  readonly sizes: boolean;
  /**
   * Start the pool at once (a full check: many paths for certain, and the workers start while the
   * database loads); otherwise it starts only if the run grows past INLINE_MAX_ITEMS.
   */
  readonly eager: boolean;
}

/** CheckPool's interface (add, close, done, abort, terminate), choosing the thread at the end. */
export class Hashing {
  private pool: CheckPool | null = null;
  private readonly queued: PoolItem[] = [];
  private closed = false;
  private aborted: Error | null = null;
  private resolve!: (r: PoolResult) => void;
  private reject!: (e: Error) => void;
  /** Resolves when every added item is checked after `close()`. */
  readonly done: Promise<PoolResult>;

  constructor(private readonly opts: HashingOptions) {
    this.done = new Promise<PoolResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => undefined);
    // A throttled run sleeps between reads: never on the calling thread, whose event loop it would stop.
    if (opts.eager || opts.maxBytesPerSecond > 0) this.startPool();
  }

  add(items: readonly PoolItem[]): void {
    if (this.closed) throw new Error('Hashing.add after close');
    if (this.pool !== null) {
      this.pool.add(items);
      return;
    }
    for (const it of items) this.queued.push(it);
    if (this.queued.length > INLINE_MAX_ITEMS) {
      const pool = this.startPool();
      pool.add(this.queued.splice(0));
    }
  }

  close(): void {
    this.closed = true;
    if (this.pool !== null) {
      this.pool.close();
      return;
    }
    if (this.aborted !== null) return;
    try {
      this.resolve(this.runInline());
    } catch (err) {
      this.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  abort(err: Error): void {
    this.aborted = err;
    if (this.pool !== null) this.pool.abort(err);
    else this.reject(err);
  }

  async terminate(): Promise<void> {
    await this.pool?.terminate();
  }

  private startPool(): CheckPool {
    const o = this.opts;
    const pool = new CheckPool(o.root, o.jobs, o.onProgress, o.maxBytesPerSecond, o.sizes);
    pool.done.then(this.resolve, this.reject);
    this.pool = pool;
    return pool;
  }

  /** Checks the queued items here, as one worker would: one batch, then the big files it held. */
  private runInline(): PoolResult {
    const items = this.queued;
    const runner = new BatchRunner(new PathChecker(this.opts.root), new StreamMd5(), this.opts.sizes);
    const batch = runner.run({
      type: 'batch',
      id: 0,
      base: 0,
      paths: items.map((it) => it.path),
      md5s: items.map((it) => it.md5 ?? ''),
      ...(this.opts.sizes ? { sizes: items.map((it) => it.size ?? -1) } : {}),
    });
    const problems = new Map<number, BatchProblem>();
    const regular = new Set<number>();
    const verified = new Map<number, number>();
    let bytes = 0;
    for (const r of [batch, runner.flush(1)]) {
      for (const p of r.problems) problems.set(p.i, p);
      for (const i of r.regular) regular.add(i);
      for (let k = 0; k + 1 < r.verified.length; k += 2) verified.set(r.verified[k] as number, r.verified[k + 1] as number);
      bytes += r.bytes;
    }
    this.opts.onProgress?.({ itemsDone: items.length, itemsTotal: items.length, bytesDone: bytes });
    return { problems, regular, verified, bytes };
  }
}
