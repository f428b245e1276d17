// renderEmail: subjects for every kind and for mixed batches, the body's sections, caps, escaping and line width.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_LISTED_FINDINGS, renderEmail, safeText } from '../../src/alerts/message.js';
import { ONLINE, type AlertEvent, type AlertKind, type OfflineInfo } from '../../src/alerts/sink.js';
import type { FindingJson } from '../../src/verify/report.js';

const MD5_A = '0123456789abcdef0123456789abcdef';
const MD5_B = 'fedcba9876543210fedcba9876543210';
const CTX = { host: 'web1', offlineEnabled: true };
const OFF: OfflineInfo = { active: true, since: '2024-01-31T12:00:03.000Z', reason: '3 findings in libfoo, myapp' };

function finding(pkg: string, path: string, over: Partial<FindingJson> = {}): FindingJson {
  return { package: pkg, path, status: 'changed', conffile: false, expected: MD5_A, actual: MD5_B, detail: null, ...over };
}

let nextId = 0;
function event(kind: AlertKind, findings: readonly FindingJson[], over: Partial<AlertEvent> = {}): AlertEvent {
  nextId++;
  return {
    kind,
    id: `00000000-0000-4000-8000-${String(nextId).padStart(12, '0')}`,
    host: 'web1',
    time: '2024-01-31T12:00:00.000Z',
    findings,
    offline: ONLINE,
    ...over,
  };
}

const THREE = [finding('libfoo', '/usr/lib/libfoo.so.1'), finding('myapp', '/etc/myapp/app.conf', { conffile: true }), finding('myapp', '/usr/share/myapp/app.py')];
const ACTIONS = [
  { action: 'flag_file', target: '/var/lib/pkgwatch/maintenance.on', ok: true, detail: 'created' },
  { action: 'stop_unit', target: 'nginx.service', ok: true, detail: 'exit 0' },
] as const;

function offlineEvent(findings: readonly FindingJson[] = THREE, actions: AlertEvent['actions'] = ACTIONS): AlertEvent {
  return event('site.offline', findings, { time: '2024-01-31T12:00:03.000Z', offline: OFF, actions });
}

function subject(events: readonly AlertEvent[]): string {
  return renderEmail(events, CTX).subject;
}

/** The body with line breaks taken out, for sentences the renderer may wrap. */
function flat(text: string): string {
  return text.replace(/\n +/g, ' ').replace(/\n/g, ' ');
}

test('the subject of each kind on its own', () => {
  assert.equal(subject([event('findings.opened', THREE)]), '[pkgwatch] web1: 3 files changed in libfoo, myapp');
  assert.equal(subject([event('findings.opened', [finding('myapp', '/a', { status: 'missing', actual: null })])]), '[pkgwatch] web1: 1 file missing in myapp');
  assert.equal(subject([event('findings.opened', [finding('myapp', '/a'), finding('myapp', '/b', { status: 'wrong-type', actual: 'symlink' })])]), '[pkgwatch] web1: 2 new findings in myapp');
  assert.equal(subject([event('findings.resolved', THREE.slice(1))]), '[pkgwatch] web1: 2 findings resolved in myapp');
  assert.equal(subject([event('findings.reminder', THREE)]), '[pkgwatch] web1: reminder: 3 findings still open in libfoo, myapp');
  assert.equal(subject([event('findings.reminder', THREE, { offline: OFF })]), '[pkgwatch] web1: reminder: 3 findings still open in libfoo, myapp (site still offline)');
  assert.equal(subject([offlineEvent()]), '[pkgwatch] web1: site taken OFFLINE: 3 findings in libfoo, myapp');
  assert.equal(subject([offlineEvent(THREE, [{ action: 'stop_unit', target: 'nginx.service', ok: false, detail: 'exit 1' }])]), '[pkgwatch] web1: site taken OFFLINE (1 step FAILED): 3 findings in libfoo, myapp');
  assert.equal(subject([event('site.online', [], { actions: [] })]), '[pkgwatch] web1: site back online');
  assert.equal(subject([event('test', [])]), '[pkgwatch] web1: test alert');
});

