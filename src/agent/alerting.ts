// The agent's alert path: every alert to the log at once, and to the durable outbox, which delivers
// to email and webhook on its own; the outbox's sinks follow the configuration across reloads.
import os from 'node:os';
import path from 'node:path';
import { LogSink } from '../alerts/log.js';
import { Outbox, type SinkStatus } from '../alerts/outbox.js';
import { createSinks } from '../alerts/registry.js';
import type { AlertEvent, AlertSink } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from './log.js';

/** The host name alerts carry: `[alerts] host`, or the machine's. */
export function alertHost(cfg: ResolvedConfig): string {
  return cfg.alerts.host === '' ? os.hostname() : cfg.alerts.host;
}

/** The outbox's folder in state_dir. */
export function outboxDir(stateDir: string): string {
  return path.join(stateDir, 'outbox');
}

/** Sends alerts for the agent; `open`, `reload`, `close` are its lifecycle. */
export class Alerting {
  private readonly logSink: LogSink;
  private outbox: Outbox | null = null;
  /** The outbox never closes its sinks: this does, after the outbox or on reload. */
  private sinks: AlertSink[] = [];

  constructor(private readonly logger: Logger) {
    this.logSink = new LogSink(logger);
  }

  /** Opens the outbox and starts delivering what a previous run left undelivered. */
  async open(cfg: ResolvedConfig): Promise<void> {
    this.sinks = createSinks(cfg, { host: alertHost(cfg) });
    this.outbox = await Outbox.open({
      dir: outboxDir(cfg.stateDir),
      sinks: this.sinks,
      maxAgeMs: cfg.alerts.maxAgeMs,
      retryMinMs: cfg.alerts.retryMinMs,
      retryMaxMs: cfg.alerts.retryMaxMs,
      log: (e) => this.logger.log(e),
    });
    this.outbox.start();
  }

  /** New sinks for a new configuration (SIGHUP); queued deliveries stay. */
  reload(cfg: ResolvedConfig): void {
    const old = this.sinks;
    this.sinks = createSinks(cfg, { host: alertHost(cfg) });
    this.outbox?.setSinks(this.sinks);
    void Promise.all(old.map((s) => s.close())).catch(() => undefined);
  }

  /** Logs the event and queues it durably for every sink (the file is fsynced before this returns). */
  send(event: AlertEvent): void {
    this.logSink.send([event]).catch((err: unknown) => {
      this.logger.log({ kind: 'warning', message: `cannot log alert ${event.id}: ${err instanceof Error ? err.message : String(err)}` });
    });
    this.outbox?.enqueue(event);
  }

  /** Picks up alerts other processes queued (`pkgwatch online`) now, not at the outbox's next minute tick. */
  rescan(): void {
    this.outbox?.rescan().catch((err: unknown) => {
      this.logger.log({ kind: 'warning', message: `cannot read the outbox: ${err instanceof Error ? err.message : String(err)}` });
    });
  }

  /** Deliveries per sink, for the status file. */
  status(): SinkStatus[] {
    return this.outbox?.status() ?? [];
  }

  /** Stops delivering (what is pending stays on disk) and closes the sinks. */
  async close(): Promise<void> {
    await this.outbox?.close();
    await Promise.all(this.sinks.map((s) => s.close())).catch(() => undefined);
  }
}
