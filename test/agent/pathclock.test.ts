// PathClock: a run may not resolve a path that changed after it began.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PathClock } from '../../src/agent/pathclock.js';

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
