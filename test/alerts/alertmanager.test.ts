// What the Alertmanager sink posts for each kind of event (endsAt ahead while open, at the close when
// resolved), where it posts it, and that a real HTTP server on 127.0.0.1 receives it as one JSON array.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { alertmanagerAlerts, AlertmanagerSink, alertmanagerSinkNames, alertsEndpoint, ENDS_AFTER_RESENDS } from '../../src/alerts/alertmanager.js';
import type { AlertEvent } from '../../src/alerts/sink.js';
import type { FindingJson } from '../../src/verify/report.js';

const CHANGED: FindingJson = { package: 'nginx', path: '/usr/sbin/nginx', status: 'changed', conffile: false, expected: 'a'.repeat(32), actual: 'b'.repeat(32), detail: null };
const CONFFILE: FindingJson = { package: 'nginx', path: '/etc/nginx/nginx.conf', status: 'changed', conffile: true, expected: 'c'.repeat(32), actual: 'd'.repeat(32), detail: null };
const T0 = '2026-12-06T10:00:00.000Z';
const NOW = Date.parse('2026-12-06T10:00:05.000Z');
const RESEND = 60_000;

function event(kind: AlertEvent['kind'], findings: FindingJson[], offline: AlertEvent['offline'] = { active: false, since: null, reason: null }): AlertEvent {
  return { kind, id: '00000000-0000-4000-8000-000000000001', host: 'web1', time: T0, findings, offline };
}

test('an opened finding fires until 4 resends from now, one alert per path, severity by what changed', () => {
  const alerts = alertmanagerAlerts(event('findings.opened', [CHANGED, CONFFILE]), NOW, RESEND);
  const until = new Date(NOW + ENDS_AFTER_RESENDS * RESEND).toISOString();
  assert.deepEqual(alerts, [
    {
      labels: { alertname: 'PkgwatchFinding', host: 'web1', package: 'nginx', path: '/usr/sbin/nginx', status: 'changed', severity: 'critical' },
      annotations: { summary: 'nginx: changed /usr/sbin/nginx on web1', path: '/usr/sbin/nginx', expected: 'a'.repeat(32), actual: 'b'.repeat(32) },
      startsAt: T0,
      endsAt: until,
    },
    {
      labels: { alertname: 'PkgwatchFinding', host: 'web1', package: 'nginx', path: '/etc/nginx/nginx.conf', status: 'changed', severity: 'warning' },
      annotations: { summary: 'nginx: changed /etc/nginx/nginx.conf on web1', path: '/etc/nginx/nginx.conf', expected: 'c'.repeat(32), actual: 'd'.repeat(32) },
      startsAt: T0,
      endsAt: until,
    },
  ]);
  // A reminder (the agent's resend) keeps it firing the same way.
  assert.deepEqual(alertmanagerAlerts(event('findings.reminder', [CHANGED]), NOW, RESEND), [alerts[0]]);
});

test('a resolved finding ends when it closed, not when the post is made (a late delivery still resolves at the right time)', () => {
  const [a] = alertmanagerAlerts(event('findings.resolved', [CHANGED]), NOW + 3_600_000, RESEND);
  assert.equal(a?.startsAt, T0);
  assert.equal(a?.endsAt, T0);
  assert.equal(a?.labels['path'], '/usr/sbin/nginx');
});

test('the site offline fires with every findings event while it lasts and ends with site.online; agent events post nothing', () => {
  const offline = { active: true, since: '2026-12-06T09:59:00.000Z', reason: 'nginx: changed /usr/sbin/nginx' };
  const alerts = alertmanagerAlerts(event('findings.reminder', [CHANGED], offline), NOW, RESEND);
  assert.deepEqual(alerts[1], {
    labels: { alertname: 'PkgwatchSiteOffline', host: 'web1', severity: 'critical' },
    annotations: { summary: 'pkgwatch took the site on web1 offline', description: 'nginx: changed /usr/sbin/nginx' },
    startsAt: offline.since,
    endsAt: new Date(NOW + ENDS_AFTER_RESENDS * RESEND).toISOString(),
  });
  const online = alertmanagerAlerts(event('site.online', [], { active: false, since: null, reason: 'brought back online by root' }), NOW, RESEND);
  assert.deepEqual(online.map((a) => [a.labels['alertname'], a.startsAt, a.endsAt]), [['PkgwatchSiteOffline', T0, T0]]);
  for (const kind of ['agent.started', 'agent.stopping', 'run.failed', 'watch.degraded'] as const) assert.deepEqual(alertmanagerAlerts(event(kind, [], offline), NOW, RESEND), [], kind);
});

test('sink names and the endpoint: one URL is alertmanager, several are numbered; /api/v2/alerts is added once', () => {
  assert.deepEqual(alertmanagerSinkNames(['http://a']), ['alertmanager']);
  assert.deepEqual(alertmanagerSinkNames(['http://a', 'http://b']), ['alertmanager-1', 'alertmanager-2']);
  assert.equal(alertsEndpoint('http://am:9093').href, 'http://am:9093/api/v2/alerts');
  assert.equal(alertsEndpoint('https://mon.example/alertmanager/').href, 'https://mon.example/alertmanager/api/v2/alerts');
  assert.equal(alertsEndpoint('http://am:9093/api/v2/alerts').href, 'http://am:9093/api/v2/alerts');
});

test('the sink POSTs a batch of events as one JSON array to /api/v2/alerts, skips events with nothing to post, and refuses plain http beyond loopback', async (t) => {
  const got: { method: string; url: string; type: string; body: unknown }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const cfg = { urls: [], allowPlaintext: false, resendMs: RESEND, timeoutMs: 10_000 };
  const sink = new AlertmanagerSink('alertmanager', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cfg, () => NOW);
  await sink.send([event('agent.started', [])]);
  assert.equal(got.length, 0, 'nothing to post, no request');
  await sink.send([event('findings.opened', [CHANGED]), event('findings.resolved', [CHANGED])]);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.method, 'POST');
  assert.equal(got[0]?.url, '/api/v2/alerts');
  assert.equal(got[0]?.type, 'application/json');
  assert.deepEqual((got[0]?.body as { endsAt: string }[]).map((a) => a.endsAt), [new Date(NOW + ENDS_AFTER_RESENDS * RESEND).toISOString(), T0]);
  await sink.close();
  assert.throws(() => new AlertmanagerSink('alertmanager', 'http://am.example.test:9093', cfg), /plain http to a host that is not loopback/);
});
