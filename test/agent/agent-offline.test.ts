// Taking the site offline, end to end: the real agent, a real nginx (Debian's nginx-light) on
// 127.0.0.1 with the shipped maintenance snippet, a real webhook receiver, and `pkgwatch online`.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  agentFixture,
  agentTempDir,
  APP_CONTENT,
  APP_FILE,
  EVERY_2S,
  isKind,
  isRunFinished,
  LIB_FILE,
  startAgent,
  YEARLY,
  type AgentProcess,
  type AgentToml,
  type LogLine,
  type RunFinishedLine,
} from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { request, startNginx } from '../helpers/nginx.js';
import { startHookReceiver, waitUntil } from '../helpers/receivers.js';

const SECRET = 'offline-secret';
const TAMPERED = '<?php system($_GET["c"]);\n';

/** A directory for the flag and the command's marker, searchable by nginx's workers as /var/lib/pkgwatch is (0711). */
function webDir(t: TestContext): string {
  const dir = agentTempDir(t, 'pkgwatch-web-');
  chmodSync(dir, 0o711);
  return dir;
}

/** Asserts that from line `from` on the agent neither began to take the site offline nor took it offline. */
function assertStayedOnline(agent: AgentProcess, from: number): void {
  assert.deepEqual(
    agent.lines.slice(from).filter((l) => l.kind === 'offline.confirming' || l.kind === 'site.offline'),
    [],
    agent.transcript(),
  );
}

function offlineRecord(stateDir: string): { active: boolean; reason: string | null; restored: { by: string; forced: boolean } | null } {
  return JSON.parse(readFileSync(path.join(stateDir, 'offline.json'), 'utf8')) as ReturnType<typeof offlineRecord>;
}

test('offline: 200, then a tampered scoped file takes the site offline (503); online refuses while it is wrong; 200 after restore and online', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const web = webDir(t);
  const flag = path.join(web, 'maintenance.on');
  const stopped = path.join(web, 'app-stopped');
  const nginx = await startNginx(t, { flagFile: flag });
  assert.equal((await request(`${nginx.url}/`)).status, 200);
  const hook = await startHookReceiver(t, SECRET);
  const config: AgentToml = {
    scope: { packages: ['app'] },
    schedule: { scoped: YEARLY, full: YEARLY },
    alerts: { retry_min: '100ms', retry_max: '400ms', host: 'web1.test', webhook: { url: hook.url, secret: SECRET } },
    offline: { enabled: true, confirm_delay: '300ms', flag_file: flag, command: ['touch', stopped], restore_command: ['rm', '-f', stopped], actions_by: 'agent' },
  };
  const agent = await startAgent({ t, fx, stateDir, config });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  const off = await agent.waitFor('site.offline', isKind('site.offline'), { from });
  assert.ok(agent.find(isKind('offline.confirming'), from).length >= 1, 'it re-verified first');
  assert.deepEqual(
    (off.line['actions'] as { action: string; ok: boolean }[]).map((a) => [a.action, a.ok]),
    [
      ['flag_file', true],
      ['command', true],
    ],
    agent.transcript(),
  );
  const down = await request(`${nginx.url}/any/page.php`);
  assert.equal(down.status, 503);
  assert.ok(down.headers['retry-after'] !== undefined);
  assert.ok(existsSync(stopped), 'the command ran');
  assert.equal(offlineRecord(stateDir).active, true);
  await waitUntil('the site.offline webhook', () => hook.accepted.some((h) => h.event === 'site.offline'));
  const event = hook.accepted.find((h) => h.event === 'site.offline');
  assert.equal(event?.offline.active, true);
  assert.match(event?.offline.reason ?? '', /main\.py/);
  assert.deepEqual(event?.findings.map((f) => f.path), [APP_FILE]);

  // Still tampered: online refuses, the site stays down.
  const refused = await runCli(['online', '--config', agent.configFile]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stdout, /Refusing/);
  assert.ok(refused.stdout.includes(APP_FILE));
  // The hints name the system and the configuration this run used, ready to paste.
  assert.ok(refused.stdout.includes(`\`pkgwatch check --root ${fx.root} --config ${agent.configFile} app\``), refused.stdout);
  assert.ok(refused.stdout.includes(`\`pkgwatch online --config ${agent.configFile}\` again`), refused.stdout);
  assert.equal((await request(`${nginx.url}/`)).status, 503);

  // Restored: online brings it back, the restore command runs, the agent and the webhook hear of it.
  fx.write(APP_FILE, APP_CONTENT);
  const mark = agent.mark();
  const online = await runCli(['online', '--config', agent.configFile]);
  assert.equal(online.code, 0, online.stdout + online.stderr);
  assert.equal((await request(`${nginx.url}/`)).status, 200);
  assert.ok(!existsSync(stopped), 'the restore command ran');
  assert.equal(offlineRecord(stateDir).active, false);
  await agent.waitFor('site.online', isKind('site.online'), { from: mark });
  await waitUntil('the site.online webhook', () => hook.accepted.some((h) => h.event === 'site.online'));
  assert.equal(hook.accepted.find((h) => h.event === 'site.online')?.offline.active, false);
  // Back online with the file restored, the agent does not take it down again. The marker: the
  // scoped run the agent starts when the site comes back (after any real-time run of the restored
  // file, which goes first); every run decides about going offline before it logs run.finished, and
  // site.offline always follows an offline.confirming. The exit then flushes the rest of the log.
  const after = await agent.waitFor<RunFinishedLine>('the scoped run after site.online', isRunFinished('scoped'), { from: mark });
  assert.equal(after.line.outcome, 'clean', agent.transcript());
  await agent.stop();
  assertStayedOnline(agent, mark);
});

