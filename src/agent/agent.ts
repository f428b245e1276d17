// The long-running agent: schedules, real-time checks, the dpkg guard, and alerts on change of
// state. One Agent per process; `start`, `reload`, `close` are its lifecycle (STYLE 10).
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { displayPath, fromUtf8 } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import type { ResolvedConfig } from '../config/schema.js';
import { compileIgnoreJson } from '../config/ignore.js';
import type { ActionOutcome, AlertKind } from '../alerts/sink.js';
import type { FindingJson } from '../verify/report.js';
import { defaultJobs } from '../verify/run.js';
import { Alerting, alertHost } from './alerting.js';
import { DpkgGuard } from '../dpkgrun/guard.js';
import { DbRecord } from './dbrecord.js';
import { ADMIN_PACKAGE } from '../dpkgrun/dbsnapshot.js';
import { applyRun, dueReminders, type DraftEvent } from './findings.js';
import { Liveness } from './liveness.js';
import { MetricsFeed } from './metricsfeed.js';
import { runFullCheck } from './fullcheck.js';
import type { Logger, WatchDegradedReason } from './log.js';
import { OfflineController } from './offline.js';
import { offlineInfo } from '../respond/offlinestate.js';
import { currentView, PathClock } from './pathclock.js';
import { RunQueue, type RunKind } from './runqueue.js';
import { missedSince, Scheduler } from './scheduler.js';
import { resolveScope, type Scope } from './scope.js';
import { sdNotify, watchdogIntervalMs } from './sdnotify.js';
import { ScopedChecks } from './checks.js';
import { acceptAfterDpkg, checkPoints } from './persistpoints.js';
import { StateStore, type AgentState, type RunRecord } from './state.js';
import { composeStatus, writeStatus } from './statusfile.js';
import type { WatchEvent } from '../watch/watcher.js';
import { ScopeWatchers } from './watchers.js';
import { WriteAlerts } from './writes.js';

/** How often the dpkg lock and the hook's marker are looked at. */
const DPKG_POLL_MS = 1000;
/** At most one status.json write per this long for alert deliveries and failures. */
const STATUS_EVERY_MS = 1000;

export interface AgentOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly version: string;
}