test('the subject of a mixed batch leads with opened findings and still mentions the rest', () => {
  assert.equal(subject([event('findings.opened', THREE), offlineEvent()]), '[pkgwatch] web1: 3 files changed in libfoo, myapp (site OFFLINE)');
  assert.equal(
    subject([event('findings.opened', THREE), offlineEvent(THREE, [{ action: 'command', target: 'supervisorctl stop all', ok: false, detail: 'exit 2' }])]),
    '[pkgwatch] web1: 3 files changed in libfoo, myapp (site OFFLINE, 1 step FAILED)',
  );
  assert.equal(subject([event('findings.resolved', THREE.slice(0, 1)), event('findings.opened', THREE.slice(1))]), '[pkgwatch] web1: 2 files changed in myapp; 1 resolved');
  assert.equal(subject([event('findings.resolved', THREE), event('site.online', [])]), '[pkgwatch] web1: 3 findings resolved in libfoo, myapp; site back online');
  assert.equal(subject([offlineEvent(), event('site.online', [])]), '[pkgwatch] web1: site back online');
  assert.equal(subject([event('test', []), event('findings.reminder', THREE)]), '[pkgwatch] web1: reminder: 3 findings still open in libfoo, myapp; test alert');
  assert.equal(subject([event('findings.opened', THREE.slice(0, 1)), event('findings.reminder', THREE.slice(1))]), '[pkgwatch] web1: 1 file changed in libfoo; 2 still open');
});

test('a path opened again in the same batch is one file: counted once, listed once with its earlier state', () => {
  const EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';
  // The burst case: the agent read files half-written (empty), then whole.
  const first = event('findings.opened', [finding('big', '/srv/a.php', { actual: EMPTY }), finding('big', '/srv/b.php', { actual: EMPTY })]);
  const second = event('findings.opened', [finding('big', '/srv/a.php'), finding('big', '/srv/c.php')], { time: '2024-01-31T12:00:01.000Z' });
  const mail = renderEmail([first, second], CTX);
  assert.equal(mail.subject, '[pkgwatch] web1: 3 files changed in big');
  assert.equal(mail.text.split('path:     /srv/a.php').length - 1, 1, mail.text);
  assert.match(mail.text, /== 1 new finding at 2024-01-31T12:00:00.000Z ==\n\(1 file changed again later in this batch: listed further down\)/);
  const later = mail.text.slice(mail.text.indexOf('== 2 new findings at 2024-01-31T12:00:01.000Z =='));
  assert.match(flat(later), new RegExp(`path: +/srv/a\\.php status: +changed expected: ${MD5_A} actual: +${MD5_B} earlier: +changed, actual ${EMPTY}, at 2024-01-31T12:00:00.000Z`));
  // Resolved and reminders count files too.
  assert.equal(subject([event('findings.reminder', THREE), event('findings.reminder', THREE)]), '[pkgwatch] web1: reminder: 3 findings still open in libfoo, myapp');
});

test('the subject caps the package list and its length, and escapes control characters', () => {
  const seven = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((p) => finding(p, `/usr/bin/${p}`));
  assert.equal(subject([event('findings.opened', seven)]), '[pkgwatch] web1: 7 files changed in a, b, c and 4 more');
  const long = ['x'.repeat(60), 'y'.repeat(60)].map((p) => finding(p, '/f'));
  const s = subject([event('findings.opened', long)]);
  assert.equal(s.length, 120);
  assert.ok(s.endsWith('...'));
  const evil = subject([event('findings.opened', [finding('evil\r\nBcc: x@evil.example\u0000\u202e', '/f')])]);
  assert.equal(evil, '[pkgwatch] web1: 1 file changed in evil\\x0d\\x0aBcc: x@evil.example\\x00\\u202e');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(evil, /[\x00-\x1f\x7f]/);
  assert.equal(renderEmail([event('test', [])], { host: 'web1\nBcc: y', offlineEnabled: true }).subject, '[pkgwatch] web1\\x0aBcc: y: test alert');
});

