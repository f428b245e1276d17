// The agent's log: text, JSON and journald renderings of the same events, byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LOG_PRIORITY, Logger, type LogEvent, type LoggerOptions, type LogPriority } from '../../src/agent/log.js';
import type { AlertEvent } from '../../src/alerts/sink.js';
import type { FindingJson } from '../../src/verify/report.js';
import { REPO_ROOT } from '../helpers/cli.js';

const NOW = new Date('2024-01-31T12:00:00.000Z');

function capture(format: LoggerOptions['format'], journal: boolean): { logger: Logger; out: string[] } {
  const out: string[] = [];
  return { logger: new Logger({ format, journal, write: (l) => out.push(l), now: () => NOW }), out };
}

function render(format: LoggerOptions['format'], journal: boolean, e: LogEvent): string {
  const { logger, out } = capture(format, journal);
  logger.log(e);
  assert.equal(out.length, 1);
  return out[0] ?? '';
}

const finished: LogEvent = {
  kind: 'run.finished',
  schedule: 'scoped',
  outcome: 'findings',
  packages: 3,
  findings: 2,
  files: 1234,
  bytes: 12_345_678,
  durationMs: 412,
};

function changed(pkg: string, path: string): FindingJson {
  return { package: pkg, path, status: 'changed', conffile: false, expected: '0'.repeat(32), actual: 'f'.repeat(32), detail: null };
}

const opened: AlertEvent = {
  kind: 'findings.opened',
  id: '6f1c2d3e-0000-4000-8000-000000000001',
  host: 'web1',
  time: '2024-01-31T12:00:00.000Z',
  offline: { active: false, since: null, reason: null },
  findings: [
    changed('nginx', '/usr/sbin/nginx'),
    { package: 'nginx-common', path: '/etc/nginx/nginx.conf', status: 'missing', conffile: true, expected: 'a'.repeat(32), actual: null, detail: null },
  ],
};

test('text: ISO timestamp, level, sentence', () => {
  assert.equal(
    render('text', false, finished),
    '2024-01-31T12:00:00.000Z info: run finished (scoped): 2 findings in 3 packages, 1,234 paths, 12.3 MB in 0.4 s\n',
  );
  assert.equal(render('text', false, { kind: 'run.failed', schedule: 'full', error: 'cannot read /var/lib/dpkg/status' }), '2024-01-31T12:00:00.000Z error: run failed (full): cannot read /var/lib/dpkg/status\n');
});

test('text under journald: <N> prefix, no timestamp', () => {
  assert.equal(render('text', true, finished), '<6>run finished (scoped): 2 findings in 3 packages, 1,234 paths, 12.3 MB in 0.4 s\n');
  assert.equal(
    render('text', true, { kind: 'watch.degraded', reason: 'overflow', detail: 'inotify queue overflowed' }),
    '<4>real-time watch degraded (event queue overflow): inotify queue overflowed; changes may go unseen until the next check\n',
  );
  assert.equal(render('text', true, { kind: 'config.invalid', message: '/etc/pkgwatch.toml: unknown key "shedule"' }), '<3>invalid configuration: /etc/pkgwatch.toml: unknown key "shedule"\n');
  assert.equal(render('text', true, { kind: 'agent.ready' }), '<6>agent ready\n');
});

test('JSON: one object per line, time, priority, kind, then the fields', () => {
  assert.equal(
    render('json', false, finished),
    '{"time":"2024-01-31T12:00:00.000Z","priority":6,"kind":"run.finished","schedule":"scoped","outcome":"findings","packages":3,"findings":2,"files":1234,"bytes":12345678,"durationMs":412}\n',
  );
  assert.equal(render('json', false, { kind: 'agent.stopping' }), '{"time":"2024-01-31T12:00:00.000Z","priority":5,"kind":"agent.stopping"}\n');
});

test('JSON under journald: the <N> prefix goes in front of the object', () => {
  assert.equal(
    render('json', true, { kind: 'run.deferred', schedule: 'full', reason: 'dpkg-running' }),
    '<5>{"time":"2024-01-31T12:00:00.000Z","priority":5,"kind":"run.deferred","schedule":"full","reason":"dpkg-running"}\n',
  );
});

test('alerts: package, status and path of each finding, and the event id', () => {
  assert.equal(
    render('text', true, { kind: 'alert', event: opened }),
    '<4>ALERT: findings opened: 2 findings: nginx: changed /usr/sbin/nginx; nginx-common: missing /etc/nginx/nginx.conf (conffile) (alert 6f1c2d3e-0000-4000-8000-000000000001)\n',
  );
  assert.equal(
    render('text', false, { kind: 'alert', event: { ...opened, kind: 'findings.resolved', findings: opened.findings.slice(0, 1) } }),
    '2024-01-31T12:00:00.000Z warning: findings resolved: 1 finding: nginx: changed /usr/sbin/nginx (alert 6f1c2d3e-0000-4000-8000-000000000001)\n',
  );
  assert.equal(
    render('json', false, { kind: 'alert', event: { ...opened, kind: 'findings.reminder', findings: opened.findings.slice(0, 1) } }),
    '{"time":"2024-01-31T12:00:00.000Z","priority":4,"kind":"alert","event":{"kind":"findings.reminder","id":"6f1c2d3e-0000-4000-8000-000000000001","host":"web1","time":"2024-01-31T12:00:00.000Z","offline":{"active":false,"since":null,"reason":null},"findings":[{"package":"nginx","path":"/usr/sbin/nginx","status":"changed","conffile":false,"expected":"00000000000000000000000000000000","actual":"ffffffffffffffffffffffffffffffff","detail":null}]},"findingsOmitted":0}\n',
  );
});

