// The agent's dpkg guard, as a real process: an upgrade (files, md5sums and version changed together)
// while dpkg runs (its lock held, or the hook's marker) raises nothing; the same change without dpkg,
// an md5sums rewritten alone, or files and md5sums rewritten under the lock at the same version, is
// "database-changed".
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { md5, type FixtureRoot } from '../helpers/fixture.js';
import { startHookReceiver, waitUntil } from '../helpers/receivers.js';
import {
  agentFixture,
  APP_CONTENT,
  APP_FILE,
  appMd5sums,
  EVERY_2S,
  holdLock,
  isAlert,
  isKind,
  isRunFinished,
  LIB_FILE,
  startAgent,
  YEARLY,
  type AgentProcess,
  type AlertLine,
  type LogLine,
  type RunFinishedLine,
} from '../helpers/agent.js';

const SECRET = 'a webhook secret of some length';

/** main.py as version 2.0 of the package ships it. */
const UPGRADED = 'print("hello from app 2.0")\n';

/** A new file and an md5sums that matches it, the version unchanged: a forgery, whoever holds the lock. */
function forgeApp(fx: FixtureRoot, content = UPGRADED): void {
  fx.write(APP_FILE, content);
  writeFileSync(fx.infoFile('app', 'md5sums'), appMd5sums(content));
}

/** What an upgrade of `app` does to the disk: the new file, the new md5sums, then the new version in status. */
function upgradeApp(fx: FixtureRoot): void {
  forgeApp(fx);
  const status = readFileSync(fx.statusFile, 'latin1');
  const upgraded = status.replace(/(Package: app\n(?:.+\n)*?)Version: 1\.0-1\n/, '$1Version: 2.0-1\n');
  assert.notEqual(upgraded, status, "app's stanza has Version: 1.0-1");
  writeFileSync(fx.statusFile, upgraded, 'latin1');
}

const GUARD_CONFIG = { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: true } };
/** Only the watchers (and dpkg's end) start runs: a run.deferred after a change is the watcher's. */
const WATCH_ONLY = { ...GUARD_CONFIG, schedule: { scoped: YEARLY, full: YEARLY } };

/**
 * After dpkg ended: dpkg.finished names app, and the scoped run the agent starts after it (which
 * also judges dpkg's record) is clean. Then the agent is stopped, which waits for whatever run or
 * judgement is under way: asserts no alert of any kind in the whole log.
 */
async function assertQuietAfterDpkg(agent: AgentProcess, from: number): Promise<void> {
  const finished = await agent.waitFor<LogLine & { changedPackages: string[] }>('dpkg.finished', isKind('dpkg.finished'), { from });
  assert.deepEqual(finished.line.changedPackages, ['app'], `the new baseline differs from the old one for app\n${agent.transcript()}`);
  const run = await agent.waitFor<RunFinishedLine>('a scoped run after dpkg', isRunFinished('scoped'), { from: finished.index });
  assert.equal(run.line.outcome, 'clean', agent.transcript());
  await agent.stop();
  assert.deepEqual(agent.alerts(), [], `an upgrade under dpkg raises nothing\n${agent.transcript()}`);
}

/** Starts the agent with watch (and scoped runs every 2 s unless told); waits for the clean start-up run. */
async function startGuarded(t: TestContext, fx: FixtureRoot, stateDir: string, config: typeof GUARD_CONFIG = GUARD_CONFIG): Promise<AgentProcess> {
  const agent = await startAgent({ t, fx, stateDir, config });
  await agent.waitFor('watch.started', isKind('watch.started'));
  const first = await agent.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', agent.transcript());
  return agent;
}

test('agent: file and md5sums changed together while a process holds the dpkg lock: no alert', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startGuarded(t, fx, stateDir, WATCH_ONLY);

  const locked = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  const started = await agent.waitFor<LogLine & { source: string }>('dpkg.started', isKind('dpkg.started'), { from: locked });
  assert.equal(started.line.source, 'lock');
  const changed = agent.mark();
  upgradeApp(fx);
  // The watcher saw the change while dpkg runs: its check waits for dpkg (no schedule starts runs here).
  await agent.waitFor('the watcher\'s run, deferred', isKind('run.deferred'), { from: changed });
  const released = agent.mark();
  await lock.release();
  await assertQuietAfterDpkg(agent, released);
});

