// Taking the site offline: which open findings qualify, the confirming re-check, the actions (by
// the agent itself or the privileged helper), and noticing when `pkgwatch online` brought it back.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ActionOutcome, AlertKind } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import { takeOffline } from '../respond/actions.js';
import type { FindingJson } from '../verify/report.js';
import type { Logger } from './log.js';
import { HELPER_RESULT_FILE, NEVER_OFFLINE, OFFLINE_FILE, readHelperResult, readOfflineRecord, writeOfflineRecord, type OfflineRecord } from '../respond/offlinestate.js';
import { findingKey, type OpenFinding } from './state.js';

/** How often the agent looks for the helper's answer. */
const HELPER_POLL_MS = 250;

/**
 * Whether a finding can take the site offline under `cfg`: its status is listed in `[offline] on`,
 * it is in a scoped package, it is not ignored, and it is not a conffile unless `[offline] conffiles`.
 */
export function qualifies(f: FindingJson, ignored: boolean, cfg: ResolvedConfig, inScope: (pkg: string) => boolean): boolean {
  if (ignored || !inScope(f.package)) return false;
  if (f.conffile && !cfg.offline.conffiles) return false;
  return (cfg.offline.on as readonly string[]).includes(f.status);
}

/** The same failure (status and hashes), for findings an operator acknowledged with `online --force`. */
function sameFailure(a: FindingJson, b: FindingJson): boolean {
  return findingKey(a) === findingKey(b) && a.status === b.status && a.expected === b.expected && a.actual === b.actual;
}

/** `3 files failed verification in myapp: changed /srv/app.py, missing /srv/x.py and 1 more`. */
export function offlineReason(findings: readonly FindingJson[]): string {
  const packages = [...new Set(findings.map((f) => f.package))].sort();
  const shown = findings.slice(0, 3).map((f) => `${f.status} ${f.path}`);
  const more = findings.length > 3 ? ` and ${findings.length - 3} more` : '';
  return `${findings.length} ${findings.length === 1 ? 'file' : 'files'} failed verification in ${packages.join(', ')}: ${shown.join(', ')}${more}`;
}

/** What the controller needs of the agent. */
export interface OfflineDeps {
  readonly config: () => ResolvedConfig;
  readonly logger: Logger;
  readonly stateDir: string;
  /** True for a package in the scope. */
  readonly inScope: (pkg: string) => boolean;
  /** Re-verifies these findings now: the ones that still fail, or null when dpkg ran meanwhile (inconclusive). */
  readonly reverify: (findings: readonly FindingJson[]) => Promise<FindingJson[] | null>;
  /** Sends a site.* alert (the agent adds host and offline info). */
  readonly alert: (kind: Extract<AlertKind, 'site.offline'>, findings: readonly FindingJson[], actions: readonly ActionOutcome[]) => void;
  /** Called when the offline state changed (status file). */
  readonly onChange: () => void;
  /** Called when an operator brought the site back (the agent re-checks the scope at once). */
  readonly onOnline: () => void;
  readonly signal: AbortSignal;
}

/** The site's offline state in the agent: one per agent. */
export class OfflineController {
  private record: OfflineRecord = NEVER_OFFLINE;
  private confirming: Promise<void> | null = null;
  private fileStamp = '';

  constructor(private readonly deps: OfflineDeps) {}

  /** The current record (what status and alerts show). */
  get current(): OfflineRecord {
    return this.record;
  }

  /** True while a confirming re-check is pending or running. */
  get pending(): boolean {
    return this.confirming !== null;
  }

  /** Reads the record at start; when offline, makes sure the flag file is still there. */
  async start(): Promise<void> {
    this.reload(true);
    if (!this.record.active) return;
    this.deps.logger.log({ kind: 'site.still-offline', since: this.record.since, reason: this.record.reason });
    if (!this.record.alerted) this.alertLate();
    const cfg = this.deps.config();
    if (cfg.offline.flagFile !== '' && !fs.existsSync(cfg.offline.flagFile)) {
      const actions = await takeOffline(cfg.offline, this.context(), ['flag_file']);
      for (const a of actions) if (!a.ok) this.deps.logger.log({ kind: 'warning', message: `cannot re-create the maintenance flag ${a.target}: ${a.detail}` });
    }
  }

