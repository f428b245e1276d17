// AgentHealth: which of the agent's own troubles become alerts, and what they say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentHealth, livenessProblem } from '../../src/agent/health.js';
import { loadConfigFiles } from '../../src/config/load.js';

const NOW = new Date('2024-01-31T12:00:00.000Z');

test('a streak of failures of one check is one run.failed, and its end one run.recovered', () => {
  const h = new AgentHealth('1.2.3');
  assert.equal(h.runOk('scoped'), null, 'a check that never failed recovers from nothing');
  const first = h.runFailed('scoped', 'cannot read the dpkg status file', NOW);
  assert.deepEqual(first, { kind: 'run.failed', agent: { version: '1.2.3', message: 'cannot read the dpkg status file', schedule: 'scoped', dropped: [] } });
  assert.equal(h.runFailed('scoped', 'another error', NOW), null);
  assert.equal(h.runFailed('scoped', 'another error', NOW), null);
  // Each check has its own streak.
  assert.equal(h.runFailed('full', 'the child died', NOW)?.agent.schedule, 'full');
  assert.equal(h.runOk('realtime'), null);
  assert.deepEqual(h.runOk('scoped'), {
    kind: 'run.recovered',
    agent: {
      version: '1.2.3',
      message: 'the scoped check runs again; it failed 3 times since 2024-01-31T12:00:00.000Z, first with: cannot read the dpkg status file',
      schedule: 'scoped',
      dropped: [],
    },
  });
  assert.equal(h.runOk('scoped'), null);
  assert.equal(h.runFailed('scoped', 'again', NOW)?.kind, 'run.failed', 'a new streak alerts again');
  assert.match(h.runOk('full')?.agent.message ?? '', /failed once since/);
});

test('a degraded watch alerts once per cause until the watch is set up anew', () => {
  const h = new AgentHealth('1.2.3');
  assert.match(h.watchDegraded('watch-limit', 'ENOSPC: raise fs.inotify.max_user_watches')?.agent.message ?? '', /^the inotify watch limit is reached: ENOSPC/);
  assert.equal(h.watchDegraded('watch-limit', 'ENOSPC again'), null);
  assert.equal(h.watchDegraded('error', 'cannot watch /srv/x')?.kind, 'watch.degraded');
  h.resetWatch();
  assert.equal(h.watchDegraded('watch-limit', 'ENOSPC')?.kind, 'watch.degraded');
});

test('dropped deliveries are one alert per batch; a dropped alerts.dropped is not alerted again', () => {
  const h = new AgentHealth('1.2.3');
  const d = (sink: string, event: 'findings.opened' | 'alerts.dropped', id: string): { sink: string; id: string; event: 'findings.opened' | 'alerts.dropped'; queued: string } => ({
    sink,
    id,
    event,
    queued: '2024-01-24T12:00:00.000Z',
  });
  const draft = h.dropped([d('email', 'findings.opened', 'a'), d('webhook', 'findings.opened', 'a'), d('webhook', 'alerts.dropped', 'x')], 7 * 86_400_000);
  assert.equal(draft?.kind, 'alerts.dropped');
  assert.equal(draft?.agent.message, '2 alerts could not be delivered within [alerts] max_age (7d) and were given up (1 for email, 1 for webhook)');
  assert.deepEqual(draft?.agent.dropped.map((x) => `${x.sink}:${x.id}`), ['email:a', 'webhook:a']);
  assert.equal(h.dropped([d('webhook', 'alerts.dropped', 'y')], 1000), null);
  assert.equal(h.dropped([], 1000), null);
});

test('started and stopping say what runs', async () => {
  const cfg = await loadConfigFiles({ main: '/nonexistent/pkgwatch.toml', required: false });
  const h = new AgentHealth('1.2.3');
  assert.deepEqual(h.started(cfg), {
    kind: 'agent.started',
    agent: { version: '1.2.3', message: 'pkgwatch 1.2.3 started: no scoped packages; real-time watch off; full check "30 3 * * 0"', schedule: null, dropped: [] },
  });
  assert.match(h.stopping().agent.message, /^pkgwatch 1\.2\.3 is stopping: nothing is checked and nothing alerted until it runs again$/);
});

test('liveness: healthy while every scheduled check finishes within grace of falling due; a late one, a degraded watch or a failed reload is named', () => {
  const at = Date.parse('2026-12-06T10:00:00.000Z');
  const base = { now: at, configProblem: null, watchDegraded: false, due: {}, fullRunning: false, lastFullMs: null, graceMs: 660_000 };
  assert.equal(livenessProblem(base), null);
  // Due for exactly grace: still on time; a millisecond more: late.
  assert.equal(livenessProblem({ ...base, due: { scoped: at - 660_000 } }), null);
  assert.equal(livenessProblem({ ...base, due: { scoped: at - 660_001 } }), 'the scoped check due since 2026-12-06T09:48:59.999Z has not finished (allowed: 11m)');
  // A full check gets as long as the last one took, and so does a scoped check waiting behind a running one.
  assert.equal(livenessProblem({ ...base, due: { full: at - 3_600_000 }, lastFullMs: 3_000_000 }), null);
  assert.equal(livenessProblem({ ...base, due: { scoped: at - 3_600_000 }, lastFullMs: 3_000_000, fullRunning: true }), null);
  assert.match(livenessProblem({ ...base, due: { scoped: at - 3_600_000 }, lastFullMs: 3_000_000 }) ?? '', /^the scoped check due since/);
  assert.match(livenessProblem({ ...base, due: { full: at - 3_600_001 - 60_000 }, lastFullMs: 3_000_000 }) ?? '', /^the full check due since .* \(allowed: 61m\)$/);
  assert.equal(livenessProblem({ ...base, watchDegraded: true }), 'the real-time watch is degraded (paths are not watched)');
  assert.match(livenessProblem({ ...base, configProblem: "pkgwatch.toml:3: key 'x': unknown key" }) ?? '', /^the configuration on disk is not in effect \(the last reload failed: pkgwatch\.toml:3/);
});
