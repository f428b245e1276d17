// Alert on change of state: which findings opened, resolved or are due a reminder (pure, no I/O).
import { randomUUID } from 'node:crypto';
import type { AlertEvent, AlertKind } from '../alerts/sink.js';
import type { FindingJson } from '../verify/report.js';
import type { OpenFinding } from './state.js';
import { findingKey } from './state.js';

/** An alert as applyRun and dueReminders make it (baseline.updated adds `baseline`): the agent adds the host and the offline state. */
export type DraftEvent = Pick<AlertEvent, 'kind' | 'id' | 'time' | 'findings'> & Partial<Pick<AlertEvent, 'baseline'>>;

/** The outcome of one verification run, as far as alerting cares. */
export interface RunFindings {
  /** True for every package/path this run checked: a scoped run its packages, a real-time check one path, a full run everything. */
  readonly covers: (f: { readonly package: string; readonly path: string }) => boolean;
  /** Every finding the run reported. */
  readonly findings: readonly FindingJson[];
}

/** Options of applyRun. */
export interface ApplyRunOptions {
  /** True for a path the config ignores: its findings are kept and shown, never alerted. */
  readonly isIgnored: (path: string) => boolean;
  /** Makes event ids; random UUIDs by default (tests pass a counter). */
  readonly newId?: () => string;
}

/** Open findings after a run or a reminder tick, and the events to send (at most one per kind). */
export interface AlertUpdate {
  readonly open: OpenFinding[];
  readonly events: DraftEvent[];
}

function byPackageThenPath(a: { package: string; path: string }, b: { package: string; path: string }): number {
  if (a.package !== b.package) return a.package < b.package ? -1 : 1;
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return 0;
}

/** The same failure: a change of status, expected or actual hash/kind is a new failure on the same path. */
function sameFailure(a: FindingJson, b: FindingJson): boolean {
  return a.status === b.status && a.expected === b.expected && a.actual === b.actual;
}

function event(kind: AlertKind, now: Date, findings: FindingJson[], newId: () => string): DraftEvent {
  return { kind, id: newId(), time: now.toISOString(), findings: [...findings].sort(byPackageThenPath) };
}

/**
 * Folds one run into the open findings. Of the open findings the run covers: those it no longer
 * reports are resolved; those it reports again keep firstSeen and lastAlerted and are not
 * re-alerted (their detail and conffile flag are refreshed); those whose status, expected or actual
 * changed are updated and alerted again as opened (firstSeen kept: the path has been failing since
 * then). Findings the run reports that were not open are opened, whether or not the run claims to
 * cover them. Open findings it does not cover stay as they are.
 *
 * `ignored` is re-evaluated for every open finding on each run, so a config reload takes effect:
 * a finding that becomes ignored is silenced without a resolved event (it is not resolved), one
 * that stops being ignored is alerted as opened. Ignored findings never produce events.
 */
export function applyRun(
  open: readonly OpenFinding[],
  run: RunFindings,
  now: Date,
  opts: ApplyRunOptions,
): AlertUpdate {
  const time = now.toISOString();
  const newId = opts.newId ?? randomUUID;
  const reported = new Map<string, FindingJson>();
  for (const f of run.findings) {
    const key = findingKey(f);
    if (!reported.has(key)) reported.set(key, f);
  }
  const opened: FindingJson[] = [];
  const resolved: FindingJson[] = [];
  const next: OpenFinding[] = [];
  const known = new Set<string>();

  for (const o of open) {
    known.add(o.key);
    const ignored = opts.isIgnored(o.finding.path);
    const current = reported.get(o.key);
    if (current === undefined) {
      if (run.covers(o.finding)) {
        if (!o.ignored && !ignored) resolved.push(o.finding);
        continue;
      }
      if (o.ignored && !ignored) {
        opened.push(o.finding);
        next.push({ ...o, ignored, lastAlerted: time });
      } else {
        next.push({ ...o, ignored });
      }
      continue;
    }
    const alert = !ignored && (o.ignored || !sameFailure(o.finding, current));
    if (alert) opened.push(current);
    next.push({ ...o, finding: { ...current }, ignored, lastAlerted: alert ? time : o.lastAlerted });
  }

  for (const [key, f] of reported) {
    if (known.has(key)) continue;
    const ignored = opts.isIgnored(f.path);
    if (!ignored) opened.push(f);
    next.push({ key, finding: { ...f }, firstSeen: time, lastAlerted: time, ignored });
  }

  next.sort((a, b) => byPackageThenPath(a.finding, b.finding));
  const events: DraftEvent[] = [];
  if (opened.length > 0) events.push(event('findings.opened', now, opened, newId));
  if (resolved.length > 0) events.push(event('findings.resolved', now, resolved, newId));
  return { open: next, events };
}

/**
 * One reminder listing every non-ignored open finding last alerted at least `reminderMs` ago;
 * their lastAlerted becomes `now`. A lastAlerted more than `reminderMs` in the future (the clock
 * was set back) also counts as due, so a clock step cannot silence reminders for good.
 * `reminderMs` must be positive; Infinity turns reminders off.
 */
export function dueReminders(
  open: readonly OpenFinding[],
  now: Date,
  reminderMs: number,
  opts: { readonly newId?: () => string } = {},
): AlertUpdate {
  if (!(reminderMs > 0)) throw new RangeError(`reminder interval must be positive, got ${reminderMs} ms`);
  const time = now.toISOString();
  const due: FindingJson[] = [];
  const next = open.map((o): OpenFinding => {
    if (o.ignored) return { ...o };
    const age = now.getTime() - Date.parse(o.lastAlerted);
    if (Math.abs(age) < reminderMs) return { ...o }; // NaN (never written by StateStore) counts as due
    due.push(o.finding);
    return { ...o, lastAlerted: time };
  });
  const events = due.length > 0 ? [event('findings.reminder', now, due, opts.newId ?? randomUUID)] : [];
  return { open: next, events };
}
