// The outbox on disk: reopening after a crash, bad files set aside, leftover temp files, unwritable
// folders, files dropped in by another process, and the strict file format.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Outbox } from '../../src/alerts/outbox.js';
import { enqueueDurable } from '../../src/alerts/outboxdisk.js';
import { decodeEntry, encodeEntry, entryFileName } from '../../src/alerts/outboxfile.js';
import type { AlertEvent } from '../../src/alerts/sink.js';
import { LogRecorder, TestSink, alert, openOutbox, queued, tempDir, until } from './outboxkit.js';

const WEEK = 7 * 24 * 3600_000;

test('a new outbox on the same dir after a crash delivers what was pending, same ids, same order', async (t) => {
  const dir = tempDir(t);
  const events = [1, 2, 3].map((n) => alert(n));
  // The "crashed" outbox: files written, never started, never closed.
  const crashed = await Outbox.open({ dir, sinks: [new TestSink('email')], maxAgeMs: WEEK, retryMinMs: 20, retryMaxMs: 200, log: () => undefined });
  for (const ev of events) crashed.enqueue(ev);
  assert.equal(queued(dir, 'email').length, 3);
  const rec = new LogRecorder();
  const sink = new TestSink('email', { maxBatch: 10 });
  const outbox = await openOutbox(t, dir, [sink], rec);
  assert.equal(outbox.status()[0]?.pending, 3);
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 1, 'the delivery');
  assert.deepEqual(sink.calls.length, 1);
  assert.deepEqual(sink.calls[0]?.events, events);
  assert.deepEqual(queued(dir, 'email'), []);
});

test('bad files are moved to corrupt/ and reported, leftover temp files removed, the rest delivered', async (t) => {
  const dir = tempDir(t);
  const hook = path.join(dir, 'webhook');
  fs.mkdirSync(hook, { recursive: true });
  const good = alert(1);
  enqueueDurable(dir, ['webhook'], good);
  const ms = 1_706_702_400_000;
  const wrap = (sink: string, event: unknown): string => JSON.stringify({ version: 1, sink, queued: new Date(ms).toISOString(), event });
  const id = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;
  const bad: Record<string, string> = {
    [entryFileName(ms, id(1))]: 'garbage{',
    [entryFileName(ms, id(2))]: wrap('email', { ...alert(2), id: id(2) }),
    [entryFileName(ms, id(3))]: wrap('webhook', { ...alert(3), id: id(3), kind: 'findings.deleted' }),
    [entryFileName(ms, id(4))]: wrap('webhook', { ...alert(4), id: id(4), findings: [{ package: 'x' }] }),
    [entryFileName(ms, id(5))]: wrap('webhook', { ...alert(5), id: id(5), offline: { active: 'yes', since: null, reason: null } }),
    [entryFileName(ms, id(6))]: wrap('webhook', { ...alert(6), id: id(6), actions: [{ action: 'rm -rf', target: '/', ok: true, detail: '' }] }),
    [entryFileName(ms, id(7))]: wrap('webhook', { ...alert(7), id: id(8) }),
    [entryFileName(ms, id(9))]: `{"__proto__":{"polluted":true},${wrap('webhook', { ...alert(9), id: id(9) }).slice(1)}`,
    'notes.txt': 'hello',
  };
  for (const [name, text] of Object.entries(bad)) fs.writeFileSync(path.join(hook, name), text);
  fs.mkdirSync(path.join(hook, '0000000000001-dir.json'));
  fs.symlinkSync('/etc/passwd', path.join(hook, '0000000000002-link.json'));
  fs.writeFileSync(path.join(hook, `${entryFileName(ms, id(0))}.123-1.tmp`), '{"vers');
  fs.writeFileSync(path.join(dir, 'dropped.json.123-2.tmp'), '');

  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  const outbox = await openOutbox(t, dir, [sink], rec);
  const corrupt = rec.of('alert.corrupt');
  const names = [...Object.keys(bad), '0000000000001-dir.json', '0000000000002-link.json'].sort();
  assert.deepEqual(corrupt.map((c) => path.basename(c.file)).sort(), names);
  for (const c of corrupt) {
    assert.equal(path.dirname(c.file), hook);
    assert.ok(c.detail.endsWith(`; moved to ${path.join(dir, 'corrupt', path.basename(c.file))}`), c.detail);
  }
  const detail = (name: string): string => corrupt.find((c) => path.basename(c.file) === name)?.detail ?? '';
  assert.match(detail(entryFileName(ms, id(1))), /^not valid JSON/);
  assert.match(detail(entryFileName(ms, id(2))), /^file\.sink: is "email" but the file is in the folder of "webhook"/);
  assert.match(detail(entryFileName(ms, id(3))), /^file\.event\.kind: expected one of findings\.opened, /);
  assert.match(detail(entryFileName(ms, id(4))), /^file\.event\.findings\[0\]: field "path" is missing/);
  assert.match(detail(entryFileName(ms, id(5))), /^file\.event\.offline\.active: expected true or false, found the string "yes"/);
  assert.match(detail(entryFileName(ms, id(6))), /^file\.event\.actions\[0\]\.action: expected one of flag_file, /);
  assert.match(detail(entryFileName(ms, id(7))), /^file\.event\.id: .* does not match the id in the file name/);
  assert.match(detail(entryFileName(ms, id(9))), /^file: unknown field "__proto__"/);
  assert.match(detail('notes.txt'), /^the name is not/);
  assert.match(detail('0000000000001-dir.json'), /is a directory/);
  assert.match(detail('0000000000002-link.json'), /is a symbolic link/);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'corrupt')).sort(), names);
  assert.equal(fs.readFileSync(path.join(dir, 'corrupt', entryFileName(ms, id(1))), 'utf8'), 'garbage{', 'the evidence is kept');
  assert.deepEqual(fs.readdirSync(hook), [queued(dir, 'webhook')[0]], 'only the good file is left; temp files removed');
  assert.equal(fs.existsSync(path.join(dir, 'dropped.json.123-2.tmp')), false);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);

  outbox.start();
  await until(() => sink.calls.length === 1, 'the good delivery');
  assert.deepEqual(sink.calls[0]?.events, [good]);
  await outbox.rescan();
  assert.equal(rec.of('alert.corrupt').length, corrupt.length, 'nothing reported twice');
});

