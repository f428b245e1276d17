// PathClock: a run may not resolve a path that changed after it began, nor judge one a later check judged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRun } from '../../src/agent/findings.js';
import { currentView, PathClock } from '../../src/agent/pathclock.js';
import type { FindingJson } from '../../src/verify/report.js';

test('a path that changed after a run began is stale for that run, not for a run that began later', () => {
  const c = new PathClock();
  c.event('/srv/a');
  const scoped = c.mark(); // a long scoped run begins
  assert.equal(c.changedSince('/srv/a', scoped), false, 'the event came before it');
  c.event('/srv/b'); // b is written while it runs
  const realtime = c.mark(); // b's real-time check begins
  assert.equal(c.changedSince('/srv/b', scoped), true, "the scoped run's view of b is stale");
  assert.equal(c.changedSince('/srv/b', realtime), false);
  assert.equal(c.changedSince('/srv/never', scoped), false);
  c.keepOnly(new Set(['/srv/a']));
  assert.equal(c.changedSince('/srv/b', scoped), false, 'forgotten: out of the scope');
});

const changed = (p: string): FindingJson => ({ package: 'app', path: p, status: 'changed', expected: 'a'.repeat(32), actual: 'b'.repeat(32) }) as FindingJson;
const opts = { isIgnored: () => false };

test('a long run that read a file mid-change does not re-open what a later real-time check resolved', () => {
  const c = new PathClock();
  const scoped = c.mark(); // the scheduled run begins and, at some point, reads /srv/p while it is being changed
  c.event('/srv/p'); // the change
  const rt1 = c.mark();
  let r = applyRun([], currentView(c, rt1, [changed('/srv/p')], () => true), new Date(1), opts);
  c.judged('/srv/p', rt1);
  assert.deepEqual(r.events.map((e) => e.kind), ['findings.opened']);
  c.event('/srv/p'); // repaired
  const rt2 = c.mark();
  r = applyRun(r.open, currentView(c, rt2, [], () => true), new Date(2), opts);
  c.judged('/srv/p', rt2);
  assert.deepEqual(r.events.map((e) => e.kind), ['findings.resolved']);
  // The scheduled run ends now, with what it saw mid-change: superseded, so no alert.
  r = applyRun(r.open, currentView(c, scoped, [changed('/srv/p')], () => true), new Date(3), opts);
  assert.deepEqual(r, { open: [], events: [] });
});

test('a path written again and again still gets the newest check\'s finding', () => {
  const c = new PathClock();
  let open: ReturnType<typeof applyRun>['open'] = [];
  for (let i = 0; i < 5; i++) {
    c.event('/srv/shell.php');
    const m = c.mark();
    c.event('/srv/shell.php'); // written again while the check runs
    const r = applyRun(open, currentView(c, m, [changed('/srv/shell.php')], () => true), new Date(i), opts);
    c.judged('/srv/shell.php', m);
    if (i === 0) assert.deepEqual(r.events.map((e) => e.kind), ['findings.opened']);
    open = r.open;
    assert.equal(open.length, 1, `check ${i}: the finding stays open`);
  }
  // A scheduled run older than all of them neither resolves nor re-alerts.
  const r = applyRun(open, currentView(c, 0, [], () => true), new Date(9), opts);
  assert.equal(r.open.length, 1);
  assert.deepEqual(r.events, []);
});
