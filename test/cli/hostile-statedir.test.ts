// Root's commands (notify, online, status, offline-helper) against a state dir the agent's user
// (played by nobody) controls: a symbolic or hard link planted at every name root reads, writes or
// changes there must not make root change, or print, anything outside the state dir.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AgentStatus } from '../../src/agent/statusfile.js';
import type { OfflineRecord } from '../../src/respond/offlinestate.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const NOBODY = 65534;
const NOGROUP = 65534;
const SECRET = 'SECRET-of-root-7f3a9c\n';
const AS_ROOT = process.getuid?.() === 0 ? false : 'needs root: the commands under test run as root';

/** A test's world: root-owned stand-ins outside the state dir, the agent's state dir, root's config. */
interface World {
  readonly outside: string;
  /** A root-owned 0600 file standing in for /etc/shadow. */
  readonly secret: string;
  /** A root-owned 0755 directory standing in for /etc. */
  readonly dir: string;
  readonly state: string;
  readonly config: string;
}

function world(t: TestContext): World {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-hostile-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside, { mode: 0o755 });
  const secret = path.join(outside, 'secret');
  fs.writeFileSync(secret, SECRET, { mode: 0o600 });
  const dir = path.join(outside, 'etc');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'kept'), 'kept\n', { mode: 0o644 });
  const state = path.join(base, 'state');
  fs.mkdirSync(state, { mode: 0o711 });
  fs.chmodSync(state, 0o711);
  fs.chownSync(state, NOBODY, NOGROUP);
  const etc = path.join(base, 'etc');
  fs.mkdirSync(etc, { mode: 0o755 });
  const config = path.join(etc, 'pkgwatch.toml');
  // An empty system of its own: the scope (pkgwatch and nodejs are always in it) must not pick up
  // this machine's packages, whose state is not this test's business.
  const root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'var/lib/dpkg/info'), { recursive: true });
  fs.mkdirSync(path.join(root, 'var/lib/dpkg/updates'), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
  const toml = [
    `root = ${JSON.stringify(root)}`,
    `state_dir = ${JSON.stringify(state)}`,
    '[alerts.webhook]',
    'url = "http://127.0.0.1:9/hook"',
    '[offline]',
    `flag_file = ${JSON.stringify(path.join(state, 'maintenance.on'))}`,
    'command = ["true"]',
    '',
  ].join('\n');
  fs.writeFileSync(config, toml, { mode: 0o644 });
  return { outside, secret, dir, state, config };
}

/** Writes a file in the state dir as the agent would: owned by nobody, mode 0600. */
function agentFile(w: World, rel: string, text: string): void {
  const file = path.join(w.state, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let d = path.dirname(file); d !== w.state; d = path.dirname(d)) fs.chownSync(d, NOBODY, NOGROUP);
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chownSync(file, NOBODY, NOGROUP);
}

const NOW = '2024-05-01T12:00:00.000Z';

const OFFLINE: OfflineRecord = {
  version: 1,
  active: true,
  since: NOW,
  reason: 'changed: /srv/app/main.py',
  findings: [],
  request: 'request-1',
  acknowledged: [],
  restored: null,
  alerted: true,
};

const STATUS: AgentStatus = {
  running: false,
  pid: 4_000_000,
  startedAt: NOW,
  updatedAt: NOW,
  configFiles: [],
  root: '/',
  scope: { packages: [], problems: [] },
  findings: [],
  lastRuns: {},
  nextRuns: { scoped: null, full: null },
  watch: { enabled: false, dirs: 0, paths: 0, errors: 0, lastError: null, degraded: false },
  dpkgRunning: false,
  alerts: [
    {
      sink: 'webhook',
      configured: true,
      pending: 0,
      oldest: null,
      delivered: 0,
      lastError: null,
      lastErrorAt: null,
      lastDelivered: null,
      failures: 0,
      nextAttempt: null,
      dropped: 0,
    },
  ],
  offline: { enabled: false, active: true, since: NOW, reason: OFFLINE.reason, confirming: false, restored: null },
};

/** What the agent has written by the time root runs the command: a site taken offline, an alert pending. */
function agentState(w: World): void {
  agentFile(w, 'offline.json', `${JSON.stringify(OFFLINE)}\n`);
  agentFile(w, 'status.json', `${JSON.stringify(STATUS)}\n`);
  agentFile(w, 'maintenance.on', '');
  agentFile(w, 'dpkg-running', `${JSON.stringify({ pid: 4_000_000, since: NOW })}\n`);
  agentFile(w, 'outbox/webhook/.keep', '');
}

