// The agent's own health as alert events, on change of state (STYLE 7): its start and stop, a check's
// first failure and its recovery, each new way the real-time watch degraded, alerts given up on.
import type { AgentAlertKind, AgentInfo, CheckSchedule, CoverageReason, DroppedAlert } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import { formatDuration } from '../config/values.js';
import type { WatchDegradedReason } from './log.js';

/** An event about the agent, before it gets its id, host, time and the site's offline state. */
export interface HealthDraft {
  readonly kind: AgentAlertKind;
  readonly agent: AgentInfo;
}

/** A check that keeps failing: since when, how often, and the first error. */
interface Streak {
  readonly since: string;
  readonly error: string;
  count: number;
}

const WATCH_REASON: Record<WatchDegradedReason, string> = {
  overflow: 'events were lost',
  'watch-limit': 'the inotify watch limit is reached',
  error: 'the watcher failed',
};

/** Names listed in a message before the rest are counted. */
const LISTED = 5;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, LISTED).join(', ');
  return items.length > LISTED ? `${shown} and ${items.length - LISTED} more` : shown;
}

/**
 * Decides which of the agent's own troubles become alerts, so that a receiver can tell "all clean"
 * from "the agent is blind" without being flooded: one `run.failed` per streak of failures of a
 * check and one `run.recovered` when it runs again; one `watch.degraded` per reason until the
 * watch is set up anew (reload); one `alerts.dropped` per batch of deliveries given up. Pure: it
 * keeps the state in memory (a restart starts afresh, after its `agent.started`) and does no I/O.
 */
export class AgentHealth {
  readonly #version: string;
  readonly #failing = new Map<CheckSchedule, Streak>();
  readonly #degraded = new Set<WatchDegradedReason>();
  readonly #blind = new Set<CoverageReason>();

  constructor(version: string) {
    this.#version = version;
  }

