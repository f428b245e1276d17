// Alert sinks by name: the registry table, and the log sink writing alerts through the agent's Logger.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Logger } from '../../src/agent/log.js';
import { LogSink } from '../../src/alerts/log.js';
import { createSinks, isSinkName, SINK_NAMES } from '../../src/alerts/registry.js';
import type { AlertEvent } from '../../src/alerts/sink.js';

const EVENT: AlertEvent = {
  kind: 'findings.opened',
  id: '00000000-0000-4000-8000-000000000000',
  time: '2024-01-31T12:00:00.000Z',
  findings: [{ package: 'nginx', path: '/usr/sbin/nginx', status: 'wrong-type', conffile: false, expected: 'a'.repeat(32), actual: 'symlink', detail: '/tmp/evil' }],
};

function logger(): { logger: Logger; out: string[] } {
  const out: string[] = [];
  return { logger: new Logger({ format: 'text', journal: true, write: (l) => out.push(l) }), out };
}

test('the table knows log, and only what it lists', () => {
  assert.deepEqual(SINK_NAMES, ['log']);
  assert.equal(isSinkName('log'), true);
  assert.equal(isSinkName('email'), false);
  assert.equal(isSinkName('toString'), false);
  assert.equal(isSinkName('__proto__'), false);
});

test('createSinks builds the named sinks in order', async () => {
  const { logger: l, out } = logger();
  const sinks = createSinks(['log'], { logger: l });
  assert.deepEqual(sinks.map((s) => s.name), ['log']);
  assert.ok(sinks[0] instanceof LogSink);
  await sinks[0]?.send(EVENT);
  assert.deepEqual(out, ['<4>ALERT: findings opened: 1 finding: nginx: wrong-type /usr/sbin/nginx (alert 00000000-0000-4000-8000-000000000000)\n']);
  assert.deepEqual(createSinks([], { logger: l }), []);
});

test('an unknown or repeated sink is a config error that lists the known ones', () => {
  const { logger: l } = logger();
  assert.throws(() => createSinks(['log', 'pager'], { logger: l }), { name: 'PkgwatchError', kind: 'config', message: 'unknown alert sink "pager": the known sinks are log' });
  assert.throws(() => createSinks(['constructor'], { logger: l }), { kind: 'config', message: 'unknown alert sink "constructor": the known sinks are log' });
  assert.throws(() => createSinks(['log', 'log'], { logger: l }), { kind: 'config', message: 'alert sink "log" is listed twice' });
});

test('the log sink writes an alert event in JSON too, rejects when the logger throws, and closes twice', async () => {
  const out: string[] = [];
  const sink = new LogSink(new Logger({ format: 'json', journal: false, write: (l) => out.push(l), now: () => new Date(EVENT.time) }));
  await sink.send(EVENT);
  assert.deepEqual(JSON.parse(out[0] ?? ''), { time: EVENT.time, priority: 4, kind: 'alert', event: EVENT, findingsOmitted: 0 });
  const failing = new LogSink({
    log: () => {
      throw new Error('EPIPE: stdout closed');
    },
  });
  await assert.rejects(failing.send(EVENT), { message: 'EPIPE: stdout closed' });
  await sink.close();
  await sink.close();
});
