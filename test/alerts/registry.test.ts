// Alert sinks by name: the registry table turns on the sinks the config names, and the log sink writes alerts through the agent's Logger.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Logger } from '../../src/agent/log.js';
import { EmailSink } from '../../src/alerts/email.js';
import { LogSink } from '../../src/alerts/log.js';
import { configuredSinks, createSinks, isSinkName, SINK_NAMES } from '../../src/alerts/registry.js';
import type { AlertEvent } from '../../src/alerts/sink.js';
import { WebhookSink } from '../../src/alerts/webhook.js';
import { loadConfig } from '../../src/config/load.js';
import { configDir } from '../config/tmpdir.js';

const EVENT: AlertEvent = {
  kind: 'findings.opened',
  id: '00000000-0000-4000-8000-000000000000',
  host: 'web1',
  time: '2024-01-31T12:00:00.000Z',
  findings: [{ package: 'nginx', path: '/usr/sbin/nginx', status: 'wrong-type', conffile: false, expected: 'a'.repeat(32), actual: 'symlink', detail: '/tmp/evil' }],
  offline: { active: false, since: null, reason: null },
};

test('the table knows email, webhook and alertmanager, and only what it lists', () => {
  assert.deepEqual(SINK_NAMES, ['email', 'webhook', 'alertmanager']);
  assert.equal(isSinkName('email'), true);
  assert.equal(isSinkName('log'), false);
  assert.equal(isSinkName('toString'), false);
  assert.equal(isSinkName('__proto__'), false);
});

test('createSinks builds the sinks the config turns on, in table order', async (t) => {
  const d = configDir(t);
  d.writeMain('');
  const none = await loadConfig({ file: d.main });
  assert.deepEqual(configuredSinks(none), []);
  assert.deepEqual(createSinks(none, { host: 'web1' }), []);
  d.writeMain('[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n[alerts.email]\nto = ["ops@example.test"]\nsmtp = "smtp://127.0.0.1:9"\n');
  const both = await loadConfig({ file: d.main });
  const sinks = createSinks(both, { host: 'web1' });
  assert.deepEqual(sinks.map((s) => s.name), ['email', 'webhook']);
  assert.ok(sinks[0] instanceof EmailSink);
  assert.ok(sinks[1] instanceof WebhookSink);
  assert.equal(sinks[0]?.gatherMs, 10_000, 'alerts.email.batch');
  assert.equal(sinks[1]?.maxBatch, 1, 'one POST per event');
  await Promise.all(sinks.map((s) => s.close()));
  // One Alertmanager is `alertmanager`; the members of a cluster get a sink (and an outbox queue) each.
  d.writeMain('[alerts.alertmanager]\nurl = "http://127.0.0.1:9093"\n');
  assert.deepEqual(configuredSinks(await loadConfig({ file: d.main })), ['alertmanager']);
  d.writeMain('[alerts.alertmanager]\nurl = ["http://127.0.0.1:9093", "https://am2.example.test"]\n[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n');
  const cluster = await loadConfig({ file: d.main });
  assert.deepEqual(configuredSinks(cluster), ['webhook', 'alertmanager-1', 'alertmanager-2']);
  const amSinks = createSinks(cluster, { host: 'web1' });
  assert.deepEqual(amSinks.map((s) => s.name), ['webhook', 'alertmanager-1', 'alertmanager-2']);
  await Promise.all(amSinks.map((s) => s.close()));
});

test('the log sink writes an alert event in text and JSON, rejects when the logger throws, and closes twice', async () => {
  const text: string[] = [];
  await new LogSink(new Logger({ format: 'text', journal: true, write: (l) => text.push(l) })).send([EVENT]);
  assert.deepEqual(text, ['<4>ALERT: findings opened: 1 finding: nginx: wrong-type /usr/sbin/nginx (alert 00000000-0000-4000-8000-000000000000)\n']);
  const out: string[] = [];
  const sink = new LogSink(new Logger({ format: 'json', journal: false, write: (l) => out.push(l), now: () => new Date(EVENT.time) }));
  await sink.send([EVENT]);
  assert.deepEqual(JSON.parse(out[0] ?? ''), { time: EVENT.time, priority: 4, kind: 'alert', event: EVENT, findingsOmitted: 0 });
  const failing = new LogSink({
    log: () => {
      throw new Error('stdout closed');
    },
  });
  await assert.rejects(failing.send([EVENT]), { message: 'stdout closed' });
  await sink.close();
  await sink.close();
});
