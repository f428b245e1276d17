// The agent's log as data: one typed event per thing it logs, rendered as text or JSON lines, journald-aware.
import { formatBytes } from '../verify/report.js';
import type { ActionOutcome, AlertEvent, AlertKind, CoverageReason } from '../alerts/sink.js';
import type { FindingJson } from '../verify/report.js';
import type { RunOutcome } from './state.js';

/** What started a run. `catch-up` is a scheduled run that was due while the agent was down. */
export type RunSchedule = 'scoped' | 'full' | 'realtime' | 'catch-up';

/** Why the real-time watch lost events or paths. */
export type WatchDegradedReason = 'overflow' | 'watch-limit' | 'error';

/** Everything the agent logs; each member is one kind of event, rendered by Logger as text or JSON. */
export type LogEvent =
  | {
      readonly kind: 'agent.started';
      /** pkgwatch's version. */
      readonly version: string;
      /** Config files read, in order; empty when running on defaults. */
      readonly configFiles: readonly string[];
      /** Packages (names or patterns) the scoped runs check. */
      readonly scopePackages: readonly string[];
      /** Whether real-time watching is on. */
      readonly watch: boolean;
    }
  | { readonly kind: 'agent.ready' }
  | { readonly kind: 'agent.reloaded' }
  | { readonly kind: 'agent.stopping' }
  | { readonly kind: 'run.started'; readonly schedule: RunSchedule }
  | {
      readonly kind: 'run.finished';
      readonly schedule: RunSchedule;
      readonly outcome: Exclude<RunOutcome, 'failed'>;
      /** Packages checked. */
      readonly packages: number;
      readonly findings: number;
      /** Paths checked. */
      readonly files: number;
      /** Bytes hashed. */
      readonly bytes: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'run.failed'; readonly schedule: RunSchedule; readonly error: string }
  | { readonly kind: 'run.deferred'; readonly schedule: RunSchedule; readonly reason: 'dpkg-running' | 'busy' }
  | { readonly kind: 'watch.started'; readonly dirs: number; readonly paths: number }
  | { readonly kind: 'watch.degraded'; readonly reason: WatchDegradedReason; readonly detail: string }
  | { readonly kind: 'coverage.degraded'; readonly reason: CoverageReason; readonly detail: string }
  | { readonly kind: 'coverage.restored'; readonly reason: CoverageReason; readonly detail: string }
  | { readonly kind: 'dpkg.started'; readonly source: 'lock' | 'hook' }
  | { readonly kind: 'dpkg.finished'; readonly changedPackages: readonly string[] }
  | { readonly kind: 'baseline.created'; readonly file: string; readonly entries: number; readonly points: number }
  | { readonly kind: 'state.corrupt'; readonly file: string; readonly detail: string }
  | { readonly kind: 'config.invalid'; readonly message: string }
  | { readonly kind: 'alert'; readonly event: AlertEvent }
  | { readonly kind: 'alert.delivered'; readonly sink: string; readonly ids: readonly string[]; readonly attempts: number }
  | { readonly kind: 'alert.failed'; readonly sink: string; readonly ids: readonly string[]; readonly attempt: number; readonly error: string; readonly retryInMs: number }
  | { readonly kind: 'alert.dropped'; readonly sink: string; readonly id: string; readonly event: AlertKind; readonly queued: string; readonly reason: 'max-age' | 'overflow' }
  | { readonly kind: 'alert.corrupt'; readonly file: string; readonly detail: string }
  | { readonly kind: 'alert.write-failed'; readonly sink: string; readonly id: string; readonly error: string }
  | { readonly kind: 'offline.confirming'; readonly findings: number; readonly delayMs: number }
  | { readonly kind: 'offline.unconfirmed'; readonly reason: 'resolved' | 'dpkg-running' | 'error'; readonly detail: string }
  | { readonly kind: 'site.offline'; readonly since: string; readonly reason: string; readonly actions: readonly ActionOutcome[] }
  | { readonly kind: 'site.still-offline'; readonly since: string | null; readonly reason: string | null }
  | { readonly kind: 'site.online'; readonly by: string; readonly forced: boolean; readonly reason: string | null }
  | { readonly kind: 'metrics.listening'; readonly address: string; readonly port: number }
  | { readonly kind: 'metrics.failed'; readonly target: string; readonly error: string }
  | { readonly kind: 'heartbeat.paused'; readonly reason: string }
  | { readonly kind: 'heartbeat.resumed' }
  | { readonly kind: 'heartbeat.failed'; readonly url: string; readonly error: string; readonly failures: number }
  | { readonly kind: 'heartbeat.recovered'; readonly url: string; readonly failures: number }
  | { readonly kind: 'warning'; readonly message: string };