test('offline guards: a change undone within confirm_delay, an ignored path, and a conffile leave the site online', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  fx.addPackage({ name: 'appconf', conffiles: [{ path: '/etc/app/app.ini', content: 'debug = false\n' }] });
  const web = webDir(t);
  const flag = path.join(web, 'maintenance.on');
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app', 'appconf'] },
      // Scheduled runs are the markers below: each one judges every scoped file.
      schedule: { scoped: EVERY_2S, full: YEARLY },
      ignore: { paths: [LIB_FILE] },
      // The test restores the file after it sees offline.confirming: the delay must outlast the
      // test's reaction on a busy machine, so it is a safety net, not a tuned window.
      offline: { enabled: true, confirm_delay: '10s', flag_file: flag },
    },
  });
  // An edited conffile and an ignored path are alerted (or kept) but never take the site down.
  let from = agent.mark();
  fx.write('/etc/app/app.ini', 'debug = true\n');
  fx.write(LIB_FILE, 'LIB = 2\n');
  await agent.waitFor('the conffile finding', (l: LogLine) => l.kind === 'alert' && JSON.stringify(l).includes('app.ini'), { from });
  // The marker: a scoped run that found both. Every run decides about going offline (and logs
  // offline.confirming if it would) before it logs run.finished.
  const both = await agent.waitFor<RunFinishedLine>('a scoped run that finds the conffile and the ignored path', (l) => isRunFinished('scoped')(l) && l.findings === 2, { from });
  assert.equal(both.line.outcome, 'findings');
  assertStayedOnline(agent, from);

  // Tampered and put back before the confirming re-check: left online.
  from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  await agent.waitFor('confirming', isKind('offline.confirming'), { from });
  fx.write(APP_FILE, APP_CONTENT);
  const un = await agent.waitFor('unconfirmed', isKind('offline.unconfirmed'), { from });
  assert.equal(un.line['reason'], 'resolved', agent.transcript());
  await agent.stop();
  assert.deepEqual(agent.find(isKind('site.offline')), [], agent.transcript());
  assert.ok(!existsSync(flag));
});

