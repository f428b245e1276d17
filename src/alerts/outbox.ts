// The durable alert outbox: every alert is a file per sink before any attempt, removed once the sink took it.
import fs from 'node:fs';
import { decodeAlertEvent, encodeEntry, entryFileName, errorText, isSinkDirName } from './outboxfile.js';
import { DeliveryLoop, retryDelayMs } from './outboxloop.js';
import { OutboxStore } from './outboxstore.js';
import type { AlertEvent, AlertKind, AlertSink } from './sink.js';

/** What the outbox needs; the agent passes `<state_dir>/outbox` and the `[alerts]` retry keys. */
export interface OutboxOptions {
  /** The outbox folder: one subfolder per sink, `dropped.json`, `corrupt/`. */
  readonly dir: string;
  /** The configured sinks; files of other sink folders stay, are shown in status and expire. */
  readonly sinks: readonly AlertSink[];
  /** `[alerts] max_age`: a delivery older than this is dropped, logged and counted. */
  readonly maxAgeMs: number;
  /** `[alerts] retry_min`: the first wait after a failed attempt, and the shortest; it doubles per failure (retryDelayMs). */
  readonly retryMinMs: number;
  /** `[alerts] retry_max`: the longest wait between attempts. */
  readonly retryMaxMs: number;
  /** Receives every delivery, failure, drop and bad file; must not throw (errors it throws are ignored). */
  readonly log: (e: OutboxEvent) => void;
  /** The clock, in ms since the epoch (tests). */
  readonly now?: () => number;
  /** A number in [0, 1) for the jitter (tests). */
  readonly random?: () => number;
  /** A safety net over the sink's own timeout: an attempt without an answer this long failed. Default 5 min. */
  readonly attemptTimeoutMs?: number;
  /** At most this many pending deliveries per sink; beyond it the oldest are dropped. Default 10 000. */
  readonly maxPendingPerSink?: number;
}

/** What the outbox reports, for the agent's log. */
export type OutboxEvent =
  | { readonly kind: 'alert.delivered'; readonly sink: string; readonly ids: string[]; readonly attempts: number }
  | { readonly kind: 'alert.failed'; readonly sink: string; readonly ids: string[]; readonly attempt: number; readonly error: string; readonly retryInMs: number }
  | {
      readonly kind: 'alert.dropped';
      readonly sink: string;
      readonly id: string;
      readonly event: AlertKind;
      readonly queued: string;
      readonly reason: 'max-age' | 'overflow';
    }
  | { readonly kind: 'alert.corrupt'; readonly file: string; readonly detail: string }
  | { readonly kind: 'alert.write-failed'; readonly sink: string; readonly id: string; readonly error: string };

/** One sink's queue, for `pkgwatch status`. Times are ISO 8601. */
export interface SinkStatus {
  readonly sink: string;
  /** False for a folder of a sink the config no longer turns on: its files wait there until max_age. */
  readonly configured: boolean;
  readonly pending: number;
  /** When the oldest pending delivery was queued; null when none is pending. */
  readonly oldest: string | null;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly lastDelivered: string | null;
  /** Alerts delivered since the outbox was opened (this process). */
  readonly delivered: number;
  /** Failed attempts in a row (0 after a delivery). */
  readonly failures: number;
  /** When the next attempt is due (gathering or backing off); null when idle or sending. */
  readonly nextAttempt: string | null;
  /** Deliveries dropped (max_age or overflow) since the outbox was created; kept across restarts. */
  readonly dropped: number;
}

/** The default of `attemptTimeoutMs`. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 5 * 60_000;
/** The default of `maxPendingPerSink`: a dead receiver for a week of reminders stays far below it. */
export const DEFAULT_MAX_PENDING = 10_000;
// How often files dropped in by other processes are picked up and old ones expired without an attempt.
const TICK_MS = 60_000;
// How long close() (and a sink being replaced) waits for a send in flight before abandoning it.
const ABANDON_MS = 2_000;

