// Benchmark of the path watcher alone (src/watch/watcher.ts), in this process: from a change to a
// watched file to its onEvent, per kind of change. The raw part of the agent's detection latency.
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PathWatcher, type WatchEventKind } from '../src/watch/watcher.js';

/** Changes timed per kind. */
const SAMPLES = 20;
/** An event that has not come in this long is a miss, not a slow sample. */
const EVENT_TIMEOUT_MS = 10_000;
/** Pause after each sample, so that a second event of the same change is not taken for the next one's. */
const SETTLE_MS = 20;

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

/**
 * Times write, chmod, replace by rename and unlink of one watched file, SAMPLES each, and prints the
 * figures; returns a result line (FAIL only when events were missed: there is no target of its own,
 * the agent's detection latency is the one that is judged).
 */
export async function watcherLatency(): Promise<string> {
  console.log(`\nwatcher latency (in this process, change to onEvent): one watched file, ${SAMPLES} changes of each kind`);
  const root = mkdtempSync(join(tmpdir(), 'pkgwatch-bench-watch-'));
  const file = join(root, 'd', 'f');
  mkdirSync(join(root, 'd'));
  writeFileSync(file, 'x');
  let waiting: { readonly kind: WatchEventKind; readonly resolve: (at: number) => void } | null = null;
  const watcher = new PathWatcher({
    root,
    paths: ['/d/f'],
    onEvent: (e) => {
      if (waiting === null || e.kind !== waiting.kind) return;
      const w = waiting;
      waiting = null;
      w.resolve(performance.now());
    },
    onDegraded: (reason, detail) => console.log(`  warning: the watcher is degraded (${reason}): ${detail}`),
  });
  /** Does `act` and resolves with the time to the `kind` event, or null for a miss. */
  const time = async (kind: WatchEventKind, act: () => void): Promise<number | null> => {
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<number | null>((resolve) => {
      waiting = { kind, resolve };
      timer = setTimeout(() => {
        waiting = null;
        resolve(null);
      }, EVENT_TIMEOUT_MS);
    });
    const t0 = performance.now();
    act();
    const at = await seen;
    clearTimeout(timer);
    await sleep(SETTLE_MS);
    return at === null ? null : at - t0;
  };
  const kinds: readonly [string, WatchEventKind, () => void][] = [
    ['write in place', 'change', () => writeFileSync(file, 'y')],
    ['chmod', 'change', () => chmodSync(file, 0o640)],
    [
      'mv new old',
      'add',
      () => {
        writeFileSync(`${file}.new`, 'z');
        renameSync(`${file}.new`, file);
      },
    ],
    ['unlink', 'unlink', () => unlinkSync(file)],
  ];
  const summary: string[] = [];
  let misses = 0;
  try {
    await watcher.start();
    for (const [name, kind, act] of kinds) {
      const xs: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const x = await time(kind, act);
        if (x === null) misses++;
        else xs.push(x);
        // Put the file back after an unlink (not timed).
        if (kind === 'unlink' && (await time('add', () => writeFileSync(file, 'x'))) === null) misses++;
      }
      const sorted = xs.sort((a, b) => a - b);
      const line = `${name}: p50 ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, max ${ms(sorted[sorted.length - 1] ?? Number.NaN)}`;
      console.log(`  ${line}${xs.length < SAMPLES ? ` (${SAMPLES - xs.length} missed)` : ''}`);
      summary.push(`${name} p50 ${ms(percentile(sorted, 50))}`);
    }
  } finally {
    await watcher.close();
    rmSync(root, { recursive: true, force: true });
  }
  const missText = misses === 0 ? '' : `; ${misses} events missed within ${EVENT_TIMEOUT_MS / 1000} s`;
  return `${misses === 0 ? 'INFO' : 'FAIL'} watcher latency (not judged; part of the detection latency): ${summary.join(', ')}${missText}`;
}
