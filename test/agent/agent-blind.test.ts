// Ways to blind the agent, each tried on a real agent process: a huge sparse file in scope (checks
// must not stall on it), a file flipped to other content and back between two looks (the write is
// alerted), and dpkg's lock held for a long time (a warning).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { md5 } from '../helpers/fixture.js';
import {
  agentFixture,
  APP_CONTENT,
  APP_FILE,
  APP_OTHER,
  EVERY_2S,
  holdLock,
  isAlert,
  isKind,
  isRunFinished,
  LIB_FILE,
  startAgent,
  YEARLY,
  type AlertLine,
  type LogLine,
} from '../helpers/agent.js';

/** A terabyte, sparse: reading it whole takes many minutes, its size costs nothing. */
const TERABYTE = 2 ** 40;
const EVIL = '<?php system($_GET["c"]);\n';
const REALTIME = { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: true } };

/** An alert whose findings include `status` on `file`. */
function alertOn(kind: 'findings.opened' | 'file.written', file: string, status: string): (l: LogLine) => l is AlertLine {
  return (l): l is AlertLine => isAlert(kind)(l) && l.event.findings.some((f) => f.path === file && f.status === status);
}

test('agent: a scoped file grown to a sparse terabyte is changed at once (its size differs), and checks go on', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: REALTIME });
  await agent.waitFor('watch.started', isKind('watch.started'));
  // The start-up run verifies every file and keeps its size.
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  truncateSync(fx.path(APP_FILE), TERABYTE);
  const opened = await agent.waitFor<AlertLine>('main.py changed', alertOn('findings.opened', APP_FILE, 'changed'), { from });
  const f = opened.line.event.findings.find((x) => x.path === APP_FILE);
  assert.deepEqual([f?.expected, f?.actual], [md5(APP_CONTENT), null], 'not hashed');
  assert.match(f?.detail ?? '', /size is 1099511627776 bytes, not the 28 it had when it last verified/);
  // Nothing is stuck on it: the next tampering is found as quickly.
  writeFileSync(fx.path(LIB_FILE), EVIL);
  await agent.waitFor('lib.py changed', alertOn('findings.opened', LIB_FILE, 'changed'), { from });
  await agent.stop();
});

test('agent: a real-time check is not queued behind a scoped run that is hashing a huge file', async (t) => {
  const { fx } = agentFixture(t);
  // A first start: no sizes on record, so the start-up scoped run reads the whole terabyte.
  truncateSync(fx.path(APP_OTHER), TERABYTE);
  const agent = await startAgent({ t, fx, config: REALTIME });
  await agent.waitFor('watch.started', isKind('watch.started'));
  const started = await agent.waitFor('the start-up scoped run', (l) => isKind('run.started')(l) && l['schedule'] === 'scoped');
  writeFileSync(fx.path(LIB_FILE), EVIL);
  await agent.waitFor('lib.py changed, found in real time', alertOn('findings.opened', LIB_FILE, 'changed'), { from: started.index });
  assert.deepEqual(agent.find(isRunFinished('scoped')), [], 'the scoped run is still reading the terabyte');
  await agent.stop();
});

test('agent: a scoped file flipped to other content and straight back is alerted as file.written', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: REALTIME });
  await agent.waitFor('watch.started', isKind('watch.started'));
  const first = await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  // Within the 50 ms the watcher's events are gathered: the check sees the right content again (the
  // test does not depend on it: under load the check may see the evil one too, and alert it).
  writeFileSync(fx.path(APP_FILE), EVIL);
  writeFileSync(fx.path(APP_FILE), APP_CONTENT);
  const written = await agent.waitFor<AlertLine>('file.written', isAlert('file.written'), { from: first.index });
  assert.deepEqual(
    written.line.event.findings.map((f) => [f.package, f.path, f.status, f.conffile]),
    [['app', APP_FILE, 'written', false]],
  );
  assert.match(written.line.event.findings[0]?.detail ?? '', /while no dpkg was running/);
  assert.equal(written.line['priority'], 5, 'a notice: low severity');
  await agent.stop();
});

test('agent: with watch.alert_writes = false a write alone raises nothing', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { ...REALTIME, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: true, alert_writes: false } } });
  await agent.waitFor('watch.started', isKind('watch.started'));
  const first = await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  writeFileSync(fx.path(APP_FILE), EVIL);
  writeFileSync(fx.path(APP_FILE), APP_CONTENT);
  // Marker: a real change is found, and two scoped runs end after it (each well after the writes'
  // gathering window would have closed); no file.written came before.
  const marker = agent.mark();
  writeFileSync(fx.path(APP_OTHER), EVIL);
  const opened = await agent.waitFor('util.py changed', alertOn('findings.opened', APP_OTHER, 'changed'), { from: marker });
  const run1 = await agent.waitFor('a scoped run', isRunFinished('scoped'), { from: opened.index });
  const run2 = await agent.waitFor('another scoped run', isRunFinished('scoped'), { from: run1.index + 1 });
  assert.deepEqual(agent.alerts('file.written', first.index).filter((a) => agent.lines.indexOf(a) < run2.index), [], agent.transcript());
  await agent.stop();
});

test('agent: dpkg seen running longer than schedule.dpkg_max_run is a warning', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { ...REALTIME, schedule: { scoped: YEARLY, full: YEARLY, dpkg_max_run: '2s' } } });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from });
  const warning = await agent.waitFor<LogLine & { message: string }>(
    'the long-dpkg warning',
    (l) => l.kind === 'warning' && /^dpkg has been running for/.test(String(l['message'])),
    { from },
  );
  assert.match(warning.line.message, /dpkg_max_run is 2 s/);
  assert.ok(warning.line.message.includes(path.join(fx.admindir, 'lock')), warning.line.message);
  await lock.release();
  await agent.waitFor('dpkg.finished', isKind('dpkg.finished'), { from: warning.index });
  await agent.stop();
});
