// Shared pieces of the outbox tests: temp dirs, alert events, a scriptable in-test sink, waiting for conditions.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Outbox, type OutboxEvent, type OutboxOptions } from '../../src/alerts/outbox.js';
import { ONLINE, type AlertEvent, type AlertSink } from '../../src/alerts/sink.js';

export { until } from '../helpers/wait.js';

/** A temp dir removed when the test ends. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-outbox-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A findings.opened event with a fresh id. */
export function alert(n = 1): AlertEvent {
  return {
    kind: 'findings.opened',
    id: randomUUID(),
    host: 'web1.example.org',
    time: '2024-01-31T12:00:00.000Z',
    findings: [
      { package: 'nginx', path: `/usr/sbin/nginx-${n}`, status: 'changed', conffile: false, expected: 'a'.repeat(32), actual: 'b'.repeat(32), detail: null },
    ],
    offline: ONLINE,
  };
}

/** One call of a TestSink's send. */
export interface SendCall {
  readonly at: number;
  readonly events: readonly AlertEvent[];
}

/**
 * An AlertSink whose behaviour the test scripts. The outbox only ever holds the AlertSink interface,
 * and the real email and webhook sinks are tested against real SMTP and HTTP servers in their own
 * tests; here a small in-test sink is the thing under observation, not a stand-in for a server.
 */
export class TestSink implements AlertSink {
  readonly calls: SendCall[] = [];
  /** Decides each call's result; the default accepts. `n` counts from 1. */
  behave: (events: readonly AlertEvent[], n: number) => Promise<void> = () => Promise.resolve();
  readonly name: string;
  readonly maxBatch: number;
  readonly gatherMs: number;

  constructor(name: string, opts: { maxBatch?: number; gatherMs?: number } = {}) {
    this.name = name;
    this.maxBatch = opts.maxBatch ?? 1;
    this.gatherMs = opts.gatherMs ?? 0;
  }

  send(events: readonly AlertEvent[]): Promise<void> {
    this.calls.push({ at: performance.now(), events: [...events] });
    return this.behave(events, this.calls.length);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The ids of every event sent, in order, over all calls. */
  ids(): string[] {
    return this.calls.flatMap((c) => c.events.map((e) => e.id));
  }
}

/** A send that never settles. */
export function hang(): Promise<void> {
  return new Promise<void>(() => undefined);
}

/** Records the outbox's log. */
export class LogRecorder {
  readonly events: OutboxEvent[] = [];
  readonly log = (e: OutboxEvent): void => {
    this.events.push(e);
  };

  of<K extends OutboxEvent['kind']>(kind: K): Extract<OutboxEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<OutboxEvent, { kind: K }> => e.kind === kind);
  }
}

const WEEK = 7 * 24 * 3600_000;

/** Opens an outbox on `dir` with quick retries, closed when the test ends. */
export async function openOutbox(
  t: { after: (fn: () => Promise<void>) => void },
  dir: string,
  sinks: readonly AlertSink[],
  rec: LogRecorder,
  extra: Partial<OutboxOptions> = {},
): Promise<Outbox> {
  const outbox = await Outbox.open({ dir, sinks, maxAgeMs: WEEK, retryMinMs: 20, retryMaxMs: 200, log: rec.log, ...extra });
  t.after(() => outbox.close());
  return outbox;
}

/** The JSON files of a sink's folder, sorted. */
export function queued(dir: string, sink: string): string[] {
  try {
    return fs
      .readdirSync(path.join(dir, sink))
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
}
