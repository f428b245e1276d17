// The one interface every alert sink implements, and the alert event it delivers.
import type { FindingJson } from '../verify/report.js';

/** What an alert reports: findings that opened, findings that resolved, or a reminder of open ones. */
export type AlertKind = 'findings.opened' | 'findings.resolved' | 'findings.reminder';

/**
 * One alert: a batch of findings of one kind from one run (or one reminder tick), never one per file.
 * `id` is unique (a random UUID) so a receiver can drop a redelivered event.
 */
export interface AlertEvent {
  readonly kind: AlertKind;
  readonly id: string;
  /** ISO 8601 time the event was made. */
  readonly time: string;
  /** Sorted by package, then path; never empty. */
  readonly findings: readonly FindingJson[];
}

/**
 * A destination for alerts (log, email, webhook). Sinks are created by name through
 * `createSinks` in registry.ts; the agent only ever holds this interface.
 */
export interface AlertSink {
  /** The name it is configured by, e.g. `log`. */
  readonly name: string;
  /** Delivers one event; resolves once it is accepted, rejects when delivery failed (the caller retries). */
  send(event: AlertEvent): Promise<void>;
  /** Releases connections and timers; idempotent. */
  close(): Promise<void>;
}