test('alerts: text lists 20 findings and counts the rest; JSON carries 100', () => {
  const many = Array.from({ length: 125 }, (_, i) => changed('pkg', `/f${String(i).padStart(3, '0')}`));
  const event: AlertEvent = { ...opened, findings: many };
  const text = render('text', true, { kind: 'alert', event });
  const listed = Array.from({ length: 20 }, (_, i) => `pkg: changed /f${String(i).padStart(3, '0')}`).join('; ');
  assert.equal(text, `<4>ALERT: findings opened: 125 findings: ${listed}; and 105 more (alert ${opened.id})\n`);
  const json = JSON.parse(render('json', false, { kind: 'alert', event })) as { event: AlertEvent; findingsOmitted: number };
  assert.deepEqual(json.event.findings, many.slice(0, 100));
  assert.equal(json.findingsOmitted, 25);
});

test('control characters never break a line; JSON escapes them itself', () => {
  const e: LogEvent = { kind: 'warning', message: 'line one\nline two\x1b[31m' };
  assert.equal(render('text', true, e), '<4>line one\\x0aline two\\x1b[31m\n');
  assert.equal(render('json', true, e), '<4>{"time":"2024-01-31T12:00:00.000Z","priority":4,"kind":"warning","message":"line one\\nline two\\u001b[31m"}\n');
});