interface Entry {
  /** The file name (or `memory-N` when it cannot have one); unique within its sink. */
  readonly key: string;
  readonly queuedMs: number;
  readonly event: AlertEvent;
  /** The file text still to be written (a write failed), or null. */
  unwritten: string | null;
  onDisk: boolean;
  /** Attempted, or waited gatherMs for as the head: it does not wait for a burst again. */
  gathered: boolean;
  inFlight: boolean;
}

interface SinkQueue {
  readonly name: string;
  sink: AlertSink | null;
  loop: DeliveryLoop | null;
  entries: Entry[];
  readonly keys: Set<string>;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastDelivered: number | null;
  delivered: number;
  nextAttempt: number | null;
}

/**
 * The outbox. Every alert is written as one file per sink (atomic, fsynced) before any attempt and
 * removed only after the sink accepted it, so restarts and `kill -9` lose nothing and delivery is at
 * least once (receivers drop duplicates by event id). Each sink has its own loop: one delivery in
 * flight, in queue order, retried with exponential backoff and equal jitter, never sooner than
 * retry_min nor later than retry_max (retryDelayMs), until `maxAgeMs`. A slow or dead sink never blocks another.
 * The outbox never closes the sinks: whoever created them does, after `close()` or `setSinks()`.
 */
export class Outbox {
  readonly #store: OutboxStore;
  readonly #opts: OutboxOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #attemptTimeoutMs: number;
  readonly #maxPending: number;
  readonly #queues = new Map<string, SinkQueue>();
  readonly #loops = new Set<DeliveryLoop>();
  readonly #dropped: Map<string, number>;
  /** Called after every attempt (flush() waits with them). */
  readonly #attempted = new Set<() => void>();
  #order: string[] = [];
  #lastQueued = 0;
  #memorySeq = 0;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #tick: NodeJS.Timeout | undefined;

  private constructor(opts: OutboxOptions) {
    this.#store = new OutboxStore(opts.dir, (file, detail) => this.#emit({ kind: 'alert.corrupt', file, detail }));
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#attemptTimeoutMs = opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    this.#maxPending = Math.max(1, opts.maxPendingPerSink ?? DEFAULT_MAX_PENDING);
    this.#dropped = this.#store.loadDropped();
  }

  /**
   * Opens the outbox: creates its folder (0700) and the configured sinks' folders, removes `*.tmp`
   * left by a crash mid-write, loads the pending files of every sink folder (bad ones moved to
   * `corrupt/` and logged) and drops those past max_age. Throws only when `dir` cannot be created
   * or read. Deliveries start with `start()`.
   */
  static open(opts: OutboxOptions): Promise<Outbox> {
    try {
      fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      fs.readdirSync(opts.dir);
    } catch (err) {
      return Promise.reject(new Error(`cannot open the alert outbox ${opts.dir}: ${errorText(err)}`, { cause: err }));
    }
    const outbox = new Outbox(opts);
    outbox.setSinks(opts.sinks);
    outbox.#load(true);
    outbox.#expireAll();
    return Promise.resolve(outbox);
  }

