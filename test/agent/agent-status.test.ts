// `pkgwatch status` against a real running agent: exit 0 while all is well, 1 with a finding open
// (and the text names its path), 3 once the agent has stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStatus } from '../../src/agent/statusfile.js';
import { runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/receivers.js';
import { agentFixture, APP_FILE, EVERY_2S, isAlert, isRunFinished, startAgent, YEARLY, type AlertLine } from '../helpers/agent.js';

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
