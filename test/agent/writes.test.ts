// file.written: writes to scoped files gathered per burst into one alert, dropped when dpkg ran
// during the burst; the findings name package, path and what happened. Timers are mocked.
import assert from 'node:assert/strict';
import { mock, test, type TestContext } from 'node:test';
import { WriteAlerts, WRITES_GATHER_MS, WRITES_MIN_INTERVAL_MS, writtenFindings } from '../../src/agent/writes.js';
import type { FindingJson } from '../../src/verify/report.js';

test('written findings: one per owning package, sorted, ignored paths left out, what happened in detail', () => {
  const writes = new Map([
    ['/srv/app/z.php', ['change' as const]],
    ['/srv/app/a.php', ['change' as const, 'unlink' as const]],
    ['/srv/app/cache.php', ['add' as const]],
    ['/etc/app/app.conf', ['add' as const]],
  ]);
  const owners = (p: string): { package: string; conffile: boolean }[] =>
    p === '/etc/app/app.conf' ? [{ package: 'app', conffile: true }] : p === '/srv/app/a.php' ? [{ package: 'lib', conffile: false }, { package: 'app', conffile: false }] : [{ package: 'app', conffile: false }];
  const found = writtenFindings(writes, owners, (p) => p.includes('cache'));
  assert.deepEqual(
    found.map((f) => [f.package, f.path, f.status, f.conffile, f.expected, f.actual]),
    [
      ['app', '/etc/app/app.conf', 'written', true, null, null],
      ['app', '/srv/app/a.php', 'written', false, null, null],
      ['app', '/srv/app/z.php', 'written', false, null, null],
      ['lib', '/srv/app/a.php', 'written', false, null, null],
    ],
  );
  assert.equal(found[1]?.detail, 'written in place (or its mode, owner or times changed); removed, while no dpkg was running');
});

interface FakeDpkg {
  running: boolean;
  epoch: number;
  observe(): Promise<boolean>;
  busySince(epoch: number): Promise<boolean>;
}

function setup(t: TestContext): { dpkg: FakeDpkg; sent: FindingJson[][]; alerts: WriteAlerts; tick(ms: number): Promise<void> } {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const dpkg: FakeDpkg = {
    running: false,
    epoch: 0,
    observe(): Promise<boolean> {
      return Promise.resolve(this.running);
    },
    busySince(epoch: number): Promise<boolean> {
      return Promise.resolve(this.running || this.epoch !== epoch);
    },
  };
  const sent: FindingJson[][] = [];
  let clock = 1_000_000;
  const alerts = new WriteAlerts({ dpkg, owners: () => [{ package: 'app', conffile: false }], isIgnored: () => false, send: (f) => sent.push(f), now: () => clock });
  t.after(() => alerts.close());
  return {
    dpkg,
    sent,
    alerts,
    async tick(ms) {
      clock += ms;
      mock.timers.tick(ms);
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

test('a burst of writes is one alert listing every path, after the gathering window', async (t) => {
  const h = setup(t);
  h.alerts.note('/srv/app/a.php', 'change');
  await h.tick(WRITES_GATHER_MS / 2);
  h.alerts.note('/srv/app/b.php', 'change');
  h.alerts.note('/srv/app/a.php', 'change');
  assert.equal(h.sent.length, 0);
  await h.tick(WRITES_GATHER_MS / 2);
  assert.deepEqual(h.sent.map((f) => f.map((x) => x.path)), [['/srv/app/a.php', '/srv/app/b.php']]);
  // The next write starts a new burst, alerted no sooner than WRITES_MIN_INTERVAL_MS after the first alert.
  await h.tick(WRITES_MIN_INTERVAL_MS / 2);
  h.alerts.note('/srv/app/c.php', 'add');
  await h.tick(WRITES_MIN_INTERVAL_MS / 2 - 1);
  assert.equal(h.sent.length, 1);
  await h.tick(1);
  assert.deepEqual(h.sent.map((f) => f.map((x) => x.path)), [['/srv/app/a.php', '/srv/app/b.php'], ['/srv/app/c.php']]);
});

test('a process that keeps writing gets one alert per interval, listing every path it wrote', async (t) => {
  const h = setup(t);
  for (let i = 0; i < 100; i++) {
    h.alerts.note(`/srv/app/f${i % 20}.php`, 'change');
    await h.tick(WRITES_MIN_INTERVAL_MS / 10);
  }
  // 100 writes over 10 intervals: the first alert after WRITES_GATHER_MS, then one per interval.
  assert.ok(h.sent.length <= 11, `${h.sent.length} alerts`);
  assert.equal(new Set(h.sent.flat().map((f) => f.path)).size, 20, 'every path was alerted');
});

test('writes while dpkg runs, or in a burst during which a dpkg run came and went, are not alerted', async (t) => {
  const h = setup(t);
  h.dpkg.running = true;
  h.alerts.note('/srv/app/a.php', 'change');
  await h.tick(WRITES_GATHER_MS);
  h.dpkg.running = false;
  h.alerts.note('/srv/app/b.php', 'change');
  h.dpkg.epoch++; // a short dpkg run, seen by the guard while the burst gathers
  await h.tick(WRITES_GATHER_MS);
  assert.equal(h.sent.length, 0);
  // Marker: a write with dpkg gone is alerted, so the absence above is not an alert that never comes.
  h.alerts.note('/srv/app/c.php', 'change');
  await h.tick(WRITES_GATHER_MS);
  assert.deepEqual(h.sent.map((f) => f.map((x) => x.path)), [['/srv/app/c.php']]);
});
