// How an email tells of events about the agent itself: the subject's words, each event's heading
// and lines, and what to do about it.
import { isAgentKind, type AgentAlertKind, type AlertEvent, type CheckSchedule } from './sink.js';
import { iso, plural, safeText, wrap } from './text.js';

/** The most dropped deliveries one message lists; the rest are counted. */
const MAX_LISTED_DROPS = 100;

/** One piece of news about the agent for the subject: in full when it leads, brief otherwise. */
export interface AgentNews {
  readonly full: string;
  readonly brief: string;
}

/** The events about the agent, of one kind. */
function ofKind(events: readonly AlertEvent[], kind: AgentAlertKind): AlertEvent[] {
  return events.filter((e) => e.kind === kind);
}

/** The checks whose last word in the batch is `kind` (run.failed or run.recovered), with that event. */
function checksEndingIn(events: readonly AlertEvent[], kind: 'run.failed' | 'run.recovered'): Map<CheckSchedule, AlertEvent> {
  const last = new Map<CheckSchedule, AlertEvent>();
  for (const e of events) {
    const schedule = e.agent?.schedule;
    if ((e.kind === 'run.failed' || e.kind === 'run.recovered') && schedule !== undefined && schedule !== null) last.set(schedule, e);
  }
  return new Map([...last].filter(([, e]) => e.kind === kind));
}

/** `scoped`, `scoped and full`, `scoped, full and realtime`. */
function names(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

function droppedCount(events: readonly AlertEvent[]): number {
  return ofKind(events, 'alerts.dropped').reduce((n, e) => n + (e.agent?.dropped.length ?? 0), 0);
}

/** The agent started or stopped last in the batch, or undefined. */
function lastLifecycle(events: readonly AlertEvent[]): AlertEvent | undefined {
  return events.findLast((e) => e.kind === 'agent.started' || e.kind === 'agent.stopping');
}

/**
 * The news about the agent in a batch, most urgent first: `trouble` (stopped, a check failing, the
 * watch degraded, alerts dropped), which leads the subject before reminders; or the good news
 * (started, a check working again), which leads only when nothing else does.
 */
export function agentNews(events: readonly AlertEvent[], trouble: boolean): AgentNews[] {
  const out: AgentNews[] = [];
  const life = lastLifecycle(events);
  const failing = checksEndingIn(events, 'run.failed');
  const degraded = ofKind(events, 'watch.degraded');
  const blind = ofKind(events, 'coverage.degraded');
  const dropped = droppedCount(events);
  if (trouble) {
    if (life?.kind === 'agent.stopping') out.push({ full: 'agent STOPPING: nothing is checked until it runs again', brief: 'agent STOPPING' });
    if (failing.size > 0) {
      const which = [...failing.keys()];
      const one = failing.size === 1 ? [...failing.values()][0] : undefined;
      const brief = `${names(which)} ${which.length === 1 ? 'check' : 'checks'} FAILED`;
      out.push({ full: one === undefined ? brief : `${brief}: ${one.agent?.message ?? ''}`, brief });
    }
    if (degraded.length > 0) {
      const full = degraded.length === 1 ? `real-time watch DEGRADED: ${degraded[0]?.agent?.message ?? ''}` : 'real-time watch DEGRADED';
      out.push({ full, brief: 'real-time watch DEGRADED' });
    }
    if (blind.length > 0) {
      const full = blind.length === 1 ? `checks BLIND: ${blind[0]?.agent?.message ?? ''}` : 'checks BLIND';
      out.push({ full, brief: 'checks BLIND' });
    }
    if (dropped > 0) out.push({ full: `${plural(dropped, 'alert')} DROPPED: not delivered within max_age`, brief: `${plural(dropped, 'alert')} DROPPED` });
    return out;
  }
  if (life?.kind === 'agent.started') {
    const restarted = events.some((e) => e.kind === 'agent.stopping');
    const what = restarted ? 'agent restarted' : 'agent started';
    out.push({ full: `${what} (pkgwatch ${life.agent?.version ?? '?'})`, brief: what });
  }
  const working = [...checksEndingIn(events, 'run.recovered').keys()];
  if (working.length > 0) {
    const text = `${names(working)} ${working.length === 1 ? 'check works' : 'checks work'} again`;
    out.push({ full: text, brief: text });
  }
  if (ofKind(events, 'coverage.restored').length > 0) out.push({ full: 'checks see again', brief: 'checks see again' });
  return out;
}

/** The heading of an event about the agent. */
export function agentTitle(e: AlertEvent): string {
  const schedule = e.agent?.schedule ?? 'a';
  switch (e.kind) {
    case 'agent.started':
      return 'Agent started';
    case 'agent.stopping':
      return 'Agent stopping';
    case 'run.failed':
      return `The ${schedule} check FAILED`;
    case 'run.recovered':
      return `The ${schedule} check works again`;
    case 'watch.degraded':
      return 'Real-time watch DEGRADED';
    case 'coverage.degraded':
      return `Coverage DEGRADED (${e.agent?.coverage ?? '?'})`;
    case 'coverage.restored':
      return `Coverage restored (${e.agent?.coverage ?? '?'})`;
    case 'alerts.dropped':
      return `${plural(e.agent?.dropped.length ?? 0, 'alert')} DROPPED`;
    default:
      return e.kind;
  }
}

/** What an event about the agent says, under its heading: its message, and what was dropped. */
export function agentLines(e: AlertEvent): string[] {
  const a = e.agent;
  if (a === undefined) return [];
  const out = wrap(safeText(a.message), '', '');
  const shown = a.dropped.slice(0, MAX_LISTED_DROPS);
  for (const d of shown) out.push(...wrap(`- ${safeText(d.sink)}: ${d.event} ${safeText(d.id)}, queued ${iso(d.queued)}`, '', '    '));
  if (shown.length < a.dropped.length) out.push(`... and ${a.dropped.length - shown.length} more`);
  return out;
}

/** "To restore" steps for the agent's troubles in the batch, each one sentence, not yet numbered. */
export function agentRestore(events: readonly AlertEvent[], host: string): string[] {
  if (!events.some((e) => isAgentKind(e.kind))) return [];
  const out: string[] = [];
  const failing = [...checksEndingIn(events, 'run.failed').keys()];
  if (failing.length > 0) {
    const one = failing.length === 1;
    out.push(
      `Find out why the ${names(failing)} ${one ? 'check fails' : 'checks fail'}: \`journalctl -u pkgwatch\` and \`pkgwatch status\` on ${host}. Until ${one ? 'it runs' : 'they run'}, changes to files may go unseen.`,
    );
  }
  if (events.some((e) => e.kind === 'watch.degraded')) out.push(`Fix what the watcher reported above, then \`systemctl reload pkgwatch\` on ${host}.`);
  if (events.some((e) => e.kind === 'coverage.degraded' && e.agent?.coverage === 'dpkg-running-too-long')) {
    out.push(`If no package operation is under way on ${host}, find what holds dpkg's lock (\`fuser -v /var/lib/dpkg/lock\`) or remove a stale hook marker: every check waits for it.`);
  }
  if (lastLifecycle(events)?.kind === 'agent.stopping') out.push(`If nobody stopped pkgwatch on purpose, find out why: \`systemctl status pkgwatch\` on ${host}.`);
  if (droppedCount(events) > 0) out.push(`The alerts listed above never arrived: see the last error per sink and the findings still open with \`pkgwatch status\` on ${host}.`);
  return out;
}
