// pkgwatch installed on this machine as README says operators do: scripts/repo-demo builds a signed
// reprepro repository with pkgwatch and a demo web application, and `apt-get install`s both from it.
// Then, with no further step, the agent runs with the app in scope, an upgrade of the app from the
// repository raises no alert, and a change to the app's files then raises one at a webhook on
// 127.0.0.1. Everything is purged and removed afterwards, also when the test fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentProcess, isKind, isRunFinished, type LogLine } from '../helpers/agent.js';
import { REPO_ROOT, runProcess, type CliResult } from '../helpers/cli.js';
import { startHookReceiver, waitUntil } from '../helpers/receivers.js';
import { findProgram, output, unitSection } from '../helpers/systemd.js';

const REPO_DEMO = `${REPO_ROOT}scripts/repo-demo`;
const SITE = '/srv/http/demo.example';
const PAGE = `${SITE}/index.html`;
const UNIT = '/usr/lib/systemd/system/pkgwatch.service';
/** Building the .deb, apt and dpkg take minutes on a loaded machine: only a safety net. */
const SLOW = { timeoutMs: 900_000 };
const TOOLS: Record<string, string> = {
  'dpkg-deb': 'dpkg',
  'dpkg-parsechangelog': 'dpkg-dev',
  help2man: 'help2man',
  reprepro: 'reprepro',
  gpg: 'gnupg',
  'apt-get': 'apt',
  python3: 'python3',
  setpriv: 'util-linux',
};

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${output(r)}`);
  return r;
}

/** Why this machine cannot run the test, or null. In CI every reason is a failure. */
function cannotRun(): string | null {
  if (process.getuid?.() !== 0) return 'installs packages on this machine: run as root';
  const absent = Object.entries(TOOLS).filter(([tool]) => findProgram(tool) === null);
  if (absent.length > 0) return `needs ${absent.map(([t, p]) => `${t} (package ${p})`).join(', ')}`;
  // Installed, or removed with its configuration left: either way not this test's to purge.
  const installed = ['pkgwatch', 'demo-app'].filter((p) => !['', 'not-installed'].includes(spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status}', p], { encoding: 'utf8' }).stdout));
  if (installed.length > 0) return `${installed.join(' and ')} already installed here, and the test purges what it installs`;
  return null;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

test('apt-get install pkgwatch demo-app from a signed repository: the agent alerts on a change to the app, not on its upgrade', { timeout: 3_600_000 }, async (t) => {
  const why = cannotRun();
  if (why !== null) {
    if (process.env['CI'] !== undefined) throw new Error(`CI must run the install test, but it ${why}`);
    t.skip(why);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-install-'));
  const work = join(dir, 'demo');
  // Unique, so that the source, keyring and lists can only be this run's.
  const name = `pkgwatch-install-test-${process.pid}`;
  let agent: AgentProcess | null = null;
  t.after(async () => {
    if (agent !== null) await agent.kill9();
    // `down` removes the work dir: if it is still there, the test failed before its own `down`.
    if (existsSync(join(work, 'state'))) {
      const r = await runProcess(REPO_DEMO, ['down', '--work', work], SLOW);
      if (r.code !== 0) process.stderr.write(`repo-demo down failed: ${output(r)}\n`);
    }
    await rm(dir, { recursive: true, force: true });
  });

  const secret = 'install test secret';
  const receiver = await startHookReceiver(t, secret);
  const deb = ok(await runProcess(`${REPO_ROOT}scripts/build-deb`, ['--out', join(dir, 'out')], SLOW), 'scripts/build-deb').stdout.trim();
  const up = ok(await runProcess(REPO_DEMO, ['up', '--work', work, '--name', name, '--deb', deb], SLOW), 'repo-demo up');
  assert.match(up.stdout, /Get:\d+ http:\/\/127\.0\.0\.1:\d+ demo\/main \S+ pkgwatch all /, 'apt fetched pkgwatch from the repository');
  assert.doesNotMatch(up.stdout + up.stderr, /unauthenticated|NO_PUBKEY|not signed/i);
  const versions = ok(await runProcess('dpkg-query', ['-W', '-f', '${Package} ${Status} ${Version}\n', 'pkgwatch', 'demo-app']), 'dpkg-query').stdout;
  assert.match(versions, /^demo-app install ok installed 1\.0$/m);
  assert.match(versions, /^pkgwatch install ok installed /m);
  const sources = readFileSync(`/etc/apt/sources.list.d/${name}.sources`, 'utf8');
  assert.match(sources, new RegExp(`^Signed-By: /etc/apt/keyrings/${name}\\.gpg$`, 'm'));

  // The agent: under systemd the postinst started it; here (no systemd as PID 1, as in most
  // containers and CI runners) the postinst skips the start, as deb-systemd-invoke would, and the
  // test runs the unit's ExecStart as the unit would: user pkgwatch, CAP_DAC_READ_SEARCH as its
  // only capability, no new privileges, umask 0077; plus --log-format json for the test to read.
  // The unit's sandbox (ProtectSystem= and the rest) is not applied: that needs systemd.
  if (existsSync('/run/systemd/system')) {
    ok(await runProcess('systemctl', ['is-active', 'pkgwatch.service']), 'the postinst started pkgwatch.service');
    ok(await runProcess('systemctl', ['stop', 'pkgwatch.service']), 'systemctl stop (the test runs it in the foreground)');
  } else {
    t.diagnostic('no systemd as PID 1 here: the postinst started nothing; the test starts the unit\'s ExecStart as user pkgwatch');
  }
  const dropIn = `/etc/pkgwatch/conf.d/90-${name}.toml`;
  writeFileSync(dropIn, `[alerts.webhook]\nurl = "${receiver.url}"\nsecret = "${secret}"\n`, { mode: 0o640 });
  chownSync(dropIn, 0, statSync('/var/lib/pkgwatch').gid);
  const execStart = unitSection(UNIT, 'Service').get('ExecStart')?.[0]?.split(/\s+/) ?? [];
  assert.equal(execStart[0], '/usr/bin/node', `${UNIT}: ExecStart`);
  const asTheUnit: [string, ...string[]] = [
    'setpriv',
    '--reuid=pkgwatch',
    '--regid=pkgwatch',
    '--init-groups',
    '--inh-caps=-all,+dac_read_search',
    '--ambient-caps=-all,+dac_read_search',
    '--bounding-set=-all,+dac_read_search',
    '--no-new-privs',
    '--',
    '/bin/sh',
    '-c',
    'umask 0077 && exec "$@"',
    'sh',
    ...execStart,
    '--log-format',
    'json',
  ];
  const running = new AgentProcess('/etc/pkgwatch/pkgwatch.toml', '/var/lib/pkgwatch', [], asTheUnit);
  agent = running;
  const started = await running.waitFor('agent.started', isKind('agent.started'));
  assert.deepEqual(started.line['configFiles'], ['/etc/pkgwatch/pkgwatch.toml', '/etc/pkgwatch/conf.d/50-demo-app.toml', dropIn]);
  assert.deepEqual(started.line['scopePackages'], ['demo-app'], 'demo-app is in scope by its own drop-in');
  await running.waitFor('agent.ready', isKind('agent.ready'));
  await running.waitFor('the first scoped check', isRunFinished('scoped'));

  // An upgrade of the app from the repository (1.0 -> 1.1): no alert made from its start on.
  const upgradeStart = Date.now();
  const logBefore = running.mark();
  ok(await runProcess(REPO_DEMO, ['release', '1.1', '--work', work], SLOW), 'repo-demo release 1.1');
  ok(await runProcess('apt-get', ['-q', '-y', '-o', 'DPkg::Lock::Timeout=600', 'install', '--reinstall', 'demo-app'], { ...SLOW, env: { DEBIAN_FRONTEND: 'noninteractive' } }), 'apt-get install --reinstall demo-app');
  assert.match(ok(await runProcess('dpkg-query', ['-W', '-f', '${Version}', 'demo-app']), 'dpkg-query').stdout, /^1\.1$/);
  const page = readFileSync(PAGE, 'utf8');
  assert.match(page, /demo-app 1\.1/);
  const finished = await running.waitFor('dpkg.finished naming demo-app', (l: LogLine) => l.kind === 'dpkg.finished' && (l['changedPackages'] as string[]).includes('demo-app'), { from: logBefore });
  await running.waitFor('the scoped check after the upgrade', isRunFinished('scoped'), { from: finished.index });

  // Then a change to one of the app's files: an alert, against 1.1's md5sum. Its alerts are also
  // the marker: nothing may come between the upgrade's start and them.
  writeFileSync(PAGE, `${page}<script src="https://evil.invalid/x.js"></script>\n`);
  await waitUntil('a findings.opened webhook for the changed page', () =>
    receiver.accepted.some((h) => h.event === 'findings.opened' && h.findings.some((f) => f.package === 'demo-app' && f.path === PAGE && f.status === 'changed' && f.expected === md5(page))),
  );
  const since = receiver.accepted.filter((h) => Date.parse(h.time) >= upgradeStart);
  const firstMarker = since.findIndex((h) => h.findings.some((f) => f.path === PAGE));
  assert.deepEqual(
    since.slice(0, firstMarker).map((h) => `${h.event} ${h.findings.map((f) => `${f.path} ${f.status}`).join(', ')}`),
    [],
    'the upgrade raised no alert',
  );
  assert.deepEqual(
    running.find((l) => l.kind === 'alert', logBefore).filter((l) => !JSON.stringify(l).includes(PAGE)),
    [],
    'no alert line in the log since the upgrade began but the change\'s',
  );

  await running.stop();
  agent = null;
  ok(await runProcess(REPO_DEMO, ['down', '--work', work], SLOW), 'repo-demo down');
  const after = await runProcess('dpkg-query', ['-W', '-f', '${Package} ${Status}\n', 'pkgwatch', 'demo-app']);
  assert.doesNotMatch(after.stdout, / ok installed| config-files/, 'both packages are purged');
  for (const gone of [`/etc/apt/sources.list.d/${name}.sources`, `/etc/apt/keyrings/${name}.gpg`, '/etc/pkgwatch', '/var/lib/pkgwatch', SITE]) {
    assert.ok(!existsSync(gone), `${gone} is gone`);
  }
});
