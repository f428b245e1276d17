// pkgwatch's metrics: what the agent knows (a plain snapshot, filled by the agent) as Prometheus
// metric families. Pure; the names and their meaning are the README's metric table.
import type { MetricFamily, Sample } from './exposition.js';

/** Open findings labelled by package: the N packages with most findings, the rest summed as OTHER_PACKAGES. */
export const TOP_PACKAGES = 10;
/** The package label of the sum beyond TOP_PACKAGES; no Debian package name starts with "(". */
export const OTHER_PACKAGES = '(other)';

/** The outcomes a run can have; each is a sample of pkgwatch_last_run_outcome. */
export const RUN_OUTCOMES = ['clean', 'findings', 'incomplete', 'failed'] as const;
export type MetricsRunOutcome = (typeof RUN_OUTCOMES)[number];

/** The kinds of run. */
export const RUN_SCHEDULES = ['scoped', 'full', 'realtime'] as const;
export type MetricsRunSchedule = (typeof RUN_SCHEDULES)[number];

/** The last run of one schedule. Times are Unix seconds. */
export interface MetricsRun {
  readonly finished: number;
  readonly durationSeconds: number;
  readonly outcome: MetricsRunOutcome;
  readonly files: number;
  readonly bytes: number;
}

/** One sink of the outbox. Times are Unix seconds, null when never. */
export interface MetricsSink {
  readonly sink: string;
  readonly pending: number;
  readonly oldestPending: number | null;
  readonly delivered: number;
  readonly dropped: number;
  readonly lastError: number | null;
  readonly lastDelivered: number | null;
}

/** Everything the metrics say, as plain data (the agent's adapter fills it from its status). */
export interface MetricsSnapshot {
  readonly version: string;
  /** Every status a finding can have (each gets a sample, 0 when none is open). */
  readonly findingStatuses: readonly string[];
  /** Open findings that alert (ignored ones are counted apart). */
  readonly findings: readonly { readonly package: string; readonly status: string }[];
  readonly ignoredFindings: number;
  readonly lastRuns: Readonly<Partial<Record<MetricsRunSchedule, MetricsRun>>>;
  /** Runs finished since the agent started, by schedule and outcome. */
  readonly runsTotal: readonly { readonly schedule: MetricsRunSchedule; readonly outcome: MetricsRunOutcome; readonly count: number }[];
  readonly watch: { readonly enabled: boolean; readonly paths: number; readonly directories: number; readonly errors: number; readonly degraded: boolean };
  /** Unix seconds since dpkg has been seen running; null when it is not running. */
  readonly dpkgRunningSince: number | null;
  readonly sinks: readonly MetricsSink[];
  readonly offline: { readonly enabled: boolean; readonly active: boolean; readonly since: number | null };
  readonly scopePackages: number;
  readonly process: { readonly residentBytes: number; readonly cpuSeconds: number; readonly startTime: number };
}

const bool = (b: boolean): number => (b ? 1 : 0);

function gauge(name: string, help: string, samples: readonly Sample[]): MetricFamily {
  return { name, help, type: 'gauge', samples };
}

function counter(name: string, help: string, samples: readonly Sample[]): MetricFamily {
  return { name, help, type: 'counter', samples };
}