  #draft(kind: AgentAlertKind, message: string, schedule: CheckSchedule | null = null, dropped: readonly DroppedAlert[] = []): HealthDraft {
    return { kind, agent: { version: this.#version, message, schedule, dropped: [...dropped] } };
  }

  /** The agent is up and checking: what it checks and how. */
  started(cfg: ResolvedConfig): HealthDraft {
    const pkgs = cfg.scope.packages;
    const scope = pkgs.length === 0 ? 'no scoped packages' : `scope ${pkgs.length === 1 ? '1 package' : `${pkgs.length} packages`} (${listed(pkgs)})`;
    const watch = cfg.watch.enabled && pkgs.length > 0 ? 'on' : 'off';
    return this.#draft('agent.started', `pkgwatch ${this.#version} started: ${scope}; real-time watch ${watch}; full check "${cfg.schedule.full}"`);
  }

  /** The agent is stopping: nothing is checked until it runs again. */
  stopping(): HealthDraft {
    return this.#draft('agent.stopping', `pkgwatch ${this.#version} is stopping: nothing is checked and nothing alerted until it runs again`);
  }

  /** A check could not run: an alert for the first failure of a streak, null for the rest. */
  runFailed(schedule: CheckSchedule, error: string, now: Date): HealthDraft | null {
    const streak = this.#failing.get(schedule);
    if (streak !== undefined) {
      streak.count++;
      return null;
    }
    this.#failing.set(schedule, { since: now.toISOString(), error, count: 1 });
    return this.#draft('run.failed', error, schedule);
  }

  /** A check ran to its end: an alert when it had been failing, else null. */
  runOk(schedule: CheckSchedule): HealthDraft | null {
    const streak = this.#failing.get(schedule);
    if (streak === undefined) return null;
    this.#failing.delete(schedule);
    const times = streak.count === 1 ? 'once' : `${streak.count} times`;
    return this.#draft('run.recovered', `the ${schedule} check runs again; it failed ${times} since ${streak.since}, first with: ${streak.error}`, schedule);
  }

  /** The watcher lost coverage: an alert the first time for each reason (until resetWatch), else null. */
  watchDegraded(reason: WatchDegradedReason, detail: string): HealthDraft | null {
    if (this.#degraded.has(reason)) return null;
    this.#degraded.add(reason);
    return this.#draft('watch.degraded', `${WATCH_REASON[reason]}: ${detail}; the scoped schedule covers the gap`);
  }

  /** Checks cannot see changes for `reason`: coverage.degraded once, until coverageRestored; else null. */
  coverageDegraded(reason: CoverageReason, message: string): HealthDraft | null {
    if (this.#blind.has(reason)) return null;
    this.#blind.add(reason);
    const d = this.#draft('coverage.degraded', message);
    return { ...d, agent: { ...d.agent, coverage: reason } };
  }

  /** Coverage lost for `reason` is back: coverage.restored when it had been degraded, else null. */
  coverageRestored(reason: CoverageReason, message: string): HealthDraft | null {
    if (!this.#blind.delete(reason)) return null;
    const d = this.#draft('coverage.restored', message);
    return { ...d, agent: { ...d.agent, coverage: reason } };
  }

  /** Whether coverage is degraded for `reason` now. */
  isBlind(reason: CoverageReason): boolean {
    return this.#blind.has(reason);
  }

  /** The watch was set up anew (configuration reloaded): its problems alert again if they persist. */
  resetWatch(): void {
    this.#degraded.clear();
  }

  /**
   * Deliveries the outbox gave up on after `maxAgeMs`: one alert for the batch, or null when there is
   * none. The loss of an alerts.dropped event is not alerted again (it would chain, one per max_age).
   */
  dropped(deliveries: readonly DroppedAlert[], maxAgeMs: number): HealthDraft | null {
    const lost = deliveries.filter((d) => d.event !== 'alerts.dropped');
    if (lost.length === 0) return null;
    const bySink = new Map<string, number>();
    for (const d of lost) bySink.set(d.sink, (bySink.get(d.sink) ?? 0) + 1);
    const where = [...bySink].map(([sink, n]) => `${n} for ${sink}`).join(', ');
    const what = lost.length === 1 ? '1 alert' : `${lost.length} alerts`;
    const were = lost.length === 1 ? 'was' : 'were';
    return this.#draft('alerts.dropped', `${what} could not be delivered within [alerts] max_age (${formatDuration(maxAgeMs)}) and ${were} given up (${where})`, null, lost);
  }
}

/** What tells whether the agent is healthy enough to send its heartbeat. Times in ms since the epoch. */
export interface LivenessInput {
  readonly now: number;
  /** Why the last reload failed (the agent runs on an older config); null when the config on disk is in effect. */
  readonly configProblem: string | null;
  /** The real-time watch is on and has lost paths or failed. */
  readonly watchDegraded: boolean;
  /** Since when each scheduled check has been due (after its splay) without finishing; absent when none is. */
  readonly due: Readonly<Partial<Record<'scoped' | 'full', number>>>;
  /** A full check is running (scoped checks wait for it). */
  readonly fullRunning: boolean;
  /** How long the last full check took; null when none finished yet. */
  readonly lastFullMs: number | null;
  readonly graceMs: number;
}

/**
 * Why the agent is not healthy, or null when it is: its config on disk is in effect, its watch is
 * intact, and no scheduled check has been due longer than grace without finishing (a full
 * check, and a scoped one waiting behind it, also get as long as the last full check took). A
 * check that hangs, keeps failing, or waits on a dpkg that never ends makes the agent unhealthy.
 */
export function livenessProblem(i: LivenessInput): string | null {
  if (i.configProblem !== null) return `the configuration on disk is not in effect (the last reload failed: ${i.configProblem})`;
  if (i.watchDegraded) return 'the real-time watch is degraded (paths are not watched)';
  const full = i.lastFullMs ?? 0;
  for (const schedule of ['scoped', 'full'] as const) {
    const since = i.due[schedule];
    if (since === undefined) continue;
    const allowed = i.graceMs + (schedule === 'full' || i.fullRunning ? full : 0);
    if (i.now - since > allowed) {
      return `the ${schedule} check due since ${new Date(since).toISOString()} has not finished (allowed: ${formatDuration(allowed)})`;
    }
  }
  return null;
}
