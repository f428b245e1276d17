// What ships in systemd/: the unit's hardening score and syntax (systemd-analyze), the sysusers and tmpfiles entries, and a dpkg hook that can never fail a dpkg run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { REPO_ROOT, runProcess, type CliResult } from '../helpers/cli.js';
import { findProgram, isExecutable, needProgram, output, unitSection } from '../helpers/systemd.js';

const UNIT = `${REPO_ROOT}systemd/pkgwatch.service`;
const HOOK = `${REPO_ROOT}systemd/pkgwatch-dpkg.cfg`;
const SYSUSERS = `${REPO_ROOT}systemd/pkgwatch.sysusers`;
const TMPFILES = `${REPO_ROOT}systemd/pkgwatch.tmpfiles`;
/** The ceiling for `systemd-analyze security`'s overall exposure (0 = locked down, 10 = unprotected). */
const MAX_EXPOSURE = 2.5;
/** The paths the hook names, which the tests point elsewhere. */
const INSTALL_DIR = '/usr/lib/pkgwatch';
const NODE = '/usr/bin/node';
/** English messages from the systemd tools. */
const C_LOCALE = { LC_ALL: 'C' };

// ---------------------------------------------------------------------------------------------
// Helpers

interface Hook {
  readonly name: 'pre-invoke' | 'post-invoke';
  /** The command dpkg passes to `sh -c` (the value without its surrounding quotes). */
  readonly command: string;
}

/** The hook file's settings, as dpkg reads them; fails on any line that is not a hook. */
function readHooks(): Hook[] {
  const hooks: Hook[] = [];
  readFileSync(HOOK, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const m = /^(pre-invoke|post-invoke)="(.*)"$/.exec(line);
      assert.ok(m?.[1] !== undefined && m[2] !== undefined, `${HOOK}:${i + 1}: expected pre-invoke="..." or post-invoke="...", found: ${line}`);
      hooks.push({ name: m[1] as Hook['name'], command: m[2] });
    });
  return hooks;
}

function hookCommand(name: Hook['name']): string {
  const found = readHooks().filter((h) => h.name === name);
  assert.equal(found.length, 1, `${HOOK}: expected exactly one ${name} line`);
  return (found[0] as Hook).command;
}

/** A stand-in for dist/cli/main.js (CommonJS: no package.json beside it). */
async function fakeInstall(dir: string, mainJs: string): Promise<void> {
  await mkdir(join(dir, 'dist/cli'), { recursive: true });
  await writeFile(join(dir, 'dist/cli/main.js'), mainJs);
}

/** Appends its arguments and dpkg's hook action, one line per call, to `log`. */
function recorder(log: string): string {
  return `require('node:fs').appendFileSync(${JSON.stringify(log)}, process.argv.slice(2).join(' ') + ' (' + (process.env.DPKG_HOOK_ACTION ?? 'no action') + ')\\n');\n`;
}

const BROKEN = "throw new Error('a broken pkgwatch');\n";

/** Runs a hook command as dpkg does (`sh -c`), with the install dir and node pointed elsewhere. */
function runHook(command: string, installDir: string, node = process.execPath, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const cmd = command.replaceAll(INSTALL_DIR, installDir).replaceAll(NODE, node);
  return runProcess('/bin/sh', ['-c', cmd], { env });
}

