// The agent's scope always holds pkgwatch and nodejs when they are installed, whatever
// `scope.packages` says, and a pkgwatch upgrade that restarts the agent mid-run raises nothing.
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { resolveScope, SELF_PACKAGES } from '../../src/agent/scope.js';
import { runCli } from '../helpers/cli.js';
import { fixture, md5, type FixtureRoot } from '../helpers/fixture.js';
import { agentTempDir, holdLock, isAlert, isKind, isRunFinished, startAgent, YEARLY, type LogLine, type RunFinishedLine } from '../helpers/agent.js';

const MAIN = '/usr/lib/pkgwatch/dist/cli/main.js';
const NODE = '/usr/bin/node';

/** A system with pkgwatch (depends on nodejs, which depends on libc6) and an app outside it. */
function system(fx: FixtureRoot, opts: { nodejs?: boolean } = {}): void {
  fx.addPackage({ name: 'libc6', files: [{ path: '/usr/lib/x86_64-linux-gnu/libc.so.6', content: 'libc\n' }] });
  if (opts.nodejs !== false) fx.addPackage({ name: 'nodejs', version: '20.20.2-1', depends: 'libc6', files: [{ path: NODE, content: 'node 20\n' }] });
  fx.addPackage({ name: 'pkgwatch', version: '0.1.0', arch: 'all', depends: 'nodejs (>= 20.19)', files: [{ path: MAIN, content: 'pkgwatch 0.1.0\n' }] });
  fx.addPackage({ name: 'app', files: [{ path: '/srv/app/main.py', content: 'app\n' }] });
}

test('SELF_PACKAGES are pkgwatch and nodejs', () => {
  assert.deepEqual(SELF_PACKAGES, ['pkgwatch', 'nodejs']);
});

test('an empty scope.packages still scopes pkgwatch and nodejs; configured packages come first', async (t) => {
  const fx = fixture(t);
  system(fx);
  const none = await resolveScope(fx.root, [], false);
  assert.deepEqual(none.args, ['pkgwatch', 'nodejs']);
  assert.deepEqual([...none.ids].sort(), ['nodejs', 'pkgwatch']);
  assert.deepEqual(none.problems, []);
  assert.ok(none.paths.includes(MAIN) && none.paths.includes(NODE), 'their files are watched');
  const withDeps = await resolveScope(fx.root, ['app'], true);
  assert.deepEqual(withDeps.args, ['app', 'pkgwatch', 'nodejs']);
  assert.deepEqual([...withDeps.ids].sort(), ['app', 'libc6', 'nodejs', 'pkgwatch'], 'with_dependencies applies to them too');
  // Named in the config already: not twice.
  assert.deepEqual((await resolveScope(fx.root, ['nodejs', 'pkgwatch'], false)).args, ['nodejs', 'pkgwatch']);
});

test('pkgwatch and nodejs are left out, without a problem, when not installed (a checkout, removed but not purged)', async (t) => {
  const fx = fixture(t);
  system(fx, { nodejs: false });
  fx.addPackage({ name: 'nodejs', status: 'deinstall ok config-files', files: [] });
  const scope = await resolveScope(fx.root, ['app'], false);
  assert.deepEqual(scope.args, ['app', 'pkgwatch']);
  assert.deepEqual(scope.problems, []);
});

/** What dpkg's unpack of pkgwatch 0.2.0 leaves on disk and in the database before configure. */
function unpackUpgrade(fx: FixtureRoot): void {
  fx.write(MAIN, 'pkgwatch 0.2.0\n');
  writeFileSync(fx.infoFile('pkgwatch', 'md5sums'), `${md5('pkgwatch 0.2.0\n')}  ${MAIN.slice(1)}\n`);
  const status = fx.path('var/lib/dpkg/status');
  const text = readFileSync(status, 'utf8');
  const upgraded = text.replace(/(Package: pkgwatch\nStatus: )install ok installed(\n(?:.+\n)*?Version: )0\.1\.0/, '$1install ok half-configured$20.2.0');
  assert.notEqual(upgraded, text, 'the fixture has pkgwatch 0.1.0 installed');
  writeFileSync(status, upgraded);
}

test('agent: a pkgwatch upgrade whose postinst restarts the agent while dpkg runs raises nothing', async (t) => {
  const fx = fixture(t);
  system(fx);
  const stateDir = `${agentTempDir(t)}/state`;
  const config = { schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: true } };
  const old = await startAgent({ t, fx, stateDir, config });
  const first = await old.waitFor<RunFinishedLine>('the start-up scoped run', isRunFinished('scoped'));
  assert.equal(first.line.outcome, 'clean', old.transcript());
  assert.equal(first.line.packages, 3, `pkgwatch, nodejs and (with_dependencies) libc6\n${old.transcript()}`);
  // dpkg's run: its lock, the hook's pre-invoke, the unpack, then the postinst's restart (SIGTERM,
  // a new agent) while the lock is still held, then post-invoke, then the lock goes.
  const lock = await holdLock(t, fx.path('var/lib/dpkg/lock'));
  const start = await runCli(['notify', 'dpkg-start', '--config', old.configFile]);
  assert.equal(start.code, 0, start.stderr);
  unpackUpgrade(fx);
  await old.stop();
  const fresh = await startAgent({ t, fx, stateDir, config });
  const configured = readFileSync(fx.path('var/lib/dpkg/status'), 'utf8').replace('install ok half-configured', 'install ok installed');
  writeFileSync(fx.path('var/lib/dpkg/status'), configured);
  const end = await runCli(['notify', 'dpkg-end', '--config', fresh.configFile]);
  assert.equal(end.code, 0, end.stderr);
  await lock.release();
  const finished = await fresh.waitFor<LogLine & { changedPackages: string[] }>('dpkg.finished', isKind('dpkg.finished'));
  const run = await fresh.waitFor<RunFinishedLine>('the scoped run after dpkg', isRunFinished('scoped'), { from: finished.index });
  assert.equal(run.line.outcome, 'clean', fresh.transcript());
  await fresh.stop();
  assert.deepEqual([...old.alerts(), ...fresh.alerts()], [], `upgrading pkgwatch raises nothing\n${old.transcript()}\n${fresh.transcript()}`);
  // The same change without dpkg is what the agent exists to see.
  const third = await startAgent({ t, fx, stateDir, config });
  await third.waitFor('the start-up scoped run', isRunFinished('scoped'));
  fx.write(MAIN, 'pkgwatch, tampered with\n');
  const alert = await third.waitFor('findings.opened', isAlert('findings.opened'));
  assert.match(JSON.stringify(alert.line), /pkgwatch\/dist\/cli\/main\.js/);
  await third.stop();
});
