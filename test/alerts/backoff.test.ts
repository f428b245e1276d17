// The retry backoff of the outbox as a pure function: every wait within [retry_min, retry_max],
// whatever the failure count and whatever the jitter draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMs } from '../../src/alerts/outboxloop.js';

const EXTREMES = [0, 1e-9, 0.5, 1 - 1e-9, 1 - Number.EPSILON];

test('every wait is within [retry_min, retry_max] for any failure count and jitter draw', () => {
  for (const [min, max] of [
    [10_000, 300_000],
    [100, 400],
    [1000, 1000],
    [1, 2 ** 31 - 1],
    [7, 9],
  ] as const) {
    for (let n = 1; n <= 80; n++) {
      for (const r of EXTREMES) {
        const wait = retryDelayMs(n, min, max, () => r);
        assert.ok(Number.isInteger(wait), `n=${n} r=${r}: ${wait}`);
        assert.ok(wait >= min && wait <= max, `retry_min ${min}, retry_max ${max}, failure ${n}, random ${r}: waits ${wait}`);
      }
    }
  }
});

test('the defaults: exactly 10 s first, then half to all of the doubled wait, capped at 5 min', () => {
  const at = (n: number, r: number): number => retryDelayMs(n, 10_000, 300_000, () => r);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => at(n, 0)), [10_000, 10_000, 20_000, 40_000, 80_000, 150_000, 150_000]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => at(n, 1 - Number.EPSILON)), [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
});
