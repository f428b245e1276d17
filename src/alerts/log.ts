// The log sink: writes each alert as an `alert` event into the agent's own log (journal or stdout).
import type { AlertEvent, AlertSink } from './sink.js';

/**
 * What the log sink needs of a logger. The agent's Logger (agent/log.ts) satisfies it; it is
 * declared here so that alerts/ does not import agent/.
 */
export interface AlertLogger {
  log(e: { readonly kind: 'alert'; readonly event: AlertEvent }): void;
}

/** Writes alerts to the log, synchronously; it is not queued in the outbox (the log is local). */
export class LogSink implements AlertSink {
  readonly name = 'log';
  readonly maxBatch = 1;
  readonly gatherMs = 0;
  readonly #logger: AlertLogger;

  constructor(logger: AlertLogger) {
    this.#logger = logger;
  }

  send(events: readonly AlertEvent[]): Promise<void> {
    try {
      for (const event of events) this.#logger.log({ kind: 'alert', event });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
