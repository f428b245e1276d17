// The heartbeat: a request to a dead man's switch every `every` while the agent is healthy, none
// while it is not; never queued (a late heartbeat means nothing), failures logged at a slow rate.
import type { ResolvedConfig } from '../config/schema.js';
import { isLoopbackHost, maskUrl } from '../urls.js';
import { HttpTarget } from './httppost.js';

/** What the heartbeat is built from: `[alerts.heartbeat]` of the resolved config. */
export type HeartbeatConfig = ResolvedConfig['alerts']['heartbeat'];

/** The agent's answer each time a heartbeat is due: the state to send, or why it is not healthy. */
export type HeartbeatCheck = { readonly healthy: true; readonly state: Readonly<Record<string, unknown>> } | { readonly healthy: false; readonly reason: string };

/** What the heartbeat logs (the agent's log renders these). */
export type HeartbeatEvent =
  | { readonly kind: 'heartbeat.paused'; readonly reason: string }
  | { readonly kind: 'heartbeat.resumed' }
  | { readonly kind: 'heartbeat.failed'; readonly url: string; readonly error: string; readonly failures: number }
  | { readonly kind: 'heartbeat.recovered'; readonly url: string; readonly failures: number };

/** While pings keep failing, one `heartbeat.failed` line at most this often (the first failure is always logged). */
export const FAILURE_LOG_EVERY_MS = 60 * 60_000;

export interface HeartbeatOptions {
  /** Asked before each ping; must not throw. */
  readonly check: () => HeartbeatCheck;
  readonly log: (e: HeartbeatEvent) => void;
  /** The clock, in ms since the epoch (tests). */
  readonly now?: () => number;
  /** Start as paused (the heartbeat this one replaces on a reload was): the first healthy check logs heartbeat.resumed. */
  readonly paused?: boolean;
}

/**
 * Pings `url` at once on start and then every `everyMs`, one ping at a time (a slow switch delays
 * the next tick, it never stacks requests). While `check` says the agent is unhealthy no ping goes
 * out, so the switch fires; the change is logged once each way (`heartbeat.paused`,
 * `heartbeat.resumed`). A failed ping is not retried.
 */
export class Heartbeat {
  readonly #cfg: HeartbeatConfig;
  readonly #opts: HeartbeatOptions;
  readonly #target: HttpTarget;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | null = null;
  #paused = false;
  #failures = 0;
  #lastFailureLog = 0;
  #closed = false;

  constructor(cfg: HeartbeatConfig, opts: HeartbeatOptions) {
    const url = new URL(cfg.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`heartbeat url ${maskUrl(url)}: the scheme must be http or https`);
    if (url.protocol === 'http:' && !cfg.allowPlaintext && !isLoopbackHost(url.hostname)) {
      throw new Error(`heartbeat url ${maskUrl(url)}: plain http to a host that is not loopback; use https:// or set [alerts.heartbeat] allow_plaintext = true`);
    }
    this.#cfg = cfg;
    this.#opts = opts;
    this.#target = new HttpTarget(url, 'heartbeat', cfg.timeoutMs);
    this.#now = opts.now ?? Date.now;
    this.#paused = opts.paused ?? false;
  }

  /** True while the agent is unhealthy and no pings go out. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Sends the first ping now and schedules the rest. */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#tick();
  }

  /** Stops the pings; a ping in flight is aborted. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#target.close();
    await this.#inFlight?.catch(() => undefined);
  }

  #tick(): void {
    if (this.#closed) return;
    this.#inFlight = this.#beat().finally(() => {
      this.#inFlight = null;
      if (!this.#closed) this.#timer = setTimeout(() => this.#tick(), this.#cfg.everyMs);
    });
  }

  async #beat(): Promise<void> {
    let check: HeartbeatCheck;
    try {
      check = this.#opts.check();
    } catch (err) {
      check = { healthy: false, reason: `the agent's health cannot be told: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!check.healthy) {
      if (!this.#paused) {
        this.#paused = true;
        this.#emit({ kind: 'heartbeat.paused', reason: check.reason });
      }
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#emit({ kind: 'heartbeat.resumed' });
    }
    try {
      if (this.#cfg.method === 'GET') {
        await this.#target.request('GET', null, { 'User-Agent': 'pkgwatch' });
      } else {
        const body = JSON.stringify(check.state);
        await this.#target.request('POST', body, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body, 'utf8')), 'User-Agent': 'pkgwatch' });
      }
      if (this.#failures > 0) this.#emit({ kind: 'heartbeat.recovered', url: this.#target.shown, failures: this.#failures });
      this.#failures = 0;
    } catch (err) {
      if (this.#closed) return;
      this.#failures++;
      const now = this.#now();
      if (this.#failures === 1 || now - this.#lastFailureLog >= FAILURE_LOG_EVERY_MS) {
        this.#lastFailureLog = now;
        this.#emit({ kind: 'heartbeat.failed', url: this.#target.shown, error: err instanceof Error ? err.message : String(err), failures: this.#failures });
      }
    }
  }

  #emit(e: HeartbeatEvent): void {
    try {
      this.#opts.log(e);
    } catch {
      // the log is the caller's; a failing logger must not stop the heartbeat
    }
  }
}
