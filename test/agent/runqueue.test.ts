// RunQueue: real-time paths gathered until events pause (with a cap), scheduled runs one at a time
// (scoped before full) with real-time checks beside them, coalescing, waiting while dpkg runs,
// requeueing, close. Timers and the clock are mocked, so nothing here depends on how fast the
// machine is.
import assert from 'node:assert/strict';
import { mock, test, type TestContext } from 'node:test';
import type { BytePath } from '../../src/dpkg/types.js';
import type { LogEvent, Logger } from '../../src/agent/log.js';
import { MAX_REALTIME_RUNS, RunQueue, type RunKind } from '../../src/agent/runqueue.js';

interface Harness {
  readonly queue: RunQueue;
  readonly runs: { kind: RunKind; paths: string[] | null }[];
  readonly logged: LogEvent[];
  readonly dpkg: { running: boolean; observe(): Promise<boolean> };
  /** Moves the clock and the mocked timers on by `ms`, then lets the queue's promises settle. */
  advance(ms: number): Promise<void>;
  /** Lets pending promise callbacks run. */
  settle(): Promise<void>;
  /** Makes the next runs wait until release() is called. */
  hold(): void;
  release(): void;
  /** Ends run number `i` (0-based, in start order) that was started while held; the others stay held. */
  finish(i: number): Promise<void>;
}