test('the body lists each finding with path, status, md5s and detail, and the sections', () => {
  const wrongType = finding('myapp', '/usr/share/myapp/run', { status: 'wrong-type', expected: MD5_A, actual: 'symlink', detail: 'points to /tmp/x' });
  const { text } = renderEmail([event('findings.opened', [...THREE, wrongType]), offlineEvent()], CTX);
  assert.ok(text.startsWith('pkgwatch on web1: 4 new findings in libfoo, myapp (site OFFLINE)\n'));
  assert.ok(
    text.includes(
      ['* myapp', '  path:     /etc/myapp/app.conf', '  status:   changed (conffile)', `  expected: ${MD5_A}`, `  actual:   ${MD5_B}`, ''].join('\n'),
    ),
  );
  assert.ok(text.includes(['  status:   wrong-type', `  expected: ${MD5_A}`, '  actual:   symlink', '  detail:   points to /tmp/x'].join('\n')));
  // The findings that took the site offline were listed with the opened event already.
  assert.equal(text.split('path:     /usr/lib/libfoo.so.1').length, 2);
  assert.ok(text.includes('== Site taken offline at 2024-01-31T12:00:03.000Z ==\nBecause of the findings above.'));
  assert.ok(flat(text).includes('The site was taken OFFLINE at 2024-01-31T12:00:03.000Z because 3 findings in libfoo, myapp.'));
  assert.ok(text.includes('- ok: flag_file /var/lib/pkgwatch/maintenance.on\n    created\n- ok: stop_unit nginx.service\n    exit 0\n'));
  assert.ok(text.includes('    apt-get install --reinstall libfoo myapp\n'));
  assert.ok(text.includes('    pkgwatch check libfoo myapp\n'));
  assert.ok(flat(text).includes('--reinstall keeps a changed conffile.'));
  assert.ok(text.includes('Bring the site back online, on web1:\n    pkgwatch online\n'));
  assert.ok(flat(text).includes('It refuses while findings are open; --force overrides.'));
  assert.ok(!text.includes('NOT taken offline'));
});

test('missing md5s and values show as (none)', () => {
  const { text } = renderEmail([event('findings.opened', [finding('myapp', '/gone', { status: 'missing', expected: null, actual: null })])], CTX);
  assert.ok(text.includes('  expected: (none)\n  actual:   (none)\n'));
});

test('a failed step is marked, and the message says to check by hand', () => {
  const { text } = renderEmail(
    [offlineEvent(THREE, [...ACTIONS.slice(0, 1), { action: 'stop_unit', target: 'nginx.service', ok: false, detail: 'Failed to stop nginx.service: Access denied' }])],
    CTX,
  );
  assert.ok(text.includes('- FAILED: stop_unit nginx.service\n    Failed to stop nginx.service: Access denied\n'));
  assert.ok(text.includes('1 of 2 steps FAILED: check the site by hand.'));
  // Nothing was listed before the offline event, so it lists its findings itself.
  assert.ok(text.includes('Because of:\n\n* libfoo\n'));
});

test('what pkgwatch did when the site stayed online, is still offline, or came back', () => {
  const opened = event('findings.opened', THREE);
  const on = renderEmail([opened], CTX).text;
  assert.ok(on.includes('== What pkgwatch did ==\nThe site was NOT taken offline.\n\n'));
  const disabled = renderEmail([opened], { host: 'web1', offlineEnabled: false }).text;
  assert.ok(disabled.includes('The site was NOT taken offline.\n(taking the site offline is disabled: [offline] enabled = false)\n'));
  assert.ok(!disabled.includes('pkgwatch online'));
  const still = renderEmail([event('findings.reminder', THREE, { offline: OFF })], CTX).text;
  assert.ok(flat(still).includes('The site is still offline, since 2024-01-31T12:00:03.000Z, because 3 findings in libfoo, myapp.'));
  assert.ok(still.includes('    pkgwatch online\n'));
  const back = renderEmail(
    [event('site.online', [], { offline: { active: false, since: null, reason: 'pkgwatch online --force by root' }, actions: [{ action: 'remove_flag_file', target: '/var/lib/pkgwatch/maintenance.on', ok: true, detail: 'removed' }] })],
    CTX,
  ).text;
  assert.ok(flat(back).includes('The site is back online since 2024-01-31T12:00:00.000Z: pkgwatch online --force by root.'));
  assert.ok(back.includes('- ok: remove_flag_file /var/lib/pkgwatch/maintenance.on\n    removed\n'));
  assert.ok(back.includes('== To restore ==\nNothing to do.\n'));
});