test('agent: file and md5sums changed together between notify dpkg-start and dpkg-end: no alert', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startGuarded(t, fx, stateDir, WATCH_ONLY);

  const marked = agent.mark();
  const start = await runCli(['notify', 'dpkg-start', '--config', agent.configFile]);
  assert.deepEqual([start.code, start.stderr], [0, '']);
  const started = await agent.waitFor<LogLine & { source: string }>('dpkg.started', isKind('dpkg.started'), { from: marked });
  assert.equal(started.line.source, 'hook');
  const changed = agent.mark();
  upgradeApp(fx);
  await agent.waitFor('the watcher\'s run, deferred', isKind('run.deferred'), { from: changed });
  const ended = agent.mark();
  const end = await runCli(['notify', 'dpkg-end', '--config', agent.configFile]);
  assert.deepEqual([end.code, end.stderr], [0, '']);
  await assertQuietAfterDpkg(agent, ended);
});

/** The database-changed finding for app's md5sums (detail is free text). */
const MD5SUMS_CHANGED = {
  package: 'app',
  path: '/var/lib/dpkg/info/app.md5sums',
  status: 'database-changed',
  conffile: false,
  expected: null,
  actual: null,
};

function withoutDetail(f: AlertLine['event']['findings'][number]): Omit<typeof f, 'detail'> {
  return { package: f.package, path: f.path, status: f.status, conffile: f.conffile, expected: f.expected, actual: f.actual };
}

test('agent: file and md5sums changed together with no dpkg running: database-changed', async (t) => {
  const { fx } = agentFixture(t);
  // Scoped runs yearly: only the watchers see the change.
  const agent = await startAgent({ t, fx, config: { ...GUARD_CONFIG, schedule: { scoped: YEARLY, full: YEARLY } } });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  forgeApp(fx);
  const alert = await agent.waitFor<AlertLine>(
    'an alert with a database-changed finding',
    (l) => isAlert('findings.opened')(l) && l.event.findings.some((f) => f.status === 'database-changed'),
    { from },
  );
  const db = alert.line.event.findings.filter((f) => f.status === 'database-changed');
  assert.deepEqual(db.map(withoutDetail), [MD5SUMS_CHANGED]);
  assert.match(db[0]?.detail ?? '', /md5sums/);
  // The file matches the forged md5sums: nothing else is wrong with it.
  assert.deepEqual(
    agent.alerts('findings.opened').flatMap((a) => a.event.findings).filter((f) => f.status !== 'database-changed'),
    [],
    agent.transcript(),
  );
  await agent.stop();
});

test('agent: an md5sums rewritten alone with no dpkg running: database-changed, naming the entry with its md5 before and after, in the log and the webhook', async (t) => {
  const { fx } = agentFixture(t);
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    config: { ...GUARD_CONFIG, schedule: { scoped: YEARLY, full: YEARLY }, alerts: { retry_min: '100ms', retry_max: '400ms', webhook: { url: hook.url, secret: SECRET } } },
  });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  // An attacker prepares the ground: main.py's recorded hash becomes the one of a file to come.
  writeFileSync(fx.infoFile('app', 'md5sums'), appMd5sums('the backdoor to come\n'));
  const alert = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from });
  assert.deepEqual(alert.line.event.findings.map(withoutDetail), [MD5SUMS_CHANGED], agent.transcript());
  const entries = [{ path: APP_FILE, expected: md5(APP_CONTENT), actual: md5('the backdoor to come\n') }];
  const logged = alert.line.event.findings[0] as unknown as { entries?: unknown; entriesOmitted?: unknown; detail: string };
  assert.deepEqual([logged.entries, logged.entriesOmitted], [entries, 0]);
  assert.match(logged.detail, new RegExp(`1 entry changed: ${APP_FILE}$`));
  await waitUntil('the findings.opened webhook', () => hook.accepted.some((h) => h.event === 'findings.opened'));
  const sent = hook.accepted.find((h) => h.event === 'findings.opened')?.findings[0] as unknown as { entries?: unknown; entriesOmitted?: unknown };
  assert.deepEqual([sent.entries, sent.entriesOmitted], [entries, 0]);
  await agent.stop();
});

test('agent: a backdoor and its md5sums line written while a process holds the dpkg lock, version unchanged: database-changed once the lock is gone', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startGuarded(t, fx, stateDir);
  const locked = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from: locked });
  forgeApp(fx, '<?php system($_GET["c"]);\n');
  await agent.waitFor('a deferred run', isKind('run.deferred'), { from: locked });
  const released = agent.mark();
  await lock.release();
  const finished = await agent.waitFor<LogLine & { changedPackages: string[] }>('dpkg.finished', isKind('dpkg.finished'), { from: released });
  assert.deepEqual(finished.line.changedPackages, [], 'the forged record is not the new baseline');
  const alert = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from: finished.index });
  assert.deepEqual(alert.line.event.findings.map(withoutDetail), [MD5SUMS_CHANGED], agent.transcript());
  // The file matches the forged line, so nothing else is reported; and writes under the lock are dpkg's time.
  assert.deepEqual(agent.alerts('file.written'), [], agent.transcript());
  await agent.stop();
});