test('every kind renders as one sentence', () => {
  const events: [LogEvent, string][] = [
    [
      { kind: 'agent.started', version: '0.1.0', configFiles: ['/etc/pkgwatch/pkgwatch.toml'], scopePackages: ['nginx', 'php8.2-fpm'], watch: true },
      '<5>agent started: pkgwatch 0.1.0; config /etc/pkgwatch/pkgwatch.toml; scope 2 packages (nginx, php8.2-fpm); real-time watch on',
    ],
    [{ kind: 'agent.started', version: '0.1.0', configFiles: [], scopePackages: [], watch: false }, '<5>agent started: pkgwatch 0.1.0; no config file (defaults); no scoped packages; real-time watch off'],
    [{ kind: 'agent.ready' }, '<6>agent ready'],
    [{ kind: 'agent.reloaded' }, '<5>configuration reloaded'],
    [{ kind: 'agent.stopping' }, '<5>agent stopping'],
    [{ kind: 'run.started', schedule: 'catch-up' }, '<6>run started (catch-up)'],
    [
      { kind: 'run.finished', schedule: 'full', outcome: 'clean', packages: 712, findings: 0, files: 121_645, bytes: 4_469_388_672, durationMs: 3900 },
      '<6>run finished (full): no findings in 712 packages, 121,645 paths, 4.5 GB in 3.9 s',
    ],
    [
      { kind: 'run.finished', schedule: 'realtime', outcome: 'incomplete', packages: 1, findings: 1, files: 1, bytes: 0, durationMs: 2 },
      '<6>run finished (realtime), incomplete: 1 finding in 1 package, 1 path, 0 B in 0.0 s',
    ],
    [{ kind: 'run.failed', schedule: 'scoped', error: 'boom' }, '<3>run failed (scoped): boom'],
    [{ kind: 'run.deferred', schedule: 'scoped', reason: 'busy' }, '<5>run deferred (scoped): another run is in progress'],
    [{ kind: 'watch.started', dirs: 1, paths: 3456 }, '<6>real-time watch started: 1 directory, 3,456 paths'],
    [{ kind: 'watch.started', dirs: 120, paths: 1 }, '<6>real-time watch started: 120 directories, 1 path'],
    [{ kind: 'dpkg.started', source: 'lock' }, '<6>dpkg transaction started (dpkg lock taken)'],
    [{ kind: 'dpkg.started', source: 'hook' }, '<6>dpkg transaction started (dpkg hook)'],
    [{ kind: 'dpkg.finished', changedPackages: [] }, '<6>dpkg transaction finished: no packages changed'],
    [{ kind: 'dpkg.finished', changedPackages: ['nginx', 'nginx-common'] }, '<6>dpkg transaction finished: 2 packages changed (nginx, nginx-common)'],
    [
      { kind: 'state.corrupt', file: '/var/lib/pkgwatch/state.json', detail: '/var/lib/pkgwatch/state.json: not valid JSON (x); starting from an empty state' },
      '<4>state file /var/lib/pkgwatch/state.json is corrupt: not valid JSON (x); starting from an empty state',
    ],
    [{ kind: 'config.invalid', message: 'm' }, '<3>invalid configuration: m'],
    [{ kind: 'alert.delivered', sink: 'webhook', ids: ['a1'], attempts: 1 }, '<6>alert delivered to webhook: a1'],
    [{ kind: 'alert.delivered', sink: 'email', ids: ['a1', 'a2', 'a3', 'a4'], attempts: 3 }, '<6>alert delivered to email: a1, a2, a3, and 1 more after 3 attempts'],
    [
      { kind: 'alert.failed', sink: 'webhook', ids: ['a1'], attempt: 2, error: 'HTTP 500 from http://h/x: down', retryInMs: 19_500 },
      '<4>alert delivery to webhook failed (attempt 2): HTTP 500 from http://h/x: down; retrying in 20 s (a1)',
    ],
    [
      { kind: 'alert.dropped', sink: 'email', id: 'a1', event: 'findings.opened', queued: '2024-01-24T12:00:00.000Z', reason: 'max-age' },
      '<3>alert DROPPED for email: findings.opened a1, queued 2024-01-24T12:00:00.000Z, could not be delivered within [alerts] max_age',
    ],
    [
      { kind: 'alert.dropped', sink: 'email', id: 'a1', event: 'findings.opened', queued: '2024-01-24T12:00:00.000Z', reason: 'overflow' },
      '<3>alert DROPPED for email: findings.opened a1, queued 2024-01-24T12:00:00.000Z: the outbox is full',
    ],
    [{ kind: 'alert.corrupt', file: '/s/outbox/email/x.json', detail: 'bad JSON' }, '<3>outbox file /s/outbox/email/x.json is not valid and was moved aside: bad JSON'],
    [
      { kind: 'alert.write-failed', sink: 'webhook', id: 'a1', error: 'ENOSPC' },
      '<3>cannot write alert a1 for webhook to the outbox: ENOSPC; it is kept in memory and sent, but a restart before delivery would lose it',
    ],
    [{ kind: 'offline.confirming', findings: 2, delayMs: 2000 }, '<4>2 findings would take the site offline; re-verifying in 2.0 s'],
    [{ kind: 'offline.unconfirmed', reason: 'resolved', detail: 'the findings no longer failed when re-verified' }, '<5>site left online: the findings no longer failed when re-verified'],
    [
      {
        kind: 'site.offline',
        since: '2024-01-31T12:00:00.000Z',
        reason: '1 file failed verification in app: changed /srv/app.py',
        actions: [
          { action: 'flag_file', target: '/var/lib/pkgwatch/maintenance.on', ok: true, detail: 'created' },
          { action: 'stop_unit', target: 'php-fpm.service', ok: false, detail: 'exit 5' },
        ],
      },
      '<2>SITE TAKEN OFFLINE at 2024-01-31T12:00:00.000Z: 1 file failed verification in app: changed /srv/app.py; flag_file /var/lib/pkgwatch/maintenance.on: ok (created); stop_unit php-fpm.service: FAILED (exit 5); run `pkgwatch online` to restore',
    ],
    [
      { kind: 'site.still-offline', since: '2024-01-31T12:00:00.000Z', reason: 'r' },
      '<4>the site is offline since 2024-01-31T12:00:00.000Z: r; run `pkgwatch online` to restore',
    ],
    [{ kind: 'site.online', by: 'alice', forced: true, reason: null }, '<5>site brought back online by alice with --force'],
    [{ kind: 'site.online', by: 'root', forced: false, reason: 'brought back online by root after a clean check of the scoped packages' }, '<5>site back online: brought back online by root after a clean check of the scoped packages'],
    [{ kind: 'warning', message: 'systemd-notify failed' }, '<4>systemd-notify failed'],
  ];
  for (const [e, line] of events) assert.equal(render('text', true, e), `${line}\n`, e.kind);
});

test("every kind has the syslog priority README's log table gives it, and README lists every kind once", () => {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const start = readme.indexOf('| kind | priority | meaning |');
  assert.ok(start >= 0, "README's log table is missing");
  const byName: Record<string, LogPriority> = { critical: 2, error: 3, warning: 4, notice: 5, info: 6 };
  const documented: Record<string, LogPriority> = {};
  for (const row of readme.slice(start).split('\n').slice(2)) {
    if (!row.startsWith('|')) break;
    const [kinds = '', priority = ''] = row.split(' | ');
    const level = byName[priority.split(' ')[0] ?? ''];
    assert.ok(level !== undefined, `a row with a priority the test cannot read: ${row}`);
    for (const [, kind] of kinds.matchAll(/`([^`]+)`/g)) {
      assert.ok(kind !== undefined && !(kind in documented), `${kind} is listed twice`);
      documented[kind] = level;
    }
  }
  assert.deepEqual(LOG_PRIORITY, documented);
});

test('the default writer is stdout', async () => {
  const { spawnSync } = await import('node:child_process');
  const mod = new URL('../../src/agent/log.js', import.meta.url).href;
  const code = `import { Logger } from ${JSON.stringify(mod)}; new Logger({ format: 'text', journal: true }).log({ kind: 'agent.ready' });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '<6>agent ready\n');
});
