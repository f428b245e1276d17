// The offline actions on real files and real processes: the flag file, commands (exit codes, output, timeouts), systemctl calls, and the order of the steps.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ActionOutcome } from '../../src/alerts/sink.js';
import { runProcess } from '../helpers/cli.js';
import { needProgram } from '../helpers/systemd.js';
import { timedWhenReady, uniqueSleep, waitNoProcessWith } from '../helpers/wait.js';
import { ACTION_NAMES, bringOnline, describeActions, takeOffline, type OfflineConfig, type RespondContext } from '../../src/respond/actions.js';

const CTX: RespondContext = { since: '2026-01-02T03:04:05.000Z', reason: 'changed: /usr/share/my-app/app.py (my-app)' };
// Empty: the web server only tests that it exists, and its user could read anything written there.
const FLAG_TEXT = '';

async function tmp(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-respond-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function config(over: Partial<OfflineConfig>): OfflineConfig {
  return { flagFile: '', stopUnits: [], command: [], restoreCommand: [], commandTimeoutMs: 30_000, ...over };
}

/** The single outcome of a run that must have exactly one. */
function only(outcomes: readonly ActionOutcome[]): ActionOutcome {
  assert.equal(outcomes.length, 1, JSON.stringify(outcomes));
  return outcomes[0] as ActionOutcome;
}

/** Runs `fn` under the agent service's UMask (0077). */
async function withUmask<T>(fn: () => Promise<T>): Promise<T> {
  const old = process.umask(0o077);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

// ---------------------------------------------------------------------------------------------
// The flag file

test('the flag file is created empty with mode 0644 despite a umask of 0077', async (t) => {
  const flagFile = join(await tmp(t), 'maintenance.on');
  const o = only(await withUmask(() => takeOffline(config({ flagFile }), CTX)));
  assert.deepEqual(o, { action: 'flag_file', target: flagFile, ok: true, detail: 'created' });
  assert.equal(await readFile(flagFile, 'utf8'), FLAG_TEXT);
  assert.equal((await stat(flagFile)).mode & 0o7777, 0o644);
});

test('a flag file already present is emptied and made 0644', async (t) => {
  const flagFile = join(await tmp(t), 'maintenance.on');
  await writeFile(flagFile, 'an older line saying why: changed: /srv/app/main.py\n', { mode: 0o600 });
  const o = only(await withUmask(() => takeOffline(config({ flagFile }), CTX)));
  assert.equal(o.ok, true, o.detail);
  assert.match(o.detail, /^already present/);
  assert.equal(await readFile(flagFile, 'utf8'), FLAG_TEXT);
  assert.equal((await stat(flagFile)).mode & 0o7777, 0o644);
});

test('the reason and the finding paths never reach the flag file, which the web server can read', async (t) => {
  const flagFile = join(await tmp(t), 'maintenance.on');
  only(await takeOffline(config({ flagFile }), { ...CTX, reason: 'changed: /srv/a\nb\x1b[2J' }));
  assert.equal(await readFile(flagFile, 'utf8'), '');
});

test('a missing parent directory fails with what to do', async (t) => {
  const dir = join(await tmp(t), 'no-such-dir');
  const flagFile = join(dir, 'maintenance.on');
  const o = only(await takeOffline(config({ flagFile }), CTX));
  assert.equal(o.action, 'flag_file');
  assert.equal(o.ok, false);
  assert.equal(o.detail, `cannot create the flag file ${flagFile}: the directory ${dir} does not exist: create the directory or set [offline] flag_file`);
});

test('a symbolic link at the flag path fails, and neither the link nor its target is touched', async (t) => {
  const dir = await tmp(t);
  const target = join(dir, 'precious');
  await writeFile(target, 'precious\n', { mode: 0o600 });
  const flagFile = join(dir, 'maintenance.on');
  await symlink(target, flagFile);
  const o = only(await takeOffline(config({ flagFile }), CTX));
  assert.equal(o.ok, false);
  assert.match(o.detail, /is a symbolic link; pkgwatch does not follow links there: remove the link \(rm .*\) or set \[offline\] flag_file$/);
  assert.equal(await readFile(target, 'utf8'), 'precious\n');
  assert.equal((await stat(target)).mode & 0o7777, 0o600);
  assert.equal(await readlink(flagFile), target);

  // A dangling link is not followed either: nothing is created where it points.
  const nowhere = join(dir, 'nowhere');
  const dangling = join(dir, 'dangling.on');
  await symlink(nowhere, dangling);
  assert.equal(only(await takeOffline(config({ flagFile: dangling }), CTX)).ok, false);
  await assert.rejects(lstat(nowhere), { code: 'ENOENT' });
});

test('a flag path with another hard link is not written through', async (t) => {
  const dir = await tmp(t);
  const other = join(dir, 'other');
  await writeFile(other, 'other\n', { mode: 0o600 });
  const flagFile = join(dir, 'maintenance.on');
  await link(other, flagFile);
  const o = only(await takeOffline(config({ flagFile }), CTX));
  assert.equal(o.ok, false);
  assert.match(o.detail, /has 2 hard links/);
  assert.equal(await readFile(other, 'utf8'), 'other\n');
  assert.equal((await stat(other)).mode & 0o7777, 0o600);
});

test('a directory that may not be written fails with the user and what to do', async (t) => {
  const dir = await tmp(t);
  await chmod(dir, 0o755);
  const locked = join(dir, 'locked');
  await mkdir(locked, { mode: 0o555 });
  const flagFile = join(locked, 'maintenance.on');
  let o: ActionOutcome;
  if (process.getuid?.() === 0) {
    // Root writes anywhere: the same call runs as `nobody` in a child process.
    const module = new URL('../../src/respond/actions.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then(async (m) => console.log(JSON.stringify(await m.takeOffline(${JSON.stringify(config({ flagFile }))}, ${JSON.stringify(CTX)}))))`;
    const r = await runProcess(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/' });
    assert.equal(r.code, 0, r.stderr);
    o = only(JSON.parse(r.stdout) as ActionOutcome[]);
  } else {
    o = only(await takeOffline(config({ flagFile }), CTX));
  }
  assert.equal(o.ok, false);
  assert.match(o.detail, /^cannot create the flag file .*: EACCES: permission denied \(running as (user|uid) .+\): make .*\/locked writable for it or set \[offline\] flag_file$/);
  await assert.rejects(lstat(flagFile), { code: 'ENOENT' });
});

test('the flag file is removed; one that is absent is fine', async (t) => {
  const flagFile = join(await tmp(t), 'maintenance.on');
  await takeOffline(config({ flagFile }), CTX);
  assert.deepEqual(only(await bringOnline(config({ flagFile }), CTX)), { action: 'remove_flag_file', target: flagFile, ok: true, detail: 'removed' });
  await assert.rejects(stat(flagFile), { code: 'ENOENT' });
  assert.deepEqual(only(await bringOnline(config({ flagFile }), CTX)), { action: 'remove_flag_file', target: flagFile, ok: true, detail: 'was not present' });
});

// ---------------------------------------------------------------------------------------------
// Commands

test('a command that exits 0', async () => {
  const o = only(await takeOffline(config({ command: ['sh', '-c', 'echo stopping the app'] }), CTX));
  assert.deepEqual(o, { action: 'command', target: "sh -c 'echo stopping the app'", ok: true, detail: 'exit 0' });
});

test('a command that exits 3 fails with the end of its output', async () => {
  const o = only(await takeOffline(config({ command: ['sh', '-c', 'echo first line; echo "app: ERROR (no such process)" >&2; exit 3'] }), CTX));
  assert.equal(o.ok, false);
  assert.equal(o.detail, 'exit 3: first line\\napp: ERROR (no such process)');
  const silent = only(await takeOffline(config({ command: ['false'] }), CTX));
  assert.equal(silent.detail, 'exit 1 (no output)');
});

test('a command that does not exist fails with ENOENT and the PATH searched', async () => {
  const env = { ...process.env, PATH: '/usr/bin:/bin' };
  const o = only(await takeOffline(config({ command: ['pkgwatch-no-such-command', 'stop'] }), { ...CTX, env }));
  assert.deepEqual(o, {
    action: 'command',
    target: 'pkgwatch-no-such-command stop',
    ok: false,
    detail: 'cannot run pkgwatch-no-such-command: ENOENT (not found in PATH /usr/bin:/bin)',
  });
  const abs = only(await takeOffline(config({ command: ['/nonexistent/bin/stop-app'] }), CTX));
  assert.equal(abs.detail, 'cannot run /nonexistent/bin/stop-app: ENOENT (no such file)');
});

test('a command that cannot even be spawned is an outcome, not a throw', async () => {
  for (const command of [[''], ['sh\0', '-c', 'true']]) {
    const o = only(await takeOffline(config({ command }), CTX));
    assert.equal(o.ok, false, o.detail);
    assert.match(o.detail, /^cannot run/);
  }
});

test('a `sleep` that outlives command_timeout is killed by SIGTERM', async () => {
  // sleep is running once spawn returns (it waits for the exec), so the timeout cannot come too early.
  const seconds = uniqueSleep();
  const o = only(await takeOffline(config({ command: ['sleep', seconds], commandTimeoutMs: 300 }), CTX));
  assert.deepEqual(o, { action: 'command', target: `sleep ${seconds}`, ok: false, detail: 'killed by SIGTERM after timeout 300 ms (no output)' });
  await waitNoProcessWith(seconds);
});

test('a timeout kills the children the command started too', async (t) => {
  const dir = await tmp(t);
  const seconds = uniqueSleep();
  // Only a timeout that fires after both children were started tests this (`ready` says they were).
  const { result: o } = await timedWhenReady(t, 300, async (timeoutMs) => {
    const ready = join(dir, `ready-${timeoutMs}`);
    const o = only(await takeOffline(config({ command: ['sh', '-c', `sleep ${seconds} & sleep ${seconds} & : > ${ready}; wait`], commandTimeoutMs: timeoutMs }), CTX));
    await waitNoProcessWith(seconds);
    return { ready: existsSync(ready), result: o };
  });
  assert.match(o.detail, /^killed by SIGTERM after timeout /);
});

test('a command that ignores SIGTERM is killed with SIGKILL after the grace time', async (t) => {
  const dir = await tmp(t);
  const seconds = uniqueSleep();
  // The ignored SIGTERM is inherited through exec. Only a timeout that fires after sh set the trap
  // tests this (`ready` says it did); before it, SIGTERM ends sh at once.
  const { timeoutMs, result: o } = await timedWhenReady(t, 1000, async (timeoutMs) => {
    const ready = join(dir, `ready-${timeoutMs}`);
    const o = only(await takeOffline(config({ command: ['sh', '-c', `trap '' TERM; : > ${ready}; exec sleep ${seconds}`], commandTimeoutMs: timeoutMs }), { ...CTX, killGraceMs: 300 }));
    await waitNoProcessWith(seconds);
    return { ready: existsSync(ready), result: o };
  });
  assert.equal(o.detail, `killed by SIGKILL after timeout ${timeoutMs / 1000} s (no output)`);
});

test('control characters in the output are escaped, and long output is cut to its end', async () => {
  const noisy = "process.stdout.write('\\x1b[31mred\\x07\\r\\n\\tend\\u2028\\u0085'); process.exit(2)";
  const o = only(await takeOffline(config({ command: [process.execPath, '-e', noisy] }), CTX));
  assert.equal(o.detail, 'exit 2: \\x1b[31mred\\x07\\r\\n\\tend\\u2028\\u0085');
  const control = [...o.detail].filter((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
  });
  assert.deepEqual(control, []);

  const long = "process.stdout.write('x'.repeat(10000) + 'THE END'); process.exit(1)";
  const cut = only(await takeOffline(config({ command: [process.execPath, '-e', long] }), CTX));
  assert.ok(cut.detail.length <= 520, `${cut.detail.length} characters`);
  assert.match(cut.detail, /^exit 1: \.\.\.x+THE END$/);
});

// ---------------------------------------------------------------------------------------------
// Units, order, selection

/**
 * A stand-in for systemctl: the real one cannot run here (no systemd as PID 1 in the test
 * container). It logs its arguments and fails for units named fail*.
 */
async function fakeSystemctl(dir: string): Promise<{ program: string; log: string }> {
  const program = join(dir, 'systemctl');
  const log = join(dir, 'systemctl.log');
  await writeFile(
    program,
    [
      '#!/bin/sh',
      `echo "$*" >> '${log}'`,
      'case "$3" in fail*) echo "Failed to $1 $3: Unit $3 not loaded." >&2; exit 5;; esac',
      'exit 0',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { program, log };
}

test('offline: flag, then each unit in order, then the command; online: units in reverse, restore, flag last', async (t) => {
  const dir = await tmp(t);
  const { program, log } = await fakeSystemctl(dir);
  const flagFile = join(dir, 'maintenance.on');
  const cfg = config({
    flagFile,
    stopUnits: ['web.service', 'fail-worker.service', 'db.service'],
    // Both commands see the flag: it is created first and removed last.
    command: ['sh', '-c', `test -f ${flagFile}`],
    restoreCommand: ['sh', '-c', `test -f ${flagFile}`],
  });
  const ctx = { ...CTX, systemctl: program };

  const down = await takeOffline(cfg, ctx);
  assert.deepEqual(
    down.map((o) => [o.action, o.target, o.ok]),
    [
      ['flag_file', flagFile, true],
      ['stop_unit', 'web.service', true],
      ['stop_unit', 'fail-worker.service', false],
      ['stop_unit', 'db.service', true],
      ['command', `sh -c 'test -f ${flagFile}'`, true],
    ],
  );
  assert.equal(down[1]?.detail, 'stopped');
  assert.equal(down[2]?.detail, 'exit 5: Failed to stop fail-worker.service: Unit fail-worker.service not loaded.');

  const up = await bringOnline(cfg, ctx);
  assert.deepEqual(
    up.map((o) => [o.action, o.target, o.ok]),
    [
      ['start_unit', 'db.service', true],
      ['start_unit', 'fail-worker.service', false],
      ['start_unit', 'web.service', true],
      ['restore_command', `sh -c 'test -f ${flagFile}'`, true],
      ['remove_flag_file', flagFile, true],
    ],
  );
  assert.equal(up[0]?.detail, 'started');
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [
    'stop -- web.service',
    'stop -- fail-worker.service',
    'stop -- db.service',
    'start -- db.service',
    'start -- fail-worker.service',
    'start -- web.service',
  ]);
});

test('`only` runs just the named actions; nothing configured is no outcome', async (t) => {
  const dir = await tmp(t);
  const { program, log } = await fakeSystemctl(dir);
  const flagFile = join(dir, 'maintenance.on');
  const cfg = config({ flagFile, stopUnits: ['web.service'], command: ['true'], restoreCommand: ['true'] });
  const ctx = { ...CTX, systemctl: program };
  assert.deepEqual(ACTION_NAMES, ['flag_file', 'stop_units', 'command']);
  assert.deepEqual((await takeOffline(cfg, ctx, ['flag_file'])).map((o) => o.action), ['flag_file']);
  await assert.rejects(stat(log), { code: 'ENOENT' });
  assert.deepEqual((await takeOffline(cfg, ctx, ['stop_units', 'command'])).map((o) => o.action), ['stop_unit', 'command']);
  assert.deepEqual((await bringOnline(cfg, ctx, ['command', 'stop_units'])).map((o) => o.action), ['start_unit', 'restore_command']);
  assert.deepEqual(await takeOffline(config({}), ctx), []);
  assert.deepEqual(await bringOnline(config({}), ctx), []);
  // A restore command alone: nothing to do going offline.
  assert.deepEqual(await takeOffline(config({ restoreCommand: ['true'] }), ctx), []);
});

test('a missing systemctl program is a failed outcome per unit', async () => {
  const cfg = config({ stopUnits: ['a.service', 'b.service'] });
  const down = await takeOffline(cfg, { ...CTX, systemctl: '/nonexistent/systemctl' });
  assert.deepEqual(
    down.map((o) => [o.target, o.ok, o.detail]),
    [
      ['a.service', false, 'cannot run /nonexistent/systemctl: ENOENT (no such file)'],
      ['b.service', false, 'cannot run /nonexistent/systemctl: ENOENT (no such file)'],
    ],
  );
});

test('the real systemctl gives a failed outcome with its error, never a throw', async (t) => {
  // CI installs systemd; elsewhere a missing systemctl skips this.
  const systemctl = needProgram(t, 'systemctl', 'systemd');
  if (systemctl === null) return;
  // A unit that exists nowhere: stopping it fails with systemd as PID 1 ("not loaded") and without
  // it ("System has not been booted with systemd").
  const o = only(await takeOffline(config({ stopUnits: ['pkgwatch-test-no-such-unit.service'] }), { ...CTX, systemctl }));
  t.diagnostic(o.detail);
  assert.equal(o.action, 'stop_unit');
  assert.equal(o.ok, false);
  assert.match(o.detail, /^exit \d+: \S/);
});

test('describeActions lists each configured step, offline then online', () => {
  const cfg = config({
    flagFile: '/var/lib/pkgwatch/maintenance.on',
    stopUnits: ['web.service', 'worker.service'],
    command: ['supervisorctl', 'stop', 'all'],
    restoreCommand: ['supervisorctl', 'start', 'my app'],
    commandTimeoutMs: 60_000,
  });
  assert.deepEqual(describeActions(cfg), [
    'offline: create the flag file /var/lib/pkgwatch/maintenance.on (the web server answers 503 while it exists)',
    'offline: systemctl stop web.service',
    'offline: systemctl stop worker.service',
    'offline: run supervisorctl stop all (killed after 60 s)',
    'online: systemctl start worker.service',
    'online: systemctl start web.service',
    "online: run supervisorctl start 'my app' (killed after 60 s)",
    'online: remove the flag file /var/lib/pkgwatch/maintenance.on',
  ]);
  assert.deepEqual(describeActions(config({})), []);
});
