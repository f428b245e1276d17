// The outbox's delivery loops: write before send, retries with growing backoff, gathering, max-age and
// overflow drops, independent sinks, status, config reload and close.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LogRecorder, TestSink, alert, hang, openOutbox, queued, tempDir, until } from './outboxkit.js';

test('enqueue writes a 0600 file per sink before send is called; delivery removes it', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  const ev = alert();
  const outbox = await openOutbox(t, dir, [sink], rec);
  sink.behave = (events) => {
    const [name] = queued(dir, 'webhook');
    assert.ok(name?.endsWith(`-${ev.id}.json`), `the file is there during send: ${String(name)}`);
    const file = path.join(dir, 'webhook', name ?? '');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'webhook')).mode & 0o777, 0o700);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; sink: string; queued: string; event: unknown };
    assert.deepEqual(parsed, { version: 1, sink: 'webhook', queued: parsed.queued, event: ev });
    assert.equal(name, `${String(Date.parse(parsed.queued)).padStart(13, '0')}-${ev.id}.json`);
    assert.deepEqual(events, [ev]);
    return Promise.resolve();
  };
  outbox.enqueue(ev);
  assert.equal(queued(dir, 'webhook').length, 1, 'written before enqueue returns');
  assert.equal(sink.calls.length, 0, 'not sent before start()');
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 1, 'the delivery');
  assert.deepEqual(rec.of('alert.delivered'), [{ kind: 'alert.delivered', sink: 'webhook', ids: [ev.id], attempts: 1 }]);
  assert.deepEqual(queued(dir, 'webhook'), []);
  assert.equal(sink.calls.length, 1);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('a sink failing 3 times is retried with growing waits and delivers once', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  sink.behave = (_e, n) => (n <= 3 ? Promise.reject(new Error(`HTTP 503 from the receiver (try ${n})`)) : Promise.resolve());
  const outbox = await openOutbox(t, dir, [sink], rec, { retryMinMs: 20, retryMaxMs: 10_000, random: () => 0.5 });
  const ev = alert();
  outbox.enqueue(ev);
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 1, 'the delivery');
  assert.deepEqual(sink.ids(), [ev.id, ev.id, ev.id, ev.id]);
  const failed = rec.of('alert.failed');
  assert.deepEqual(
    failed.map((f) => [f.attempt, f.error]),
    [1, 2, 3].map((n) => [n, `HTTP 503 from the receiver (try ${n})`]),
  );
  // Equal jitter with random() = 0.5: three quarters of 20, 40, 80 ms, but never below retry_min.
  assert.deepEqual(
    failed.map((f) => f.retryInMs),
    [20, 30, 60],
  );
  const gaps = sink.calls.slice(1).map((c, i) => c.at - (sink.calls[i]?.at ?? 0));
  gaps.forEach((gap, i) => assert.ok(gap >= (failed[i]?.retryInMs ?? 0) / 2, `attempt ${i + 2} waited (${gap} ms)`));
  assert.deepEqual(rec.of('alert.delivered'), [{ kind: 'alert.delivered', sink: 'webhook', ids: [ev.id], attempts: 4 }]);
  const [st] = outbox.status();
  assert.equal(st?.failures, 0);
  assert.equal(st?.pending, 0);
  assert.equal(st?.lastError, 'HTTP 503 from the receiver (try 3)');
  assert.ok(st?.lastErrorAt !== null && st?.lastDelivered !== null);
  assert.equal(st?.delivered, 1, 'one alert delivered (after three failures)');
  assert.deepEqual(queued(dir, 'webhook'), []);
});

test('backoff is capped at retry_max, and a sink with no answer times out and is retried', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  sink.behave = (_e, n) => (n <= 4 ? hang() : Promise.resolve());
  const outbox = await openOutbox(t, dir, [sink], rec, { retryMinMs: 10, retryMaxMs: 25, random: () => 0.999, attemptTimeoutMs: 30 });
  outbox.enqueue(alert());
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 1, 'the delivery');
  const failed = rec.of('alert.failed');
  assert.deepEqual(
    failed.map((f) => f.error),
    Array(4).fill('no answer within 30 ms'),
  );
  const waits = failed.map((f) => f.retryInMs);
  assert.ok(waits[0] !== undefined && waits[0] <= 10 && waits.every((w) => w <= 25), `waits ${waits.join(', ')}`);
  assert.equal(waits.at(-1), 25);
});

