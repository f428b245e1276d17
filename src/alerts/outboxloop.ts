// One sink's delivery loop in the outbox: its single timer, its single attempt in flight, and how to stop both.
import { errorText } from './outboxfile.js';

/** How an attempt ended: accepted, failed (rejected or timed out), or given up on by close(). */
export type AttemptOutcome = { readonly kind: 'ok' } | { readonly kind: 'failed'; readonly error: string } | { readonly kind: 'abandoned' };

/**
 * The wait after the `failures`-th failed attempt in a row: `retryMinMs` doubled per failure and
 * capped at `retryMaxMs` (the base), with equal jitter (a random point between half the base and
 * the base, so waits still grow and two agents do not retry in step) but never below `retryMinMs`:
 * the first retry comes after exactly retry_min, every wait is within [retry_min, retry_max].
 * `random` is in [0, 1).
 */
export function retryDelayMs(failures: number, retryMinMs: number, retryMaxMs: number, random: () => number): number {
  const min = Math.max(1, retryMinMs);
  const max = Math.max(min, retryMaxMs);
  const base = Math.min(max, min * 2 ** Math.min(Math.max(0, failures - 1), 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(max, Math.max(min, Math.round(base / 2 + r * (base / 2))));
}

// setTimeout fires at once beyond this.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The waiting and sending primitives of one loop. At most one sleep and one attempt at a time, and
 * every timer it starts is cleared when the wait ends, so a stopped loop leaves nothing behind.
 */
export class DeliveryLoop {
  /** Set by stop(): the loop ends at its next turn; sleeps return at once. */
  stopped = false;
  /** Settles when the loop's function has returned (set by whoever runs the loop). */
  done: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #release: (() => void) | undefined;
  #wakeable = false;
  #abort: (() => void) | undefined;

  /** Waits `ms` (null: until woken). `wakeable`: wake() ends it (idle); otherwise only interrupt() and stop() do. */
  sleep(ms: number | null, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wakeable = wakeable;
      this.#release = (): void => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#release = undefined;
        resolve();
      };
      if (ms !== null) this.#timer = setTimeout(() => this.#release?.(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
    });
  }

  /** New work arrived: ends an idle sleep, not a gather or backoff wait. */
  wake(): void {
    if (this.#wakeable) this.#release?.();
  }

  /** Ends any sleep. */
  interrupt(): void {
    this.#release?.();
  }

  /** Ends the loop at its next turn; an attempt in flight goes on. */
  stop(): void {
    this.stopped = true;
    this.#release?.();
  }

  /** Stops, and gives up on the attempt in flight: it ends as `abandoned`, its late result is ignored. */
  abandon(): void {
    this.stop();
    this.#abort?.();
  }

  /** Runs `send`, which fails if it has not settled within `timeoutMs`. Never rejects. */
  attempt(send: () => Promise<void>, timeoutMs: number): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (o: AttemptOutcome): void => {
        if (timer === undefined) return;
        clearTimeout(timer);
        timer = undefined;
        this.#abort = undefined;
        resolve(o);
      };
      timer = setTimeout(() => finish({ kind: 'failed', error: `no answer within ${timeoutMs} ms` }), Math.min(Math.max(1, timeoutMs), MAX_TIMER_MS));
      this.#abort = (): void => finish({ kind: 'abandoned' });
      let p: Promise<void>;
      try {
        p = Promise.resolve(send());
      } catch (err) {
        p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      p.then(
        () => finish({ kind: 'ok' }),
        (err: unknown) => finish({ kind: 'failed', error: errorText(err) }),
      );
    });
  }
}