async function withTmp(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-systemd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The unit

test(`the unit's systemd-analyze security exposure is ${MAX_EXPOSURE} or lower`, async (t) => {
  const analyze = needProgram(t, 'systemd-analyze', 'systemd');
  if (analyze === null) return;
  const r = await runProcess(analyze, ['security', '--offline=true', '--no-pager', UNIT], { env: C_LOCALE });
  assert.equal(r.code, 0, output(r));
  const m = /Overall exposure level for pkgwatch\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
  assert.ok(m?.[1] !== undefined, `no "Overall exposure level" line:\n${output(r)}`);
  const exposure = Number(m[1]);
  t.diagnostic(`overall exposure ${exposure}`);
  const exposed = r.stdout.split('\n').filter((l) => /^\s*✗/.test(l));
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}; exposed:\n${exposed.join('\n')}`);
  // The same parser as `verify`: an unknown or misspelt key is only a warning, and scores as absent.
  assert.doesNotMatch(r.stderr, /pkgwatch\.service/, output(r));
});

test('systemd-analyze verify accepts the unit', async (t) => {
  const analyze = needProgram(t, 'systemd-analyze', 'systemd');
  if (analyze === null) return;
  let unit = UNIT;
  if (!isExecutable(NODE)) {
    // verify checks that ExecStart's program exists; judge the rest of the unit with this node.
    const dir = await withTmp(t);
    unit = join(dir, 'pkgwatch.service');
    await writeFile(unit, (await readFile(UNIT, 'utf8')).replaceAll(`ExecStart=${NODE} `, `ExecStart=${process.execPath} `));
    t.diagnostic(`${NODE} is absent here: verifying a copy whose ExecStart runs ${process.execPath}`);
  }
  // --man=no: Documentation= names pkgwatch(8), which the package installs, not a checkout.
  const r = await runProcess(analyze, ['verify', '--man=no', unit], { env: C_LOCALE });
  if (r.code !== 0 && /not been booted with systemd|Failed to connect to bus|Failed to initialize manager/i.test(r.stderr)) {
    // Not seen with systemd 252 (verify runs its own manager in test mode), but older ones may need PID 1.
    t.skip(`systemd-analyze verify needs a running systemd here: ${r.stderr.trim()}`);
    return;
  }
  assert.equal(r.code, 0, output(r));
  // Warnings (an unknown key, a bad value) do not change the exit code.
  const ours = r.stderr.split('\n').filter((l) => l.includes('pkgwatch'));
  assert.deepEqual(ours, [], output(r));
});

test('the unit keeps what the agent needs, whatever would lower the score', () => {
  const service = unitSection(UNIT, 'Service');
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  for (const [key, values] of service) {
    // systemd has no trailing comments: `Key=value # why` would put "# why" into the value.
    for (const v of values) assert.doesNotMatch(v, /\s#/, `${key}=${v}: a comment must be on its own line`);
  }
  assert.equal(one('Type'), 'notify');
  assert.equal(one('NotifyAccess'), 'all', 'systemd-notify is a child process, not the main PID');
  assert.equal(one('WatchdogSec'), '60');
  // The young-generation flag must be on the command line: set at run time it comes too late.
  assert.equal(one('ExecStart'), `${NODE} --max-semi-space-size=1 ${INSTALL_DIR}/dist/cli/main.js agent`);
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one('TimeoutStopSec'), '10');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('User'), 'pkgwatch');
  assert.equal(one('StateDirectory'), 'pkgwatch', 'the default state_dir, /var/lib/pkgwatch, must be writable');
  assert.equal(one('CapabilityBoundingSet'), 'CAP_DAC_READ_SEARCH');
  assert.equal(one('AmbientCapabilities'), 'CAP_DAC_READ_SEARCH', 'the agent must read every file');
  assert.equal(one('SystemCallErrorNumber'), 'EPERM', 'a filtered call must fail, not kill node (V8 probes pkey_alloc)');
  assert.ok(one('RestrictAddressFamilies')?.split(/\s+/).includes('AF_UNIX'), 'systemd-notify needs AF_UNIX');
  // The filter lines in order: an allow list, then `~` removals, then additions (as systemd merges them).
  const filters = service.get('SystemCallFilter') ?? [];
  assert.ok(filters.length > 0 && !(filters[0] ?? '').startsWith('~'), 'SystemCallFilter= must start with an allow list');
  const readded = new Set(filters.slice(1).filter((f) => !f.startsWith('~')).flatMap((f) => f.split(/\s+/)));
  for (const call of ['setpriority', 'ioprio_set']) {
    assert.ok(readded.has(call), `${call} must stay allowed after ~@resources: the full check runs under nice and ionice, and ionice fails without it`);
  }
  const forbidden: Record<string, string> = {
    MemoryDenyWriteExecute: "V8's JIT needs writable and executable memory",
    ProtectKernelModules: 'it hides /usr/lib/modules, which the linux-image packages install into',
    ProcSubset: 'ProcSubset=pid hides /proc/locks, where the agent sees dpkg holding its lock',
    ProtectProc: "it hides root's processes, and the agent reads /proc/PID/stat of the dpkg run the hook's marker names",
    PrivateUsers: 'capabilities in a user namespace do not reach files of unmapped owners',
    PrivateNetwork: 'alerts need the network',
    DynamicUser: 'the state and the dpkg hook need a static user',
  };
  for (const [key, why] of Object.entries(forbidden)) {
    const v = one(key);
    assert.ok(v === undefined || /^(no|false|off|0|all|default)$/.test(v), `${key}=${String(v)}: ${why}`);
  }
});