/** Every file and folder under `dir`: type, mode, owner, content or link target. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    const head = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out.set(p, `${head} -> ${fs.readlinkSync(p)}`);
    else if (st.isFile()) out.set(p, `${head} ${fs.readFileSync(p, 'latin1')}`);
    else if (st.isDirectory()) {
      out.set(p, head);
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name));
    } else out.set(p, head);
  };
  walk(dir);
  return out;
}

type LinkKind = 'symlink' | 'hardlink';

/** Puts a link at `rel` in the state dir (replacing what is there), owned by nobody as the agent would make it. */
function plant(w: World, rel: string, kind: LinkKind, isDir: boolean): string {
  const at = path.join(w.state, rel);
  fs.rmSync(at, { recursive: true, force: true });
  if (kind === 'symlink') {
    fs.symlinkSync(isDir ? w.dir : w.secret, at);
    fs.lchownSync(at, NOBODY, NOGROUP);
  } else {
    // Root can link a file it owns; the agent's user could where fs.protected_hardlinks is 0.
    fs.linkSync(w.secret, at);
  }
  return at;
}

interface Target {
  readonly rel: string;
  /** A folder name: only a symbolic link can stand there. */
  readonly dir?: boolean;
}

interface RootCommand {
  readonly args: readonly string[];
  /** The exit codes of a run that went through (status: 3 is "the agent is not running"). */
  readonly ok: readonly number[];
  /** Every name in the state dir the command reads, writes, replaces or removes. */
  readonly targets: readonly Target[];
}

const COMMANDS: readonly RootCommand[] = [
  // dpkg-running.tmp: the fixed temp name the marker was once written through.
  { args: ['notify', 'dpkg-start'], ok: [0], targets: [{ rel: 'dpkg-running' }, { rel: 'dpkg-running.tmp' }] },
  { args: ['notify', 'dpkg-end'], ok: [0], targets: [{ rel: 'dpkg-running' }] },
  {
    args: ['online'],
    ok: [0],
    targets: [
      { rel: 'offline.json' },
      { rel: 'offline.json.tmp' },
      { rel: 'state.json' },
      { rel: 'dpkg-running' },
      { rel: 'maintenance.on' },
      { rel: 'outbox', dir: true },
      { rel: 'outbox/webhook', dir: true },
    ],
  },
  {
    args: ['status'],
    ok: [0, 1, 3],
    targets: [{ rel: 'status.json' }, { rel: 'offline.json' }, { rel: 'outbox', dir: true }, { rel: 'outbox/webhook', dir: true }],
  },
  { args: ['offline-helper'], ok: [0], targets: [{ rel: 'offline.json' }, { rel: 'offline-result.json' }, { rel: 'offline-result.json.tmp' }] },
];

function output(r: CliResult): string {
  return `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Files root created in the state dir: each must belong to the agent's user, never to root. */
function rootOwnedIn(w: World): string[] {
  const secretIno = fs.statSync(w.secret).ino;
  const found: string[] = [];
  const walk = (p: string): void => {
    for (const name of fs.readdirSync(p)) {
      const f = path.join(p, name);
      const st = fs.lstatSync(f);
      if (st.uid === 0 && st.ino !== secretIno) found.push(f);
      if (st.isDirectory()) walk(f);
    }
  };
  walk(w.state);
  return found;
}

for (const cmd of COMMANDS) {
  for (const target of cmd.targets) {
    for (const kind of ['symlink', 'hardlink'] as const) {
      if (kind === 'hardlink' && target.dir === true) continue;
      const name = `${cmd.args.join(' ')}: a ${kind} at state/${target.rel} changes nothing outside the state dir`;
      test(name, { skip: AS_ROOT }, async (t) => {
        const w = world(t);
        agentState(w);
        const planted = plant(w, target.rel, kind, target.dir === true);
        const before = snapshot(w.outside);
        const r = await runCli([...cmd.args, '--config', w.config]);
        assert.deepEqual(snapshot(w.outside), before, `something outside the state dir changed\n${output(r)}`);
        assert.ok(!`${r.stdout}${r.stderr}`.includes('SECRET'), `root printed the stand-in's content\n${output(r)}`);
        if (!cmd.ok.includes(r.code ?? -1)) {
          // A refusal: exit 2, naming the planted file and what is wrong with it.
          assert.equal(r.code, 2, output(r));
          assert.ok(r.stderr.includes(planted), `the message names ${planted}\n${output(r)}`);
          assert.match(r.stderr, /symbolic link|hard links/, output(r));
        }
        assert.deepEqual(rootOwnedIn(w), [], `root left files of its own in the agent's state dir\n${output(r)}`);
      });
    }
  }
}

