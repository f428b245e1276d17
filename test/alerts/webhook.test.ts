// The webhook sink against real HTTP servers on 127.0.0.1: wire format, signature, errors, timeouts, close.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ALERT_KINDS, ONLINE, type AlertEvent } from '../../src/alerts/sink.js';
import { SIGNATURE_HEADER, signBody, webhookBody, WebhookSink, type WebhookConfig } from '../../src/alerts/webhook.js';
import { startHookReceiver } from '../helpers/receivers.js';
import { selfSignedCert } from '../helpers/tls.js';
import { timedWhenReady, until } from '../helpers/wait.js';

const SECRET = 'correct horse battery staple';

const OPENED: AlertEvent = {
  kind: 'findings.opened',
  id: '3f1c2a9e-7b4d-4c51-9e0a-1b2c3d4e5f60',
  host: 'web1.example.com',
  time: '2024-01-31T12:00:00.000Z',
  findings: [
    { package: 'nginx', path: '/usr/sbin/nginx', status: 'changed', conffile: false, expected: 'a'.repeat(32), actual: 'b'.repeat(32), detail: null },
    { package: 'nginx-common', path: '/etc/nginx/nginx.conf', status: 'missing', conffile: true, expected: 'c'.repeat(32), actual: null, detail: 'caf\u00e9 \\xff' },
  ],
  offline: ONLINE,
};

const OFFLINE: AlertEvent = {
  kind: 'site.offline',
  id: '9d8c7b6a-5f4e-4d3c-8b2a-190817161514',
  host: 'web1.example.com',
  time: '2024-01-31T12:00:02.000Z',
  findings: OPENED.findings,
  offline: { active: true, since: '2024-01-31T12:00:02.000Z', reason: 'nginx: changed /usr/sbin/nginx' },
  actions: [
    { action: 'flag_file', target: '/var/lib/pkgwatch/maintenance.on', ok: true, detail: 'created' },
    { action: 'stop_unit', target: 'nginx.service', ok: false, detail: 'exit 5' },
  ],
};

// --- the receiver side: what the README shows an integrator ---------------------------------------

/** How a receiver checks the signature: recompute the HMAC over the raw body bytes, compare in constant time. */
function verifySignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keysAre(v: Record<string, unknown>, keys: readonly string[], what: string): void {
  assert.deepEqual(Object.keys(v), keys, `${what}: exact keys in order`);
}

const nullableString = (v: unknown): boolean => v === null || typeof v === 'string';

/** A strict check of the wire format: exact keys, types, schema 1, a known event kind. */
function validateBody(parsed: unknown): void {
  assert.ok(isObject(parsed), 'body is a JSON object');
  const hasActions = 'actions' in parsed;
  const hasAgent = 'agent' in parsed;
  keysAre(parsed, ['schema', 'id', 'event', 'host', 'time', 'findings', 'offline', ...(hasActions ? ['actions'] : []), ...(hasAgent ? ['agent'] : [])], 'body');
  assert.equal(parsed['schema'], 1);
  assert.equal(typeof parsed['id'], 'string');
  assert.ok((ALERT_KINDS as readonly unknown[]).includes(parsed['event']), `event ${String(parsed['event'])} is a known kind`);
  assert.equal(typeof parsed['host'], 'string');
  assert.equal(typeof parsed['time'], 'string');
  assert.ok(!Number.isNaN(Date.parse(String(parsed['time']))), 'time is a date');
  const findings = parsed['findings'];
  assert.ok(Array.isArray(findings));
  for (const f of findings as unknown[]) {
    assert.ok(isObject(f));
    keysAre(f, ['package', 'path', 'status', 'conffile', 'expected', 'actual', 'detail'], 'finding');
    assert.equal(typeof f['package'], 'string');
    assert.equal(typeof f['path'], 'string');
    assert.equal(typeof f['status'], 'string');
    assert.equal(typeof f['conffile'], 'boolean');
    assert.ok(nullableString(f['expected']) && nullableString(f['actual']) && nullableString(f['detail']));
  }
  const offline = parsed['offline'];
  assert.ok(isObject(offline));
  keysAre(offline, ['active', 'since', 'reason'], 'offline');
  assert.equal(typeof offline['active'], 'boolean');
  assert.ok(nullableString(offline['since']) && nullableString(offline['reason']));
  if (hasActions) {
    const actions = parsed['actions'];
    assert.ok(Array.isArray(actions));
    for (const a of actions as unknown[]) {
      assert.ok(isObject(a));
      keysAre(a, ['action', 'target', 'ok', 'detail'], 'action');
      assert.equal(typeof a['ok'], 'boolean');
    }
  }
  if (hasAgent) {
    const agent = parsed['agent'];
    assert.ok(isObject(agent));
    keysAre(agent, ['version', 'message', 'schedule', 'dropped'], 'agent');
    assert.ok(typeof agent['version'] === 'string' && typeof agent['message'] === 'string' && nullableString(agent['schedule']));
    assert.ok(Array.isArray(agent['dropped']));
    for (const d of agent['dropped'] as unknown[]) {
      assert.ok(isObject(d));
      keysAre(d, ['sink', 'id', 'event', 'queued'], 'dropped');
    }
  }
}

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: Record<string, unknown>;
}

