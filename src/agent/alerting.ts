// The agent's alert path: every alert to the log at once, and to the durable outbox, which delivers
// to email, webhook and Alertmanager on its own; the outbox's sinks follow the configuration across reloads. The
// agent's own health (start, stop, failing checks, a degraded watch, dropped alerts) goes out too.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { LogSink } from '../alerts/log.js';
import { Outbox, type OutboxEvent, type SinkStatus } from '../alerts/outbox.js';
import { createSinks, sinksOfKind } from '../alerts/registry.js';
import type { AlertEvent, AlertSink, CheckSchedule, CoverageReason, DroppedAlert, OfflineInfo } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { FindingJson } from '../verify/report.js';
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
  /** The open findings that are not ignored, re-posted to Alertmanager every `resend`. */
  readonly open: () => readonly FindingJson[];
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
  private resendTimer: NodeJS.Timeout | null = null;
  /** Ids of the resends queued: their deliveries are not logged (one line per minute and Alertmanager would drown the log). */
  private readonly resends = new Map<string, number>();

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
    this.startResend();
  }

  /** New sinks for a new configuration (SIGHUP); queued deliveries stay. The watch is set up anew. */
  reload(cfg: ResolvedConfig): void {
    this.cfg = cfg;
    this.health.resetWatch();
    const old = this.sinks;
    this.sinks = createSinks(cfg, { host: alertHost(cfg) });
    this.outbox?.setSinks(this.sinks);
    void Promise.all(old.map((s) => s.close())).catch(() => undefined);
    this.startResend();
  }

  /** Re-posts the open findings (and the site offline) to each Alertmanager every `resend`, so they stay firing there. */
  private startResend(): void {
    if (this.resendTimer !== null) clearInterval(this.resendTimer);
    this.resendTimer = null;
    if (this.cfg === null || this.cfg.alerts.alertmanager.urls.length === 0) return;
    this.resendTimer = setInterval(() => this.resend(), this.cfg.alerts.alertmanager.resendMs);
  }

  /**
   * One resend: a findings.reminder of every open finding, queued only for the Alertmanagers with
   * nothing pending. One that is down gets its queue delivered first once it is back, then the next
   * resend; its queue does not fill with resends that would be stale by then.
   */
  private resend(): void {
    const cfg = this.cfg;
    if (cfg === null || this.outbox === null) return;
    const findings = this.deps.open();
    const offline = this.deps.offline();
    if (findings.length === 0 && !offline.active) return;
    const pending = new Map(this.outbox.status().map((s) => [s.sink, s.pending]));
    const idle = sinksOfKind(cfg, 'alertmanager').filter((name) => (pending.get(name) ?? 0) === 0);
    if (idle.length === 0) return;
    const event: AlertEvent = { kind: 'findings.reminder', id: randomUUID(), host: alertHost(cfg), time: new Date().toISOString(), findings: [...findings], offline };
    this.resends.set(event.id, idle.length);
    this.outbox.enqueue(event, idle);
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
    if (this.resendTimer !== null) clearInterval(this.resendTimer);
    this.resendTimer = null;
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
    if (e.kind === 'alert.delivered' && e.ids.length > 0 && e.ids.every((id) => this.resends.has(id))) {
      for (const id of e.ids) this.resendDone(id);
      return;
    }
    if (e.kind === 'alert.dropped') this.resendDone(e.id);
    this.logger.log(e);
    this.deps.onChange?.();
    if (e.kind !== 'alert.dropped' || e.reason !== 'max-age') return;
    // Overflow drops are not alerted: each alert would push the next oldest delivery out.
    this.drops.push({ sink: e.sink, id: e.id, event: e.event, queued: e.queued });
    // Alerted once the outbox is done expiring (and never from inside it).
    this.dropTimer ??= setImmediate(() => this.alertDrops());
  }

  private resendDone(id: string): void {
    const left = (this.resends.get(id) ?? 0) - 1;
    if (left > 0) this.resends.set(id, left);
    else this.resends.delete(id);
  }

  private alertDrops(): void {
    if (this.dropTimer !== null) clearImmediate(this.dropTimer);
    this.dropTimer = null;
    const drops = this.drops;
    this.drops = [];
    if (drops.length > 0 && this.cfg !== null) this.sendHealth(this.health.dropped(drops, this.cfg.alerts.maxAgeMs));
  }
}