test('the commands work on an untouched state dir: what root writes there belongs to the agent, the marker is 0600', { skip: AS_ROOT }, async (t) => {
  const w = world(t);
  agentState(w);
  fs.rmSync(path.join(w.state, 'dpkg-running'));
  const start = await runCli(['notify', 'dpkg-start', '--config', w.config]);
  assert.equal(start.code, 0, output(start));
  const marker = fs.lstatSync(path.join(w.state, 'dpkg-running'));
  assert.deepEqual([marker.isFile(), marker.mode & 0o7777, marker.uid], [true, 0o600, NOBODY]);
  const end = await runCli(['notify', 'dpkg-end', '--config', w.config]);
  assert.equal(end.code, 0, output(end));
  assert.equal(fs.existsSync(path.join(w.state, 'dpkg-running')), false);

  const helper = await runCli(['offline-helper', '--config', w.config]);
  assert.equal(helper.code, 0, output(helper));
  assert.match(helper.stdout, /ok command true/);
  const status = await runCli(['status', '--config', w.config]);
  assert.equal(status.code, 3, output(status));
  assert.match(status.stdout, /site: OFFLINE/);

  // online also creates the outbox folders when they are missing, as the agent's.
  fs.rmSync(path.join(w.state, 'outbox'), { recursive: true });
  const online = await runCli(['online', '--config', w.config]);
  assert.equal(online.code, 0, output(online));
  assert.equal(fs.existsSync(path.join(w.state, 'maintenance.on')), false);
  const entries = fs.readdirSync(path.join(w.state, 'outbox/webhook'));
  assert.equal(entries.length, 1, entries.join(' '));
  for (const rel of ['offline.json', 'offline-result.json', 'outbox', 'outbox/webhook', `outbox/webhook/${entries[0] ?? ''}`]) {
    const st = fs.lstatSync(path.join(w.state, rel));
    assert.equal(st.uid, NOBODY, rel);
    assert.equal(st.mode & 0o077, 0, `${rel} is for the agent only`);
  }
  assert.deepEqual(rootOwnedIn(w), []);
});

test('status decodes status.json strictly and prints its strings with control characters escaped', { skip: AS_ROOT }, async (t) => {
  const w = world(t);
  agentState(w);
  const finding = { package: 'app', path: '/srv/app/\u001b[2Jx.php', status: 'changed', conffile: false, expected: null, actual: null, detail: null, ignored: false, firstSeen: NOW };
  agentFile(w, 'status.json', JSON.stringify({ ...STATUS, root: '/\u001b]0;owned\u0007', findings: [finding] }));
  const shown = await runCli(['status', '--config', w.config]);
  assert.equal(shown.code, 3, output(shown));
  assert.ok(!shown.stdout.includes('\u001b') && !shown.stdout.includes('\u0007'), output(shown));
  assert.ok(shown.stdout.includes('root: /\\x1b]0;owned\\x07;'), output(shown));
  assert.ok(shown.stdout.includes('/srv/app/\\x1b[2Jx.php (app)'), output(shown));

  for (const [bad, problem] of [
    [{ ...STATUS, pid: -1 }, 'status.pid: expected a whole number ≥ 0, found number -1'],
    [{ ...STATUS, pid: 0 }, 'status.pid: expected a process id from 1 to 4194304, found number 0'],
    [{ ...STATUS, extra: true }, 'status: unknown field "extra"'],
    [{ ...STATUS, alerts: [{ sink: 'webhook' }] }, 'status.alerts[0]: field "configured" is missing'],
  ] as const) {
    agentFile(w, 'status.json', JSON.stringify(bad));
    const r = await runCli(['status', '--config', w.config]);
    assert.equal(r.code, 2, output(r));
    assert.equal(r.stderr, `pkgwatch: ${path.join(w.state, 'status.json')} is not a valid status file: ${problem}\n`);
  }
});