test('a bad dropped.json is set aside and counting starts again', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'dropped.json'), '{"version":1,"dropped":{"email":-3}}');
  const rec = new LogRecorder();
  const outbox = await openOutbox(t, dir, [], rec);
  assert.deepEqual(
    rec.of('alert.corrupt').map((c) => [c.file, c.detail]),
    [
      [
        path.join(dir, 'dropped.json'),
        `not a valid dropped.json (dropped.json.dropped.email: expected a whole number ≥ 0, found number -3); counting drops from 0; moved to ${path.join(dir, 'corrupt', 'dropped.json')}`,
      ],
    ],
  );
  assert.deepEqual(outbox.status(), []);
});

test('when the sink folder cannot be written, enqueue logs write-failed, delivers from memory and writes it later', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'webhook'), 'a regular file where the folder belongs'); // ENOTDIR/EEXIST, even for root
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  let fileAtSecondTry: string[] = [];
  sink.behave = (_e, n) => {
    if (n === 1) {
      fs.rmSync(path.join(dir, 'webhook')); // the operator fixed it; the next loop turn writes the file
      return Promise.reject(new Error('HTTP 502'));
    }
    fileAtSecondTry = queued(dir, 'webhook');
    return Promise.resolve();
  };
  const outbox = await openOutbox(t, dir, [sink], rec);
  const ev = alert();
  assert.doesNotThrow(() => outbox.enqueue(ev));
  const [failed] = rec.of('alert.write-failed');
  assert.equal(failed?.sink, 'webhook');
  assert.equal(failed?.id, ev.id);
  assert.match(failed?.error ?? '', new RegExp(`^cannot write ${path.join(dir, 'webhook')}/\\d{13}-${ev.id}\\.json: (ENOTDIR|EEXIST)`));
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 1, 'the delivery from memory');
  assert.deepEqual(sink.ids(), [ev.id, ev.id]);
  assert.equal(fileAtSecondTry.length, 1, 'written at the next loop turn');
  assert.deepEqual(queued(dir, 'webhook'), [], 'and removed once delivered');
  assert.equal(rec.of('alert.write-failed').length, 1, 'logged once');
});

test('an event that cannot be a file is delivered from memory and says why', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  const outbox = await openOutbox(t, dir, [sink], rec);
  outbox.start();
  const ev: AlertEvent = { ...alert(), id: '../../etc/cron.d/x' };
  outbox.enqueue(ev);
  assert.match(rec.of('alert.write-failed')[0]?.error ?? '', /^not a valid alert event \(event\.id: expected an id of letters/);
  await until(() => sink.calls.length === 1, 'the delivery');
  assert.deepEqual(sink.calls[0]?.events, [ev]);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'webhook')), []);
});