test('resolved findings and test alerts need nothing done', () => {
  const resolved = renderEmail([event('findings.resolved', THREE)], CTX).text;
  assert.ok(resolved.includes('== To restore ==\nNothing to do.\n'));
  assert.ok(!resolved.includes('apt-get'));
  const t = renderEmail([event('test', [])], { host: 'web1', offlineEnabled: false }).text;
  assert.ok(t.includes('== Test alert at 2024-01-31T12:00:00.000Z =='));
  assert.ok(t.includes('== To restore ==\nThis is a test sent by `pkgwatch alert test`.\nNothing to do.\n'));
});

test('1500 findings: 1000 are listed and the rest counted, across events too', () => {
  const many = Array.from({ length: 1500 }, (_, i) => finding('myapp', `/srv/myapp/f${String(i).padStart(4, '0')}`));
  const { text } = renderEmail([event('findings.opened', many)], CTX);
  assert.equal(text.split('\n  path:     ').length - 1, MAX_LISTED_FINDINGS);
  assert.ok(text.includes('/srv/myapp/f0999\n'));
  assert.ok(!text.includes('/srv/myapp/f1000'));
  assert.ok(text.includes('... and 500 more: run `pkgwatch status` on web1\n'));
  const split = renderEmail([event('findings.opened', many.slice(0, 800)), event('findings.reminder', many.slice(800))], CTX).text;
  assert.equal(split.split('\n  path:     ').length - 1, MAX_LISTED_FINDINGS);
  assert.ok(split.includes('... and 500 more: run `pkgwatch status` on web1\n'));
});

test('control characters from the disk are escaped in the body', () => {
  const nasty = finding('myapp', '/srv/a\u001b[31mred\nBcc: x', { detail: 'link to \u0007/tmp\u2028x', status: 'wrong-type', actual: 'symlink' });
  const { text } = renderEmail([event('findings.opened', [nasty]), offlineEvent([nasty], [{ action: 'command', target: 'stop\r\nit', ok: false, detail: 'line 1\nline 2\u0000' }])], CTX);
  assert.ok(text.includes('  path:     /srv/a\\x1b[31mred\\x0aBcc: x\n'));
  assert.ok(text.includes('  detail:   link to \\x07/tmp\\u2028x\n'));
  assert.ok(text.includes('- FAILED: command stop\\x0d\\x0ait\n    line 1\\x0aline 2\\x00\n'));
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/);
  assert.equal(safeText('a\\b'), 'a\\b');
});

test('package names that are not Debian names stay out of the command lines', () => {
  const { text } = renderEmail([event('findings.opened', [finding('myapp', '/a'), finding('x;rm -rf /', '/b'), finding('libc6:amd64', '/c')])], CTX);
  assert.ok(text.includes('    apt-get install --reinstall myapp libc6:amd64\n'));
  assert.ok(!text.includes('--reinstall myapp x;rm'));
  assert.ok(flat(text).includes('(1 package name left out: not a valid Debian name'));
});

test('every line fits a phone, except paths and other unbreakable words', () => {
  const pkgs = Array.from({ length: 40 }, (_, i) => `package-number-${i}`);
  const findings = pkgs.map((p, i) =>
    finding(p, `/usr/share/${p}/${'deep/'.repeat(i % 5)}file-${i}.py`, { detail: i % 2 === 0 ? 'the file was replaced by something that is not what dpkg installed, and this detail goes on for a while' : null }),
  );
  const reason = `${findings.length} findings in ${pkgs.join(', ')}`;
  const { text } = renderEmail(
    [
      event('findings.opened', findings),
      event('site.offline', findings, { offline: { active: true, since: '2024-01-31T12:00:03.000Z', reason }, actions: [{ action: 'command', target: 'supervisorctl stop all', ok: false, detail: `exit 1: ${'error: something went wrong '.repeat(8)}` }] }),
    ],
    CTX,
  );
  for (const line of text.split('\n')) {
    if (line.startsWith('  path:     ') || line.startsWith('  expected: ') || line.startsWith('  actual:   ')) continue;
    assert.ok(line.length <= 100, `too long (${line.length}): ${line}`);
    assert.ok(line.length <= 74 || !line.includes(' ', 4), `wrappable but not wrapped: ${line}`);
  }
  // The long command lines are continued with a backslash, so they still paste into a shell.
  assert.ok(text.includes('    apt-get install --reinstall package-number-0 package-number-1 \\\n      package-number-2'));
});

