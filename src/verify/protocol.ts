// Messages between the verifier's main thread and its hashing workers.
import type { BytePath } from '../dpkg/types.js';
import type { FindingStatus } from './finding.js';

/** Data every worker starts with. */
export interface WorkerInit {
  readonly root: string;
  /** This worker's share of the hashing throttle in bytes per second; 0 = unthrottled. */
  readonly maxBytesPerSecond: number;
  /** Batches carry known sizes, and results the sizes of files that verified (BatchResult.verified). */
  readonly sizes: boolean;
}

/** A batch of paths to check: `md5s[k]` empty means check existence only. */
export interface BatchRequest {
  readonly type: 'batch';
  readonly id: number;
  /** Run-wide index of `paths[0]`; results use run-wide indexes. */
  readonly base: number;
  readonly paths: readonly BytePath[];
  readonly md5s: readonly string[];
  /**
   * With WorkerInit.sizes: the size each file had when it last verified with this md5, or -1.
   * A big file (1 MiB or more) of another size is changed, and is never read.
   */
  readonly sizes?: readonly number[];
}

/** Hash the big files the worker still holds. */
export interface FlushRequest {
  readonly type: 'flush';
  readonly id: number;
}

export type WorkerRequest = BatchRequest | FlushRequest;

/** One path that did not verify; `i` is its run-wide index. */
export interface BatchProblem {
  readonly i: number;
  readonly status: FindingStatus;
  readonly actual: string | null;
  readonly detail: string | null;
}

export interface BatchResult {
  readonly id: number;
  /** Paths whose check finished with this message (big files may finish in a later one). */
  readonly completed: number;
  /** Big files the worker holds open, waiting to be hashed together. */
  readonly deferred: number;
  readonly problems: readonly BatchProblem[];
  readonly bytes: number;
  /** Run-wide indexes of existence-only paths that are regular files. */
  readonly regular: readonly number[];
  /** With WorkerInit.sizes: pairs of run-wide index and size of each hashed file that verified. */
  readonly verified: readonly number[];
}