/** The agent. Nothing happens until `start`; `close` is idempotent and loses nothing accepted. */
export class Agent {
  private config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly store: StateStore;
  private state!: AgentState;
  private readonly alerting: Alerting;
  private readonly offline: OfflineController;
  private readonly metrics: MetricsFeed;
  private readonly liveness: Liveness;
  private isIgnored: (p: string) => boolean;
  private scope: Scope | null = null;
  private readonly db: DbRecord;
  private readonly checks: ScopedChecks;
  private readonly clock = new PathClock();
  private readonly writes: WriteAlerts;
  private scheduler: Scheduler | null = null;
  private readonly watchers: ScopeWatchers;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly queue: RunQueue;
  private readonly abort = new AbortController();
  private readonly dpkg: DpkgGuard;
  private closed: Promise<void> | null = null;
  private readonly startedAt = new Date().toISOString();
  /** The next full run is the catch-up of one missed while the agent was down. */
  private catchUpFull = false;
  /** When status.json was last written (0: not yet), and the write statusSoon() has scheduled. */
  private statusWrittenAt = 0;
  private statusTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.logger = opts.logger;
    this.store = new StateStore(opts.config.stateDir);
    this.isIgnored = compileIgnoreJson(opts.config.ignore.paths);
    this.dpkg = new DpkgGuard({
      admindir: () => this.scope?.db.admindir ?? path.join(this.config.root, 'var/lib/dpkg'),
      stateDir: () => this.config.stateDir,
      report: (e) => {
        this.logger.log(e);
        if (e.kind === 'coverage.degraded') this.alerting.coverageDegraded(e.reason, e.detail);
        if (e.kind === 'coverage.restored') this.alerting.coverageRestored(e.reason, e.detail);
      },
      onChange: () => this.writeStatus(),
    });
    this.queue = new RunQueue({ dpkg: this.dpkg, logger: this.logger, dpkgPollMs: DPKG_POLL_MS, run: (kind, paths) => this.run(kind, paths) });
    this.db = new DbRecord({
      dpkg: this.dpkg,
      scope: () => this.scope,
      stopping: () => this.stopping,
      apply: (findings, changes, standalone) => {
        const ids = this.scope?.ids ?? new Set<string>();
        const summary = { packages: ids.size, files: changes, bytes: 0 };
        // A look prompted by a database event is a real-time run of its own; the one at the end of
        // a scoped run is part of that run, which logs its own start and end.
        // A scope of no package is no run (as in run()).
        const logged = standalone && ids.size > 0;
        if (logged) this.logger.log({ kind: 'run.started', schedule: 'realtime' });
        this.apply('realtime', findings, (f) => f.status === 'database-changed' && (ids.has(f.package) || f.package === ADMIN_PACKAGE), new Date(), summary, this.clock.mark(), logged);
      },
    });
    this.checks = new ScopedChecks({
      root: () => this.config.root,
      withDeps: () => this.config.scope.withDependencies,
      stateDir: opts.config.stateDir,
      signal: this.abort.signal,
    });
    this.watchers = new ScopeWatchers({
      onFile: (e) => this.onWatchEvent(e),
      onDatabase: () => this.db.onEvent(),
      onDegraded: (reason, detail) => this.onWatchDegraded(reason, detail),
    });
    this.writes = new WriteAlerts({
      dpkg: this.dpkg,
      owners: (p) => this.scope?.owners.get(p) ?? [],
      isIgnored: (p) => this.isIgnored(p),
      send: (findings) => this.send([{ kind: 'file.written', id: randomUUID(), time: new Date().toISOString(), findings }]),
    });
    this.alerting = new Alerting(this.logger, {
      version: opts.version,
      offline: () => offlineInfo(this.offline.current),
      onChange: () => this.statusSoon(),
      open: () => this.state.findings.filter((o) => !o.ignored).map((o) => o.finding),
    });
    this.liveness = new Liveness(this.logger, opts.version, () => {
      const w = this.watchers.stats();
      return {
        host: alertHost(this.config),
        openFindings: this.state.findings.filter((o) => !o.ignored).length,
        offline: this.offline.current.active,
        lastRuns: { scoped: this.state.lastRuns.scoped?.finished ?? null, full: this.state.lastRuns.full?.finished ?? null },
        lastFullMs: this.state.lastRuns.full?.outcome === 'failed' ? null : (this.state.lastRuns.full?.durationMs ?? null),
        watchDegraded: w?.degraded ?? false,
      };
    });
    this.metrics = new MetricsFeed({ logger: this.logger, version: opts.version, sinks: () => this.alerting.status() });
    this.offline = new OfflineController({
      config: () => this.config,
      logger: this.logger,
      stateDir: opts.config.stateDir,
      inScope: (pkg) => this.scope?.ids.has(pkg) ?? false,
      reverify: (findings) => this.reverify(findings),
      alert: (kind, findings, actions) => this.alert(kind, findings, actions),
      onChange: () => this.writeStatus(),
      onOnline: () => {
        // `pkgwatch online` queued site.online before it changed the record.
        this.alerting.rescan();
        this.queue.request('scoped');
      },
      signal: this.abort.signal,
    });
  }

  /** Loads state, resolves the scope, starts watchers and schedules; READY=1 when done. */
  async start(): Promise<void> {
    const loaded = this.store.load();
    this.state = loaded.state;
    if (loaded.warning !== null) this.logger.log({ kind: 'state.corrupt', file: path.join(this.config.stateDir, 'state.json'), detail: loaded.warning });
    const sizesWarning = this.checks.load();
    if (sizesWarning !== null) this.logger.log({ kind: 'warning', message: sizesWarning });
    // The outbox before anything can alert: what a previous run left undelivered goes out first.
    await this.alerting.open(this.config);
    this.logger.log({
      kind: 'agent.started',
      version: this.opts.version,
      configFiles: [...this.config.sources],
      scopePackages: [...this.config.scope.packages],
      watch: this.config.watch.enabled && this.config.scope.packages.length > 0,
    });
    await this.dpkg.observe();
    await this.offline.start();
    await this.refreshScope(true);
    await this.metrics.start(this.config);
    this.startSchedules();
    await this.catchUp();
    // dpkg's record as it is now against the kept baseline: what changed while the agent was down.
    await this.db.check(this.dpkg.epoch);
    this.timers.push(setInterval(() => this.tick(), DPKG_POLL_MS));
    const reminderEvery = Math.min(Math.max(this.config.alerts.reminderMs / 4, 1000), 10 * 60_000);
    this.timers.push(setInterval(() => this.remind(), reminderEvery));
    const watchdog = watchdogIntervalMs();
    if (watchdog !== null) this.timers.push(setInterval(() => void this.notify('WATCHDOG=1'), watchdog));
    this.writeStatus();
    this.alerting.started();
    await this.liveness.start(this.config);
    this.logger.log({ kind: 'agent.ready' });
    await this.notify('READY=1');
  }

  /** Applies a new configuration without dropping state (SIGHUP). */
  async reload(config: ResolvedConfig): Promise<void> {
    await this.notify('RELOADING=1');
    if (config.stateDir !== this.config.stateDir) {
      this.logger.log({ kind: 'warning', message: `state_dir changed to ${config.stateDir}: takes effect only after a restart; keeping ${this.config.stateDir}` });
    }
    this.config = { ...config, stateDir: this.config.stateDir };
    this.isIgnored = compileIgnoreJson(config.ignore.paths);
    this.alerting.reload(this.config);
    await this.metrics.reload(this.config);
    await this.scheduler?.stop();
    await this.refreshScope(false);
    this.liveness.resetDue();
    this.startSchedules();
    this.writeStatus();
    await this.liveness.start(this.config);
    this.logger.log({ kind: 'agent.reloaded' });
    await this.notify('READY=1');
  }

  /** A reload failed (SIGHUP with a bad config): the agent goes on with the old one, and says it is not healthy. */
  configInvalid(message: string): void {
    this.liveness.configInvalid(message);
  }

  /** Stops everything in parallel; the running check is aborted; state is saved. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.logger.log({ kind: 'agent.stopping' });
    const queueClosed = this.queue.close(); // no new run starts from here on
    const heartbeatClosed = this.liveness.close();
    await this.notify('STOPPING=1');
    this.abort.abort(new Error('the agent is stopping'));
    for (const t of this.timers) clearInterval(t);
    this.db.close();
    this.writes.close();
    await Promise.all([
      this.scheduler?.stop(),
      this.watchers.close(),
      queueClosed,
      this.offline.settle(),
      this.metrics.close(),
      heartbeatClosed,
    ]);
    await this.alerting.close();
    this.persist();
    this.writeStatus(false);
  }

  /**
   * Saves the state. A save that fails (disk full, state_dir gone) is logged and the agent goes on
   * with the state in memory: checking on is better than a crash loop; the next save retries.
   */
  private persist(): void {
    for (const save of [() => this.store.save(this.state), () => this.checks.save()]) {
      try {
        save();
      } catch (err) {
        this.logger.log({ kind: 'warning', message: `${errText(err)}; the agent goes on, the state is kept in memory until a save succeeds` });
      }
    }
  }

  /** Every second: dpkg's lock and marker, and the offline record (`pkgwatch online` changes it). */
  private tick(): void {
    if (this.stopping) return;
    void this.dpkg.poll(() => this.onDpkgEnd());
    this.dpkg.checkDuration(this.config.schedule.dpkgMaxRunMs);
    if (this.alerting.isBlind('watch-degraded') && this.watchers.stats()?.degraded === false) {
      const message = 'the real-time watch covers every scoped path again';
      this.logger.log({ kind: 'coverage.restored', reason: 'watch-degraded', detail: message });
      this.alerting.coverageRestored('watch-degraded', message);
    }
    this.offline.poll();
  }

  private get stopping(): boolean {
    return this.closed !== null;
  }

  private async notify(state: string): Promise<void> {
    try {
      await sdNotify(state);
    } catch (err) {
      this.logger.log({ kind: 'warning', message: `systemd-notify ${state} failed: ${errText(err)}` });
    }
  }

  // ---- scope, watchers, schedules -------------------------------------------------------

  /**
   * Re-reads the database, resolves the scope, points the watchers at it, moves the baseline forward
   * (`acceptUpgrades`: for packages dpkg upgraded; see advanceBaseline). Returns the packages whose
   * accepted record changed.
   */
  private async refreshScope(acceptUpgrades: boolean): Promise<string[]> {
    const cfg = this.config;
    let scope: Scope;
    try {
      scope = await resolveScope(cfg.root, cfg.scope.packages, cfg.scope.withDependencies);
    } catch (err) {
      this.logger.log({ kind: 'warning', message: `cannot read the dpkg database under ${cfg.root}: ${errText(err)}; real-time checks are off until it can be read` });
      return [];
    }
    for (const p of scope.problems) this.logger.log({ kind: 'warning', message: `scope: ${p}` });
    this.scope = scope;
    // The baseline moves forward only for packages whose version or state changed; it is kept in
    // the state, so md5sums forged while the agent was down are still found (advanceBaseline).
    const advanced = await this.db.advance(scope, this.state.baseline, acceptUpgrades);
    this.state.baseline = advanced.json;
    this.checks.follow(scope);
    this.clock.keepOnly(new Set(scope.paths.map(displayPath)));
    this.persist();
    await this.watchers.follow(cfg.root, cfg.watch.enabled && scope.packages.length > 0 ? scope : null);
    const stats = this.watchers.stats();
    if (stats !== null) this.logger.log({ kind: 'watch.started', dirs: stats.dirs, paths: stats.paths });
    return advanced.changed;
  }

  private startSchedules(): void {
    const cfg = this.config;
    const scoped = this.hasScopedWork() ? cfg.schedule.scoped : null;
    this.scheduler = new Scheduler({
      expressions: { scoped, full: cfg.schedule.full },
      splayMs: cfg.schedule.splayMs,
      onDue: (name) => {
        this.liveness.due(name);
        this.queue.request(name);
      },
    });
    this.scheduler.start();
  }

  /** Whether a scoped run has anything to check: scoped packages, or the persistence points. */
  private hasScopedWork(): boolean {
    return (this.scope?.args.length ?? 0) > 0 || this.config.persist.enabled;
  }

  /** At start: a scoped check now, and the full check if one fell due while the agent was down. */
  private async catchUp(): Promise<void> {
    if (this.hasScopedWork()) {
      this.liveness.due('scoped');
      this.queue.request('scoped');
    }
    const last = this.state.lastDue.full;
    const now = new Date();
    if (last === undefined) {
      // First start: the schedule begins now; there is nothing to catch up on.
      this.state.lastDue.full = now.toISOString();
      this.persist();
    } else if (await missedSince(this.config.schedule.full, new Date(last), now)) {
      this.catchUpFull = true;
      this.liveness.due('full');
      this.queue.request('full');
    }
  }

  // ---- events ---------------------------------------------------------------------------

  private onWatchDegraded(reason: string, detail: string): void {
    const why: WatchDegradedReason = /ENOSPC|limit/i.test(`${reason} ${detail}`) ? 'watch-limit' : /overflow/i.test(reason) ? 'overflow' : 'error';
    this.logger.log({ kind: 'watch.degraded', reason: why, detail: `${reason}: ${detail}` });
    this.alerting.watchDegraded(why, `${reason}: ${detail}`);
    if (!this.alerting.isBlind('watch-degraded')) {
      const message = `real-time watch lost coverage (${reason}: ${detail}); the scoped schedule covers the gap`;
      this.logger.log({ kind: 'coverage.degraded', reason: 'watch-degraded', detail: message });
      this.alerting.coverageDegraded('watch-degraded', message);
    }
    this.writeStatus();
    // Coverage is not lost silently: the scoped schedule covers what the watcher cannot.
    this.queue.request('scoped');
  }

  /** A scoped path changed: check it now, and note the write (file.written) unless dpkg runs. */
  private onWatchEvent(e: WatchEvent): void {
    if (this.stopping) return;
    this.clock.event(displayPath(e.path));
    if (this.config.watch.alertWrites) this.writes.note(e.path, e.kind);
    this.queue.addPath(e.path);
  }

  /** dpkg ended: re-read the database, re-resolve the scope, take the new baseline, re-verify. */
  private async onDpkgEnd(): Promise<void> {
    const changed = await this.refreshScope(true);
    this.logger.log({ kind: 'dpkg.finished', changedPackages: changed });
    await this.acceptDpkgChanges();
    // Files that match their new md5sums raise nothing.
    if (this.hasScopedWork()) this.queue.request('scoped');
  }

  /**
   * What changed at the persistence points since the baseline, seen now that a dpkg run ended, is
   * taken as that run's (a unit deb-systemd-helper linked, a config ucf wrote): accepted into the
   * baseline and reported once as baseline.updated. Paths with a finding already open stay findings.
   * A change an intruder made during the run, or since the last scoped run, is accepted too: README
   * says so (a known limit, as for AIDE's re-approval after upgrades).
   */
  private async acceptDpkgChanges(): Promise<void> {
    if (!this.config.persist.enabled || this.stopping) return;
    const open = new Set(this.state.findings.filter((o) => o.finding.source === 'baseline').map((o) => o.finding.path));
    try {
      const r = await acceptAfterDpkg(this.config, this.config.stateDir, (p) => open.has(p), this.dpkg.runStartedAt);
      if (r === null) return;
      this.send([{ kind: 'baseline.updated', id: randomUUID(), time: new Date().toISOString(), findings: r.findings, baseline: { by: 'dpkg', paths: r.paths, packages: r.packages } }]);
    } catch (err) {
      this.logger.log({ kind: 'warning', message: `persistence points after the dpkg run: ${errText(err)}; the next scoped run reports what changed` });
    }
  }

  // ---- runs ------------------------------------------------------------------------------

  private async run(kind: RunKind, paths: ReadonlySet<BytePath> | null): Promise<void> {
    const cfg = this.config;
    const scope = this.scope;
    const started = new Date();
    const epoch = this.dpkg.epoch;
    // Real-time and scheduled runs overlap: what changed after this mark is judged by later runs.
    const mark = this.clock.mark();
    // A check that overlapped a dpkg run saw files and md5sums half-changed: its results are
    // dropped and the check is repeated once dpkg has ended.
    const overlapped = async (): Promise<boolean> => {
      if (!(await this.dpkg.busySince(epoch))) return false;
      this.logger.log({ kind: 'run.deferred', schedule: kind, reason: 'dpkg-running' });
      this.queue.requeue(kind, paths);
      return true;
    };
    // Nothing to check in a scope of no package (unless a scoped run checks the persistence points): not a run.
    const pointsOnly = kind === 'scoped' && cfg.persist.enabled;
    if (kind !== 'full' && (scope === null || (scope.args.length === 0 && !pointsOnly))) return;
    if (kind === 'full' && this.catchUpFull) {
      this.catchUpFull = false;
      this.logger.log({ kind: 'run.started', schedule: 'catch-up' });
    } else {
      this.logger.log({ kind: 'run.started', schedule: kind });
    }
    if (kind !== 'realtime') this.liveness.runStarted(kind);
    try {
      if (kind === 'full') {
        const r = await runFullCheck(cfg.root, cfg.schedule.fullMaxBytesPerSecond, this.abort.signal);
        if (await overlapped()) return;
        // The persistence points are the scoped run's: a full check neither reports nor resolves them.
        this.apply(kind, r.findings, (f) => f.status !== 'database-changed' && f.source === undefined, started, r.summary, mark);
        return;
      }
      const points = kind === 'scoped' && cfg.persist.enabled ? await this.checkPoints() : null;
      if (scope === null || (scope.args.length === 0 && points === null)) return;
      const report = scope.args.length === 0 ? null : await this.checks.check(scope, paths, kind === 'realtime' ? 1 : defaultJobs());
      if (await overlapped()) return;
      report?.record();
      const shown = paths === null ? null : new Set([...paths].map(displayPath));
      const covers = (f: FindingJson): boolean =>
        (points !== null && f.source === 'baseline') || (report !== null && f.status !== 'database-changed' && f.source === undefined && report.packages.has(f.package) && (shown === null || shown.has(f.path)));
      const findings = [...(report?.findings ?? []), ...(points ?? [])];
      this.apply(kind, findings, covers, started, report?.summary ?? { packages: 0, files: 0, bytes: 0 }, mark);
      if (kind === 'realtime' && shown !== null) for (const p of shown) this.clock.judged(p, mark);
      // The schedule also covers dpkg's record, for when the watcher is off or missed an event.
      if (kind === 'scoped') await this.db.check(epoch, false);
    } catch (err) {
      if (this.stopping) return;
      this.logger.log({ kind: 'run.failed', schedule: kind, error: errText(err) });
      this.alerting.runFailed(kind, errText(err));
      this.state.lastRuns[kind] = { ...record(started, { files: 0, bytes: 0 }, 0, 'failed'), error: errText(err) };
      this.persist();
      this.writeStatus();
    } finally {
      if (kind !== 'realtime') this.liveness.runEnded(kind);
    }
  }

  /** The persistence points against the baseline; records the baseline (baseline.created) when there is none. */
  private async checkPoints(): Promise<FindingJson[]> {
    const r = await checkPoints(this.config, this.config.stateDir);
    if ('findings' in r) return r.findings;
    this.logger.log({ kind: 'baseline.created', file: path.join(this.config.stateDir, 'baseline.json'), entries: r.created.entries, points: r.created.points });
    return [];
  }

  /**
   * Turns one run's findings into state transitions and alerts, and records the run. A path that
   * changed after the run's `mark` is not resolved by it, and one a later real-time check already
   * judged is left to that check (see currentView).
   */
  private apply(
    kind: RunKind,
    findings: readonly FindingJson[],
    covers: (f: FindingJson) => boolean,
    started: Date,
    summary: { packages: number; files: number; bytes: number },
    mark: number,
    logged = true,
  ): void {
    const now = new Date();
    const applied = applyRun(this.state.findings, currentView(this.clock, mark, findings, covers), now, { isIgnored: this.isIgnored });
    const reminded = dueReminders(applied.open, now, this.config.alerts.reminderMs);
    this.state.findings = reminded.open;
    const incomplete = findings.some((f) => f.status === 'unreadable');
    const problems = findings.filter((f) => f.status !== 'unreadable').length;
    this.state.lastRuns[kind] = record(started, summary, findings.length, problems > 0 ? 'findings' : incomplete ? 'incomplete' : 'clean');
    if (kind !== 'realtime') {
      this.state.lastDue[kind] = started.toISOString();
      this.liveness.runFinished(kind, started.getTime());
    }
    this.alerting.runOk(kind);
    // Sent, then saved: a crash in between repeats an alert after restart rather than losing it
    // (at least once). The log sink writes synchronously; the outbox makes this durable for others.
    this.send([...applied.events, ...reminded.events]);
    this.persist();
    this.offline.consider(this.state.findings);
    const outcome = this.state.lastRuns[kind]?.outcome;
    // Every run that logged its start logs its end, real-time ones too (one that resolved a
    // finding has nothing left to report but is still a run).
    if (logged && outcome !== undefined && outcome !== 'failed') {
      this.logger.log({
        kind: 'run.finished',
        schedule: kind,
        outcome,
        findings: findings.length,
        packages: summary.packages,
        files: summary.files,
        bytes: summary.bytes,
        durationMs: now.getTime() - started.getTime(),
      });
    }
    this.writeStatus();
  }

  private remind(): void {
    if (this.stopping) return;
    const r = dueReminders(this.state.findings, new Date(), this.config.alerts.reminderMs);
    if (r.events.length === 0) return;
    this.state.findings = r.open;
    this.send(r.events);
    this.persist();
  }

  /**
   * Alerts: into the log at once, and into the outbox (written and fsynced before this returns),
   * which delivers to email, webhook and Alertmanager on its own time.
   */
  private send(drafts: readonly DraftEvent[], actions?: readonly ActionOutcome[]): void {
    const host = alertHost(this.config);
    const offline = offlineInfo(this.offline.current);
    for (const d of drafts) this.alerting.send({ ...d, host, offline, ...(actions === undefined ? {} : { actions: [...actions] }) });
  }

  /** A site.* alert: the steps taken go with it. */
  private alert(kind: AlertKind, findings: readonly FindingJson[], actions: readonly ActionOutcome[]): void {
    this.send([{ kind, id: randomUUID(), time: new Date().toISOString(), findings: [...findings] }], actions);
    this.writeStatus();
  }

  /** The confirming re-check before going offline: what still fails, or null when dpkg ran meanwhile. */
  private async reverify(findings: readonly FindingJson[]): Promise<FindingJson[] | null> {
    const scope = this.scope;
    if (scope === null) throw new Error('the dpkg database could not be read');
    const epoch = this.dpkg.epoch;
    if (this.dpkg.running || (await this.dpkg.observe())) return null;
    const out: FindingJson[] = [];
    const files = findings.filter((f) => f.status !== 'database-changed');
    if (files.length > 0) out.push(...(await this.checks.check(scope, new Set(files.map((f) => fromUtf8(f.path))), 1)).findings);
    if (findings.some((f) => f.status === 'database-changed')) out.push(...(await this.db.findings(scope)));
    if (await this.dpkg.busySince(epoch)) return null;
    return out;
  }

  /**
   * An alert was delivered or failed: the status file follows within STATUS_EVERY_MS, in at most one
   * write per STATUS_EVERY_MS (a dead receiver with a short retry_min, or a burst of deliveries, does
   * not rewrite it in a loop), and the last change is always written. Nothing before the first write
   * of start(), which covers it.
   */
  private statusSoon(): void {
    if (this.statusTimer !== null || this.statusWrittenAt === 0) return;
    const wait = this.statusWrittenAt + STATUS_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.writeStatus(this.closed === null);
      return;
    }
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.writeStatus(this.closed === null);
    }, wait);
  }

  private writeStatus(running = true): void {
    // This write has everything a pending statusSoon() write would have.
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.statusWrittenAt = Date.now();
    const status = composeStatus({
      running,
      startedAt: this.startedAt,
      config: this.config,
      scope: this.scope,
      state: this.state,
      nextRun: (name) => this.scheduler?.nextRun(name) ?? null,
      watch: this.watchers.stats(),
      dpkgRunning: this.dpkg.running,
      alerts: this.alerting.status(),
      offline: { ...this.offline.current, confirming: this.offline.pending },
    });
    this.metrics.update(status);
    try {
      writeStatus(this.config.stateDir, status);
    } catch (err) {
      this.logger.log({ kind: 'warning', message: `cannot write ${path.join(this.config.stateDir, 'status.json')}: ${errText(err)}` });
    }
  }
}

function record(started: Date, summary: { files: number; bytes: number }, findings: number, outcome: RunRecord['outcome']): RunRecord {
  const finished = new Date();
  return {
    started: started.toISOString(),
    finished: finished.toISOString(),
    outcome,
    findings,
    files: summary.files,
    bytes: summary.bytes,
    durationMs: finished.getTime() - started.getTime(),
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