test('offline through the privileged helper; the state survives kill -9 and the flag is put back at start; online --force is recorded', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const web = webDir(t);
  const flag = path.join(web, 'maintenance.on');
  const stopped = path.join(web, 'app-stopped');
  const config: AgentToml = {
    scope: { packages: ['app'] },
    schedule: { scoped: YEARLY, full: YEARLY },
    offline: { enabled: true, confirm_delay: '200ms', flag_file: flag, command: ['touch', stopped], actions_by: 'helper' },
  };
  const agent = await startAgent({ t, fx, stateDir, config });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  // The agent records the request and creates the flag itself; the helper (started here the way
  // pkgwatch-offline.path would start it) runs the command as root.
  await waitUntil('the offline record', () => existsSync(path.join(stateDir, 'offline.json')) && offlineRecord(stateDir).active);
  await waitUntil('the flag', () => existsSync(flag));
  const helper = await runCli(['offline-helper', '--config', agent.configFile]);
  assert.equal(helper.code, 0, helper.stdout + helper.stderr);
  assert.ok(existsSync(stopped));
  const off = await agent.waitFor('site.offline', isKind('site.offline'), { from });
  assert.deepEqual(
    (off.line['actions'] as { action: string; ok: boolean }[]).map((a) => [a.action, a.ok]),
    [
      ['flag_file', true],
      ['command', true],
    ],
  );
  // A second run of the helper for the same request does nothing.
  rmSync(stopped);
  const twice = await runCli(['offline-helper', '--config', agent.configFile]);
  assert.equal(twice.code, 0);
  assert.ok(!existsSync(stopped));

  await agent.kill9();
  rmSync(flag);
  const again = await startAgent({ t, fx, stateDir, config });
  assert.ok(again.find(isKind('site.still-offline')).length === 1, again.transcript());
  assert.ok(existsSync(flag), 'the flag is put back at start');

  // --force brings it back despite the open finding; the record says so, and the same finding does not take it down again.
  await again.waitFor('the start-up run', isRunFinished('scoped'));
  const mark = again.mark();
  const forced = await runCli(['online', '--force', '--config', again.configFile]);
  assert.equal(forced.code, 0, forced.stdout + forced.stderr);
  assert.match(forced.stderr, /--force/);
  assert.equal(offlineRecord(stateDir).restored?.forced, true);
  assert.ok(!existsSync(flag));
  await again.waitFor('site.online', (l) => l.kind === 'site.online' && l['forced'] === true, { from: mark });
  // The markers: the scoped run the agent starts when the site comes back, and the real-time run of
  // the file written again (same content: the same, acknowledged, finding). Each run decides about
  // going offline (offline.confirming comes before site.offline) before it logs run.finished.
  const rescan = await again.waitFor<RunFinishedLine>('the scoped run after site.online', isRunFinished('scoped'), { from: mark });
  assert.deepEqual([rescan.line.outcome, rescan.line.findings], ['findings', 1], again.transcript());
  const rewritten = again.mark();
  writeFileSync(fx.path(APP_FILE), TAMPERED);
  const realtime = await again.waitFor<RunFinishedLine>('the real-time run of the rewritten file', isRunFinished('realtime'), { from: rewritten });
  assert.deepEqual([realtime.line.outcome, realtime.line.findings], ['findings', 1], again.transcript());
  await again.stop();
  assertStayedOnline(again, mark);
});

test('killed while taking the site offline: the restarted agent still sends site.offline', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const web = webDir(t);
  const flag = path.join(web, 'maintenance.on');
  const config: AgentToml = {
    scope: { packages: ['app'] },
    schedule: { scoped: YEARLY, full: YEARLY },
    offline: { enabled: true, confirm_delay: '200ms', flag_file: flag, command: ['true'], actions_by: 'helper' },
  };
  const agent = await startAgent({ t, fx, stateDir, config });
  fx.write(APP_FILE, TAMPERED);
  // Offline recorded, the flag up, the helper never answers: the agent dies waiting for it.
  await waitUntil('the offline record', () => existsSync(path.join(stateDir, 'offline.json')) && offlineRecord(stateDir).active);
  await waitUntil('the flag', () => existsSync(flag));
  await agent.kill9();
  assert.deepEqual(agent.find(isKind('site.offline')), []);
  const again = await startAgent({ t, fx, stateDir, config });
  const late = again.alerts('site.offline');
  assert.equal(late.length, 1, again.transcript());
  assert.equal(late[0]?.event.offline.active, true);
  assert.deepEqual(late[0]?.event.findings.map((f) => f.path), [APP_FILE]);
  // Sent once: a second restart does not repeat it.
  await again.stop();
  const third = await startAgent({ t, fx, stateDir, config });
  assert.deepEqual(third.alerts('site.offline'), []);
  await third.stop();
});