type Answer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

interface Receiver {
  readonly url: string;
  /** The url as messages show it (maskUrl): its path hidden. */
  readonly shown: string;
  readonly port: number;
  readonly received: Received[];
  /** Resolves when the n-th request (1-based) has fully arrived. */
  arrived(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on 127.0.0.1: reads the whole body, validates it strictly, checks the
 * signature when `secret` is given (and its absence when not), then answers with `answer`.
 */
async function receiver(answer: Answer, secret: string | null = SECRET): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const sig = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      try {
        if (secret !== null) assert.ok(verifySignature(secret, raw, typeof sig === 'string' ? sig : undefined), 'signature verifies');
        else assert.equal(sig, undefined, 'unsigned');
        validateBody(body);
      } catch (err) {
        res.writeHead(422, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : String(err));
        return;
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body });
      for (const w of waiters.filter((x) => x.n <= received.length)) w.resolve();
      answer(req, res, received.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/pkgwatch`,
    shown: `http://127.0.0.1:${port}/(hidden)`,
    port,
    received,
    arrived: (n) =>
      received.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiters.push({ n, resolve });
          }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function config(url: string, over: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url, allowPlaintext: false, secret: SECRET, headers: [], timeoutMs: 30_000, ...over };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** A timeout no test waits for. */
const NO_TIMEOUT = 3_600_000;

/** `p`, failing instead if it has not settled by the safety net. */
async function settledBeforeSafetyNet(p: Promise<void>): Promise<void> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await until(() => settled, 'the send to settle');
  return p;
}

// --- the wire format ----------------------------------------------------------------------------

test('webhookBody is exactly the documented keys, in order; actions only when given', () => {
  assert.equal(
    webhookBody(OPENED),
    JSON.stringify({
      schema: 1,
      id: OPENED.id,
      event: 'findings.opened',
      host: 'web1.example.com',
      time: '2024-01-31T12:00:00.000Z',
      findings: OPENED.findings,
      offline: { active: false, since: null, reason: null },
    }),
  );
  const parsed = JSON.parse(webhookBody(OFFLINE)) as Record<string, unknown>;
  validateBody(parsed);
  assert.deepEqual(parsed['actions'], OFFLINE.actions);
  assert.equal('actions' in (JSON.parse(webhookBody(OPENED)) as object), false);
  // Extra properties riding on the objects never reach the wire.
  const sloppy = { ...OPENED, extra: 1, findings: [{ ...OPENED.findings[0], secretField: 'x' }] } as unknown as AlertEvent;
  validateBody(JSON.parse(webhookBody(sloppy)));
  assert.equal(webhookBody(OPENED), webhookBody(OPENED), 'the same event always gives the same body');
});

test('an event about the agent carries `agent`: version, message, schedule, dropped', () => {
  const failed: AlertEvent = {
    kind: 'run.failed',
    id: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
    host: 'web1.example.com',
    time: '2024-01-31T12:05:00.000Z',
    findings: [],
    offline: ONLINE,
    agent: { version: '0.1.0', message: 'cannot read /var/lib/dpkg/status: EACCES', schedule: 'scoped', dropped: [] },
  };
  const parsed = JSON.parse(webhookBody(failed)) as Record<string, unknown>;
  validateBody(parsed);
  assert.equal(parsed['event'], 'run.failed');
  assert.deepEqual(parsed['agent'], { version: '0.1.0', message: 'cannot read /var/lib/dpkg/status: EACCES', schedule: 'scoped', dropped: [] });
});