  /** Looks for a change of the record by another process (`pkgwatch online`); cheap, called every second. */
  poll(): void {
    this.reload(false);
  }

  /** What identifies the record file's current version, to notice a write by another process. */
  private stamp(): string {
    try {
      const st = fs.statSync(path.join(this.deps.stateDir, OFFLINE_FILE));
      return `${st.ino}:${st.mtimeMs}:${st.ctimeMs}:${st.size}`;
    } catch {
      return 'absent';
    }
  }

  /** Writes the record; the agent's own write is not a change to react to. A failed write keeps it in memory. */
  private save(what: string): void {
    try {
      writeOfflineRecord(this.deps.stateDir, this.record);
      this.fileStamp = this.stamp();
    } catch (err) {
      this.deps.logger.log({ kind: 'warning', message: `cannot record ${what} in ${path.join(this.deps.stateDir, OFFLINE_FILE)}: ${(err as Error).message}; it is kept in memory` });
    }
  }

  private reload(first: boolean): void {
    const stamp = this.stamp();
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    let next: OfflineRecord;
    try {
      next = readOfflineRecord(this.deps.stateDir);
    } catch (err) {
      // Keep what we had: a record that cannot be read never brings a site back online.
      this.deps.logger.log({ kind: 'warning', message: `${(err as Error).message}; keeping the offline state as it was (${this.record.active ? 'offline' : 'online'})` });
      return;
    }
    const was = this.record;
    this.record = next;
    if (!first && was.active && !next.active) {
      this.deps.logger.log({ kind: 'site.online', by: next.restored?.by ?? 'unknown', forced: next.restored?.forced ?? false, reason: next.reason });
      this.deps.onOnline();
    }
    if (!first && was.active !== next.active) this.deps.onChange();
  }

  /** After each run: if open findings qualify and the site is online, confirm them after confirm_delay and act. */
  consider(open: readonly OpenFinding[]): void {
    const cfg = this.deps.config();
    if (!cfg.offline.enabled || this.record.active || this.confirming !== null || this.deps.signal.aborted) return;
    const candidates = this.candidates(open);
    if (candidates.length === 0) return;
    this.deps.logger.log({ kind: 'offline.confirming', findings: candidates.length, delayMs: cfg.offline.confirmDelayMs });
    this.confirming = this.confirm(candidates)
      .catch((err: unknown) => {
        this.deps.logger.log({ kind: 'offline.unconfirmed', reason: 'error', detail: `the confirming re-check failed: ${(err as Error).message}` });
      })
      .finally(() => {
        this.confirming = null;
        this.deps.onChange();
      });
    this.deps.onChange();
  }

  /** Waits for a pending confirmation or action to finish (close). */
  async settle(): Promise<void> {
    await this.confirming;
  }

  private candidates(open: readonly OpenFinding[]): FindingJson[] {
    const cfg = this.deps.config();
    return open
      .filter((o) => qualifies(o.finding, o.ignored, cfg, this.deps.inScope))
      .filter((o) => !this.record.acknowledged.some((a) => sameFailure(a, o.finding)))
      .map((o) => o.finding);
  }

  private async confirm(candidates: readonly FindingJson[]): Promise<void> {
    const cfg = this.deps.config();
    await delay(cfg.offline.confirmDelayMs, undefined, { signal: this.deps.signal }).catch(() => undefined);
    if (this.deps.signal.aborted) return;
    const still = await this.deps.reverify(candidates);
    if (still === null) {
      this.deps.logger.log({ kind: 'offline.unconfirmed', reason: 'dpkg-running', detail: 'dpkg ran during the confirming re-check; it is judged again after dpkg' });
      return;
    }
    const now = this.deps.config();
    const confirmed = still.filter((f) => candidates.some((c) => findingKey(c) === findingKey(f)) && qualifies(f, false, now, this.deps.inScope));
    if (confirmed.length === 0) {
      this.deps.logger.log({ kind: 'offline.unconfirmed', reason: 'resolved', detail: `the ${candidates.length === 1 ? 'finding' : 'findings'} no longer failed when re-verified` });
      return;
    }
    if (!now.offline.enabled || this.record.active || this.deps.signal.aborted) return;
    await this.goOffline(confirmed);
  }

