// Alert on change of state: opened, persisting, resolved, changed again, coverage, ignored paths, reminders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRun, dueReminders, type ApplyRunOptions } from '../../src/agent/findings.js';
import { findingKey, type OpenFinding } from '../../src/agent/state.js';
import type { FindingJson } from '../../src/verify/report.js';

const T0 = new Date('2024-01-31T12:00:00.000Z');
const T1 = new Date('2024-01-31T13:00:00.000Z');
const T2 = new Date('2024-01-31T14:00:00.000Z');
const HOUR = 3_600_000;
const E = '0123456789abcdef0123456789abcdef';
const A = 'fedcba9876543210fedcba9876543210';

function changed(pkg: string, path: string, actual = A): FindingJson {
  return { package: pkg, path, status: 'changed', conffile: false, expected: E, actual, detail: null };
}
function missing(pkg: string, path: string): FindingJson {
  return { package: pkg, path, status: 'missing', conffile: false, expected: E, actual: null, detail: null };
}

const everything = (): boolean => true;
const packages =
  (...names: string[]) =>
  (f: { package: string }): boolean =>
    names.includes(f.package);
const onePath =
  (p: string) =>
  (f: { path: string }): boolean =>
    f.path === p;

/** Deterministic event ids: ev1, ev2, … */
function opts(ignored: readonly string[] = []): ApplyRunOptions & { newId: () => string } {
  let n = 0;
  return { isIgnored: (p) => ignored.includes(p), newId: () => `ev${++n}` };
}

function openAt(f: FindingJson, firstSeen: Date, lastAlerted = firstSeen, ignored = false): OpenFinding {
  return { key: findingKey(f), finding: f, firstSeen: firstSeen.toISOString(), lastAlerted: lastAlerted.toISOString(), ignored };
}

test('a new finding opens and is alerted once, in one batch for the run', () => {
  const f1 = changed('nginx', '/usr/sbin/nginx');
  const f2 = missing('libc6', '/lib/x86_64-linux-gnu/libc.so.6');
  const r = applyRun([], { covers: everything, findings: [f1, f2] }, T0, opts());
  assert.deepEqual(r.open, [openAt(f2, T0), openAt(f1, T0)]);
  assert.deepEqual(r.events, [{ kind: 'findings.opened', id: 'ev1', time: '2024-01-31T12:00:00.000Z', findings: [f2, f1] }]);
});

test('a clean run with nothing open does nothing', () => {
  assert.deepEqual(applyRun([], { covers: everything, findings: [] }, T0, opts()), { open: [], events: [] });
});

test('a finding that persists keeps firstSeen and lastAlerted and is not alerted again', () => {
  const f = changed('nginx', '/usr/sbin/nginx');
  const first = applyRun([], { covers: everything, findings: [f] }, T0, opts());
  const again = applyRun(first.open, { covers: everything, findings: [{ ...f }] }, T1, opts());
  assert.deepEqual(again, { open: [openAt(f, T0)], events: [] });
  // A new detail text alone is refreshed silently.
  const detailed = { ...f, detail: 'diverted from /usr/sbin/nginx.real by nginx-extras' };
  const third = applyRun(again.open, { covers: everything, findings: [detailed] }, T2, opts());
  assert.deepEqual(third, { open: [openAt(detailed, T0)], events: [] });
});

test('a covered finding that is no longer reported is resolved, with its last known form', () => {
  const f1 = changed('nginx', '/usr/sbin/nginx');
  const f2 = changed('nginx', '/usr/share/nginx/html/index.html');
  const open = [openAt(f1, T0), openAt(f2, T0)];
  const r = applyRun(open, { covers: everything, findings: [f2] }, T1, opts());
  assert.deepEqual(r.open, [openAt(f2, T0)]);
  assert.deepEqual(r.events, [{ kind: 'findings.resolved', id: 'ev1', time: '2024-01-31T13:00:00.000Z', findings: [f1] }]);
});

test('opened and resolved in one run: one event of each kind, opened first', () => {
  const old = changed('nginx', '/usr/sbin/nginx');
  const fresh = missing('php8.2-fpm', '/usr/sbin/php-fpm8.2');
  const r = applyRun([openAt(old, T0)], { covers: everything, findings: [fresh] }, T1, opts());
  assert.deepEqual(r.open, [openAt(fresh, T1)]);
  assert.deepEqual(r.events, [
    { kind: 'findings.opened', id: 'ev1', time: '2024-01-31T13:00:00.000Z', findings: [fresh] },
    { kind: 'findings.resolved', id: 'ev2', time: '2024-01-31T13:00:00.000Z', findings: [old] },
  ]);
});

