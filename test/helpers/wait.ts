// Waiting in tests for the event meant, never for a tuned time: a condition, processes gone, a timeout that fired after its subject was ready.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

/** The safety net of every wait here: long enough that only a hang reaches it. */
export const SAFETY_NET_MS = 120_000;

/** Waits until `cond` holds, polling; fails naming `what` once the safety net is reached. */
export async function until(cond: () => boolean, what: string, deadlineMs = SAFETY_NET_MS): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * A `sleep` argument no other process has: `seconds` (far beyond any wait here, so a process left
 * running is still there when the test looks) and a random fraction.
 */
export function uniqueSleep(seconds = 300): string {
  return `${seconds}.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

/**
 * Pids of live processes with one of `marks` within an argument of their command line, so that a
 * shell about to exec the marked command, or a copy it forked, counts too. Zombies do not (a
 * container's PID 1 may not reap orphans).
 */
export function processesWith(...marks: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((a) => marks.some((m) => a.includes(m)))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Waits until no live process has one of `marks` in its command line (see processesWith); fails at the safety net. */
export async function waitNoProcessWith(...marks: string[]): Promise<void> {
  await until(() => processesWith(...marks).length === 0, `the processes with ${marks.join(' or ')} to be gone`);
}

/** What one attempt of `timedWhenReady` found. */
export interface Attempt<T> {
  /** Whether what the test is about was set up before the timeout fired. */
  readonly ready: boolean;
  readonly result: T;
}

/**
 * For a test of a timeout: runs `attempt` with `firstMs`, and again with twice as long while the
 * attempt reports that its subject was not even set up when the timeout fired (a command that had
 * not yet set its signal trap, a request still on its way). Such an attempt proves nothing either
 * way: the attempt judges only what a slow machine cannot change before it knows it is ready.
 * Returns the first ready attempt's result and timeout; fails when none was ready within `lastMs`.
 */
export async function timedWhenReady<T>(t: TestContext, firstMs: number, attempt: (timeoutMs: number) => Promise<Attempt<T>>, lastMs = 64_000): Promise<{ timeoutMs: number; result: T }> {
  for (let timeoutMs = firstMs; ; timeoutMs *= 2) {
    const a = await attempt(timeoutMs);
    if (a.ready) return { timeoutMs, result: a.result };
    assert.ok(timeoutMs * 2 <= lastMs, `not ready within a timeout of ${timeoutMs} ms, the last one tried`);
    t.diagnostic(`not ready within a timeout of ${timeoutMs} ms (a busy machine): again with ${timeoutMs * 2} ms`);
  }
}
