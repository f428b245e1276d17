// The Debian package under a real systemd as PID 1 (a Debian 12 container booted by
// scripts/systemd-demo): install, READY, watchdog, reload, the offline path unit with nginx, journal
// priorities, the security score README claims, and a clean stop.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { REPO_ROOT, runProcess, type CliResult } from '../helpers/cli.js';
import { findProgram, output } from '../helpers/systemd.js';

const DEMO = `${REPO_ROOT}scripts/systemd-demo`;
const VERSION = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string }).version;
/** Building the root (first run), the package and booting take minutes on a loaded machine. */
const SLOW = { timeoutMs: 1_800_000 };
/** Safety net of every wait for an event inside the container; the watchdog alone needs 60 s + 5 s. */
const DEADLINE_MS = 300_000;
const TOOLS: Record<string, string> = { mmdebstrap: 'mmdebstrap', 'systemd-nspawn': 'systemd-container', nsenter: 'util-linux', 'dpkg-deb': 'dpkg' };
/** Unset (as in `npm test`): every test here is skipped, naming `npm run test:systemd`, which sets it. */
const MODE = process.env['PKGWATCH_SYSTEMD_TEST'];
/** Set to 1 by .ci/run (CI machines boot containers): a machine that does not boot fails, not skips. */
const REQUIRED = process.env['PKGWATCH_SYSTEMD_REQUIRE'] === '1';

let work = '';
let skipped: string | null = null;

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${output(r)}`);
  return r;
}

/** Runs a command inside the booted system. */
function inside(args: readonly string[], timeoutMs = DEADLINE_MS): Promise<CliResult> {
  return runProcess(DEMO, ['run', work, ...args], { timeoutMs });
}

async function sh(script: string): Promise<string> {
  return ok(await inside(['sh', '-c', script]), script).stdout;
}

async function show(unit: string, prop: string): Promise<string> {
  return (await sh(`systemctl show -p ${prop} --value ${unit}`)).trim();
}

interface JournalEntry {
  readonly MESSAGE?: string | number[];
  readonly PRIORITY?: string;
  readonly _SYSTEMD_INVOCATION_ID?: string;
}

function message(e: JournalEntry): string {
  return typeof e.MESSAGE === 'string' ? e.MESSAGE : Buffer.from(e.MESSAGE ?? []).toString('utf8');
}

async function journal(...args: string[]): Promise<JournalEntry[]> {
  const out = ok(await inside(['journalctl', '--no-pager', '-o', 'json', ...args]), `journalctl ${args.join(' ')}`).stdout;
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JournalEntry);
}

/** The journal's cursor now: what comes after it is what a test step caused. */
async function cursor(): Promise<string> {
  const last = await journal('-n', '1');
  const c = (last[0] as { __CURSOR?: string } | undefined)?.__CURSOR;
  assert.ok(c !== undefined, 'the journal is empty');
  return c;
}

/** Polls `cond` until it holds; the deadline is only a safety net. */
async function eventually(cond: () => Promise<boolean>, what: string, deadlineMs = DEADLINE_MS): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(200);
  }
}

/** The agent's lines of the current run of pkgwatch.service. */
async function agentLines(): Promise<JournalEntry[]> {
  const id = await show('pkgwatch.service', 'InvocationID');
  return journal(`_SYSTEMD_INVOCATION_ID=${id}`, 'SYSLOG_IDENTIFIER=pkgwatch');
}

/** Where files go into the container: its /var/tmp is on the root directory that this side sees too. */
function inbox(): string {
  return join(work, 'root', 'var', 'tmp');
}

/** Copies a file into the container as root:GROUP with MODE. */
async function put(dest: string, text: string, mode = '0644', group = 'root'): Promise<void> {
  const name = `put-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(inbox(), name), text);
  await sh(`install -D -m ${mode} -o root -g ${group} /var/tmp/${name} ${dest} && rm /var/tmp/${name}`);
}

/** A tiny web application package, as a site's own would be: its files under /srv/http/demo. */
async function demoDeb(dir: string): Promise<string> {
  const tree = join(dir, 'demo-site');
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'srv/http/demo'), { recursive: true });
  await writeFile(join(tree, 'srv/http/demo/index.html'), '<h1>demo site</h1>\n');
  await writeFile(join(tree, 'DEBIAN/control'), 'Package: demo-site\nVersion: 1.0\nArchitecture: all\nMaintainer: Demo <demo@example.com>\nDescription: demo web site\n');
  await chmod(tree, 0o755);
  const deb = join(dir, 'demo-site_1.0_all.deb');
  ok(await runProcess('dpkg-deb', ['--root-owner-group', '--build', tree, deb]), 'dpkg-deb --build demo-site');
  return deb;
}