test('http:// to a host that is not loopback is refused unless allow_plaintext; loopback is fine', () => {
  assert.throws(() => new WebhookSink(config('http://hooks.example.com/services/T0/B0/slack-secret')), {
    message: 'webhook url http://hooks.example.com/(hidden): plain http to a host that is not loopback; use https:// or set [alerts.webhook] allow_plaintext = true',
  });
  for (const url of ['http://hooks.example.com/x', 'http://192.0.2.10/x', 'http://[fd00::1]/x']) assert.throws(() => new WebhookSink(config(url)), /not loopback/);
  for (const url of ['http://127.0.0.1:9/x', 'http://127.8.9.10/x', 'http://localhost/x', 'http://[::1]:9/x', 'https://hooks.example.com/x']) {
    assert.equal(new WebhookSink(config(url)).name, 'webhook', url);
  }
  assert.equal(new WebhookSink(config('http://hooks.example.com/x', { allowPlaintext: true })).name, 'webhook');
});

test('errors never show the path, query or userinfo of the url (a Slack-style secret path)', async () => {
  const r = await receiver((_req, res) => res.writeHead(500).end('no'));
  const sink = new WebhookSink(config(`http://bob:hunter2@127.0.0.1:${r.port}/services/T000/B000/XXsecretXX?token=qtok`));
  try {
    const err = await sink.send([OPENED]).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.equal(err.message, `HTTP 500 from http://(hidden)@127.0.0.1:${r.port}/(hidden)?(hidden): no`);
    // The request itself went to the whole URL.
    assert.equal(r.received[0]?.url, '/services/T000/B000/XXsecretXX?token=qtok');
    assert.equal(r.received[0]?.headers.authorization, `Basic ${Buffer.from('bob:hunter2').toString('base64')}`);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('signBody is sha256= and the hex HMAC-SHA256 of the UTF-8 body', () => {
  const body = webhookBody(OPENED);
  assert.match(signBody(SECRET, body), /^sha256=[0-9a-f]{64}$/);
  assert.equal(signBody(SECRET, body), `sha256=${createHmac('sha256', SECRET).update(Buffer.from(body, 'utf8')).digest('hex')}`);
  assert.notEqual(signBody('another secret', body), signBody(SECRET, body));
});

test('how a receiver verifies the signature (the README example)', () => {
  // On the receiving end, with the raw request body as bytes (before any JSON parsing):
  //   const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex'));
  //   const got = Buffer.from(req.headers['x-pkgwatch-signature'] ?? '');
  //   const ok = got.length === expected.length && timingSafeEqual(got, expected);
  const rawBody = Buffer.from(webhookBody(OPENED), 'utf8');
  const header = signBody(SECRET, webhookBody(OPENED));
  assert.equal(verifySignature(SECRET, rawBody, header), true);
  assert.equal(verifySignature('wrong secret', rawBody, header), false);
  assert.equal(verifySignature(SECRET, Buffer.concat([rawBody, Buffer.from(' ')]), header), false);
  assert.equal(verifySignature(SECRET, rawBody, undefined), false);
  assert.equal(verifySignature(SECRET, rawBody, header.toUpperCase()), false);
});

test('the sink is named webhook and delivers one event per request', () => {
  const sink = new WebhookSink(config('http://127.0.0.1:1/'));
  assert.equal(sink.name, 'webhook');
  assert.equal(sink.maxBatch, 1);
  assert.equal(sink.gatherMs, 0);
});

// --- delivery -----------------------------------------------------------------------------------

test('200 and 204 are delivered, signed, with the pkgwatch and configured headers', async () => {
  const r = await receiver((_req, res, n) => {
    if (n === 1) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    else res.writeHead(204).end();
  });
  const sink = new WebhookSink(config(r.url, { headers: [['Authorization', 'Bearer s3cr3t-token'], ['X-Team', 'ops']] }));
  try {
    await sink.send([OPENED]);
    await sink.send([OFFLINE]);
    assert.equal(r.received.length, 2);
    const [first, second] = r.received;
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.method, 'POST');
    assert.equal(first.url, '/hooks/pkgwatch');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers['user-agent'], 'pkgwatch');
    assert.equal(first.headers['x-pkgwatch-event'], 'findings.opened');
    assert.equal(first.headers['x-pkgwatch-id'], OPENED.id);
    assert.equal(first.headers['x-pkgwatch-id'], first.body['id']);
    assert.equal(first.headers['authorization'], 'Bearer s3cr3t-token');
    assert.equal(first.headers['x-team'], 'ops');
    assert.equal(first.headers['x-pkgwatch-signature'], signBody(SECRET, first.raw.toString('utf8')));
    assert.equal(first.raw.toString('utf8'), webhookBody(OPENED));
    assert.notEqual(first.headers['connection'], 'keep-alive');
    assert.equal(second.headers['x-pkgwatch-event'], 'site.offline');
    assert.equal(second.headers['x-pkgwatch-id'], second.body['id']);
    assert.deepEqual(second.body['actions'], OFFLINE.actions);
    assert.equal('actions' in first.body, false);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('with secret "" the request is unsigned', async () => {
  const r = await receiver((_req, res) => res.writeHead(200).end(), null);
  const sink = new WebhookSink(config(r.url, { secret: '' }));
  try {
    await sink.send([OPENED]);
    assert.equal(r.received.length, 1);
    assert.equal(r.received[0]?.headers['x-pkgwatch-signature'], undefined);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('500 rejects with the status and a snippet of the body; the retry carries the same id and body', async () => {
  const r = await receiver((_req, res, n) => {
    if (n === 1) res.writeHead(500, { 'content-type': 'text/plain' }).end(`database is down\nretry later\u0007${'x'.repeat(500)}`);
    else res.writeHead(200).end();
  });
  const sink = new WebhookSink(config(r.url, { headers: [['Authorization', 'Bearer s3cr3t-token']] }));
  try {
    const err = await sink.send([OPENED]).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof Error);
    assert.match(err.message, /^HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/\(hidden\): database is down\\nretry later\\x07x+\.\.\.$/);
    assert.ok(err.message.length < 400, 'the snippet is short');
    assert.doesNotMatch(err.message, /s3cr3t|correct horse/);
    await sink.send([OPENED]);
    assert.equal(r.received.length, 2);
    const [a, b] = r.received;
    assert.equal(a?.headers['x-pkgwatch-id'], OPENED.id);
    assert.equal(b?.headers['x-pkgwatch-id'], OPENED.id);
    assert.deepEqual(a?.raw, b?.raw);
    assert.equal(a?.headers['x-pkgwatch-signature'], b?.headers['x-pkgwatch-signature']);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('a redirect is not followed', async () => {
  const r = await receiver((_req, res) => res.writeHead(302, { location: 'https://u:p@hooks.example.com/new?token=abc' }).end('moved'));
  const sink = new WebhookSink(config(r.url));
  try {
    await assert.rejects(sink.send([OPENED]), {
      message: `HTTP 302 from ${r.shown} to https://(hidden)@hooks.example.com/(hidden)?(hidden) (redirects are not followed; set url to the final address)`,
    });
    assert.equal(r.received.length, 1);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('a receiver that never answers: rejects after timeoutMs', async (t) => {
  await timedWhenReady(t, 500, async (timeoutMs) => {
    const r = await receiver(() => {
      /* never answers */
    });
    const sink = new WebhookSink(config(r.url, { timeoutMs }));
    try {
      await assert.rejects(sink.send([OPENED]), { message: `timed out after ${timeoutMs / 1000} s waiting for ${r.shown}` });
      // A timeout that fired before the whole request arrived (a stalled process) tests a slow send instead.
      return { ready: r.received.length === 1, result: null };
    } finally {
      await sink.close();
      await r.close();
    }
  });
});

test('a closed port: cannot connect, ECONNREFUSED; no userinfo, secret or header value in the message', async () => {
  const port = await closedPort();
  const sink = new WebhookSink(config(`http://alice:pa55word@127.0.0.1:${port}/hook?token=t0ken`, { headers: [['Authorization', 'Bearer s3cr3t-token']] }));
  try {
    const err = await sink.send([OPENED]).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.equal(err.message, `cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
    assert.doesNotMatch(err.message, /alice|pa55word|t0ken|s3cr3t|correct horse/);
  } finally {
    await sink.close();
  }
});

test('a huge 200 body is delivered without reading it all, and the connection is dropped', async () => {
  const total = 10 * 1024 * 1024;
  let serverSawClose: Promise<unknown> = Promise.resolve();
  const r = await receiver((_req, res) => {
    serverSawClose = once(res, 'close');
    // Declare 10 MB but send only the first 1 MB: a sink that reads to the end would wait forever.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    res.write(Buffer.alloc(1024 * 1024, 0x61));
  });
  // No timeout to fall back on: a sink that waited for the rest would still be waiting at the safety net.
  const sink = new WebhookSink(config(r.url, { timeoutMs: NO_TIMEOUT }));
  try {
    await settledBeforeSafetyNet(sink.send([OPENED]));
    await serverSawClose;
  } finally {
    await sink.close();
    await r.close();
  }
});

test('a huge error body is cut to a snippet', async () => {
  const r = await receiver((_req, res) => {
    res.writeHead(503, { 'content-length': String(10 * 1024 * 1024) });
    res.write(Buffer.alloc(1024 * 1024, 0x62));
  });
  const sink = new WebhookSink(config(r.url, { timeoutMs: NO_TIMEOUT }));
  try {
    await assert.rejects(settledBeforeSafetyNet(sink.send([OPENED])), { message: `HTTP 503 from ${r.shown}: ${'b'.repeat(200)}...` });
  } finally {
    await sink.close();
    await r.close();
  }
});

test('an https URL against a plain-HTTP port fails cleanly', async () => {
  const r = await receiver((_req, res) => res.writeHead(200).end());
  const sink = new WebhookSink(config(`https://127.0.0.1:${r.port}/hooks/pkgwatch`));
  try {
    const err = await sink.send([OPENED]).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof Error);
    assert.match(err.message, new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${r.port} failed: [^\\n]+ \\(is it an https server\\? use http:// for a plain one\\)$`));
    assert.equal(r.received.length, 0);
  } finally {
    await sink.close();
    await r.close();
  }
});

test('https: a certificate this process does not trust fails before anything is sent, and says what to do', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pkgwatch-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hook = await startHookReceiver(t, SECRET, 0, selfSignedCert(dir));
  // Trusting it needs NODE_EXTRA_CA_CERTS at start-up: agent-delivery.test runs pkgwatch with it.
  const sink = new WebhookSink(config(hook.url));
  try {
    await assert.rejects(sink.send([OPENED]), {
      message: `TLS handshake with 127.0.0.1:${hook.port} failed: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate (the certificate is not trusted: add its CA with NODE_EXTRA_CA_CERTS, see README "Webhook")`,
    });
  } finally {
    await sink.close();
  }
  assert.equal(hook.requests, 0);
});

test('close() aborts a hanging request, which rejects; close is idempotent and later sends reject', async () => {
  const r = await receiver(() => {
    /* never answers */
  });
  // A long timeout: the rejection must come from close(), not from the timer.
  const sink = new WebhookSink(config(r.url, { timeoutMs: 120_000 }));
  try {
    const sending = sink.send([OPENED]);
    await r.arrived(1);
    await sink.close();
    await assert.rejects(sending, { message: `webhook sink closed while sending to ${r.shown}` });
    await sink.close();
    await assert.rejects(sink.send([OPENED]), /webhook sink is closed/);
  } finally {
    await r.close();
  }
});

test('a header Node cannot send is named in the rejection, its value is not', async () => {
  const port = await closedPort();
  const sink = new WebhookSink(config(`http://127.0.0.1:${port}/`, { headers: [['X-Token', 'abc\r\nInjected: s3cr3t']] }));
  try {
    await assert.rejects(sink.send([OPENED]), { message: `cannot send to http://127.0.0.1:${port}/: header "X-Token" has an invalid name or value` });
  } finally {
    await sink.close();
  }
});