/** The kinds of log event. */
export type LogKind = LogEvent['kind'];

/** syslog priorities used: 2 crit, 3 err, 4 warning, 5 notice, 6 info. */
export type LogPriority = 2 | 3 | 4 | 5 | 6;

/** The priority of each kind of event: the `<N>` prefix under systemd and `priority` in JSON. */
export const LOG_PRIORITY: Readonly<Record<LogKind, LogPriority>> = Object.freeze({
  'agent.started': 5,
  'agent.ready': 6,
  'agent.reloaded': 5,
  'agent.stopping': 5,
  'run.started': 6,
  'run.finished': 6,
  'run.failed': 3,
  'run.deferred': 5,
  'watch.started': 6,
  'watch.degraded': 4,
  'coverage.degraded': 4,
  'coverage.restored': 5,
  'dpkg.started': 6,
  'dpkg.finished': 6,
  'baseline.created': 6,
  'state.corrupt': 4,
  'config.invalid': 3,
  alert: 4,
  'alert.delivered': 6,
  'alert.failed': 4,
  'alert.dropped': 3,
  'alert.corrupt': 3,
  'alert.write-failed': 3,
  'offline.confirming': 4,
  'offline.unconfirmed': 5,
  'site.offline': 2,
  'site.still-offline': 4,
  'site.online': 5,
  'metrics.listening': 6,
  'metrics.failed': 3,
  'heartbeat.paused': 3,
  'heartbeat.resumed': 5,
  'heartbeat.failed': 4,
  'heartbeat.recovered': 5,
  warning: 4,
});

/**
 * The priority of one event: its kind's, except that a `file.written` alert is a notice (a write
 * that may be harmless; a changed file is alerted as findings.opened on its own).
 */
export function eventPriority(e: LogEvent): LogPriority {
  return e.kind === 'alert' && (e.event.kind === 'file.written' || e.event.kind === 'baseline.updated') ? 5 : LOG_PRIORITY[e.kind];
}

const LEVEL: Record<LogPriority, string> = { 2: 'critical', 3: 'error', 4: 'warning', 5: 'notice', 6: 'info' };

/** Items (findings, packages) listed by name in a text line; the rest are counted (`and N more`). */
export const TEXT_LIST_LIMIT = 20;

/**
 * Findings carried by a JSON alert line; the rest are counted in `findingsOmitted`. Keeps a line
 * under journald's LineMax (48K by default), which would split it and break the JSON.
 */
export const JSON_ALERT_LIMIT = 100;

/** Control characters (a newline in an error message) would break the one-event-per-line rule. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function n(v: number): string {
  return v.toLocaleString('en-US');
}

function plural(v: number, word: string, words = `${word}s`): string {
  return `${n(v)} ${v === 1 ? word : words}`;
}

/** `a, b, c and 3 more`. */
function capped(items: readonly string[], limit: number, sep = ', '): string {
  const shown = items.slice(0, limit).join(sep);
  return items.length > limit ? `${shown}${sep}and ${n(items.length - limit)} more` : shown;
}

function findingText(f: FindingJson): string {
  return `${f.package}: ${f.status} ${f.path}${f.conffile ? ' (conffile)' : ''}`;
}

const ALERT_HEAD: Record<AlertEvent['kind'], string> = {
  'findings.opened': 'ALERT: findings opened',
  'findings.resolved': 'findings resolved',
  'findings.reminder': 'REMINDER: findings still open',
  'file.written': 'scoped files written outside dpkg',
  'site.offline': 'ALERT: site taken offline',
  'site.online': 'site back online',
  'baseline.accepted': 'baseline accepted',
  'baseline.updated': 'baseline updated after a dpkg run',
  'agent.started': 'agent started',
  'agent.stopping': 'agent stopping',
  'run.failed': 'ALERT: a check failed',
  'run.recovered': 'a check works again',
  'watch.degraded': 'ALERT: real-time watch degraded',
  'coverage.degraded': 'ALERT: checks cannot see changes',
  'coverage.restored': 'checks see changes again',
  'alerts.dropped': 'ALERT: alerts dropped',
  test: 'test alert',
};

function actionsText(actions: readonly ActionOutcome[]): string {
  if (actions.length === 0) return 'no actions configured';
  return actions.map((a) => `${a.action} ${a.target}: ${a.ok ? 'ok' : 'FAILED'} (${a.detail})`).join('; ');
}

function idList(ids: readonly string[]): string {
  return capped([...ids], 3);
}

