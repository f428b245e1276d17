// The agent across restarts, as a real process: open findings survive SIGTERM and kill -9 without
// being alerted again, and a full check missed while the agent was down runs once after start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { md5 } from '../helpers/fixture.js';
import {
  agentFixture,
  APP_CONTENT,
  APP_FILE,
  EVERY_2S,
  isAlert,
  isKind,
  isRunFinished,
  OTHER_CONTENT,
  OTHER_FILE,
  startAgent,
  YEARLY,
  type AgentToml,
  type AlertLine,
  type LogLine,
  type RunFinishedLine,
} from '../helpers/agent.js';

const TAMPERED = 'backdoor()\n';

test('agent: an open finding is not alerted again after SIGTERM and restart, nor after kill -9 and restart', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  fx.write(APP_FILE, TAMPERED);
  // Scoped runs only at start-up, no watcher: each start checks once.
  const config: AgentToml = { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } };
  const finding = { package: 'app', path: APP_FILE, status: 'changed', conffile: false, expected: md5(APP_CONTENT), actual: md5(TAMPERED), detail: null };

  const a1 = await startAgent({ t, fx, stateDir, config });
  const opened = await a1.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'));
  assert.deepEqual(opened.line.event.findings, [finding]);
  await a1.waitFor('the start-up run', isRunFinished('scoped', 'findings'));
  await a1.stop();

  const a2 = await startAgent({ t, fx, stateDir, config });
  const run2 = await a2.waitFor<RunFinishedLine>('the start-up run after SIGTERM', isRunFinished('scoped'));
  assert.deepEqual([run2.line.outcome, run2.line.findings], ['findings', 1]);
  assert.deepEqual(a2.alerts(), [], `the finding was open before the restart\n${a2.transcript()}`);
  await a2.kill9();

  // kill -9 left status.json saying "running" with a dead pid: status sees through it.
  const down = await runCli(['status', '--config', a2.configFile, '--json']);
  assert.equal(down.code, 3, down.stdout + down.stderr);
  assert.equal((JSON.parse(down.stdout) as { running: boolean }).running, false);

  const a3 = await startAgent({ t, fx, stateDir, config });
  const run3 = await a3.waitFor<RunFinishedLine>('the start-up run after kill -9', isRunFinished('scoped'));
  assert.deepEqual([run3.line.outcome, run3.line.findings], ['findings', 1]);
  assert.deepEqual(a3.alerts(), [], `the finding was open before the kill\n${a3.transcript()}`);

  const st = await runCli(['status', '--config', a3.configFile, '--json']);
  assert.equal(st.code, 1, st.stdout + st.stderr);
  const status = JSON.parse(st.stdout) as { running: boolean; pid: number; findings: (typeof finding & { ignored: boolean; firstSeen: string })[] };
  assert.equal(status.running, true);
  assert.equal(status.pid, a3.pid);
  assert.deepEqual(
    status.findings.map(({ ignored, firstSeen: _firstSeen, ...f }) => ({ ...f, ignored })),
    [{ ...finding, ignored: false }],
  );
  // firstSeen is still the time of the first alert: the finding has been open since then.
  assert.equal(status.findings[0]?.firstSeen, opened.line.event.time);
  await a3.stop();
});

test('agent: a full check that fell due while the agent was down runs once after start-up', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  // No scope: only the full check can find the change to a package nobody scoped.
  const config: AgentToml = { scope: { packages: [] }, schedule: { full: YEARLY }, watch: { enabled: false } };
  const a1 = await startAgent({ t, fx, stateDir, config });
  // The exit is the marker: a run requested at start-up (before agent.ready) has its run loop going,
  // and the agent's close() waits for that loop, which logs run.started before it looks at the
  // stop. So a full check wrongly started now would be in the log once the agent has exited.
  await a1.stop();
  // (The scoped run for the persistence points, on by default, runs with no scope too.)
  const fullRuns = a1.find((l) => l.kind === 'run.started' && l['schedule'] !== 'scoped');
  assert.equal(fullRuns.length, 0, `the first start only records the time\n${a1.transcript()}`);

  const stateFile = path.join(stateDir, 'state.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { lastDue: { full?: string } };
  assert.equal(typeof state.lastDue.full, 'string', 'the first start recorded when the full schedule began');
  const twoYearsAgo = new Date();
  twoYearsAgo.setUTCFullYear(twoYearsAgo.getUTCFullYear() - 2);
  state.lastDue.full = twoYearsAgo.toISOString();
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  fx.write(OTHER_FILE, 'other data, edited by hand\n');

  const a2 = await startAgent({ t, fx, stateDir, config });
  await a2.waitFor<LogLine & { schedule: string }>('run.started full or catch-up', (l) => l.kind === 'run.started' && (l['schedule'] === 'full' || l['schedule'] === 'catch-up'));
  // The agent helper runs the full check without nice (PKGWATCH_FULL_CHECK_NICE=0): under load a
  // check at nice 19 waits for idle CPU. waitFor's deadline is only a safety net.
  const full = await a2.waitFor<RunFinishedLine>('run.finished full', isRunFinished('full'));
  assert.deepEqual([full.line.outcome, full.line.findings, full.line.packages], ['findings', 1, 3], a2.transcript());
  const opened = await a2.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'));
  assert.deepEqual(opened.line.event.findings, [
    { package: 'other', path: OTHER_FILE, status: 'changed', conffile: false, expected: md5(OTHER_CONTENT), actual: md5('other data, edited by hand\n'), detail: null },
  ]);
  await a2.stop();
  assert.equal(a2.find(isRunFinished('full')).length, 1, 'caught up once');
  const after = JSON.parse(readFileSync(stateFile, 'utf8')) as { lastDue: { full?: string } };
  assert.ok(after.lastDue.full !== undefined && after.lastDue.full > twoYearsAgo.toISOString(), `lastDue.full moved on: ${String(after.lastDue.full)}`);
});

test('agent: SIGTERM right after agent.ready stops it cleanly (exit 0), ten times over', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const config: AgentToml = { scope: { packages: [] }, schedule: { full: YEARLY }, watch: { enabled: false } };
  // systemd sends SIGTERM whenever `systemctl stop` comes, also just after READY=1. The window,
  // if there is one, is short: ten tries.
  for (let i = 0; i < 10; i++) {
    const agent = await startAgent({ t, fx, stateDir, config });
    await agent.stop();
    assert.equal(agent.find(isKind('agent.stopping')).length, 1, `try ${i + 1}: agent.stopping logged\n${agent.transcript()}`);
  }
});

test('agent: a state save that fails is logged and the agent keeps checking and alerting', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const config: AgentToml = { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } };
  const agent = await startAgent({ t, fx, stateDir, config });
  await agent.waitFor('the start-up run', isRunFinished('scoped', 'clean'));
  // A directory (not empty) where state.json was: renaming a save over it fails, even for root.
  rmSync(path.join(stateDir, 'state.json'));
  mkdirSync(path.join(stateDir, 'state.json', 'in-the-way'), { recursive: true });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  const opened = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from });
  assert.deepEqual(opened.line.event.findings.map((f) => f.path), [APP_FILE]);
  await agent.waitFor('a warning about the failed save', (l) => l.kind === 'warning' && /cannot save the agent state/.test(String(l['message'])), { from });
  // Still alive: the next scheduled run happens, and SIGTERM stops it cleanly (stop() asserts exit 0).
  await agent.waitFor('another scoped run', isRunFinished('scoped'), { from: agent.mark() });
  await agent.stop();
});