test('every retry waits at least retry_min and at most retry_max, with the jitter at either extreme', async (t) => {
  for (const [draw, expected] of [
    // Equal jitter is half to all of retry_min × 2^(n-1), capped at retry_max; floored at retry_min.
    [0, [20, 20, 40, 80, 80, 80]],
    [1 - Number.EPSILON, [20, 40, 80, 160, 160, 160]],
  ] as const) {
    const dir = tempDir(t);
    const rec = new LogRecorder();
    const sink = new TestSink('webhook');
    sink.behave = (_e, n) => (n <= 6 ? Promise.reject(new Error(`HTTP 503 (try ${n})`)) : Promise.resolve());
    const outbox = await openOutbox(t, dir, [sink], rec, { retryMinMs: 20, retryMaxMs: 160, random: () => draw });
    outbox.enqueue(alert());
    outbox.start();
    await until(() => rec.of('alert.delivered').length === 1, 'the delivery');
    const waits = rec.of('alert.failed').map((f) => f.retryInMs);
    assert.deepEqual(waits, expected, `random() = ${draw}`);
    assert.ok(waits.every((w) => w >= 20 && w <= 160), `waits ${waits.join(', ')}`);
    await outbox.close();
  }
});

test('a burst within gatherMs is one send when maxBatch allows, else batches of maxBatch in order', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const email = new TestSink('email', { maxBatch: 10, gatherMs: 300 });
  const small = new TestSink('small', { maxBatch: 2, gatherMs: 300 });
  const outbox = await openOutbox(t, dir, [email, small], rec);
  outbox.start();
  const events = [1, 2, 3, 4, 5].map((n) => alert(n));
  for (const ev of events) outbox.enqueue(ev);
  // Every event delivered to both sinks: no send can come after this.
  await until(() => rec.of('alert.delivered').flatMap((d) => d.ids).length >= 10, 'the sends');
  assert.equal(email.calls.length, 1);
  assert.deepEqual(
    email.calls[0]?.events.map((e) => e.id),
    events.map((e) => e.id),
  );
  assert.deepEqual(
    small.calls.map((c) => c.events.length),
    [2, 2, 1],
  );
  assert.deepEqual(
    small.ids(),
    events.map((e) => e.id),
  );
  assert.deepEqual(queued(dir, 'email'), []);
  assert.deepEqual(queued(dir, 'small'), []);
});

test('deliveries older than max_age are dropped, logged and counted in dropped.json across reopen', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  let clock = Date.parse('2024-02-01T00:00:00.000Z');
  const sink = new TestSink('webhook');
  sink.behave = () => Promise.reject(new Error('connection refused'));
  const outbox = await openOutbox(t, dir, [sink], rec, { now: () => clock, maxAgeMs: 60_000, retryMinMs: 20, retryMaxMs: 20 });
  const ev = alert();
  outbox.enqueue(ev);
  outbox.start();
  await until(() => rec.of('alert.failed').length >= 1, 'a failed attempt');
  clock += 60_001;
  await until(() => rec.of('alert.dropped').length === 1, 'the drop');
  assert.deepEqual(rec.of('alert.dropped'), [
    { kind: 'alert.dropped', sink: 'webhook', id: ev.id, event: 'findings.opened', queued: '2024-02-01T00:00:00.000Z', reason: 'max-age' },
  ]);
  assert.deepEqual(queued(dir, 'webhook'), []);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'dropped.json'), 'utf8')), { version: 1, dropped: { webhook: 1 } });
  // A later event goes out next: a dropped one still in the queue would have gone before it.
  const calls = sink.calls.length;
  sink.behave = () => Promise.resolve();
  const later = alert(2);
  outbox.enqueue(later);
  await until(() => rec.of('alert.delivered').length >= 1, 'the later delivery');
  assert.deepEqual(
    sink.calls.slice(calls).map((c) => c.events.map((e) => e.id)),
    [[later.id]],
    'no more attempts once dropped',
  );
  assert.deepEqual(
    outbox.status().map((s) => [s.sink, s.pending, s.dropped]),
    [['webhook', 0, 1]],
  );
  await outbox.close();
  const again = await openOutbox(t, dir, [], new LogRecorder());
  assert.deepEqual(again.status(), [
    {
      sink: 'webhook',
      configured: false,
      pending: 0,
      oldest: null,
      lastError: null,
      lastErrorAt: null,
      lastDelivered: null,
      delivered: 0,
      failures: 0,
      nextAttempt: null,
      dropped: 1,
    },
  ]);
});