  /**
   * Queues `event` for every configured sink (or the named ones), writing one durable file each
   * before it returns. Never throws: a file that cannot be written is logged (`alert.write-failed`),
   * delivered from memory, and written again at each turn of its sink's loop.
   */
  enqueue(event: AlertEvent, sinks?: readonly string[]): void {
    const queuedMs = Math.max(this.#now(), this.#lastQueued + 1); // strictly increasing: file names keep the order
    this.#lastQueued = queuedMs;
    let problem: string | null = null;
    let checked = event;
    try {
      checked = decodeAlertEvent(JSON.parse(JSON.stringify(event)), 'event');
    } catch (err) {
      problem = `not a valid alert event (${errorText(err)}); delivering it from memory only`;
    }
    for (const name of new Set(sinks ?? this.#order)) {
      const q = this.#queue(name);
      const canWrite = problem === null && isSinkDirName(name);
      const key = canWrite ? entryFileName(queuedMs, checked.id) : `memory-${++this.#memorySeq}`;
      if (q.keys.has(key)) continue;
      const entry: Entry = { key, queuedMs, event: checked, unwritten: null, onDisk: false, gathered: false, inFlight: false };
      if (canWrite) {
        const text = encodeEntry(name, queuedMs, checked);
        try {
          this.#store.write(name, key, text);
          entry.onDisk = true;
        } catch (err) {
          entry.unwritten = text;
          this.#emit({ kind: 'alert.write-failed', sink: name, id: checked.id, error: errorText(err) });
        }
      } else {
        const why = problem ?? `${JSON.stringify(name)} cannot be a folder name; delivering it from memory only`;
        this.#emit({ kind: 'alert.write-failed', sink: name, id: String(event.id), error: why });
      }
      this.#insert(q, entry);
      this.#overflow(q);
      q.loop?.wake();
    }
  }

  /** Starts one delivery loop per configured sink, and the minute tick (rescan, expiry). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const q of this.#queues.values()) if (q.sink !== null) this.#startLoop(q, null);
    this.#tick = setInterval(() => this.#rescanNow(), TICK_MS);
  }

  /** Picks up files another process (`pkgwatch online`) wrote with `enqueueDurable`; each file once. */
  rescan(): Promise<void> {
    this.#rescanNow();
    return Promise.resolve();
  }

  /**
   * Config reload: sinks not listed any more stop (their files stay), new ones start, and a sink
   * whose object changed gets a new loop once the old one's attempt in flight ended (at most ~2 s).
   */
  setSinks(sinks: readonly AlertSink[]): void {
    const byName = new Map(sinks.map((s) => [s.name, s]));
    for (const q of this.#queues.values()) {
      if (q.sink !== null && !byName.has(q.name)) {
        q.sink = null;
        q.loop?.stop();
        q.nextAttempt = null;
      }
    }
    this.#order = [...byName.keys()];
    for (const sink of byName.values()) {
      const q = this.#queue(sink.name);
      if (q.sink === sink) continue;
      q.sink = sink;
      this.#store.ensureSinkDir(sink.name);
      const prev = q.loop;
      prev?.stop();
      if (this.#started && !this.#closed) this.#startLoop(q, prev);
    }
  }

  /** Every configured sink, then every other sink with pending or dropped deliveries. */
  status(): SinkStatus[] {
    const names = [...this.#order];
    const others = new Set<string>();
    for (const q of this.#queues.values()) if (q.entries.length > 0) others.add(q.name);
    for (const [name, n] of this.#dropped) if (n > 0) others.add(name);
    names.push(...[...others].filter((n) => !this.#order.includes(n)).sort());
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return names.map((name) => {
      const q = this.#queues.get(name);
      const oldest = q?.entries[0];
      return {
        sink: name,
        configured: (q?.sink ?? null) !== null,
        pending: q?.entries.length ?? 0,
        oldest: iso(oldest?.queuedMs ?? null),
        lastError: q?.lastError ?? null,
        lastErrorAt: iso(q?.lastErrorAt ?? null),
        lastDelivered: iso(q?.lastDelivered ?? null),
        delivered: q?.delivered ?? 0,
        failures: q?.failures ?? 0,
        nextAttempt: iso(q?.nextAttempt ?? null),
        dropped: this.#dropped.get(name) ?? 0,
      };
    });
  }

  /**
   * A last chance before close(): every sink that is not backing off sends what it holds now,
   * without waiting to gather a batch. Resolves once each of them is empty or has failed, or after
   * `timeoutMs`. Never rejects.
   */
  flush(timeoutMs: number): Promise<void> {
    if (!this.#started || this.#closed) return Promise.resolve();
    const queues = [...this.#queues.values()].filter((q) => q.sink !== null && q.loop !== null && q.failures === 0 && q.entries.length > 0);
    for (const q of queues) {
      for (const e of q.entries) e.gathered = true;
      if (q.nextAttempt !== null) q.loop?.interrupt(); // gathering: no waiting for a burst now
    }
    const done = (): boolean => queues.every((q) => q.entries.length === 0 || q.failures > 0 || q.loop === null);
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#attempted.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#attempted.add(check);
      check();
    });
  }

  /**
   * Stops every loop and timer. A send in flight gets ~2 s to finish; after that it is abandoned and
   * its files stay, to be delivered again after the restart. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tick);
    this.#tick = undefined;
    const loops = [...this.#loops];
    for (const loop of loops) loop.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(loops.map((l) => l.done)), new Promise<void>((resolve) => (timer = setTimeout(resolve, ABANDON_MS)))]);
    clearTimeout(timer);
    for (const loop of loops) loop.abandon();
    await Promise.allSettled(loops.map((l) => l.done));
  }

  #startLoop(q: SinkQueue, prev: DeliveryLoop | null): void {
    const sink = q.sink;
    if (sink === null) return;
    const loop = new DeliveryLoop();
    q.loop = loop;
    this.#loops.add(loop);
    loop.done = this.#run(q, loop, sink, prev)
      .catch((err: unknown) => {
        // A bug, not a delivery problem; say so rather than stop delivering silently.
        this.#emit({ kind: 'alert.failed', sink: q.name, ids: [], attempt: q.failures, error: `the delivery loop stopped: ${errorText(err)}`, retryInMs: 0 });
      })
      .finally(() => {
        this.#loops.delete(loop);
        if (q.loop === loop) {
          q.loop = null;
          q.nextAttempt = null;
        }
      });
  }

  async #run(q: SinkQueue, loop: DeliveryLoop, sink: AlertSink, prev: DeliveryLoop | null): Promise<void> {
    if (prev !== null) {
      let waiting = true;
      void prev.done.then(() => {
        if (waiting) loop.interrupt();
      });
      await loop.sleep(ABANDON_MS, false);
      waiting = false;
      prev.abandon();
    }
    while (!loop.stopped) {
      this.#rewrite(q);
      this.#expire(q);
      const head = q.entries[0];
      if (head === undefined) {
        q.nextAttempt = null;
        await loop.sleep(null, true);
        continue;
      }
      if (q.failures === 0 && !head.gathered) {
        const now = this.#now();
        const wait = Math.min(head.queuedMs + sink.gatherMs - now, sink.gatherMs); // a future queue time waits no more than gatherMs
        if (wait > 0) {
          q.nextAttempt = now + wait;
          await loop.sleep(wait, false);
          head.gathered = true; // once: a head queued "in the future" (clock set back) does not wait again
          continue;
        }
      }
      q.nextAttempt = null;
      const batch = q.entries.slice(0, Math.max(1, sink.maxBatch));
      for (const e of batch) {
        e.gathered = true;
        e.inFlight = true;
      }
      const outcome = await loop.attempt(() => sink.send(batch.map((e) => e.event)), this.#attemptTimeoutMs);
      for (const e of batch) e.inFlight = false;
      if (outcome.kind === 'abandoned') return;
      // After this turn's bookkeeping (a microtask later), whoever waits in flush() looks again.
      queueMicrotask(() => {
        for (const f of [...this.#attempted]) f();
      });
      const ids = batch.map((e) => e.event.id);
      if (outcome.kind === 'ok') {
        const attempts = q.failures + 1;
        for (const e of batch) this.#remove(q, e);
        q.failures = 0;
        q.lastDelivered = this.#now();
        q.delivered += batch.length;
        this.#emit({ kind: 'alert.delivered', sink: q.name, ids, attempts });
        continue;
      }
      q.failures++;
      const wait = retryDelayMs(q.failures, this.#opts.retryMinMs, this.#opts.retryMaxMs, this.#random);
      const now = this.#now();
      q.lastError = outcome.error;
      q.lastErrorAt = now;
      q.nextAttempt = now + wait;
      this.#emit({ kind: 'alert.failed', sink: q.name, ids, attempt: q.failures, error: outcome.error, retryInMs: wait });
      await loop.sleep(wait, false); // new entries do not end it: no hammering a dead receiver
    }
  }

  #rescanNow(): void {
    if (this.#closed) return;
    this.#load(false);
    this.#expireAll();
  }

  #queue(name: string): SinkQueue {
    let q = this.#queues.get(name);
    if (q === undefined) {
      q = {
        name,
        sink: null,
        loop: null,
        entries: [],
        keys: new Set(),
        failures: 0,
        lastError: null,
        lastErrorAt: null,
        lastDelivered: null,
        delivered: 0,
        nextAttempt: null,
      };
      this.#queues.set(name, q);
    }
    return q;
  }

  /** Keeps entries in queue order: queue time, then file name (what a restart reads back). */
  #insert(q: SinkQueue, e: Entry): void {
    const before = (a: Entry, b: Entry): boolean => a.queuedMs < b.queuedMs || (a.queuedMs === b.queuedMs && a.key < b.key);
    let i = q.entries.length;
    while (i > 0 && before(e, q.entries[i - 1] as Entry)) i--;
    q.entries.splice(i, 0, e);
    q.keys.add(e.key);
  }

  #remove(q: SinkQueue, e: Entry): void {
    const gone = !e.onDisk || this.#store.remove(q.name, e.key);
    const i = q.entries.indexOf(e);
    if (i >= 0) q.entries.splice(i, 1);
    if (gone) q.keys.delete(e.key); // a file that could not be removed stays known, so rescans do not send it again
  }

  /** Writes the files whose first write failed (the disk may have room again). */
  #rewrite(q: SinkQueue): void {
    for (const e of q.entries) {
      if (e.unwritten === null) continue;
      try {
        this.#store.write(q.name, e.key, e.unwritten);
        e.unwritten = null;
        e.onDisk = true;
      } catch {
        // already logged once; delivery from memory goes on
      }
    }
  }

  #expireAll(): void {
    for (const q of this.#queues.values()) this.#expire(q);
  }

  #expire(q: SinkQueue): void {
    const now = this.#now();
    const old = q.entries.filter((e) => !e.inFlight && now - e.queuedMs > this.#opts.maxAgeMs);
    if (old.length > 0) this.#drop(q, old, 'max-age');
  }

  #overflow(q: SinkQueue): void {
    const excess = q.entries.length - this.#maxPending;
    if (excess > 0) this.#drop(q, q.entries.filter((e) => !e.inFlight).slice(0, excess), 'overflow');
  }

  #drop(q: SinkQueue, victims: readonly Entry[], reason: 'max-age' | 'overflow'): void {
    for (const e of victims) {
      this.#remove(q, e);
      this.#dropped.set(q.name, (this.#dropped.get(q.name) ?? 0) + 1);
      const queued = new Date(e.queuedMs).toISOString();
      this.#emit({ kind: 'alert.dropped', sink: q.name, id: e.event.id, event: e.event.kind, queued, reason });
    }
    try {
      this.#store.saveDropped(this.#dropped);
    } catch (err) {
      this.#emit({ kind: 'alert.write-failed', sink: q.name, id: victims[0]?.event.id ?? '', error: errorText(err) });
    }
  }

  /** Adds the files on disk not loaded yet (`removeTmp`: on open), then drops the overflow and wakes idle loops. */
  #load(removeTmp: boolean): void {
    const touched = new Set<SinkQueue>();
    for (const found of this.#store.scan(removeTmp, (sink, key) => this.#queues.get(sink)?.keys.has(key) === true)) {
      const q = this.#queue(found.sink);
      const entry: Entry = { key: found.key, queuedMs: found.queuedMs, event: found.event, unwritten: null, onDisk: true, gathered: false, inFlight: false };
      this.#insert(q, entry);
      touched.add(q);
    }
    for (const q of touched) {
      this.#overflow(q);
      q.loop?.wake();
    }
  }

  #emit(e: OutboxEvent): void {
    try {
      this.#opts.log(e);
    } catch {
      // the log is the caller's; a failing logger must not stop deliveries
    }
  }
}
