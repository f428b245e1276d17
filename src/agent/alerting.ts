// The agent's alert path: every alert to the log at once, and to the durable outbox, which delivers
// to email and webhook on its own; the outbox's sinks follow the configuration across reloads. The
// agent's own health (start, stop, failing checks, a degraded watch, dropped alerts) goes out too.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { LogSink } from '../alerts/log.js';
import { Outbox, type OutboxEvent, type SinkStatus } from '../alerts/outbox.js';
import { createSinks } from '../alerts/registry.js';
import type { AlertEvent, AlertSink, CheckSchedule, CoverageReason, DroppedAlert, OfflineInfo } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import { AgentHealth, type HealthDraft } from './health.js';
import type { Logger, WatchDegradedReason } from './log.js';

/** How long close() gives the outbox to deliver what is due (agent.stopping above all) before it stops. */
const FLUSH_MS = 3000;

/** The host name alerts carry: `[alerts] host`, or the machine's. */
export function alertHost(cfg: ResolvedConfig): string {
  return cfg.alerts.host === '' ? os.hostname() : cfg.alerts.host;
}

/** The outbox's folder in state_dir. */
export function outboxDir(stateDir: string): string {
  return path.join(stateDir, 'outbox');
}

/** What Alerting needs of the agent beyond the logger. */
export interface AlertingDeps {
  /** pkgwatch's version, carried by the events about the agent. */
  readonly version: string;
  /** The site's offline state now, for the events about the agent. */
  readonly offline: () => OfflineInfo;
  /** A delivery, a failed attempt or a drop changed what status() says (called from inside the outbox: no throwing). */
  readonly onChange?: () => void;
}

/** Sends alerts for the agent; `open`, `reload`, `close` are its lifecycle. */
export class Alerting {
  private readonly logSink: LogSink;
  private readonly health: AgentHealth;
  private cfg: ResolvedConfig | null = null;
  private outbox: Outbox | null = null;
  /** The outbox never closes its sinks: this does, after the outbox or on reload. */
  private sinks: AlertSink[] = [];
  /** Deliveries dropped for max_age and not yet alerted: gathered so that one expiry is one alert. */
  private drops: DroppedAlert[] = [];
  private dropTimer: NodeJS.Immediate | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly deps: AlertingDeps,
  ) {
    this.logSink = new LogSink(logger);
    this.health = new AgentHealth(deps.version);
  }

  /** Opens the outbox and starts delivering what a previous run left undelivered. */
  async open(cfg: ResolvedConfig): Promise<void> {
    this.cfg = cfg;
    this.sinks = createSinks(cfg, { host: alertHost(cfg) });
    this.outbox = await Outbox.open({
      dir: outboxDir(cfg.stateDir),
      sinks: this.sinks,
      maxAgeMs: cfg.alerts.maxAgeMs,
      retryMinMs: cfg.alerts.retryMinMs,
      retryMaxMs: cfg.alerts.retryMaxMs,
      log: (e) => this.onOutboxEvent(e),
    });
    this.outbox.start();
  }

  /** New sinks for a new configuration (SIGHUP); queued deliveries stay. The watch is set up anew. */
  reload(cfg: ResolvedConfig): void {
    this.cfg = cfg;
    this.health.resetWatch();
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

  /** agent.started: the agent is up and checking. */
  started(): void {
    if (this.cfg !== null) this.sendHealth(this.health.started(this.cfg));
  }

  /** A check could not run: run.failed on the first failure of a streak. */
  runFailed(schedule: CheckSchedule, error: string): void {
    this.sendHealth(this.health.runFailed(schedule, error, new Date()));
  }

  /** A check ran to its end: run.recovered when it had been failing. */
  runOk(schedule: CheckSchedule): void {
    this.sendHealth(this.health.runOk(schedule));
  }

  /** The watcher lost coverage: watch.degraded, once per reason until a reload. */
  watchDegraded(reason: WatchDegradedReason, detail: string): void {
    this.sendHealth(this.health.watchDegraded(reason, detail));
  }

  /** Checks cannot see changes (dpkg held too long, the watcher lost coverage): coverage.degraded, once until restored. */
  coverageDegraded(reason: CoverageReason, message: string): void {
    this.sendHealth(this.health.coverageDegraded(reason, message));
  }

  /** Coverage lost for `reason` is back: coverage.restored, when it had been degraded. */
  coverageRestored(reason: CoverageReason, message: string): void {
    this.sendHealth(this.health.coverageRestored(reason, message));
  }

  /** Whether coverage.degraded was sent for `reason` and not yet restored. */
  isBlind(reason: CoverageReason): boolean {
    return this.health.isBlind(reason);
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

  /**
   * Queues agent.stopping, gives the sinks that are not backing off up to FLUSH_MS to deliver what
   * is due, then stops delivering (what is pending stays on disk) and closes the sinks.
   */
  async close(): Promise<void> {
    if (this.outbox !== null) {
      this.alertDrops();
      this.sendHealth(this.health.stopping());
      await this.outbox.flush(FLUSH_MS);
    }
    await this.outbox?.close();
    await Promise.all(this.sinks.map((s) => s.close())).catch(() => undefined);
  }

  /**
   * An event about the agent goes to the outbox only: the agent has logged what happened already
   * (`run.failed`, `watch.degraded`, ...), so an `alert` line would say it twice.
   */
  private sendHealth(draft: HealthDraft | null): void {
    if (draft === null || this.cfg === null) return;
    const event: AlertEvent = {
      kind: draft.kind,
      id: randomUUID(),
      host: alertHost(this.cfg),
      time: new Date().toISOString(),
      findings: [],
      offline: this.deps.offline(),
      agent: draft.agent,
    };
    this.outbox?.enqueue(event);
  }

  private onOutboxEvent(e: OutboxEvent): void {
    this.logger.log(e);
    this.deps.onChange?.();
    if (e.kind !== 'alert.dropped' || e.reason !== 'max-age') return;
    // Overflow drops are not alerted: each alert would push the next oldest delivery out.
    this.drops.push({ sink: e.sink, id: e.id, event: e.event, queued: e.queued });
    // Alerted once the outbox is done expiring (and never from inside it).
    this.dropTimer ??= setImmediate(() => this.alertDrops());
  }

  private alertDrops(): void {
    if (this.dropTimer !== null) clearImmediate(this.dropTimer);
    this.dropTimer = null;
    const drops = this.drops;
    this.drops = [];
    if (drops.length > 0 && this.cfg !== null) this.sendHealth(this.health.dropped(drops, this.cfg.alerts.maxAgeMs));
  }
}
