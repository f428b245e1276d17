// The agent's own health reaches real receivers on 127.0.0.1: its start and stop, a check that fails
// and works again, a degraded watch, and alerts given up after max_age, each once per change of state.
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { test } from 'node:test';
import { agentFixture, APP_FILE, EVERY_2S, isKind, startAgent, YEARLY, type AgentToml } from '../helpers/agent.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { FixtureRoot } from '../helpers/fixture.js';
import { startHookReceiver, startSmtp, waitUntil, type Hook } from '../helpers/receivers.js';

const SECRET = 'test-secret-0123456789';
const FAST: NonNullable<AgentToml['alerts']> = { retry_min: '100ms', retry_max: '400ms', host: 'web1.test' };
const VERSION = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string }).version;

function ofKind(hooks: readonly Hook[], kind: string): Hook[] {
  return hooks.filter((h) => h.event === kind);
}

test('agent.started and agent.stopping reach the webhook and email; the stop is delivered before the agent exits', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const smtp = await startSmtp(t);
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      // An hour's batch: only the flush at stop can make the mail go out while the agent runs.
      alerts: { ...FAST, email: { to: ['ops@example.test'], smtp: `smtp://127.0.0.1:${smtp.port}`, batch: '1h' }, webhook: { url: hook.url, secret: SECRET } },
    },
  });
  await waitUntil('agent.started at the webhook', () => ofKind(hook.accepted, 'agent.started').length === 1);
  const started = ofKind(hook.accepted, 'agent.started')[0];
  assert.equal(started?.host, 'web1.test');
  assert.deepEqual(started?.findings, []);
  assert.equal(started?.agent?.version, VERSION);
  assert.match(started?.agent?.message ?? '', /^pkgwatch \S+ started: scope 1 package \(app\); real-time watch on/);
  assert.equal(smtp.mails.length, 0);

  await agent.stop();
  // No waiting: both were delivered before the process exited.
  const stopping = ofKind(hook.accepted, 'agent.stopping');
  assert.equal(stopping.length, 1, JSON.stringify(hook.accepted.map((h) => h.event)));
  assert.match(stopping[0]?.agent?.message ?? '', /is stopping: nothing is checked/);
  assert.equal(smtp.mails.length, 1);
  const mail = smtp.mails[0];
  assert.equal(mail?.subject, '[pkgwatch] web1.test: agent STOPPING: nothing is checked until it runs again');
  assert.ok(mail?.text.includes('== Agent started at '), mail?.text);
  assert.ok(mail?.text.includes('== Agent stopping at '), mail?.text);
  assert.ok(mail?.text.includes('If nobody stopped pkgwatch on purpose'), mail?.text);
});

test('a check that keeps failing is alerted once, and again when it works: run.failed, run.recovered', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: EVERY_2S, full: YEARLY },
      watch: { enabled: false },
      alerts: { ...FAST, webhook: { url: hook.url, secret: SECRET } },
    },
  });
  const status = fx.path('/var/lib/dpkg/status');
  const from = agent.mark();
  renameSync(status, `${status}.away`);
  await agent.waitFor('a failed run', (l) => l.kind === 'run.failed' && l['schedule'] === 'scoped', { from });
  const first = agent.mark();
  await agent.waitFor('a second failed run', (l) => l.kind === 'run.failed' && l['schedule'] === 'scoped', { from: first });
  renameSync(`${status}.away`, status);
  await waitUntil('run.recovered at the webhook', () => ofKind(hook.accepted, 'run.recovered').length === 1);
  // Delivery is in order: every run.failed of the streak was delivered before run.recovered.
  const failed = ofKind(hook.accepted, 'run.failed');
  assert.equal(failed.length, 1, JSON.stringify(hook.accepted.map((h) => h.event)));
  assert.equal(failed[0]?.agent?.schedule, 'scoped');
  assert.match(failed[0]?.agent?.message ?? '', /status/);
  const recovered = ofKind(hook.accepted, 'run.recovered')[0];
  assert.equal(recovered?.agent?.schedule, 'scoped');
  assert.match(recovered?.agent?.message ?? '', /^the scoped check runs again; it failed \d+ times since \S+, first with: .*status/);
  await agent.stop();
});

test('a degraded watch is alerted once per cause, and again after a reload sets the watch up anew', async (t) => {
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
  await waitUntil('watch.degraded at the webhook', () => ofKind(hook.accepted, 'watch.degraded').length === 1);
  assert.match(ofKind(hook.accepted, 'watch.degraded')[0]?.agent?.message ?? '', /cannot watch .*odd\\\\dir/);
  const from = agent.mark();
  agent.hup();
  await agent.waitFor('the reload', isKind('agent.reloaded'), { from });
  await waitUntil('watch.degraded again', () => ofKind(hook.accepted, 'watch.degraded').length === 2);
  await agent.stop();
  assert.equal(ofKind(hook.accepted, 'watch.degraded').length, 2);
});

test('alerts given up after max_age are alerted to the other sinks as alerts.dropped, once', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const smtp = await startSmtp(t);
  const hook = await startHookReceiver(t, SECRET);
  hook.failNext(1_000_000);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      alerts: {
        ...FAST,
        max_age: '3s',
        email: { to: ['ops@example.test'], smtp: `smtp://127.0.0.1:${smtp.port}`, batch: '0' },
        webhook: { url: hook.url, secret: SECRET },
      },
    },
  });
  // The webhook's copy of agent.started expires; email hears of it.
  const drop = await agent.waitFor('the webhook delivery dropped', (l) => l.kind === 'alert.dropped' && l['sink'] === 'webhook' && l['event'] === 'agent.started');
  await waitUntil('the alerts.dropped mail', () => smtp.mails.some((m) => m.text.includes('alerts.dropped at ')));
  const mail = smtp.mails.find((m) => m.text.includes('alerts.dropped at '));
  assert.match(mail?.subject ?? '', /1 alert DROPPED: not delivered within max_age/);
  assert.ok(mail?.text.includes(`- webhook: agent.started ${String(drop.line['id'])}, queued`), `${JSON.stringify(drop.line)}\n${mail?.text ?? ''}`);
  // Its own webhook copy expires too, and is not alerted again; a finding afterwards is the marker.
  await agent.waitFor('the alerts.dropped delivery dropped', (l) => l.kind === 'alert.dropped' && l['sink'] === 'webhook' && l['event'] === 'alerts.dropped', {
    from: drop.index,
  });
  fx.write(APP_FILE, 'tampered\n');
  await waitUntil('the marker mail', () => smtp.mails.some((m) => m.text.includes(APP_FILE)));
  const upToMarker = smtp.mails.slice(0, smtp.mails.findIndex((m) => m.text.includes(APP_FILE)) + 1);
  const dropsMailed = upToMarker.map((m) => m.text.split('alerts.dropped at ').length - 1).reduce((a, b) => a + b, 0);
  assert.equal(dropsMailed, 1, upToMarker.map((m) => m.subject).join('\n'));
  assert.equal(hook.accepted.length, 0);
  await agent.stop();
});
