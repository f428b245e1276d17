// The flag file against real nginx with the shipped snippet: 503 with Retry-After while offline, the site back after bringOnline, and other 503s left alone.
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { bringOnline, takeOffline, type OfflineConfig } from '../../src/respond/actions.js';
import { request, startNginx, type Response } from '../helpers/nginx.js';

const MAINTENANCE = /down for maintenance/;

/** A flag directory like /var/lib/pkgwatch in production: mode 0711, so nginx's workers can stat the flag. */
async function flagDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-flag-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o711);
  return dir;
}

function flagOnly(flagFile: string): OfflineConfig {
  return { flagFile, stopUnits: [], command: [], restoreCommand: [], commandTimeoutMs: 10_000 };
}

const CTX = { since: '2026-01-02T03:04:05.000Z', reason: 'changed: /usr/share/my-app/app.py (my-app)' };

function assertMaintenance(r: Response, what: string, head = false): void {
  assert.equal(r.status, 503, what);
  assert.equal(r.headers['retry-after'], '300', what);
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/, what);
  if (head) assert.equal(r.body, '', what);
  else assert.match(r.body, MAINTENANCE, what);
}

test('the site answers 503 with Retry-After while the flag exists, and 200 again after bringOnline', async (t) => {
  const flagFile = join(await flagDir(t), 'maintenance.on');
  const cfg = flagOnly(flagFile);
  const nginx = await startNginx(t, { flagFile });

  const before = await request(`${nginx.url}/`);
  assert.equal(before.status, 200);
  assert.equal(before.body, 'hello\n');

  // The service's UMask: the flag must still be readable for the workers.
  const umask = process.umask(0o077);
  let down;
  try {
    down = await takeOffline(cfg, CTX);
  } finally {
    process.umask(umask);
  }
  assert.deepEqual(down.map((o) => [o.action, o.ok]), [['flag_file', true]]);
  // Without open_file_cache, nginx stats the flag on every request: no wait needed.
  assertMaintenance(await request(`${nginx.url}/`), 'GET /');
  assertMaintenance(await request(`${nginx.url}/any/path?x=1`), 'GET /any/path');
  assertMaintenance(await request(`${nginx.url}/own-errors/page`), 'a location with its own error_page');
  assertMaintenance(await request(`${nginx.url}/`, 'POST'), 'POST /');
  assertMaintenance(await request(`${nginx.url}/any/path`, 'HEAD'), 'HEAD /any/path', true);

  const up = await bringOnline(cfg, CTX);
  assert.deepEqual(up.map((o) => [o.action, o.ok]), [['remove_flag_file', true]]);
  const after = await request(`${nginx.url}/any/path`);
  assert.equal(after.status, 200);
  assert.equal(after.body, 'hello\n');
  assert.equal(after.headers['retry-after'], undefined);
});

test('without the flag, 503s from the application and from nginx itself are not the maintenance page', async (t) => {
  const flagFile = join(await flagDir(t), 'maintenance.on');
  let asked = 0;
  const app = http.createServer((_req, res) => {
    asked++;
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end('{"error":"the app is busy"}\n');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
  const addr = app.address();
  assert.ok(typeof addr === 'object' && addr !== null);
  const nginx = await startNginx(t, { flagFile, upstream: `http://127.0.0.1:${addr.port}` });

  // The application's own 503 passes through untouched (proxy_intercept_errors is off).
  const fromApp = await request(`${nginx.url}/app/status`);
  assert.equal(fromApp.status, 503);
  assert.equal(fromApp.body, '{"error":"the app is busy"}\n');
  assert.equal(fromApp.headers['retry-after'], '7');

  // nginx's own 503 (limit_req, `return 503`) goes through the snippet's error_page: a plain 503, not "maintenance".
  const fromNginx = await request(`${nginx.url}/nginx-503`);
  assert.equal(fromNginx.status, 503);
  assert.equal(fromNginx.body, '503 Service Unavailable\n');
  assert.doesNotMatch(fromNginx.body, MAINTENANCE);

  // While offline, the application is not even asked.
  await takeOffline(flagOnly(flagFile), CTX);
  assertMaintenance(await request(`${nginx.url}/app/status`), 'GET /app/status while offline');
  assert.equal(asked, 1);
});