test('the footer names the host, each event id and its time in UTC', () => {
  const a = event('findings.opened', THREE, { time: '2024-01-31T13:00:00+01:00' });
  const b = offlineEvent();
  const { text } = renderEmail([a, b], CTX);
  const footer = text.slice(text.indexOf('\n-- \n'));
  assert.equal(footer, `\n-- \npkgwatch on web1\nfindings.opened at 2024-01-31T12:00:00.000Z\n  id ${a.id}\nsite.offline at 2024-01-31T12:00:03.000Z\n  id ${b.id}\n`);
});

function agentEvent(kind: AlertKind, agent: Partial<NonNullable<AlertEvent['agent']>> = {}): AlertEvent {
  return event(kind, [], { agent: { version: '1.2.3', message: '', schedule: null, dropped: [], ...agent } });
}

test('events about the agent: a subject that says what happened, each alone and in a batch', () => {
  assert.equal(subject([agentEvent('agent.started')]), '[pkgwatch] web1: agent started (pkgwatch 1.2.3)');
  assert.equal(subject([agentEvent('agent.stopping')]), '[pkgwatch] web1: agent STOPPING: nothing is checked until it runs again');
  assert.equal(subject([agentEvent('agent.stopping'), agentEvent('agent.started')]), '[pkgwatch] web1: agent restarted (pkgwatch 1.2.3)');
  assert.equal(subject([agentEvent('run.failed', { schedule: 'scoped', message: 'cannot read /var/lib/dpkg/status: EACCES' })]), '[pkgwatch] web1: scoped check FAILED: cannot read /var/lib/dpkg/status: EACCES');
  assert.equal(subject([agentEvent('run.failed', { schedule: 'scoped' }), agentEvent('run.failed', { schedule: 'full' })]), '[pkgwatch] web1: scoped and full checks FAILED');
  assert.equal(subject([agentEvent('run.failed', { schedule: 'scoped' }), agentEvent('run.recovered', { schedule: 'scoped' })]), '[pkgwatch] web1: scoped check works again');
  assert.equal(subject([agentEvent('run.recovered', { schedule: 'full' })]), '[pkgwatch] web1: full check works again');
  assert.equal(subject([agentEvent('watch.degraded', { message: 'events were lost' })]), '[pkgwatch] web1: real-time watch DEGRADED: events were lost');
  const drops = [1, 2].map((n) => ({ sink: 'webhook', id: `id-${n}`, event: 'findings.opened' as const, queued: '2024-01-24T12:00:00.000Z' }));
  assert.equal(subject([agentEvent('alerts.dropped', { dropped: drops })]), '[pkgwatch] web1: 2 alerts DROPPED: not delivered within max_age');
  // Findings lead; the agent's troubles come before a reminder; good news only when nothing else.
  assert.equal(subject([event('findings.opened', THREE), agentEvent('run.failed', { schedule: 'full' })]), '[pkgwatch] web1: 3 files changed in libfoo, myapp; full check FAILED');
  assert.equal(subject([event('findings.reminder', THREE), agentEvent('agent.stopping')]), '[pkgwatch] web1: agent STOPPING: nothing is checked until it runs again; 3 still open');
  assert.equal(subject([event('findings.resolved', THREE), agentEvent('agent.started')]), '[pkgwatch] web1: 3 findings resolved in libfoo, myapp; agent started');
});

