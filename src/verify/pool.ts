// The hashing worker pool: a queue that accepts paths while the database is still loading and
// hands them to worker threads in batches on demand, so no thread waits for another.
import { Worker } from 'node:worker_threads';
import type { BytePath } from '../dpkg/types.js';
import type { BatchProblem, BatchRequest, BatchResult, FlushRequest, WorkerInit } from './protocol.js';

/** One path to check: `md5` null means existence only. */
export interface PoolItem {
  readonly path: BytePath;
  readonly md5: string | null;
  /** With sizes on: the size the file had when it last verified with this md5 (absent or -1: none). */
  readonly size?: number;
}

/** Progress after each finished batch. */
export interface PoolProgress {
  readonly itemsDone: number;
  readonly itemsTotal: number;
  readonly bytesDone: number;
}

export interface PoolResult {
  /** Problems keyed by the index of the item, in the order items were added. */
  readonly problems: ReadonlyMap<number, BatchProblem>;
  /** Indexes of existence-only items that are regular files. */
  readonly regular: ReadonlySet<number>;
  /** With sizes on: the size of each hashed item that verified, by index. */
  readonly verified: ReadonlyMap<number, number>;
  readonly bytes: number;
}

/**
 * A batch is a few hundred paths (messaging costs little), fewer near the end of the run so the
 * threads finish together.
 */
const MAX_BATCH = 256;
const MIN_BATCH = 8;
/** Batches queued per worker, so a worker never waits for the main thread between two. */
const IN_FLIGHT = 2;
/** Young-generation size of each worker's heap, in MB (V8's default is 16 MB or more). */
const WORKER_YOUNG_GEN_MB = 4;

interface Slot {
  readonly worker: Worker;
  inFlight: number;
  deferred: number;
}

/** Checks paths under one root on `jobs` worker threads. Add items, close, await `done`. */
export class CheckPool {
  private readonly items: PoolItem[] = [];
  private readonly slots: Slot[] = [];
  private readonly problems = new Map<number, BatchProblem>();
  private readonly regular = new Set<number>();
  private readonly verified = new Map<number, number>();
  private next = 0;
  private nextId = 0;
  private completed = 0;
  private bytes = 0;
  private closed = false;
  private settled = false;
  private resolve!: (r: PoolResult) => void;
  private reject!: (e: Error) => void;
  /** Resolves when every added item is checked after `close()`; rejects if a worker dies. */
  readonly done: Promise<PoolResult>;

  constructor(
    root: string,
    jobs: number,
    private readonly onProgress?: (p: PoolProgress) => void,
    maxBytesPerSecond = 0,
    /** Pass known sizes to the workers (PoolItem.size) and collect the sizes of files that verified. */
    private readonly sizes = false,
  ) {
    this.done = new Promise<PoolResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // Never an unhandled rejection if the caller fails before awaiting `done`.
    this.done.catch(() => undefined);
    const workers = Math.max(1, jobs);
    // A throttle is shared evenly: each worker keeps to its part of the rate.
    const init: WorkerInit = { root, maxBytesPerSecond: maxBytesPerSecond > 0 ? maxBytesPerSecond / workers : 0, sizes };
    for (let k = 0; k < workers; k++) {
      // Workers allocate little but short-lived objects; a small young generation keeps RSS down.
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: init,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GEN_MB },
      });
      const slot: Slot = { worker, inFlight: 0, deferred: 0 };
      worker.on('message', (res: BatchResult) => this.onResult(slot, res));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.settled) this.fail(new Error(`hashing worker exited with code ${code} before the run finished`));
      });
      this.slots.push(slot);
    }
  }

  /** Queues paths; their indexes continue from the previous call's. */
  add(items: readonly PoolItem[]): void {
    if (this.closed) throw new Error('CheckPool.add after close');
    for (const it of items) this.items.push(it);
    for (const s of this.slots) this.dispatch(s);
  }

  /** No more items: the run ends when the queued ones are checked. */
  close(): void {
    this.closed = true;
    for (const s of this.slots) this.dispatch(s);
    this.maybeFinish();
  }

  /** Ends the run now: `done` rejects with `err` and the workers stop. */
  abort(err: Error): void {
    this.fail(err);
    void this.terminate();
  }

  /** Stops every worker; safe to call more than once. */
  async terminate(): Promise<void> {
    this.settled = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(s: Slot): void {
    while (s.inFlight < IN_FLIGHT) {
      const queued = this.items.length - this.next;
      if (queued >= MAX_BATCH || (queued > 0 && (this.closed || s.inFlight === 0))) {
        this.sendBatch(s, queued);
      } else if (queued === 0 && s.inFlight === 0 && s.deferred > 0) {
        // Nothing else to do: hash the big files this worker holds.
        const req: FlushRequest = { type: 'flush', id: this.nextId++ };
        s.deferred = 0;
        s.inFlight++;
        s.worker.postMessage(req);
      } else {
        return;
      }
    }
  }

  private sendBatch(s: Slot, queued: number): void {
    const size = this.closed
      ? Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.ceil(queued / (this.slots.length * 8))))
      : MAX_BATCH;
    const end = Math.min(this.items.length, this.next + size);
    const paths: BytePath[] = [];
    const md5s: string[] = [];
    const sizes: number[] = [];
    for (let i = this.next; i < end; i++) {
      const it = this.items[i] as PoolItem;
      paths.push(it.path);
      md5s.push(it.md5 ?? '');
      if (this.sizes) sizes.push(it.size ?? -1);
    }
    const req: BatchRequest = this.sizes
      ? { type: 'batch', id: this.nextId++, base: this.next, paths, md5s, sizes }
      : { type: 'batch', id: this.nextId++, base: this.next, paths, md5s };
    this.next = end;
    s.inFlight++;
    s.worker.postMessage(req);
  }

  private onResult(s: Slot, res: BatchResult): void {
    s.inFlight--;
    s.deferred = res.deferred;
    for (const p of res.problems) this.problems.set(p.i, p);
    for (const i of res.regular) this.regular.add(i);
    for (let k = 0; k + 1 < res.verified.length; k += 2) this.verified.set(res.verified[k] as number, res.verified[k + 1] as number);
    this.bytes += res.bytes;
    this.completed += res.completed;
    this.onProgress?.({ itemsDone: this.completed, itemsTotal: this.items.length, bytesDone: this.bytes });
    this.dispatch(s);
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.settled || !this.closed || this.completed < this.items.length) return;
    this.settled = true;
    this.resolve({ problems: this.problems, regular: this.regular, verified: this.verified, bytes: this.bytes });
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }
}
