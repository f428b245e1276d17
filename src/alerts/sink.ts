// The one interface every alert sink implements, and the alert event it delivers.
import type { FindingJson } from '../verify/report.js';

/**
 * What an alert reports: findings that opened, resolved or are still open (reminder); scoped files
 * written while no dpkg ran (`file.written`, low severity: findings with status `written`); the site
 * taken offline or brought back; the agent itself (started, stopping, a check that fails or works
 * again, the real-time watch degraded, alerts given up on); or a test sent by `pkgwatch alert test`.
 */
export type AlertKind =
  | 'findings.opened'
  | 'findings.resolved'
  | 'findings.reminder'
  | 'file.written'
  | 'site.offline'
  | 'site.online'
  | 'baseline.accepted'
  | 'baseline.updated'
  | AgentAlertKind
  | 'test';

/** The kinds about the agent itself; their events carry `agent` (AgentInfo). */
export type AgentAlertKind =
  | 'agent.started'
  | 'agent.stopping'
  | 'run.failed'
  | 'run.recovered'
  | 'watch.degraded'
  | 'coverage.degraded'
  | 'coverage.restored'
  | 'alerts.dropped';

/**
 * Why checks could not see changes (coverage.degraded) and then could again (coverage.restored):
 * dpkg's lock or the hook's marker held longer than `[schedule] dpkg_max_run` (every check waits
 * for it), or the real-time watcher lost paths or events.
 */
export type CoverageReason = 'dpkg-running-too-long' | 'watch-degraded';
export const COVERAGE_REASONS: readonly CoverageReason[] = ['dpkg-running-too-long', 'watch-degraded'];

/** Every alert kind, in the order the README lists them. */
export const ALERT_KINDS: readonly AlertKind[] = Object.freeze([
  'findings.opened',
  'findings.resolved',
  'findings.reminder',
  'file.written',
  'site.offline',
  'site.online',
  'baseline.accepted',
  'baseline.updated',
  'agent.started',
  'agent.stopping',
  'run.failed',
  'run.recovered',
  'watch.degraded',
  'coverage.degraded',
  'coverage.restored',
  'alerts.dropped',
  'test',
]);

/** The kinds about the agent itself, in ALERT_KINDS order. */
export const AGENT_ALERT_KINDS: readonly AgentAlertKind[] = Object.freeze([
  'agent.started',
  'agent.stopping',
  'run.failed',
  'run.recovered',
  'watch.degraded',
  'coverage.degraded',
  'coverage.restored',
  'alerts.dropped',
]);

/** True for a kind about the agent itself. */
export function isAgentKind(kind: AlertKind): kind is AgentAlertKind {
  return (AGENT_ALERT_KINDS as readonly string[]).includes(kind);
}

/** The checks a run.failed or run.recovered event can be about. */
export type CheckSchedule = 'scoped' | 'full' | 'realtime';

/** One delivery the outbox gave up on because it was older than `[alerts] max_age`. */
export interface DroppedAlert {
  /** The sink it was for: `email`, `webhook`, `alertmanager` (`alertmanager-2`, ... for a cluster). */
  readonly sink: string;
  /** The id and kind of the event that was not delivered. */
  readonly id: string;
  readonly event: AlertKind;
  /** ISO 8601 time it was queued. */
  readonly queued: string;
}

/** What an event about the agent itself says (the agent.*, run.*, watch.* and alerts.* kinds). */
export interface AgentInfo {
  /** The agent's pkgwatch version. */
  readonly version: string;
  /** What happened, one line: the error of the failed check, what the watcher lost, ... */
  readonly message: string;
  /** run.failed and run.recovered: which check; null for the other kinds. */
  readonly schedule: CheckSchedule | null;
  /** alerts.dropped: the deliveries given up; empty for the other kinds. */
  readonly dropped: readonly DroppedAlert[];
  /** coverage.degraded and coverage.restored only: why coverage was lost. */
  readonly coverage?: CoverageReason;
}

/** Whether the site is offline, as of the event: since when and why (null when online). */
export interface OfflineInfo {
  readonly active: boolean;
  /** ISO 8601 time the site went offline; null when online. */
  readonly since: string | null;
  /** Why it went offline (or, on site.online, how it came back); null when there is nothing to say. */
  readonly reason: string | null;
}

/** What taking the site offline or bringing it back did, one step each (site.* events only). */
export interface ActionOutcome {
  /** The step: `flag_file` (create), `stop_unit`, `command`, `remove_flag_file`, `start_unit`, `restore_command`. */
  readonly action: 'flag_file' | 'stop_unit' | 'command' | 'remove_flag_file' | 'start_unit' | 'restore_command';
  /** The file, unit or command line it acted on. */
  readonly target: string;
  readonly ok: boolean;
  /** What happened: "created", "exit 0", the error, the first lines of the command's output. */
  readonly detail: string;
}

/**
 * One alert: a batch of findings of one kind from one run (or one reminder tick), never one per
 * file; or one site.* / test event. `id` is unique (a random UUID) and stays the same across
 * retries, so a receiver can drop a redelivered event.
 */
export interface AlertEvent {
  readonly kind: AlertKind;
  readonly id: string;
  /** The host name the alert is about (`[alerts] host`, or the machine's host name). */
  readonly host: string;
  /** ISO 8601 time the event was made. */
  readonly time: string;
  /** Sorted by package, then path. Empty for site.online, test and the kinds about the agent. */
  readonly findings: readonly FindingJson[];
  /** The site's offline state when the event was made. */
  readonly offline: OfflineInfo;
  /** site.offline and site.online only: each step taken and how it went. */
  readonly actions?: readonly ActionOutcome[];
  /** The kinds about the agent itself (isAgentKind) only: what happened to it. */
  readonly agent?: AgentInfo;
  /** baseline.accepted and baseline.updated only: who accepted (`dpkg` for the agent after a dpkg run), and the paths. */
  readonly baseline?: BaselineInfo;
}

/** What `pkgwatch baseline accept`, or the agent after a dpkg run, recorded: its findings are the changes it accepted. */
export interface BaselineInfo {
  /** SUDO_USER, the login user, or the user the command ran as. */
  readonly by: string;
  readonly paths: readonly string[];
  /** baseline.updated only: the packages of the dpkg run (from dpkg.log; empty when it names none). */
  readonly packages?: readonly string[];
}

/**
 * A destination for alerts (email, webhook, Alertmanager; the log is written directly). Sinks are created through
 * `createSinks` in registry.ts; the agent and the outbox only ever hold this interface.
 */
export interface AlertSink {
  /** The name it is configured and reported by: `email`, `webhook`, `alertmanager`, `alertmanager-2`. */
  readonly name: string;
  /** The most events one delivery may carry: 1 = one delivery per event (webhook); more = a batch (email). */
  readonly maxBatch: number;
  /** After an event arrives, wait this long for more before the first attempt, so a burst is one delivery. */
  readonly gatherMs: number;
  /**
   * Delivers the events (at most maxBatch, in order); resolves once the receiver accepted them,
   * rejects with an Error whose message says what went wrong (the outbox retries). Must give up on
   * its own within its configured timeout.
   */
  send(events: readonly AlertEvent[]): Promise<void>;
  /** Releases connections and timers; idempotent. */
  close(): Promise<void>;
}

/** The offline info of a site that is online. */
export const ONLINE: OfflineInfo = Object.freeze({ active: false, since: null, reason: null });