test('beyond maxPendingPerSink the oldest deliveries are dropped as overflow', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const sink = new TestSink('webhook');
  const outbox = await openOutbox(t, dir, [sink], rec, { maxPendingPerSink: 3 });
  const events = [1, 2, 3, 4, 5].map((n) => alert(n));
  for (const ev of events) outbox.enqueue(ev);
  assert.deepEqual(
    rec.of('alert.dropped').map((d) => [d.id, d.reason]),
    [
      [events[0]?.id, 'overflow'],
      [events[1]?.id, 'overflow'],
    ],
  );
  assert.deepEqual(
    queued(dir, 'webhook').map((f) => f.slice(14, -5)),
    events.slice(2).map((e) => e.id),
  );
  assert.equal(outbox.status()[0]?.dropped, 2);
  outbox.start();
  await until(() => rec.of('alert.delivered').length === 3, 'the deliveries');
  assert.deepEqual(
    sink.ids(),
    events.slice(2).map((e) => e.id),
  );
});

test('a hanging sink does not delay another; close abandons the hung send and nothing is sent after', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const stuck = new TestSink('email');
  stuck.behave = hang;
  const webhook = new TestSink('webhook');
  const outbox = await openOutbox(t, dir, [stuck, webhook], rec);
  outbox.start();
  const first = alert(1);
  const second = alert(2);
  outbox.enqueue(first);
  await until(() => stuck.calls.length === 1 && webhook.calls.length === 1, 'both sinks called');
  outbox.enqueue(second);
  await until(() => rec.of('alert.delivered').length === 2, 'the second webhook delivery while email hangs');
  assert.deepEqual(webhook.ids(), [first.id, second.id]);
  assert.equal(stuck.calls.length, 1, 'one delivery in flight per sink');
  await outbox.close();
  await outbox.close(); // idempotent
  const third = alert(3);
  outbox.enqueue(third); // does not throw after close; written for the next start
  await outbox.rescan();
  assert.equal(queued(dir, 'email').length, 3, 'the abandoned deliveries stay for the restart');
  assert.equal(queued(dir, 'webhook').length, 1);
  // The restart delivers them; the closed outbox, which has no loop left to wake, sent nothing meanwhile.
  const email2 = new TestSink('email', { maxBatch: 10 });
  const webhook2 = new TestSink('webhook');
  const rec2 = new LogRecorder();
  const restarted = await openOutbox(t, dir, [email2, webhook2], rec2);
  restarted.start();
  await until(() => rec2.of('alert.delivered').flatMap((d) => d.ids).length >= 4, 'the deliveries after the restart');
  assert.deepEqual(email2.ids(), [first.id, second.id, third.id]);
  assert.deepEqual(webhook2.ids(), [third.id]);
  assert.equal(stuck.calls.length, 1);
  assert.equal(webhook.calls.length, 2);
});