test('events about the agent in the body: heading, message, what was dropped, and what to do', () => {
  const drops = [{ sink: 'email', id: 'lost-1', event: 'site.offline' as const, queued: '2024-01-24T12:00:00.000Z' }];
  const { text } = renderEmail(
    [
      agentEvent('run.failed', { schedule: 'scoped', message: 'cannot read /var/lib/dpkg/status: EACCES' }),
      agentEvent('watch.degraded', { message: 'the inotify watch limit is reached: raise fs.inotify.max_user_watches' }),
      agentEvent('alerts.dropped', { message: '1 alert could not be delivered', dropped: drops }),
      agentEvent('agent.stopping', { message: 'pkgwatch 1.2.3 is stopping' }),
    ],
    CTX,
  );
  assert.ok(text.includes('== The scoped check FAILED at 2024-01-31T12:00:00.000Z ==\ncannot read /var/lib/dpkg/status: EACCES\n'), text);
  assert.ok(text.includes('== Real-time watch DEGRADED at '), text);
  assert.ok(text.includes('== 1 alert DROPPED at '), text);
  assert.ok(text.includes('- email: site.offline lost-1, queued 2024-01-24T12:00:00.000Z'), text);
  assert.ok(text.includes('== Agent stopping at '), text);
  const body = flat(text);
  assert.ok(body.includes('1. Find out why the scoped check fails: `journalctl -u pkgwatch` and `pkgwatch status` on web1.'), body);
  assert.ok(body.includes('2. Fix what the watcher reported above, then `systemctl reload pkgwatch` on web1.'), body);
  assert.ok(body.includes('3. If nobody stopped pkgwatch on purpose'), body);
  assert.ok(body.includes('4. The alerts listed above never arrived'), body);
  assert.ok(text.includes('alerts.dropped at 2024-01-31T12:00:00.000Z'), 'the footer lists it');
  // A start alone needs nothing done.
  assert.ok(renderEmail([agentEvent('agent.started', { message: 'pkgwatch 1.2.3 started' })], CTX).text.includes('== To restore ==\nNothing to do.'));
});

test('file.written: its own subject, a heading per event, and what to do when nobody here wrote the files', () => {
  const written = [
    finding('myapp', '/srv/myapp/index.php', { status: 'written', expected: null, actual: null, detail: 'written in place, while no dpkg was running' }),
    finding('myapp', '/srv/myapp/lib.php', { status: 'written', expected: null, actual: null, detail: 'removed, while no dpkg was running' }),
  ];
  assert.equal(subject([event('file.written', written)]), '[pkgwatch] web1: 2 files written outside dpkg in myapp');
  assert.equal(subject([event('findings.opened', THREE), event('file.written', written)]), '[pkgwatch] web1: 3 files changed in libfoo, myapp; 2 written');
  const text = renderEmail([event('file.written', written)], CTX).text;
  assert.ok(text.includes('== 2 files written while no dpkg was running at 2024-01-31T12:00:00.000Z =='), text);
  assert.ok(text.includes('  path:     /srv/myapp/lib.php'), text);
  assert.match(flat(text), /If nobody here wrote these files, find out who did/);
  assert.ok(!text.includes('Nothing to do.'), text);
});

test('a rewritten md5sums in a mail: each entry with the md5 before and after, and the count of the rest', () => {
  const db = finding('myapp', '/var/lib/dpkg/info/myapp.md5sums', {
    status: 'database-changed',
    expected: null,
    actual: null,
    detail: 'md5sums changed while no dpkg was running: ...',
    entries: [
      { path: '/usr/share/myapp/app.py', expected: MD5_A, actual: MD5_B },
      { path: '/usr/share/myapp/evil.py', expected: null, actual: MD5_B },
      { path: '/usr/share/myapp/gone.py', expected: MD5_A, actual: null },
    ],
    entriesOmitted: 7,
  });
  const { text } = renderEmail([event('findings.opened', [db])], CTX);
  assert.ok(
    text.includes(
      [
        '  entry:    /usr/share/myapp/app.py',
        `            was ${MD5_A}`,
        `            now ${MD5_B}`,
        '  entry:    /usr/share/myapp/evil.py',
        '            was (no entry: added)',
        `            now ${MD5_B}`,
        '  entry:    /usr/share/myapp/gone.py',
        `            was ${MD5_A}`,
        '            now (no entry: removed)',
        '  entry:    and 7 more',
      ].join('\n'),
    ),
    text,
  );
});

test('coverage.degraded and coverage.restored: a subject that says checks are blind or see again, and what to do', () => {
  const degraded = agentEvent('coverage.degraded', { coverage: 'dpkg-running-too-long', message: 'dpkg has been running for 1 h 2 min' });
  assert.equal(subject([degraded]), '[pkgwatch] web1: checks BLIND: dpkg has been running for 1 h 2 min');
  assert.equal(subject([agentEvent('coverage.restored', { coverage: 'dpkg-running-too-long' })]), '[pkgwatch] web1: checks see again');
  const { text } = renderEmail([degraded], CTX);
  assert.ok(text.includes('Coverage DEGRADED (dpkg-running-too-long)'), text);
  assert.match(text, /find what holds dpkg's\s+lock/);
});