test('enqueueDurable from another process is picked up by rescan exactly once', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  const other = new TestSink('email');
  const outbox = await openOutbox(t, dir, [sink, other], rec);
  outbox.start();
  const ev: AlertEvent = {
    ...alert(),
    kind: 'site.online',
    findings: [],
    actions: [{ action: 'remove_flag_file', target: '/var/www/maintenance.flag', ok: true, detail: 'removed' }],
  };
  enqueueDurable(dir, ['webhook'], ev);
  const [name] = queued(dir, 'webhook');
  assert.equal(fs.statSync(path.join(dir, 'webhook', name ?? '')).mode & 0o777, 0o600);
  await outbox.rescan();
  await outbox.rescan();
  await until(() => sink.calls.length === 1, 'the delivery');
  await outbox.rescan();
  // A second file goes out next: had a rescan queued the first again, it would have gone before it.
  const next = { ...ev, id: alert().id };
  enqueueDurable(dir, ['webhook'], next);
  await outbox.rescan();
  await until(() => rec.of('alert.delivered').length >= 2, 'the second delivery');
  assert.deepEqual(sink.calls.map((c) => c.events), [[ev], [next]]);
  assert.equal(other.calls.length, 0, 'only the named sink');
  assert.deepEqual(queued(dir, 'webhook'), []);
  assert.throws(() => enqueueDurable(dir, ['../x'], ev), /not a sink name/);
  assert.throws(() => enqueueDurable(dir, ['webhook'], { ...ev, host: '' }), /not a valid alert event \(event\.host: expected a non-empty string/);
});

test('the file format round-trips every field and rejects what does not match its name', () => {
  const ev: AlertEvent = {
    kind: 'site.offline',
    id: '3f1c2a9e-0000-4000-8000-000000000001',
    host: 'web1',
    time: '2024-01-31T12:00:00.000Z',
    findings: [{ package: 'php8.2', path: '/usr/lib/php/x\\xff', status: 'wrong-type', conffile: true, expected: null, actual: 'symlink', detail: '/tmp/evil' }],
    offline: { active: true, since: '2024-01-31T12:00:00.000Z', reason: 'changed /usr/sbin/nginx' },
    actions: [{ action: 'stop_unit', target: 'nginx.service', ok: false, detail: 'exit 5' }],
  };
  const ms = Date.parse('2024-01-31T12:00:01.000Z');
  const name = entryFileName(ms, ev.id);
  assert.equal(name, `1706702401000-${ev.id}.json`);
  const text = encodeEntry('email', ms, ev);
  assert.deepEqual(decodeEntry(text, 'email', name), { version: 1, sink: 'email', queued: '2024-01-31T12:00:01.000Z', event: ev });
  assert.throws(() => decodeEntry(text, 'email', entryFileName(ms + 1, ev.id)), /file\.queued: .* does not match the time in the file name/);
  assert.throws(() => decodeEntry(text.replace('"version":1', '"version":2'), 'email', name), /file\.version: expected 1, found number 2/);
  assert.throws(() => decodeEntry(text.replace('"exit 5"}]', '"exit 5","extra":1}]'), 'email', name), /actions\[0\]: unknown field "extra"/);
});

test('an event about the agent round-trips with its agent info; a bad schedule or dropped entry is rejected', () => {
  const ev: AlertEvent = {
    kind: 'alerts.dropped',
    id: '3f1c2a9e-0000-4000-8000-000000000002',
    host: 'web1',
    time: '2024-01-31T12:00:00.000Z',
    findings: [],
    offline: { active: false, since: null, reason: null },
    agent: {
      version: '0.1.0',
      message: '1 alert could not be delivered',
      schedule: null,
      dropped: [{ sink: 'webhook', id: 'abc', event: 'findings.opened', queued: '2024-01-24T12:00:00.000Z' }],
    },
  };
  const ms = Date.parse('2024-01-31T12:00:01.000Z');
  const name = entryFileName(ms, ev.id);
  const text = encodeEntry('email', ms, ev);
  assert.deepEqual(decodeEntry(text, 'email', name).event, ev);
  assert.throws(() => decodeEntry(text.replace('"schedule":null', '"schedule":"hourly"'), 'email', name), /agent\.schedule: expected one of scoped, full, realtime/);
  assert.throws(() => decodeEntry(text.replace('"event":"findings.opened"', '"event":"nope"'), 'email', name), /agent\.dropped\[0\]\.event/);
  assert.throws(() => decodeEntry(text.replace('"version":"0.1.0",', ''), 'email', name), /agent: field "version" is missing/);
});

test('open fails, naming the folder, when the outbox folder cannot be created', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'state'), '');
  const outboxDir = path.join(dir, 'state', 'outbox');
  await assert.rejects(
    Outbox.open({ dir: outboxDir, sinks: [], maxAgeMs: WEEK, retryMinMs: 20, retryMaxMs: 200, log: () => undefined }),
    new RegExp(`^Error: cannot open the alert outbox ${outboxDir}: ENOTDIR`),
  );
});