test('changed -> missing, and changed to another hash, are alerted again as opened; firstSeen kept', () => {
  const c = changed('nginx', '/usr/sbin/nginx');
  const c2 = changed('nginx', '/usr/bin/curl', A);
  const open = [openAt(c, T0), openAt(c2, T0)];
  const m = missing('nginx', '/usr/sbin/nginx');
  const c2b = changed('nginx', '/usr/bin/curl', 'ffffffffffffffffffffffffffffffff');
  const r = applyRun(open, { covers: everything, findings: [m, c2b] }, T1, opts());
  assert.deepEqual(r.open, [openAt(c2b, T0, T1), openAt(m, T0, T1)]);
  assert.deepEqual(r.events, [{ kind: 'findings.opened', id: 'ev1', time: '2024-01-31T13:00:00.000Z', findings: [c2b, m] }]);
});

test('a run only resolves what it covers: a scoped run leaves other packages open', () => {
  const a = changed('nginx', '/usr/sbin/nginx');
  const b = changed('openssh-server', '/usr/sbin/sshd');
  const r = applyRun([openAt(a, T0), openAt(b, T0)], { covers: packages('nginx'), findings: [] }, T1, opts());
  assert.deepEqual(r.open, [openAt(b, T0)]);
  assert.deepEqual(r.events, [{ kind: 'findings.resolved', id: 'ev1', time: '2024-01-31T13:00:00.000Z', findings: [a] }]);
});

test('a real-time check of one path touches only that path', () => {
  const a = changed('nginx', '/usr/sbin/nginx');
  const b = changed('nginx', '/etc/nginx/nginx.conf');
  const open = [openAt(b, T0), openAt(a, T0)];
  const clean = applyRun(open, { covers: onePath('/usr/sbin/nginx'), findings: [] }, T1, opts());
  assert.deepEqual(clean.open, [openAt(b, T0)]);
  assert.deepEqual(clean.events.map((e) => [e.kind, e.findings]), [['findings.resolved', [a]]]);
  const none = applyRun(open, { covers: onePath('/usr/bin/other'), findings: [] }, T1, opts());
  assert.deepEqual(none, { open: [openAt(b, T0), openAt(a, T0)], events: [] });
});

test('a finding reported outside what the run claims to cover is still opened, never dropped', () => {
  const f = changed('nginx', '/usr/sbin/nginx');
  const r = applyRun([], { covers: () => false, findings: [f] }, T0, opts());
  assert.deepEqual(r.open, [openAt(f, T0)]);
  assert.equal(r.events.length, 1);
});

test('the same finding reported twice in one run is one open finding', () => {
  const f = changed('nginx', '/usr/sbin/nginx');
  const r = applyRun([], { covers: everything, findings: [f, { ...f }] }, T0, opts());
  assert.deepEqual(r.open, [openAt(f, T0)]);
  assert.deepEqual(r.events[0]?.findings, [f]);
});

test('same path in two packages: two findings, keyed by package and path', () => {
  const a = changed('a', '/usr/share/x');
  const b = changed('b', '/usr/share/x');
  const r = applyRun([openAt(a, T0)], { covers: everything, findings: [b] }, T1, opts());
  assert.deepEqual(r.open, [openAt(b, T1)]);
  assert.deepEqual(r.events.map((e) => [e.kind, e.findings]), [
    ['findings.opened', [b]],
    ['findings.resolved', [a]],
  ]);
});

test('ignored paths: kept open with ignored: true, never opened, resolved or changed-again alerts', () => {
  const ign = changed('nginx', '/etc/nginx/sites-enabled/default');
  const other = changed('nginx', '/usr/sbin/nginx');
  const o = opts([ign.path]);
  const r1 = applyRun([], { covers: everything, findings: [ign, other] }, T0, o);
  assert.deepEqual(r1.open, [openAt(ign, T0, T0, true), openAt(other, T0)]);
  assert.deepEqual(r1.events, [{ kind: 'findings.opened', id: 'ev1', time: '2024-01-31T12:00:00.000Z', findings: [other] }]);
  const ignMissing = missing('nginx', ign.path);
  const r2 = applyRun(r1.open, { covers: everything, findings: [ignMissing, other] }, T1, o);
  assert.deepEqual(r2, { open: [openAt(ignMissing, T0, T0, true), openAt(other, T0)], events: [] });
  const r3 = applyRun(r2.open, { covers: everything, findings: [other] }, T2, o);
  assert.deepEqual(r3, { open: [openAt(other, T0)], events: [] });
});

