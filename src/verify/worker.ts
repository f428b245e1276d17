// Hashing worker thread: runs batches of path checks sent by the pool in src/verify/pool.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { BatchRunner } from './batch.js';
import { PathChecker } from './check.js';
import { StreamMd5, type FdHasher } from './md5.js';
import { MultiMd5, simdAvailable } from './md5simd.js';
import type { WorkerInit, WorkerRequest } from './protocol.js';

const init = workerData as WorkerInit;
// Multi-lane MD5 where WebAssembly SIMD is usable (every x86-64 and arm64 Node 20 has it);
// OpenSSL's single-stream MD5 otherwise, and when throttled (a background check has no hurry).
const hasher: FdHasher =
  init.maxBytesPerSecond > 0 ? new StreamMd5(init.maxBytesPerSecond) : simdAvailable() ? new MultiMd5() : new StreamMd5();
// SHA-256 (check --signed --sha256) is paced the same way when a background check is throttled.
const runner = new BatchRunner(new PathChecker(init.root), hasher, init.sizes, new StreamMd5(init.maxBytesPerSecond, 'sha256'));

parentPort?.on('message', (req: WorkerRequest) => {
  parentPort?.postMessage(req.type === 'batch' ? runner.run(req) : runner.flush(req.id));
});