const DEFER_REASON: Record<'dpkg-running' | 'busy', string> = {
  'dpkg-running': 'dpkg is running',
  busy: 'another run is in progress',
};

const WATCH_REASON: Record<WatchDegradedReason, string> = {
  overflow: 'event queue overflow',
  'watch-limit': 'watch limit reached',
  error: 'watcher error',
};

/** The human sentence for an event, without timestamp or priority; may hold control characters. */
function sentence(e: LogEvent): string {
  switch (e.kind) {
    case 'agent.started': {
      const config = e.configFiles.length === 0 ? 'no config file (defaults)' : `config ${e.configFiles.join(', ')}`;
      const scope = e.scopePackages.length === 0 ? 'no scoped packages' : `scope ${plural(e.scopePackages.length, 'package')} (${capped(e.scopePackages, TEXT_LIST_LIMIT)})`;
      return `agent started: pkgwatch ${e.version}; ${config}; ${scope}; real-time watch ${e.watch ? 'on' : 'off'}`;
    }
    case 'agent.ready':
      return 'agent ready';
    case 'agent.reloaded':
      return 'configuration reloaded';
    case 'agent.stopping':
      return 'agent stopping';
    case 'run.started':
      return `run started (${e.schedule})`;
    case 'run.finished': {
      const found = e.findings === 0 ? 'no findings' : plural(e.findings, 'finding');
      const head = e.outcome === 'incomplete' ? `run finished (${e.schedule}), incomplete` : `run finished (${e.schedule})`;
      return `${head}: ${found} in ${plural(e.packages, 'package')}, ${plural(e.files, 'path')}, ${formatBytes(e.bytes)} in ${(e.durationMs / 1000).toFixed(1)} s`;
    }
    case 'run.failed':
      return `run failed (${e.schedule}): ${e.error}`;
    case 'run.deferred':
      return `run deferred (${e.schedule}): ${DEFER_REASON[e.reason]}`;
    case 'watch.started':
      return `real-time watch started: ${plural(e.dirs, 'directory', 'directories')}, ${plural(e.paths, 'path')}`;
    case 'metrics.listening':
      return `metrics served at http://${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}/metrics`;
    case 'metrics.failed':
      return `metrics off for ${e.target}: ${e.error}`;
    case 'heartbeat.paused':
      return `heartbeat paused, the agent is not healthy: ${e.reason}`;
    case 'heartbeat.resumed':
      return 'heartbeat resumed, the agent is healthy again';
    case 'heartbeat.failed':
      return `heartbeat to ${e.url} failed${e.failures > 1 ? ` (${plural(e.failures, 'failure')} in a row; logged at most hourly)` : ''}: ${e.error}`;
    case 'heartbeat.recovered':
      return `heartbeat to ${e.url} works again after ${plural(e.failures, 'failure')}`;
    case 'watch.degraded':
      return `real-time watch degraded (${WATCH_REASON[e.reason]}): ${e.detail}; changes may go unseen until the next check`;
    case 'coverage.degraded':
      return `coverage degraded (${e.reason}): ${e.detail}`;
    case 'coverage.restored':
      return `coverage restored (${e.reason}): ${e.detail}`;
    case 'dpkg.started':
      return `dpkg transaction started (${e.source === 'lock' ? 'dpkg lock taken' : 'dpkg hook'})`;
    case 'baseline.created':
      return `baseline of the persistence points recorded in ${e.file}: ${plural(e.entries, 'entry', 'entries')} at ${plural(e.points, 'point')} (first start)`;
    case 'dpkg.finished':
      return e.changedPackages.length === 0
        ? 'dpkg transaction finished: no packages changed'
        : `dpkg transaction finished: ${plural(e.changedPackages.length, 'package')} changed (${capped(e.changedPackages, TEXT_LIST_LIMIT)})`;
    case 'state.corrupt':
      // StateStore's warning already starts with the file name.
      return `state file ${e.file} is corrupt: ${e.detail.startsWith(`${e.file}: `) ? e.detail.slice(e.file.length + 2) : e.detail}`;
    case 'config.invalid':
      return `invalid configuration: ${e.message}`;
    case 'alert': {
      const ev = e.event;
      const list = capped(ev.findings.map(findingText), TEXT_LIST_LIMIT, '; ');
      const offline = ev.kind.startsWith('site.') && ev.offline.reason !== null ? `: ${ev.offline.reason}` : '';
      const found = ev.findings.length === 0 ? '' : `: ${plural(ev.findings.length, 'finding')}: ${list}`;
      return `${ALERT_HEAD[ev.kind]}${offline}${found} (alert ${ev.id})`;
    }
    case 'alert.delivered':
      return `alert delivered to ${e.sink}: ${idList(e.ids)}${e.attempts > 1 ? ` after ${plural(e.attempts, 'attempt')}` : ''}`;
    case 'alert.failed':
      return `alert delivery to ${e.sink} failed (attempt ${n(e.attempt)}): ${e.error}; retrying in ${Math.ceil(e.retryInMs / 1000)} s (${idList(e.ids)})`;
    case 'alert.dropped':
      return e.reason === 'max-age'
        ? `alert DROPPED for ${e.sink}: ${e.event} ${e.id}, queued ${e.queued}, could not be delivered within [alerts] max_age`
        : `alert DROPPED for ${e.sink}: ${e.event} ${e.id}, queued ${e.queued}: the outbox is full`;
    case 'alert.corrupt':
      return `outbox file ${e.file} is not valid and was moved aside: ${e.detail}`;
    case 'alert.write-failed':
      return `cannot write alert ${e.id} for ${e.sink} to the outbox: ${e.error}; it is kept in memory and sent, but a restart before delivery would lose it`;
    case 'offline.confirming':
      return `${plural(e.findings, 'finding')} would take the site offline; re-verifying in ${(e.delayMs / 1000).toFixed(1)} s`;
    case 'offline.unconfirmed':
      return `site left online: ${e.detail}`;
    case 'site.offline':
      return `SITE TAKEN OFFLINE at ${e.since}: ${e.reason}; ${actionsText(e.actions)}; run \`pkgwatch online\` to restore`;
    case 'site.still-offline':
      return `the site is offline since ${e.since ?? 'an unknown time'}: ${e.reason ?? 'no reason recorded'}; run \`pkgwatch online\` to restore`;
    case 'site.online':
      // The reason, where there is one, already says who did it and how.
      return e.reason === null ? `site brought back online by ${e.by}${e.forced ? ' with --force' : ''}` : `site back online: ${e.reason}`;
    case 'warning':
      return e.message;
  }
}

