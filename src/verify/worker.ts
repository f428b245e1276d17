// Hashing worker thread: runs batches of path checks sent by the pool in src/verify/pool.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { BatchRunner } from './batch.js';
import { PathChecker } from './check.js';
import { StreamMd5 } from './md5.js';
import type { WorkerInit, WorkerRequest } from './protocol.js';

const init = workerData as WorkerInit;
const runner = new BatchRunner(new PathChecker(init.root), new StreamMd5());

parentPort?.on('message', (req: WorkerRequest) => {
  parentPort?.postMessage(req.type === 'batch' ? runner.run(req) : runner.flush(req.id));
});