/** An HTTP GET on the container's own loopback, by its python3. */
async function get(): Promise<{ status: number; body: string }> {
  const py = 'import urllib.request, urllib.error\ntry:\n  r = urllib.request.urlopen("http://127.0.0.1/")\n  print(r.status); print(r.read().decode())\nexcept urllib.error.HTTPError as e:\n  print(e.code); print(e.read().decode())\n';
  const out = ok(await inside(['python3', '-c', py]), 'GET /').stdout;
  const nl = out.indexOf('\n');
  return { status: Number(out.slice(0, nl)), body: out.slice(nl + 1) };
}

function skipIfDown(t: TestContext): boolean {
  if (skipped === null) return false;
  t.skip(skipped);
  return true;
}

before(async () => {
  if (MODE === undefined || MODE === '') {
    skipped = 'boots a Debian 12 container with systemd as PID 1 (minutes): run `npm run test:systemd`';
    return;
  }
  const absent = Object.entries(TOOLS).filter(([tool]) => findProgram(tool) === null);
  if (process.getuid?.() !== 0) skipped = 'needs root (systemd-nspawn, mmdebstrap)';
  else if (absent.length > 0) {
    skipped = `needs ${absent.map(([t, p]) => `${t} (package ${p})`).join(', ')}: apt-get install ${[...new Set(absent.map(([, p]) => p))].join(' ')}`;
  }
  if (skipped !== null) {
    if (REQUIRED) throw new Error(skipped);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-systemd-'));
  work = join(dir, 'machine');
  const pkgwatchDeb = ok(await runProcess(`${REPO_ROOT}scripts/build-deb`, ['--out', join(dir, 'out')], SLOW), 'scripts/build-deb').stdout.trim();
  const demo = await demoDeb(dir);
  const boot = await runProcess(DEMO, ['boot', work], SLOW);
  if (boot.code !== 0) {
    // This machine cannot boot a container: say exactly what failed, and fake nothing.
    skipped = `this machine cannot boot systemd as PID 1: \`scripts/systemd-demo boot\` failed (exit ${boot.code}): ${output(boot)}`;
    if (REQUIRED) throw new Error(skipped);
    return;
  }
  ok(await runProcess('cp', [pkgwatchDeb, demo, inbox()]), 'cp debs');
  ok(await inside(['dpkg', '-i', '/var/tmp/demo-site_1.0_all.deb', `/var/tmp/pkgwatch_${VERSION}_all.deb`], SLOW.timeoutMs), 'dpkg -i');
});

after(async () => {
  if (work !== '') await runProcess(DEMO, ['poweroff', work], { timeoutMs: 180_000 });
  if (work !== '') await rm(join(work, '..'), { recursive: true, force: true });
});

test('dpkg -i enables and starts the agent and the offline path unit', async (t) => {
  if (skipIfDown(t)) return;
  assert.equal(await show('pkgwatch.service', 'UnitFileState'), 'enabled');
  assert.equal(await show('pkgwatch-offline.path', 'UnitFileState'), 'enabled');
  assert.equal(await show('pkgwatch-offline.path', 'ActiveState'), 'active');
  // postinst's start returns once the unit is active, i.e. READY came.
  assert.equal(await show('pkgwatch.service', 'SubState'), 'running');
  assert.equal(await show('pkgwatch.service', 'User'), 'pkgwatch');
});

test('start reaches active (running) only on READY: a READY systemd may not accept leaves it activating', async (t) => {
  if (skipIfDown(t)) return;
  // The site's own config for the rest of the tests: the demo site is scoped, offline on.
  const config = [
    '[scope]',
    'packages = ["demo-site"]',
    '[offline]',
    'enabled = true',
    'confirm_delay = "1s"',
    'command = ["/usr/bin/touch", "/run/pkgwatch-demo-offline"]',
    'restore_command = ["/bin/true"]',
    '',
  ].join('\n');
  await put('/etc/pkgwatch/conf.d/50-demo.toml', config, '0640', 'pkgwatch');
  await sh('systemctl stop pkgwatch');
  // The agent's READY comes from its systemd-notify child; with NotifyAccess=main systemd drops it.
  await put('/etc/systemd/system/pkgwatch.service.d/50-main-only.conf', '[Service]\nNotifyAccess=main\n');
  await sh('systemctl daemon-reload && systemctl start --no-block pkgwatch');
  await eventually(async () => (await agentLines()).some((e) => message(e) === 'agent ready'), 'the agent to log "agent ready"');
  assert.equal(await show('pkgwatch.service', 'ActiveState'), 'activating', 'active without a READY systemd accepted');
  assert.equal(await show('pkgwatch.service', 'SubState'), 'start');
  await sh('rm /etc/systemd/system/pkgwatch.service.d/50-main-only.conf && systemctl daemon-reload && systemctl stop pkgwatch');

  ok(await inside(['systemctl', 'start', 'pkgwatch']), 'systemctl start pkgwatch');
  assert.equal(await show('pkgwatch.service', 'ActiveState'), 'active');
  assert.equal(await show('pkgwatch.service', 'SubState'), 'running');
  await eventually(async () => (await agentLines()).some((e) => message(e) === 'agent ready'), '"agent ready" of the new run');
  assert.match(await sh('systemctl status --no-pager pkgwatch || true'), /Active: active \(running\)/);
});

test('systemctl reload re-reads the configuration in the same process', async (t) => {
  if (skipIfDown(t)) return;
  const pid = await show('pkgwatch.service', 'MainPID');
  const before = JSON.parse(await sh('pkgwatch status --json || true')) as { scope: { packages: string[] } };
  assert.ok(!before.scope.packages.some((p) => p.startsWith('nginx-light')), before.scope.packages.join(' '));
  const config = (await sh('cat /etc/pkgwatch/conf.d/50-demo.toml')).replace('packages = ["demo-site"]', 'packages = ["demo-site", "nginx-light"]');
  await put('/etc/pkgwatch/conf.d/50-demo.toml', config, '0640', 'pkgwatch');
  // reload returns once the agent says READY=1 again after RELOADING=1.
  ok(await inside(['systemctl', 'reload', 'pkgwatch']), 'systemctl reload pkgwatch');
  await eventually(async () => (await agentLines()).some((e) => message(e) === 'configuration reloaded'), '"configuration reloaded"');
  assert.equal(await show('pkgwatch.service', 'MainPID'), pid, 'reload restarted the agent');
  const afterReload = JSON.parse(await sh('pkgwatch status --json || true')) as { scope: { packages: string[] } };
  assert.ok(afterReload.scope.packages.some((p) => p.startsWith('nginx-light')), afterReload.scope.packages.join(' '));
});

test("systemd-analyze security on the running system gives README's figure", async (t) => {
  if (skipIfDown(t)) return;
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const claimed = /`systemd-analyze security pkgwatch` rates the unit \*\*([0-9.]+) \("(\w+)"\)\*\*/.exec(readme);
  assert.ok(claimed, 'README states no exposure figure');
  const out = await sh('systemd-analyze security --no-pager pkgwatch.service');
  const measured = /Overall exposure level for pkgwatch\.service: ([0-9.]+) (\w+)/.exec(out);
  assert.ok(measured, out);
  t.diagnostic(`systemd-analyze security (running system): ${measured[1]} ${measured[2]}`);
  assert.deepEqual([measured[1], measured[2]], [claimed[1], claimed[2]]);
});

test('a changed site file starts the offline helper through the path unit, and nginx serves the maintenance page', async (t) => {
  if (skipIfDown(t)) return;
  await sh('ln -sf /usr/share/pkgwatch/nginx-maintenance.conf /etc/nginx/snippets/pkgwatch-maintenance.conf');
  await put('/etc/nginx/sites-enabled/default', 'server {\n  listen 80 default_server;\n  root /srv/http/demo;\n  include snippets/pkgwatch-maintenance.conf;\n}\n');
  await sh('nginx -t 2>&1 && systemctl reload nginx');
  await eventually(async () => (await get()).body.includes('demo site'), 'nginx to serve the demo site');
  assert.equal((await get()).status, 200);

  await sh('echo "<script>evil()</script>" >> /srv/http/demo/index.html');
  await eventually(async () => (await sh('test -e /run/pkgwatch-demo-offline && echo yes || true')).trim() === 'yes', "the helper's offline command to run");
  assert.equal(await show('pkgwatch-offline.service', 'Result'), 'success');
  await eventually(async () => (await get()).status === 503, 'nginx to answer 503');
  assert.match((await get()).body, /down for maintenance/);
  await eventually(async () => (await agentLines()).some((e) => message(e).startsWith('SITE TAKEN OFFLINE')), 'site.offline in the journal');
});

test("journalctl -p warning shows the agent's warnings and worse, at the priorities README documents", async (t) => {
  if (skipIfDown(t)) return;
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const names: Record<string, number> = { critical: 2, error: 3, warning: 4, notice: 5, info: 6 };
  const documented = new Map<string, number>();
  for (const row of readme.slice(readme.indexOf('| kind | priority | meaning |')).split('\n').slice(2)) {
    if (!row.startsWith('|')) break;
    const [kinds = '', priority = ''] = row.split('|').slice(1, 3);
    for (const k of kinds.matchAll(/`([a-z.-]+)`/g)) documented.set(k[1] ?? '', names[priority.trim().split(/\s/)[0] ?? ''] ?? 0);
  }
  // How each kind seen in these tests renders as text (src/agent/log.ts).
  const lines: [string, RegExp][] = [
    ['agent.ready', /^agent ready$/],
    ['agent.reloaded', /^configuration reloaded$/],
    ['agent.started', /^agent started: pkgwatch /],
    ['offline.confirming', /would take the site offline; re-verifying/],
    ['site.offline', /^SITE TAKEN OFFLINE/],
    ['alert', /^ALERT: findings opened/],
  ];
  const all = await journal('_SYSTEMD_UNIT=pkgwatch.service');
  const warnings = await journal('_SYSTEMD_UNIT=pkgwatch.service', '-p', 'warning');
  for (const [kind, re] of lines) {
    const expected = documented.get(kind);
    assert.ok(expected !== undefined && expected > 0, `README documents no priority for ${kind}`);
    const seen = all.filter((e) => re.test(message(e)));
    assert.ok(seen.length > 0, `no ${kind} line in the journal`);
    for (const e of seen) assert.equal(Number(e.PRIORITY), expected, `${kind}: ${message(e)}`);
    assert.equal(warnings.some((e) => re.test(message(e))), expected <= 4, `${kind} under -p warning`);
  }
  for (const e of warnings) assert.ok(Number(e.PRIORITY) <= 4, message(e));
});

test('the watchdog restarts an agent that stops answering (SIGSTOP)', async (t) => {
  if (skipIfDown(t)) return;
  const pid = await show('pkgwatch.service', 'MainPID');
  const restarts = Number(await show('pkgwatch.service', 'NRestarts'));
  await sh(`kill -STOP ${pid}`);
  // WatchdogSec=60, then SIGABRT, then RestartSec=5.
  await eventually(async () => {
    const now = await show('pkgwatch.service', 'MainPID');
    return now !== '0' && now !== pid && Number(await show('pkgwatch.service', 'NRestarts')) > restarts;
  }, 'a restart with a new main PID');
  const log = (await journal('-u', 'pkgwatch.service')).map(message);
  assert.ok(log.some((m) => /Watchdog timeout/.test(m)), 'no watchdog timeout in the journal');
  assert.ok(log.some((m) => m.includes('Main process exited, code=killed, status=6/ABRT')), 'the stopped agent was not aborted');
  await eventually(async () => (await show('pkgwatch.service', 'ActiveState')) === 'active', 'the agent to be active again');
});

test('systemctl stop ends the agent on SIGTERM, without the SIGKILL of TimeoutStopSec', async (t) => {
  if (skipIfDown(t)) return;
  const id = await show('pkgwatch.service', 'InvocationID');
  const mark = await cursor();
  const started = Date.now();
  ok(await inside(['systemctl', 'stop', 'pkgwatch']), 'systemctl stop pkgwatch');
  // Measured and reported, not asserted: the unit's TimeoutStopSec=10 is the hard bound.
  t.diagnostic(`systemctl stop pkgwatch took ${Date.now() - started} ms (the agent's 5 s claim; SIGKILL would come at 10 s)`);
  assert.equal(await show('pkgwatch.service', 'Result'), 'success');
  assert.equal(await show('pkgwatch.service', 'ExecMainCode'), '1', 'the agent did not exit by itself');
  assert.equal(await show('pkgwatch.service', 'ExecMainStatus'), '0');
  const agent = (await journal(`_SYSTEMD_INVOCATION_ID=${id}`)).map(message);
  assert.ok(agent.includes('agent stopping'), agent.join('\n'));
  const unit = (await journal(`--after-cursor=${mark}`, '-u', 'pkgwatch.service')).map(message);
  assert.ok(!unit.some((m) => /timed out|Killing|SIGKILL/.test(m)), unit.join('\n'));
});