test('status shows pending, oldest, last error, next attempt, and sinks no longer configured', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  let clock = Date.parse('2024-03-01T10:00:00.000Z');
  const sink = new TestSink('webhook');
  sink.behave = () => Promise.reject(new Error('HTTP 500 from https://hooks.example/x'));
  const outbox = await openOutbox(t, dir, [sink], rec, { now: () => clock, retryMinMs: 60_000, retryMaxMs: 600_000, random: () => 0 });
  outbox.enqueue(alert(1));
  clock += 1000;
  outbox.enqueue(alert(2), ['email']); // not configured: stays on disk, shown, expires like the others
  outbox.start();
  await until(() => rec.of('alert.failed').length === 1, 'the failed attempt');
  assert.deepEqual(outbox.status(), [
    {
      sink: 'webhook',
      configured: true,
      pending: 1,
      oldest: '2024-03-01T10:00:00.000Z',
      lastError: 'HTTP 500 from https://hooks.example/x',
      lastErrorAt: '2024-03-01T10:00:01.000Z',
      lastDelivered: null,
      delivered: 0,
      failures: 1,
      nextAttempt: '2024-03-01T10:01:01.000Z', // retry_min after the failure, whatever the jitter
      dropped: 0,
    },
    {
      sink: 'email',
      configured: false,
      pending: 1,
      oldest: '2024-03-01T10:00:01.000Z',
      lastError: null,
      lastErrorAt: null,
      lastDelivered: null,
      delivered: 0,
      failures: 0,
      nextAttempt: null,
      dropped: 0,
    },
  ]);
  assert.equal(queued(dir, 'email').length, 1);
  clock += 7 * 24 * 3600_000 + 1000;
  await outbox.rescan(); // the minute tick's work: expiry of every folder, configured or not
  assert.deepEqual(
    rec.of('alert.dropped').map((d) => [d.sink, d.reason]),
    [
      ['webhook', 'max-age'],
      ['email', 'max-age'],
    ],
  );
  assert.deepEqual(
    outbox.status().map((s) => [s.sink, s.configured, s.pending, s.dropped]),
    [
      ['webhook', true, 0, 1],
      ['email', false, 0, 1],
    ],
  );
});

test('setSinks starts new sinks, stops removed ones (their files stay) and restarts them later', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const email = new TestSink('email');
  const webhook = new TestSink('webhook');
  const outbox = await openOutbox(t, dir, [email], rec);
  outbox.start();
  const one = alert(1);
  outbox.enqueue(one);
  await until(() => rec.of('alert.delivered').length === 1, 'the email delivery');
  outbox.setSinks([webhook]);
  const two = alert(2);
  outbox.enqueue(two);
  await until(() => webhook.calls.length === 1, 'the webhook delivery');
  assert.deepEqual(webhook.ids(), [two.id]);
  const three = alert(3);
  outbox.enqueue(three, ['email']);
  // A removed sink's loop would send at once, as the webhook does with the next event.
  const four = alert(4);
  outbox.enqueue(four, ['webhook']);
  await until(() => rec.of('alert.delivered').length >= 3, 'the webhook delivery after it');
  assert.deepEqual(webhook.ids(), [two.id, four.id]);
  assert.equal(email.calls.length, 1, 'a removed sink is not called');
  assert.equal(queued(dir, 'email').length, 1);
  assert.deepEqual(
    outbox.status().map((s) => [s.sink, s.configured, s.pending]),
    [
      ['webhook', true, 0],
      ['email', false, 1],
    ],
  );
  const email2 = new TestSink('email');
  outbox.setSinks([webhook, email2]);
  await until(() => rec.of('alert.delivered').length === 4, 'the re-added sink delivering what waited');
  assert.deepEqual(email2.ids(), [three.id]);
  assert.deepEqual(queued(dir, 'email'), []);
  assert.equal(email.calls.length, 1);
});

test('a sink replaced while its send hangs: the new one takes over the delivery', async (t) => {
  const dir = tempDir(t);
  const rec = new LogRecorder();
  const old = new TestSink('webhook');
  old.behave = hang;
  const outbox = await openOutbox(t, dir, [old], rec);
  outbox.start();
  const ev = alert();
  outbox.enqueue(ev);
  await until(() => old.calls.length === 1, 'the hung send');
  const fresh = new TestSink('webhook');
  outbox.setSinks([fresh]);
  await until(() => rec.of('alert.delivered').length === 1, 'the new sink delivering');
  assert.deepEqual(fresh.ids(), [ev.id]);
  assert.deepEqual(queued(dir, 'webhook'), []);
  assert.equal(old.calls.length, 1);
});