  private context(): { since: string; reason: string } {
    return { since: this.record.since ?? new Date().toISOString(), reason: this.record.reason ?? 'taken offline by pkgwatch' };
  }

  private async goOffline(findings: readonly FindingJson[]): Promise<void> {
    const cfg = this.deps.config();
    const since = new Date().toISOString();
    const request = randomUUID();
    this.record = { ...this.record, version: 1, active: true, since, reason: offlineReason(findings), findings: [...findings], request, alerted: false };
    // Recorded first: whatever happens next, a restart finds the site offline.
    this.save('that the site is offline');
    this.deps.onChange();
    const ctx = this.context();
    // The flag first, by the agent itself: it is the quickest way to stop serving.
    const actions: ActionOutcome[] = await takeOffline(cfg.offline, ctx, ['flag_file']);
    const byHelper = cfg.offline.actionsBy === 'helper' || (cfg.offline.actionsBy === 'auto' && process.getuid?.() !== 0);
    const rest = cfg.offline.stopUnits.length > 0 || cfg.offline.command.length > 0;
    if (rest && byHelper) actions.push(...(await this.helper(request, cfg)));
    else if (rest) actions.push(...(await takeOffline(cfg.offline, ctx, ['stop_units', 'command'])));
    this.deps.logger.log({ kind: 'site.offline', since, reason: this.record.reason ?? '', actions });
    this.deps.alert('site.offline', findings, actions);
    this.markAlerted();
  }

  /**
   * The agent stopped after taking the site offline but before its alert was queued: send it now,
   * with what the helper reported, if anything, so that no site.offline goes unsaid.
   */
  private alertLate(): void {
    let actions: ActionOutcome[] = [];
    try {
      const r = readHelperResult(this.deps.stateDir);
      if (r !== null && r.request === this.record.request) actions = [...r.actions];
    } catch {
      // the alert goes out without the helper's outcome
    }
    if (actions.length === 0) {
      actions = [{ action: 'command', target: 'pkgwatch agent', ok: false, detail: 'the agent stopped while taking the site offline; the outcome of its steps is unknown: check the site' }];
    }
    this.deps.alert('site.offline', this.record.findings, actions);
    this.markAlerted();
  }

  private markAlerted(): void {
    this.record = { ...this.record, alerted: true };
    this.save('that site.offline was alerted');
  }

  /** Waits for the privileged helper's answer to `request` (it runs stop_units and command as root). */
  private async helper(request: string, cfg: ResolvedConfig): Promise<ActionOutcome[]> {
    const steps = cfg.offline.stopUnits.length + (cfg.offline.command.length > 0 ? 1 : 0);
    const waitMs = steps * (cfg.offline.commandTimeoutMs + 5000) + 30_000;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !this.deps.signal.aborted) {
      try {
        const r = readHelperResult(this.deps.stateDir);
        if (r !== null && r.request === request) return [...r.actions];
      } catch (err) {
        this.deps.logger.log({ kind: 'warning', message: (err as Error).message });
      }
      await delay(HELPER_POLL_MS, undefined, { signal: this.deps.signal }).catch(() => undefined);
    }
    const detail = this.deps.signal.aborted
      ? 'the agent stopped before the helper answered'
      : `no answer in ${path.join(this.deps.stateDir, HELPER_RESULT_FILE)} within ${Math.round(waitMs / 1000)} s: is pkgwatch-offline.path enabled (systemctl enable --now pkgwatch-offline.path)?`;
    return [{ action: 'command', target: 'pkgwatch-offline.service (stop_units, command)', ok: false, detail }];
  }
}
