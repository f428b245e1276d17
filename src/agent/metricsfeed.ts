// Feeds the agent's status to the metrics: turns each status document into a metrics snapshot,
// counts runs, and runs the /metrics endpoint and the node_exporter textfile as the config says.
import { parseListen } from '../config/values.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { SinkStatus } from '../alerts/outbox.js';
import { renderExposition } from '../metrics/exposition.js';
import { metricFamilies, RUN_SCHEDULES, type MetricsRun, type MetricsRunOutcome, type MetricsRunSchedule, type MetricsSnapshot } from '../metrics/families.js';
import { MetricsServer } from '../metrics/server.js';
import { writeTextfile } from '../metrics/textfile.js';
import type { Logger } from './log.js';
import type { AgentStatus } from './statusfile.js';

/** The textfile is rewritten this often besides at each status change, so that its mtime shows the agent alive. */
const TEXTFILE_EVERY_MS = 60_000;
const FINDING_STATUSES = ['changed', 'missing', 'wrong-type', 'unreadable', 'database-changed'];

const seconds = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso) / 1000);

/** The metrics snapshot of a status (pure, but for the process figures passed in). */
export function snapshotOf(
  status: AgentStatus,
  extra: { version: string; runsTotal: MetricsSnapshot['runsTotal']; dpkgRunningSince: number | null; sinks: readonly SinkStatus[]; process: MetricsSnapshot['process'] },
): MetricsSnapshot {
  const lastRuns: Partial<Record<MetricsRunSchedule, MetricsRun>> = {};
  for (const k of RUN_SCHEDULES) {
    const r = status.lastRuns[k];
    if (r !== undefined) {
      lastRuns[k] = { finished: Date.parse(r.finished) / 1000, durationSeconds: r.durationMs / 1000, outcome: r.outcome, files: r.files, bytes: r.bytes };
    }
  }
  return {
    version: extra.version,
    findingStatuses: FINDING_STATUSES,
    findings: status.findings.filter((f) => !f.ignored).map((f) => ({ package: f.package, status: f.status })),
    ignoredFindings: status.findings.filter((f) => f.ignored).length,
    lastRuns,
    runsTotal: extra.runsTotal,
    watch: { enabled: status.watch.enabled, paths: status.watch.paths, directories: status.watch.dirs, errors: status.watch.errors, degraded: status.watch.degraded },
    dpkgRunningSince: extra.dpkgRunningSince,
    sinks: extra.sinks.map((k) => ({
      sink: k.sink,
      pending: k.pending,
      oldestPending: seconds(k.oldest),
      delivered: k.delivered,
      dropped: k.dropped,
      lastError: seconds(k.lastErrorAt),
      lastDelivered: seconds(k.lastDelivered),
    })),
    offline: { enabled: status.offline.enabled, active: status.offline.active, since: seconds(status.offline.since) },
    scopePackages: status.scope.packages.length,
    process: extra.process,
  };
}

function processFigures(): MetricsSnapshot['process'] {
  const cpu = process.cpuUsage();
  return {
    residentBytes: process.memoryUsage.rss(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    startTime: Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000,
  };
}

export interface MetricsFeedOptions {
  readonly logger: Logger;
  readonly version: string;
  /** The outbox's sinks now (the status follows a delivery within a second; a scrape sees it at once). */
  readonly sinks: () => readonly SinkStatus[];
}

/** The agent's metrics: `start`, `update` (at every status write), `reload`, `close`. */
export class MetricsFeed {
  private status: AgentStatus | null = null;
  private readonly runs = new Map<string, { schedule: MetricsRunSchedule; outcome: MetricsRunOutcome; count: number }>();
  /** The `finished` time of the last counted run per schedule. */
  private readonly counted = new Map<MetricsRunSchedule, string>();
  private dpkgSince: number | null = null;
  private server: MetricsServer | null = null;
  private listen = '';
  private textfile = '';
  private textfileError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: MetricsFeedOptions) {}

  /** Starts the endpoint and the textfile as configured. A port in use is logged, not fatal: checks go on. */
  async start(config: ResolvedConfig): Promise<void> {
    await this.reload(config);
  }

  /** Follows a new configuration: restarts the endpoint when `listen` changed, moves the textfile. */
  async reload(config: ResolvedConfig): Promise<void> {
    const { listen, textfile } = config.metrics;
    if (listen !== this.listen || (listen !== '' && this.server === null)) {
      await this.server?.close();
      this.server = null;
      this.listen = listen;
      const at = parseListen(listen);
      if (at !== null && !this.closed) {
        try {
          this.server = await MetricsServer.listen(at, () => this.render());
          this.opts.logger.log({ kind: 'metrics.listening', address: this.server.address.host, port: this.server.address.port });
        } catch (err) {
          this.opts.logger.log({ kind: 'metrics.failed', target: `listen ${listen}`, error: errText(err) });
        }
      }
    }
    this.textfile = textfile;
    this.textfileError = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (textfile !== '' && !this.closed) {
      this.timer = setInterval(() => this.writeTextfile(), TEXTFILE_EVERY_MS);
      this.timer.unref();
      this.writeTextfile();
    }
  }

  /** The agent wrote its status: count the runs it shows for the first time, and rewrite the textfile. */
  update(status: AgentStatus): void {
    const started = Date.parse(status.startedAt);
    for (const schedule of RUN_SCHEDULES) {
      const r = status.lastRuns[schedule];
      // Runs of an earlier agent (from the state file) are not this process's to count.
      if (r === undefined || Date.parse(r.started) < started || this.counted.get(schedule) === r.finished) continue;
      this.counted.set(schedule, r.finished);
      const key = `${schedule}\0${r.outcome}`;
      const c = this.runs.get(key) ?? { schedule, outcome: r.outcome, count: 0 };
      c.count++;
      this.runs.set(key, c);
    }
    if (!status.dpkgRunning) this.dpkgSince = null;
    else this.dpkgSince ??= Date.now() / 1000;
    this.status = status;
    this.writeTextfile();
  }

  /** The metrics now, in the text format. */
  render(): string {
    if (this.status === null) return '';
    return renderExposition(
      metricFamilies(
        snapshotOf(this.status, {
          version: this.opts.version,
          runsTotal: [...this.runs.values()].map((r) => ({ ...r })),
          dpkgRunningSince: this.dpkgSince,
          sinks: this.opts.sinks(),
          process: processFigures(),
        }),
      ),
    );
  }

  /** Stops the endpoint and the textfile timer (the last textfile stays: its age says the agent stopped). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.server?.close();
    this.server = null;
  }

  private writeTextfile(): void {
    if (this.textfile === '' || this.status === null) return;
    try {
      writeTextfile(this.textfile, this.render());
      this.textfileError = null;
    } catch (err) {
      // Logged once per distinct error, not at every status write.
      const text = errText(err);
      if (text !== this.textfileError) this.opts.logger.log({ kind: 'metrics.failed', target: `textfile ${this.textfile}`, error: text });
      this.textfileError = text;
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
