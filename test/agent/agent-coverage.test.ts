// Coverage alerts at a real webhook receiver on 127.0.0.1: dpkg's lock held past
// [schedule] dpkg_max_run is coverage.degraded (every check waits for it), its release
// coverage.restored; a watcher that cannot watch a scoped directory is coverage.degraded too.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { agentFixture, holdLock, isKind, isRunFinished, startAgent, YEARLY, type AgentToml } from '../helpers/agent.js';
import { FixtureRoot } from '../helpers/fixture.js';
import { startHookReceiver, waitUntil, type Hook } from '../helpers/receivers.js';

const SECRET = 'test-secret-0123456789';
const FAST: NonNullable<AgentToml['alerts']> = { retry_min: '100ms', retry_max: '400ms', host: 'web1.test' };

function ofKind(hooks: readonly Hook[], kind: string): Hook[] {
  return hooks.filter((h) => h.event === kind);
}

test('dpkg lock held past dpkg_max_run: coverage.degraded at the webhook, coverage.restored after its release', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY, dpkg_max_run: '2s' },
      alerts: { ...FAST, webhook: { url: hook.url, secret: SECRET } },
    },
  });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from });
  await waitUntil('coverage.degraded at the webhook', () => ofKind(hook.accepted, 'coverage.degraded').length === 1);
  const degraded = ofKind(hook.accepted, 'coverage.degraded')[0];
  assert.equal(degraded?.agent?.coverage, 'dpkg-running-too-long');
  assert.match(degraded?.agent?.message ?? '', /dpkg_max_run is 2 s/);
  const logged = await agent.waitFor('the coverage.degraded log line', isKind('coverage.degraded'), { from });
  assert.equal(logged.line['reason'], 'dpkg-running-too-long');
  assert.equal(logged.line['priority'], 4);
  // Still held: nothing restored yet.
  assert.deepEqual(ofKind(hook.accepted, 'coverage.restored'), []);

  await lock.release();
  await waitUntil('coverage.restored at the webhook', () => ofKind(hook.accepted, 'coverage.restored').length === 1);
  const restored = ofKind(hook.accepted, 'coverage.restored')[0];
  assert.equal(restored?.agent?.coverage, 'dpkg-running-too-long');
  assert.match(restored?.agent?.message ?? '', /released after/);
  await agent.waitFor('the coverage.restored log line', isKind('coverage.restored'), { from: logged.index });
  await agent.stop();
  // Once per long run: the warning repeats every dpkg_max_run, the alert does not.
  assert.equal(ofKind(hook.accepted, 'coverage.degraded').length, 1);
});

test('a watcher that cannot watch a scoped directory: coverage.degraded (watch-degraded) at the webhook', async (t) => {
  const fx = new FixtureRoot();
  t.after(() => fx.cleanup());
  // chokidar cannot watch a directory whose name holds a backslash.
  fx.addPackage({ name: 'odd', files: [{ path: '/srv/odd\\dir/index.php', content: '<?php echo 1;\n' }] });
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    config: { scope: { packages: ['odd'] }, schedule: { scoped: YEARLY, full: YEARLY }, alerts: { ...FAST, webhook: { url: hook.url, secret: SECRET } } },
  });
  await waitUntil('coverage.degraded at the webhook', () => ofKind(hook.accepted, 'coverage.degraded').length === 1);
  const degraded = ofKind(hook.accepted, 'coverage.degraded')[0];
  assert.equal(degraded?.agent?.coverage, 'watch-degraded');
  assert.match(degraded?.agent?.message ?? '', /cannot watch .*odd\\\\dir/);
  await agent.stop();
});