test('a config reload: a newly ignored finding goes quiet (no resolved), an un-ignored one is alerted as opened', () => {
  const f = changed('nginx', '/etc/nginx/nginx.conf');
  const quiet = applyRun([openAt(f, T0)], { covers: () => false, findings: [] }, T1, opts([f.path]));
  assert.deepEqual(quiet, { open: [openAt(f, T0, T0, true)], events: [] });
  // Not covered by the run, but no longer ignored: the operator hears of it now.
  const loud = applyRun(quiet.open, { covers: () => false, findings: [] }, T2, opts());
  assert.deepEqual(loud.open, [openAt(f, T0, T2)]);
  assert.deepEqual(loud.events, [{ kind: 'findings.opened', id: 'ev1', time: '2024-01-31T14:00:00.000Z', findings: [f] }]);
  // Covered and still reported, no longer ignored: alerted as opened too.
  const loud2 = applyRun(quiet.open, { covers: everything, findings: [f] }, T2, opts());
  assert.deepEqual(loud2.open, [openAt(f, T0, T2)]);
  assert.deepEqual(loud2.events.map((e) => e.kind), ['findings.opened']);
});

test('applyRun does not change its input', () => {
  const f = changed('nginx', '/usr/sbin/nginx');
  const open = [openAt(f, T0)];
  const copy = structuredClone(open);
  applyRun(open, { covers: everything, findings: [missing('nginx', f.path)] }, T1, opts());
  assert.deepEqual(open, copy);
});

test('event ids are random UUIDs by default, distinct per event', () => {
  const r = applyRun([openAt(changed('a', '/x'), T0)], { covers: everything, findings: [changed('b', '/y')] }, T1, {
    isIgnored: () => false,
  });
  const ids = r.events.map((e) => e.id);
  assert.equal(ids.length, 2);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(ids[0], ids[1]);
});

test('dueReminders: one reminder for every non-ignored finding alerted at least reminderMs ago', () => {
  const old = changed('a', '/old');
  const exact = changed('b', '/exact');
  const recent = changed('c', '/recent');
  const ignored = changed('d', '/ignored');
  const open = [
    openAt(old, T0, new Date(T2.getTime() - 2 * HOUR)),
    openAt(exact, T0, new Date(T2.getTime() - HOUR)),
    openAt(recent, T0, new Date(T2.getTime() - HOUR + 1)),
    openAt(ignored, T0, T0, true),
  ];
  const r = dueReminders(open, T2, HOUR, { newId: () => 'rem1' });
  assert.deepEqual(r.events, [{ kind: 'findings.reminder', id: 'rem1', time: '2024-01-31T14:00:00.000Z', findings: [old, exact] }]);
  assert.deepEqual(r.open, [openAt(old, T0, T2), openAt(exact, T0, T2), open[2], open[3]]);
  // Right after, nothing is due; one millisecond before the next interval, still nothing.
  assert.deepEqual(dueReminders(r.open, T2, HOUR).events, []);
  const later = dueReminders(r.open, new Date(T2.getTime() + HOUR - 1), HOUR, { newId: () => 'rem2' });
  assert.deepEqual(later.events.map((e) => e.findings), [[recent]]);
});

test('dueReminders: a clock set back by more than the interval does not silence reminders', () => {
  const f = changed('a', '/x');
  const future = [openAt(f, T0, new Date(T0.getTime() + 3 * HOUR))];
  assert.deepEqual(dueReminders(future, T0, 4 * HOUR).events, []);
  const r = dueReminders(future, T0, HOUR, { newId: () => 'r' });
  assert.deepEqual(r.events.map((e) => e.findings), [[f]]);
  assert.deepEqual(r.open, [openAt(f, T0, T0)]);
});

test('dueReminders: nothing open, or Infinity, means no reminder; a non-positive interval is a bug', () => {
  assert.deepEqual(dueReminders([], T0, HOUR), { open: [], events: [] });
  const open = [openAt(changed('a', '/x'), new Date(0))];
  assert.deepEqual(dueReminders(open, T0, Infinity).events, []);
  assert.throws(() => dueReminders(open, T0, 0), { name: 'RangeError', message: 'reminder interval must be positive, got 0 ms' });
  assert.throws(() => dueReminders(open, T0, NaN), RangeError);
});

test('a repeating finding is never muted: reminders keep coming every interval', () => {
  const f = changed('nginx', '/usr/sbin/nginx');
  let open = applyRun([], { covers: everything, findings: [f] }, T0, opts()).open;
  let reminders = 0;
  for (let h = 1; h <= 24; h++) {
    const now = new Date(T0.getTime() + h * HOUR);
    const run = applyRun(open, { covers: everything, findings: [f] }, now, opts());
    assert.deepEqual(run.events, []);
    const r = dueReminders(run.open, now, 6 * HOUR);
    reminders += r.events.length;
    open = r.open;
  }
  assert.equal(reminders, 4);
});
