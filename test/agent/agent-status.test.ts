// `pkgwatch status` against a real running agent: exit 0 while all is well, 1 with a finding open
// (and the text names its path), 3 once the agent has stopped or its process is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readStatus, STATUS_FILE } from '../../src/agent/statusfile.js';
import { runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/receivers.js';
import { agentFixture, APP_FILE, EVERY_2S, isAlert, isKind, isRunFinished, startAgent, YEARLY, type AlertLine } from '../helpers/agent.js';

test('status: exit 0 while running clean, 1 with a finding open (text names the path), 3 after stop', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } } });
  const status = (): ReturnType<typeof runCli> => runCli(['status', '--config', agent.configFile]);

  const first = await agent.waitFor('the start-up run', isRunFinished('scoped'));
  const clean = await status();
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, new RegExp(`^pkgwatch agent: running \\(pid ${agent.pid},`));
  assert.match(clean.stdout, /^open findings: 0$/m);

  fx.write(APP_FILE, 'tampered\n');
  await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from: first.index });
  // The agent writes status.json at the end of the run, after its last log line: wait for the file.
  await waitUntil('status.json with the finding', () => readStatus(agent.stateDir)?.findings.length === 1);
  const open = await status();
  assert.equal(open.code, 1, open.stdout + open.stderr);
  assert.equal(open.stderr, '');
  assert.match(open.stdout, /^open findings: 1$/m);
  assert.match(open.stdout, new RegExp(`^  changed +${APP_FILE} \\(app\\) since `, 'm'));

  await agent.stop();
  const stopped = await status();
  assert.equal(stopped.code, 3, stopped.stdout + stopped.stderr);
  assert.match(stopped.stdout, /^pkgwatch agent: NOT RUNNING/);
  // The open finding is still shown: it is still open, only nobody is watching.
  assert.ok(stopped.stdout.includes(APP_FILE), stopped.stdout);
});

test('status: the last real-time run is shown; a stopped agent reads as not running, with no watches', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: true } } });
  const status = (): ReturnType<typeof runCli> => runCli(['status', '--config', agent.configFile]);
  await agent.waitFor('watch.started', isKind('watch.started'));
  const first = await agent.waitFor('the start-up run', isRunFinished('scoped'));
  fx.write(APP_FILE, 'tampered\n');
  await agent.waitFor('the real-time run', isRunFinished('realtime', 'findings'), { from: first.index });
  await waitUntil('status.json with the real-time run', () => readStatus(agent.stateDir)?.lastRuns.realtime?.outcome === 'findings');
  const running = await status();
  assert.match(running.stdout, /^last real-time run: \S+ findings, 1 finding\(s\), 1 paths, /m, running.stdout);
  assert.match(running.stdout, /^watch: ok, [1-9]\d* directories/m, running.stdout);

  await agent.stop();
  const stopped = await status();
  assert.equal(stopped.code, 3, stopped.stdout + stopped.stderr);
  assert.match(stopped.stdout, /^pkgwatch agent: NOT RUNNING/);
  assert.match(stopped.stdout, /^watch: not watching \(the agent is not running\)$/m);
  assert.doesNotMatch(stopped.stdout, /^watch: ok/m);
  assert.match(stopped.stdout, /^last real-time run: \S+ findings/m, 'what it last saw is still shown');
});

test('status: a status file whose agent was killed, its pid now another process, reads as not running', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } } });
  await agent.waitFor('the start-up run', isRunFinished('scoped'));
  await agent.stop();
  // What a killed agent leaves: `running: true`. Its pid is handed to a process that started later
  // (here a sleep started now; the real agent's startedAt is earlier).
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => sleeper.kill());
  const pid = sleeper.pid;
  assert.ok(pid !== undefined);
  const file = path.join(agent.stateDir, STATUS_FILE);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...saved, running: true, pid, startedAt: new Date(Date.now() - 3_600_000).toISOString() }), { mode: 0o600 });
  const r = await runCli(['status', '--config', agent.configFile]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^pkgwatch agent: NOT RUNNING \\(last seen \\S+, pid ${pid}\\)`));
  const json = await runCli(['status', '--json', '--config', agent.configFile]);
  assert.equal((JSON.parse(json.stdout) as { running: boolean }).running, false);

  // The same file with the pid of a process that did start before it: read as running.
  writeFileSync(file, JSON.stringify({ ...saved, running: true, pid, startedAt: new Date(Date.now() + 1000).toISOString() }), { mode: 0o600 });
  const alive = await runCli(['status', '--config', agent.configFile]);
  assert.match(alive.stdout, /^pkgwatch agent: running/, alive.stdout);
});
