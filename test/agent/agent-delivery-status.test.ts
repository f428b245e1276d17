// `pkgwatch status` shows alert delivery as it is: the real agent, a webhook receiver on 127.0.0.1
// that is down (connection refused) and then up, an SMTP server that answers 451 and then accepts.
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { agentFixture, startAgent, YEARLY, type AgentProcess } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { startHookReceiver, startSmtp, waitUntil } from '../helpers/receivers.js';
import { readStatus, type AgentStatus } from '../../src/agent/statusfile.js';
import type { SinkStatus } from '../../src/alerts/outbox.js';

const SECRET = 'test-secret-0123456789';
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 4000;

/** A port nothing listens on (yet): connections to it are refused. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sink(status: AgentStatus | null, name: string): SinkStatus | undefined {
  return status?.alerts.find((a) => a.sink === name);
}

async function statusJson(agent: AgentProcess): Promise<AgentStatus> {
  const res = await runCli(['status', '--json', '--config', agent.configFile]);
  assert.equal(res.stderr, '');
  return JSON.parse(res.stdout) as AgentStatus;
}

async function statusText(agent: AgentProcess): Promise<string> {
  const res = await runCli(['status', '--config', agent.configFile]);
  assert.equal(res.stderr, '');
  return res.stdout;
}

/** The text lines of one sink: its own line and the indented lines under it. */
function sinkBlock(text: string, name: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`  ${name}: `));
  assert.ok(at >= 0, `no ${name} line in:\n${text}`);
  const end = lines.findIndex((l, i) => i > at && !l.startsWith('    '));
  return lines.slice(at, end).join('\n');
}

test('status, text and JSON: last error and next attempt while a sink is down, last delivered once it is back', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const hookPort = await freePort();
  const smtp = await startSmtp(t);
  smtp.failNext(1_000_000);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      watch: { enabled: false },
      alerts: {
        retry_min: `${RETRY_MIN_MS}ms`,
        retry_max: `${RETRY_MAX_MS}ms`,
        host: 'web1.test',
        webhook: { url: `http://127.0.0.1:${hookPort}/hook`, secret: SECRET, timeout: '5s' },
        email: { to: ['ops@example.test'], smtp: `smtp://127.0.0.1:${smtp.port}`, batch: '0', timeout: '5s' },
      },
    },
  });
  // agent.started is queued for both sinks after the agent's last status write of its start-up:
  // only the deliveries themselves can bring their outcome into status.json.
  const refused = await agent.waitFor('a refused webhook delivery', (l) => l.kind === 'alert.failed' && l['sink'] === 'webhook' && /ECONNREFUSED/.test(String(l['error'])));
  await agent.waitFor('a refused email delivery', (l) => l.kind === 'alert.failed' && l['sink'] === 'email' && /451/.test(String(l['error'])));
  const retryIn = Number(refused.line['retryInMs']);
  assert.ok(retryIn >= RETRY_MIN_MS && retryIn <= RETRY_MAX_MS, `retrying in ${retryIn} ms, outside [retry_min, retry_max]`);

  // A second failure in a row: no run or other change rewrote the file after it, only the delivery loop.
  const down = (s: SinkStatus | undefined): boolean => s !== undefined && s.pending === 1 && s.failures >= 2 && s.lastError !== null && s.nextAttempt !== null;
  await waitUntil('both failures in status.json', () => {
    const st = readStatus(stateDir);
    return down(sink(st, 'webhook')) && down(sink(st, 'email'));
  });
  const json = await statusJson(agent);
  for (const [name, error] of [
    ['webhook', /ECONNREFUSED/],
    ['email', /451/],
  ] as const) {
    const s = sink(json, name);
    assert.ok(s !== undefined, JSON.stringify(json.alerts));
    assert.equal(s.pending, 1);
    assert.ok(s.oldest !== null);
    assert.match(s.lastError ?? '', error);
    assert.ok(s.lastErrorAt !== null && s.nextAttempt !== null);
    // The next attempt is at least retry_min and at most retry_max after the failure.
    const wait = Date.parse(s.nextAttempt) - Date.parse(s.lastErrorAt);
    assert.ok(wait >= RETRY_MIN_MS && wait <= RETRY_MAX_MS, `${name}: next attempt ${wait} ms after the error`);
    assert.equal(s.lastDelivered, null);
  }
  const text = await statusText(agent);
  const hookDown = sinkBlock(text, 'webhook');
  assert.match(hookDown, /^ {2}webhook: 1 PENDING \(oldest queued \S+Z, \d+ (s|min) ago\); next attempt \S+Z \((in \d+ s|due now)\)$/m, text);
  assert.match(hookDown, /^ {4}last error: \S+Z \(\d+ (s|min) ago\): .*ECONNREFUSED/m, text);
  assert.match(hookDown, /^ {4}last delivered: never/m, text);
  const mailDown = sinkBlock(text, 'email');
  assert.match(mailDown, /^ {2}email: 1 PENDING .*; next attempt \S+Z/m, text);
  assert.match(mailDown, /^ {4}last error: \S+Z .*451/m, text);

  // Both come back: the next attempts deliver, and status says so without any other run or change.
  const hook = await startHookReceiver(t, SECRET, hookPort);
  smtp.failNext(0);
  await agent.waitFor('the webhook delivery', (l) => l.kind === 'alert.delivered' && l['sink'] === 'webhook', { from: refused.index });
  await agent.waitFor('the email delivery', (l) => l.kind === 'alert.delivered' && l['sink'] === 'email', { from: refused.index });
  assert.deepEqual(
    hook.accepted.map((h) => h.event),
    ['agent.started'],
  );
  const up = (s: SinkStatus | undefined): boolean => s !== undefined && s.pending === 0 && s.lastDelivered !== null;
  await waitUntil('both deliveries in status.json', () => {
    const st = readStatus(stateDir);
    return up(sink(st, 'webhook')) && up(sink(st, 'email'));
  });
  const after = await statusJson(agent);
  assert.ok(Date.parse(after.updatedAt) > Date.parse(json.updatedAt), `updatedAt ${after.updatedAt} did not move from ${json.updatedAt}`);
  for (const name of ['webhook', 'email']) {
    const s = sink(after, name);
    assert.ok(s !== undefined && s.lastDelivered !== null && s.lastErrorAt !== null, JSON.stringify(after.alerts));
    assert.equal(s.pending, 0);
    assert.equal(s.nextAttempt, null);
    assert.equal(s.failures, 0);
    assert.ok(Date.parse(s.lastDelivered) >= Date.parse(s.lastErrorAt), `${name}: delivered ${s.lastDelivered} before the last error ${s.lastErrorAt}`);
  }
  const textUp = await statusText(agent);
  assert.match(sinkBlock(textUp, 'webhook'), /^ {2}webhook: nothing pending$\n^ {4}last delivered: \S+Z \(\d+ (s|min) ago\)$/m, textUp);
  assert.match(sinkBlock(textUp, 'email'), /^ {4}last delivered: \S+Z/m, textUp);
  await agent.stop();
});