test('sysusers creates the pkgwatch system user, tmpfiles its state directory and outbox, as the unit expects', async (t) => {
  const sysusers = needProgram(t, 'systemd-sysusers', 'systemd');
  const tmpfiles = sysusers === null ? null : needProgram(t, 'systemd-tmpfiles', 'systemd');
  if (sysusers === null || tmpfiles === null) return;
  const service = unitSection(UNIT, 'Service');
  const root = await withTmp(t);
  await mkdir(join(root, 'etc'));
  // An empty root: the machine's own users are not touched.
  const su = await runProcess(sysusers, [`--root=${root}`, SYSUSERS], { env: C_LOCALE });
  assert.equal(su.code, 0, output(su));
  const passwd = (await readFile(join(root, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith('pkgwatch:'));
  assert.ok(passwd !== undefined, `no pkgwatch user:\n${output(su)}`);
  const [, , uid, gid, , home, shell] = passwd.split(':');
  assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, found ${String(uid)}`);
  assert.equal(home, '/var/lib/pkgwatch');
  assert.equal(shell, '/usr/sbin/nologin');
  assert.equal(service.get('User')?.at(-1), 'pkgwatch');
  assert.equal(service.get('Group')?.at(-1), 'pkgwatch');
  if (process.getuid?.() !== 0) {
    t.diagnostic('not root: the state directory (chown to pkgwatch) is not created');
    return;
  }
  const tf = await runProcess(tmpfiles, [`--root=${root}`, '--create', TMPFILES], { env: C_LOCALE });
  assert.equal(tf.code, 0, output(tf));
  const st = await stat(join(root, 'var/lib/pkgwatch'));
  assert.ok(st.isDirectory());
  assert.equal(st.uid, Number(uid));
  assert.equal(st.gid, Number(gid));
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  assert.equal(mode, service.get('StateDirectoryMode')?.at(-1), 'tmpfiles and StateDirectoryMode= must agree, or each start would flip the mode');
  // The outbox `pkgwatch online` (root) queues into exists from the start, the agent's, 0700.
  const outbox = await stat(join(root, 'var/lib/pkgwatch/outbox'));
  assert.deepEqual([outbox.isDirectory(), outbox.uid, outbox.gid, outbox.mode & 0o7777], [true, Number(uid), Number(gid), 0o700]);
});

// ---------------------------------------------------------------------------------------------
// The dpkg hook

test('the dpkg hook has one pre-invoke and one post-invoke, each notifying and ending with || true', () => {
  const hooks = readHooks();
  assert.deepEqual(hooks.map((h) => h.name).sort(), ['post-invoke', 'pre-invoke']);
  for (const h of hooks) {
    assert.match(h.command, /\|\| true$/, `${h.name}: dpkg aborts its run when a hook fails`);
    assert.ok(h.command.includes(`[ -f ${INSTALL_DIR}/dist/cli/main.js ]`), `${h.name}: must do nothing when pkgwatch is not installed`);
    assert.ok(h.command.includes(`[ -x ${NODE} ]`), `${h.name}: must do nothing when node is not installed`);
  }
  assert.match(hookCommand('pre-invoke'), /notify dpkg-start \|\| true$/);
  assert.match(hookCommand('post-invoke'), /notify dpkg-end \|\| true$/);
});

test('the dpkg hook succeeds, silently, without /usr/lib/pkgwatch and without node', async (t) => {
  const dir = await withTmp(t);
  for (const h of readHooks()) {
    const absent = await runHook(h.command, join(dir, 'absent'));
    assert.equal(absent.code, 0, `${h.name} without ${INSTALL_DIR}: ${output(absent)}`);
    assert.equal(absent.stdout + absent.stderr, '');
    await fakeInstall(join(dir, 'installed'), BROKEN);
    const noNode = await runHook(h.command, join(dir, 'installed'), join(dir, 'no-node'));
    assert.equal(noNode.code, 0, `${h.name} without node: ${output(noNode)}`);
    assert.equal(noNode.stdout + noNode.stderr, '');
  }
});

test('the dpkg hook runs pkgwatch notify, and succeeds when pkgwatch fails', async (t) => {
  const dir = await withTmp(t);
  const log = join(dir, 'calls');
  await fakeInstall(join(dir, 'recording'), recorder(log));
  await fakeInstall(join(dir, 'broken'), BROKEN);
  for (const [name, event] of [['pre-invoke', 'dpkg-start'], ['post-invoke', 'dpkg-end']] as const) {
    const ok = await runHook(hookCommand(name), join(dir, 'recording'));
    assert.equal(ok.code, 0, output(ok));
    const broken = await runHook(hookCommand(name), join(dir, 'broken'));
    assert.equal(broken.code, 0, `${name} with a broken pkgwatch: ${output(broken)}`);
    assert.match(broken.stderr, /a broken pkgwatch/, 'the error still shows in dpkg output');
    assert.equal((await readFile(log, 'utf8')).trim().split('\n').at(-1), `notify ${event} (no action)`);
  }
});

test('the dpkg hook does nothing for a dpkg run on another root (dpkg --root sets DPKG_ROOT)', async (t) => {
  const dir = await withTmp(t);
  const log = join(dir, 'calls');
  await fakeInstall(join(dir, 'recording'), recorder(log));
  for (const h of readHooks()) {
    const other = await runHook(h.command, join(dir, 'recording'), process.execPath, { DPKG_ROOT: join(dir, 'chroot'), DPKG_HOOK_ACTION: 'install' });
    assert.equal(other.code, 0, `${h.name} on another root: ${output(other)}`);
    assert.equal(other.stdout + other.stderr, '');
    // dpkg on this system sets DPKG_ROOT too, empty.
    const here = await runHook(h.command, join(dir, 'recording'), process.execPath, { DPKG_ROOT: '', DPKG_HOOK_ACTION: 'install' });
    assert.equal(here.code, 0, `${h.name}: ${output(here)}`);
  }
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), ['notify dpkg-start (install)', 'notify dpkg-end (install)']);
});

/** Pids of the processes whose command line mentions `text`. */
async function processesWith(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(name));
  }
  return pids;
}

test('the dpkg hook gives up on a pkgwatch that hangs, even one that ignores SIGTERM', async (t) => {
  const dir = await withTmp(t);
  await fakeInstall(dir, "process.on('SIGTERM', () => {});\nsetInterval(() => {}, 1000);\n");
  for (const h of readHooks()) {
    const timeout = /\/usr\/bin\/timeout -k \d+ \d+ /;
    assert.match(h.command, timeout, `${h.name}: a hung pkgwatch must not hold dpkg up`);
    // The same command with a 1 s limit (and SIGKILL 1 s later) instead of 30 s. A hook that waited
    // for the fake would be killed by runHook's safety net: exit code null, not 0.
    const r = await runHook(h.command.replace(timeout, '/usr/bin/timeout -k 1 1 '), dir);
    assert.deepEqual([r.code, r.signal], [0, null], `${h.name}: ${output(r)}`);
    assert.deepEqual(await processesWith(join(dir, 'dist/cli/main.js')), [], `${h.name}: the hung pkgwatch is gone`);
  }
});

test('real dpkg reads the hook file and its runs succeed with pkgwatch absent, working or broken', async (t) => {
  // dpkg reads hooks only from /etc/dpkg/dpkg.cfg.d, and the hook names /usr/lib/pkgwatch: both are
  // replaced in a private mount namespace, so neither the machine's dpkg configuration nor an
  // installed pkgwatch is touched (/usr/lib gets an overlay whose upper layer is a temp dir, so that
  // the mount point can be made without writing to the machine's /usr/lib). dpkg runs on an empty
  // database of its own.
  if (process.getuid?.() !== 0) {
    t.skip('needs root (a mount namespace, and dpkg takes its lock)');
    return;
  }
  const unshare = findProgram('unshare');
  const dpkg = findProgram('dpkg');
  if (unshare === null || dpkg === null || !existsSync('/etc/dpkg/dpkg.cfg.d')) {
    t.skip('needs dpkg, /etc/dpkg/dpkg.cfg.d and unshare (util-linux)');
    return;
  }
  const probe = await runProcess(unshare, ['--mount', '--propagation', 'private', 'true']);
  if (probe.code !== 0) {
    t.skip(`no mount namespaces here: ${probe.stderr.trim()}`);
    return;
  }
  const dir = await withTmp(t);
  const cfg = join(dir, 'dpkg.cfg.d');
  const admin = join(dir, 'admin');
  const log = join(dir, 'calls');
  await mkdir(cfg);
  await writeFile(join(cfg, 'pkgwatch'), await readFile(HOOK));
  for (const sub of ['updates', 'info', 'triggers']) await mkdir(join(admin, sub), { recursive: true });
  await writeFile(join(admin, 'status'), '');
  await writeFile(join(admin, 'available'), '');
  await fakeInstall(join(dir, 'recording'), recorder(log));
  await fakeInstall(join(dir, 'broken'), BROKEN);
  const upper = join(dir, 'usr-lib-upper');
  const work = join(dir, 'usr-lib-work');
  await mkdir(upper);
  await mkdir(work);
  // $1: the cfg dir, $2: what to mount at /usr/lib/pkgwatch ('' for an empty dir), then dpkg's arguments.
  const script = [
    'set -e',
    'mount --bind "$1" /etc/dpkg/dpkg.cfg.d',
    `mount -t overlay pkgwatch-test -o lowerdir=/usr/lib,upperdir=${upper},workdir=${work} /usr/lib`,
    `mkdir -p ${INSTALL_DIR}`,
    `if [ -n "$2" ]; then mount --bind "$2" ${INSTALL_DIR}; else mount -t tmpfs pkgwatch-test ${INSTALL_DIR}; fi`,
    'shift 2',
    'exec "$@"',
  ].join('\n');
  const runDpkg = (install: string): Promise<CliResult> =>
    runProcess(unshare, ['--mount', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', cfg, install, dpkg, `--admindir=${admin}`, '--log=/dev/null', '--configure', '--pending']);

  const absent = await runDpkg('');
  assert.equal(absent.code, 0, `without ${INSTALL_DIR}: ${output(absent)}`);
  if (!isExecutable(NODE)) {
    t.diagnostic(`${NODE} is absent: the hook did nothing; a working and a broken pkgwatch are not tried`);
    return;
  }
  const recording = await runDpkg(join(dir, 'recording'));
  assert.equal(recording.code, 0, output(recording));
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), ['notify dpkg-start (configure)', 'notify dpkg-end (configure)']);
  const broken = await runDpkg(join(dir, 'broken'));
  assert.equal(broken.code, 0, `with a broken pkgwatch: ${output(broken)}`);
  assert.match(broken.stderr, /a broken pkgwatch/);
});