/** Open findings per package: the TOP_PACKAGES largest by count (then name), the rest as OTHER_PACKAGES. */
export function findingsByPackage(findings: MetricsSnapshot['findings'], top = TOP_PACKAGES): Sample[] {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.package, (counts.get(f.package) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Sample[] = ranked.slice(0, top).map(([pkg, n]) => ({ labels: { package: pkg }, value: n }));
  const rest = ranked.slice(top).reduce((sum, [, n]) => sum + n, 0);
  if (rest > 0) out.push({ labels: { package: OTHER_PACKAGES }, value: rest });
  return out;
}

/** The metric families of a snapshot, in the README's order. */
export function metricFamilies(s: MetricsSnapshot): MetricFamily[] {
  const statusCounts = new Map<string, number>(s.findingStatuses.map((st) => [st, 0]));
  for (const f of s.findings) statusCounts.set(f.status, (statusCounts.get(f.status) ?? 0) + 1);
  const runs = RUN_SCHEDULES.flatMap((schedule) => {
    const r = s.lastRuns[schedule];
    return r === undefined ? [] : [{ schedule, r }];
  });
  const perRun = (f: (r: MetricsRun) => number): Sample[] => runs.map(({ schedule, r }) => ({ labels: { schedule }, value: f(r) }));
  const perSink = (f: (k: MetricsSink) => number | null): Sample[] =>
    s.sinks.flatMap((k) => {
      const v = f(k);
      return v === null ? [] : [{ labels: { sink: k.sink }, value: v }];
    });
  return [
    gauge('pkgwatch_build_info', 'pkgwatch version; always 1.', [{ labels: { version: s.version }, value: 1 }]),
    gauge('pkgwatch_open_findings', 'Open findings (not ignored) by status.', [...statusCounts].map(([status, n]) => ({ labels: { status }, value: n }))),
    gauge(
      'pkgwatch_open_findings_by_package',
      `Open findings (not ignored) by package: the ${TOP_PACKAGES} packages with most, the rest summed as package="${OTHER_PACKAGES}".`,
      findingsByPackage(s.findings),
    ),
    gauge('pkgwatch_ignored_findings', 'Open findings on paths in ignore.paths (they never alert).', [{ value: s.ignoredFindings }]),
    gauge('pkgwatch_scope_packages', 'Packages in the scoped check (with dependencies).', [{ value: s.scopePackages }]),
    gauge('pkgwatch_last_run_timestamp_seconds', 'When the last run of each schedule finished (Unix time).', perRun((r) => r.finished)),
    gauge('pkgwatch_last_run_duration_seconds', 'How long the last run of each schedule took.', perRun((r) => r.durationSeconds)),
    gauge(
      'pkgwatch_last_run_outcome',
      'The outcome of the last run of each schedule: 1 for its outcome, 0 for the others.',
      runs.flatMap(({ schedule, r }) => RUN_OUTCOMES.map((outcome) => ({ labels: { schedule, outcome }, value: bool(r.outcome === outcome) }))),
    ),
    gauge('pkgwatch_last_run_files', 'Paths the last run of each schedule checked.', perRun((r) => r.files)),
    gauge('pkgwatch_last_run_bytes', 'Bytes the last run of each schedule hashed.', perRun((r) => r.bytes)),
    counter(
      'pkgwatch_runs_total',
      'Runs finished since the agent started, by schedule and outcome.',
      s.runsTotal.map((r) => ({ labels: { schedule: r.schedule, outcome: r.outcome }, value: r.count })),
    ),
    gauge('pkgwatch_watch_enabled', 'Whether real-time watching is on (1) or off (0).', [{ value: bool(s.watch.enabled) }]),
    gauge('pkgwatch_watch_paths', 'Paths the real-time watcher covers.', [{ value: s.watch.paths }]),
    gauge('pkgwatch_watch_directories', 'Directories watched (inotify watches held).', [{ value: s.watch.directories }]),
    counter('pkgwatch_watch_errors_total', 'Watch errors since the agent started (failed watches, queue overflows).', [{ value: s.watch.errors }]),
    gauge('pkgwatch_watch_degraded', 'Whether real-time coverage is degraded (1): some paths are not watched, the scoped schedule covers them.', [
      { value: bool(s.watch.degraded) },
    ]),
    gauge('pkgwatch_dpkg_running', 'Whether dpkg is running (1) or not (0).', [{ value: bool(s.dpkgRunningSince !== null) }]),
    gauge('pkgwatch_dpkg_running_since_timestamp_seconds', 'Since when dpkg has been running (Unix time); absent when it is not.', s.dpkgRunningSince === null ? [] : [{ value: s.dpkgRunningSince }]),
    gauge('pkgwatch_alerts_pending', 'Alerts waiting in the outbox, per sink.', perSink((k) => k.pending)),
    gauge('pkgwatch_alerts_oldest_pending_timestamp_seconds', 'When the oldest pending alert was queued, per sink (Unix time).', perSink((k) => k.oldestPending)),
    counter('pkgwatch_alerts_delivered_total', 'Alerts delivered since the agent started, per sink.', perSink((k) => k.delivered)),
    counter('pkgwatch_alerts_dropped_total', 'Alerts given up (alerts.max_age or overflow), per sink, kept across restarts.', perSink((k) => k.dropped)),
    gauge('pkgwatch_alerts_last_error_timestamp_seconds', 'When the last delivery to each sink failed (Unix time).', perSink((k) => k.lastError)),
    gauge('pkgwatch_alerts_last_delivered_timestamp_seconds', 'When the last delivery to each sink succeeded (Unix time).', perSink((k) => k.lastDelivered)),
    gauge('pkgwatch_offline_enabled', 'Whether taking the site offline is configured (1) or not (0).', [{ value: bool(s.offline.enabled) }]),
    gauge('pkgwatch_site_offline', 'Whether the agent has taken the site offline (1) or not (0).', [{ value: bool(s.offline.active) }]),
    gauge('pkgwatch_site_offline_since_timestamp_seconds', 'Since when the site is offline (Unix time); absent when online.', s.offline.since === null || !s.offline.active ? [] : [{ value: s.offline.since }]),
    gauge('pkgwatch_process_resident_memory_bytes', "The agent's resident memory (RSS).", [{ value: s.process.residentBytes }]),
    counter('pkgwatch_process_cpu_seconds_total', "CPU time the agent's process used (user and system; the full check's child is not included).", [{ value: s.process.cpuSeconds }]),
    gauge('pkgwatch_process_start_time_seconds', 'When the agent started (Unix time).', [{ value: s.process.startTime }]),
  ];
}
