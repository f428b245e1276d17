// The real agent's heartbeat to a real HTTP server on 127.0.0.1: sent while the agent is healthy,
// stopped while a scheduled check cannot finish (dpkg's lock held) or a reload failed, and again after.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { agentFixture, EVERY_2S, holdLock, isKind, startAgent, YEARLY, type LogLine } from '../helpers/agent.js';
import { waitUntil } from '../helpers/receivers.js';

interface Beat {
  readonly method: string;
  readonly body: Record<string, unknown>;
}

/** An HTTP server that records every request it gets (the dead man's switch). */
async function startSwitch(t: TestContext): Promise<{ url: string; beats: Beat[] }> {
  const beats: Beat[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      beats.push({ method: req.method ?? '', body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      res.writeHead(200).end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping/secret-token`, beats };
}

const isDpkgLong = (l: LogLine): boolean => l.kind === 'warning' && /^dpkg has been running for/.test(String(l['message']));

test('heartbeat: POSTs the agent state while healthy; none while a scheduled check cannot finish; again once it has', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const sw = await startSwitch(t);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      // dpkg_max_run 1s: while dpkg's lock is held the agent warns every second, the clock this test
      // reads to know that heartbeats would have been due.
      schedule: { scoped: EVERY_2S, full: YEARLY, dpkg_max_run: '1s' },
      alerts: { host: 'web1.test', heartbeat: { url: sw.url, every: '200ms', grace: '2s' } },
    },
  });
  await waitUntil('a heartbeat', () => sw.beats.length > 0);
  const beat = sw.beats[0];
  assert.equal(beat?.method, 'POST');
  assert.equal(beat?.body['host'], 'web1.test');
  assert.equal(beat?.body['healthy'], true);
  assert.equal(beat?.body['openFindings'], 0);
  assert.equal(typeof beat?.body['version'], 'string');
  assert.ok(typeof beat?.body['time'] === 'string');

  // dpkg holds its lock: the scheduled scoped check waits, falls late, and the heartbeat stops. (On a
  // busy machine a slow scoped check may have paused it a moment already: then it stays paused.)
  const locked = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  const started = await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from: locked });
  const pausedNow = (): number => {
    const last = (kind: string): number => agent.lines.findLastIndex((l) => l.kind === kind);
    const p = last('heartbeat.paused');
    return p > last('heartbeat.resumed') ? p : -1;
  };
  await waitUntil('the heartbeat paused while dpkg runs', () => pausedNow() >= 0);
  const paused = agent.lines[pausedNow()] as LogLine;
  assert.match(String(paused['reason']), /the scoped check due since .* has not finished/);
  // Three more dpkg warnings (about 3 s, 15 heartbeat periods) after the pause, and not one heartbeat made after it.
  let warnings = Math.max(pausedNow(), started.index);
  for (let i = 0; i < 3; i++) warnings = (await agent.waitFor('dpkg is still running', isDpkgLong, { from: warnings + 1 })).index;
  assert.equal(agent.find(isKind('heartbeat.resumed'), pausedNow()).length, 0, 'no resume while dpkg runs');
  const pausedAt = String(paused['time']);
  const late = sw.beats.filter((b) => String(b.body['time']) > pausedAt);
  assert.deepEqual(late, [], `heartbeats made while unhealthy\n${agent.transcript()}`);

  // dpkg ends, the check runs, and the heartbeat comes back.
  const released = agent.mark();
  await lock.release();
  const resumed = await agent.waitFor('heartbeat.resumed', isKind('heartbeat.resumed'), { from: released });
  const resumedAt = String(resumed.line['time']);
  await waitUntil('a heartbeat after the resume', () => sw.beats.some((b) => String(b.body['time']) >= resumedAt));
  // The secret path of the switch never appears in the log.
  assert.doesNotMatch(agent.transcript(), /secret-token/);
  await agent.stop();
});

test('heartbeat: a bare GET; a reload that fails pauses it (the config on disk is not in effect), a good reload resumes it', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const sw = await startSwitch(t);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, alerts: { heartbeat: { url: sw.url, method: 'GET', every: '200ms' } } },
  });
  await waitUntil('a heartbeat', () => sw.beats.length > 0);
  assert.deepEqual(sw.beats[0], { method: 'GET', body: {} });

  const good = readFileSync(agent.configFile, 'utf8');
  writeFileSync(agent.configFile, `bogus_key = 1\n${good}`);
  const broken = agent.mark();
  agent.hup();
  await agent.waitFor('config.invalid', isKind('config.invalid'), { from: broken });
  const paused = await agent.waitFor('heartbeat.paused', isKind('heartbeat.paused'), { from: broken });
  assert.match(String(paused.line['reason']), /^the configuration on disk is not in effect \(the last reload failed: .*bogus_key/);

  writeFileSync(agent.configFile, good);
  const fixed = agent.mark();
  agent.hup();
  await agent.waitFor('agent.reloaded', isKind('agent.reloaded'), { from: fixed });
  await agent.waitFor('heartbeat.resumed', isKind('heartbeat.resumed'), { from: fixed });
  const before = sw.beats.length;
  await waitUntil('a heartbeat after the good reload', () => sw.beats.length > before);
  await agent.stop();
});