/** The text rendering of an event: one human sentence, control characters escaped as `\xNN`. */
export function eventText(e: LogEvent): string {
  return oneLine(sentence(e));
}

/** The JSON rendering of an event: `{"time","priority","kind",...fields}`, alerts capped at JSON_ALERT_LIMIT findings. */
export function eventJson(e: LogEvent, time: Date): string {
  const { kind, ...fields } = e;
  const head = { time: time.toISOString(), priority: eventPriority(e), kind };
  if (e.kind === 'alert') {
    const all = e.event.findings;
    const event = { ...e.event, findings: all.slice(0, JSON_ALERT_LIMIT) };
    return JSON.stringify({ ...head, event, findingsOmitted: Math.max(0, all.length - JSON_ALERT_LIMIT) });
  }
  return JSON.stringify({ ...head, ...fields });
}

/** Options of Logger. */
export interface LoggerOptions {
  /** `text`: one human sentence per line; `json`: one JSON object per line. */
  readonly format: 'text' | 'json';
  /**
   * Running under systemd with stdout on the journal (JOURNAL_STREAM set): each line starts with
   * its `<N>` priority (sd-daemon(3)), also in JSON, and text lines carry no timestamp.
   */
  readonly journal: boolean;
  /** Receives each line, newline included; process.stdout by default. */
  readonly write?: (line: string) => void;
  /** The clock; tests pass a fixed one. */
  readonly now?: () => Date;
}

/**
 * Writes log events, one line each:
 * text `2024-01-31T12:00:00.000Z info: run started (scoped)`, or under journal `<6>run started (scoped)`;
 * JSON `{"time":…,"priority":6,"kind":"run.started","schedule":"scoped"}`, under journal with `<6>` in front.
 */
export class Logger {
  readonly #format: 'text' | 'json';
  readonly #journal: boolean;
  readonly #write: (line: string) => void;
  readonly #now: () => Date;

  constructor(opts: LoggerOptions) {
    this.#format = opts.format;
    this.#journal = opts.journal;
    this.#write =
      opts.write ??
      ((line: string): void => {
        process.stdout.write(line);
      });
    this.#now = opts.now ?? ((): Date => new Date());
  }

  /** Writes one event as one line. */
  log(e: LogEvent): void {
    const priority = eventPriority(e);
    const prefix = this.#journal ? `<${priority}>` : '';
    if (this.#format === 'json') {
      this.#write(`${prefix}${eventJson(e, this.#now())}\n`);
    } else if (this.#journal) {
      this.#write(`${prefix}${eventText(e)}\n`);
    } else {
      this.#write(`${this.#now().toISOString()} ${LEVEL[priority]}: ${eventText(e)}\n`);
    }
  }
}