/** Reminders the long dpkg run lasts: at least this many seconds of the agent's own time (reminder = 1s). */
const LONG_RUN_REMINDERS = 12;

test('agent: a long dpkg run (a dozen reminders long) with runs waiting leaves the agent quiet on stderr', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  // An open finding in libapp (in scope as app's dependency), reminded every second: the agent's
  // own clock, which keeps ticking in the log while dpkg runs and every check waits.
  fx.write(LIB_FILE, 'LIB = 2\n');
  const agent = await startAgent({ t, fx, stateDir, config: { ...GUARD_CONFIG, alerts: { reminder: '1s' } } });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'findings'));
  const locked = agent.mark();
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from: locked });
  const deferred = await agent.waitFor('a deferred run', isKind('run.deferred'), { from: locked });
  // A real upgrade holds the lock for minutes; the run loop, looking at dpkg once a second while
  // the schedule keeps firing, must not pile anything up (a listener per wait, say) over a dozen
  // seconds of waiting, measured by the agent's own reminders rather than the test's clock.
  let at = deferred.index;
  for (let i = 1; i <= LONG_RUN_REMINDERS; i++) {
    at = (await agent.waitFor(`reminder ${i} of ${LONG_RUN_REMINDERS} while dpkg runs`, isAlert('findings.reminder'), { from: at + 1 })).index;
  }
  assert.deepEqual(agent.lines.slice(deferred.index, at).filter(isKind('run.started')), [], `no check runs while dpkg runs\n${agent.transcript()}`);
  const released = agent.mark();
  await lock.release();
  const finished = await agent.waitFor('dpkg.finished', isKind('dpkg.finished'), { from: released });
  const after = await agent.waitFor<RunFinishedLine>('a scoped run after dpkg', isRunFinished('scoped'), { from: finished.index });
  assert.deepEqual([after.line.outcome, after.line.findings], ['findings', 1], agent.transcript());
  assert.equal(agent.stderr, '', agent.transcript());
  await agent.stop();
});

test('agent: a quick dpkg run (lock dropped as soon as the agent has seen it) raises nothing', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startGuarded(t, fx, stateDir);
  const locked = agent.mark();
  // A small package upgrades in well under a second: the lock is taken, file and md5sums are
  // written, the lock is dropped. The agent looks at dpkg when its watchers report the change
  // (and once a second); the lock is dropped the moment the agent has logged that it saw dpkg.
  const lock = await holdLock(t, path.join(fx.admindir, 'lock'));
  upgradeApp(fx);
  await agent.waitFor('dpkg.started', isKind('dpkg.started'), { from: locked });
  await lock.release();
  await assertQuietAfterDpkg(agent, locked);
});

test('agent: md5sums forged while the agent was down are found at the next start, and stay open', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const config = { ...GUARD_CONFIG, schedule: { scoped: EVERY_2S, full: YEARLY } };
  const a1 = await startAgent({ t, fx, stateDir, config });
  await a1.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  await a1.stop();

  // While the agent is down, someone forges app's md5sums (no dpkg: the status record is unchanged).
  writeFileSync(fx.infoFile('app', 'md5sums'), appMd5sums('the backdoor to come\n'));
  const a2 = await startAgent({ t, fx, stateDir, config });
  const alert = await a2.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'));
  assert.deepEqual(alert.line.event.findings.map(withoutDetail), [MD5SUMS_CHANGED], a2.transcript());
  // Two scoped runs later the forged record is still not accepted as the new truth.
  const from = a2.mark();
  await a2.waitFor('a scoped run', isRunFinished('scoped'), { from });
  await a2.waitFor('another scoped run', isRunFinished('scoped'), { from: a2.mark() });
  assert.deepEqual(a2.alerts('findings.resolved'), [], a2.transcript());
  await a2.stop();
});

test('agent: with the watcher off, the scoped schedule finds forged md5sums', async (t) => {
  const { fx } = agentFixture(t);
  const agent = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: EVERY_2S, full: YEARLY }, watch: { enabled: false } } });
  await agent.waitFor('the start-up scoped run', isRunFinished('scoped', 'clean'));
  const from = agent.mark();
  writeFileSync(fx.infoFile('app', 'md5sums'), appMd5sums('the backdoor to come\n'));
  const alert = await agent.waitFor<AlertLine>('findings.opened', isAlert('findings.opened'), { from });
  assert.deepEqual(alert.line.event.findings.map(withoutDetail), [MD5SUMS_CHANGED], agent.transcript());
  await agent.stop();
});