function harness(t: TestContext): Harness {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let clock = 1000;
  let gate: { promise: Promise<void>; resolve: () => void } | null = null;
  /** One resolver per held run, by start order (finish(i) ends run i alone). */
  const ends = new Map<number, () => void>();
  const runs: Harness['runs'] = [];
  const logged: LogEvent[] = [];
  const dpkg = {
    running: false,
    observe(): Promise<boolean> {
      return Promise.resolve(this.running);
    },
  };
  const logger = { log: (e: LogEvent) => logged.push(e) } as unknown as Logger;
  const queue = new RunQueue({
    dpkg,
    logger,
    dpkgPollMs: 1000,
    now: () => clock,
    run: async (kind, paths) => {
      const i = runs.push({ kind, paths: paths === null ? null : [...paths].sort() }) - 1;
      if (gate !== null) await Promise.race([gate.promise, new Promise<void>((resolve) => ends.set(i, resolve))]);
    },
  });
  t.after(() => {
    // Runs a test left held end first: close() waits for them.
    gate?.resolve();
    for (const end of ends.values()) end();
    return queue.close();
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    queue,
    runs,
    logged,
    dpkg,
    settle,
    async advance(ms) {
      clock += ms;
      mock.timers.tick(ms);
      await settle();
    },
    hold() {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      gate = { promise, resolve };
    },
    release() {
      const g = gate;
      gate = null;
      g?.resolve();
    },
    async finish(i) {
      ends.get(i)?.();
      await settle();
    },
  };
}

const P = (s: string): BytePath => s;

test('a burst of events is one real-time run, 50 ms after the last event', async (t) => {
  const h = harness(t);
  for (let i = 0; i <= 10; i++) {
    h.queue.addPath(P(`/srv/f${i}`));
    await h.advance(10);
  }
  // The last event came at +100; the run waits for 50 ms of quiet.
  await h.advance(39);
  assert.equal(h.runs.length, 0);
  await h.advance(1);
  assert.equal(h.runs.length, 1);
  assert.equal(h.runs[0]?.kind, 'realtime');
  assert.equal(h.runs[0]?.paths?.length, 11);
});

test('a steady stream of events is still checked every 250 ms at most', async (t) => {
  const h = harness(t);
  const firstRunAt: number[] = [];
  let elapsed = 0;
  for (let i = 0; i < 50; i++) {
    h.queue.addPath(P(`/srv/f${i}`));
    await h.advance(20);
    elapsed += 20;
    if (h.runs.length > firstRunAt.length) firstRunAt.push(elapsed);
  }
  await h.advance(50);
  assert.ok(h.runs.length >= 4, `${h.runs.length} runs in 1 s of events every 20 ms`);
  assert.ok((firstRunAt[0] ?? Infinity) <= 260, `first run after ${firstRunAt[0]} ms`);
  const seen = h.runs.flatMap((r) => r.paths ?? []);
  assert.equal(new Set(seen).size, 50, 'every path was checked');
});

test('scheduled runs one at a time, scoped before full; requests while running coalesce', async (t) => {
  const h = harness(t);
  h.hold();
  h.queue.request('full');
  await h.settle();
  assert.deepEqual(h.runs, [{ kind: 'full', paths: null }]);
  h.queue.request('full');
  h.queue.request('scoped');
  h.queue.request('scoped');
  await h.advance(50);
  assert.equal(h.runs.length, 1, 'no scheduled run starts while one runs');
  h.release();
  await h.settle();
  assert.deepEqual(
    h.runs.map((r) => r.kind),
    ['full', 'scoped', 'full'],
  );
});

test('a real-time check is never queued behind a scheduled run that takes long', async (t) => {
  const h = harness(t);
  h.hold();
  h.queue.request('scoped'); // hashing a huge file, say
  await h.settle();
  h.queue.addPath(P('/srv/a'));
  await h.advance(50);
  assert.deepEqual(h.runs, [
    { kind: 'scoped', paths: null },
    { kind: 'realtime', paths: ['/srv/a'] },
  ]);
  // It ends while the scoped run still runs, and the next event gets its own check.
  await h.finish(1);
  h.queue.addPath(P('/srv/b'));
  await h.advance(50);
  assert.deepEqual(h.runs.slice(2), [{ kind: 'realtime', paths: ['/srv/b'] }]);
});

test('a slow real-time check holds up only its own paths', async (t) => {
  const h = harness(t);
  h.hold();
  h.queue.addPath(P('/srv/huge'));
  await h.advance(50);
  assert.deepEqual(h.runs, [{ kind: 'realtime', paths: ['/srv/huge'] }]);
  // The huge file is written again, and another file changes: the other file is checked at once,
  // the huge one once its running check has ended.
  h.queue.addPath(P('/srv/huge'));
  h.queue.addPath(P('/srv/small'));
  await h.advance(50);
  assert.deepEqual(h.runs.slice(1), [{ kind: 'realtime', paths: ['/srv/small'] }]);
  await h.finish(1);
  assert.equal(h.runs.length, 2, 'the huge file waits for its own check');
  await h.finish(0);
  assert.deepEqual(h.runs.slice(2), [{ kind: 'realtime', paths: ['/srv/huge'] }]);
});

test(`at most ${MAX_REALTIME_RUNS} real-time checks run at once; the next starts when one ends`, async (t) => {
  const h = harness(t);
  h.hold();
  for (let i = 0; i <= MAX_REALTIME_RUNS; i++) {
    h.queue.addPath(P(`/srv/f${i}`));
    await h.advance(50);
  }
  assert.equal(h.runs.length, MAX_REALTIME_RUNS);
  await h.finish(0);
  assert.deepEqual(h.runs.slice(MAX_REALTIME_RUNS), [{ kind: 'realtime', paths: [`/srv/f${MAX_REALTIME_RUNS}`] }]);
});

test('while dpkg runs nothing starts, one run.deferred is logged, and a requeued run goes again afterwards', async (t) => {
  const h = harness(t);
  h.dpkg.running = true;
  h.queue.request('scoped');
  await h.settle();
  await h.advance(1000);
  await h.advance(1000);
  assert.equal(h.runs.length, 0);
  assert.deepEqual(
    h.logged.filter((e) => e.kind === 'run.deferred'),
    [{ kind: 'run.deferred', schedule: 'scoped', reason: 'dpkg-running' }],
  );
  h.dpkg.running = false;
  await h.advance(1000);
  assert.deepEqual(h.runs, [{ kind: 'scoped', paths: null }]);
  h.queue.requeue('realtime', new Set([P('/srv/b')]));
  h.queue.request('full');
  await h.settle();
  assert.deepEqual(h.runs.slice(1), [
    { kind: 'realtime', paths: ['/srv/b'] },
    { kind: 'full', paths: null },
  ]);
});

test('close waits for the running run, and nothing runs after it', async (t) => {
  const h = harness(t);
  h.hold();
  h.queue.request('scoped');
  await h.settle();
  h.queue.addPath(P('/srv/c'));
  let closed = false;
  const closing = h.queue.close().then(() => (closed = true));
  await h.settle();
  assert.equal(closed, false, 'close waits for the running run');
  h.release();
  await closing;
  h.queue.request('full');
  h.queue.addPath(P('/srv/d'));
  await h.advance(1000);
  assert.deepEqual(h.runs, [{ kind: 'scoped', paths: null }]);
  await h.queue.close();
});
