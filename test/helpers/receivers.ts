// Real alert receivers on 127.0.0.1 for the agent's end-to-end tests: an SMTP server (smtp-server)
// and an HTTP webhook receiver that checks the signature and the schema of every body.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

/** How long waitUntil waits: only a safety net against a hang, never a limit a busy machine should reach. */
const WAIT_MS = 180_000;

/** Polls `cond` (every 50 ms) until it holds, failing with `what` after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One message as the SMTP server received it. */
export interface Mail {
  readonly from: string;
  readonly to: readonly string[];
  readonly headers: ReadonlyMap<string, string>;
  readonly subject: string;
  /** The text body, transfer encoding undone. */
  readonly text: string;
  readonly raw: string;
}

function decodeBody(body: string, encoding: string): string {
  const enc = encoding.toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = Buffer.from(body.replace(/=\r?\n/g, ''), 'latin1').toString('latin1');
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] ?? '';
      if (c === '=' && /^[0-9A-F]{2}$/i.test(bytes.slice(i + 1, i + 3))) {
        out.push(parseInt(bytes.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        out.push(c.charCodeAt(0));
      }
    }
    return Buffer.from(out).toString('utf8');
  }
  return body;
}

/** Parses a single-part text message (what the email sink sends). */
export function parseMail(raw: string, from: string, to: readonly string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const l of head.split('\r\n')) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  const text = decodeBody(raw.slice(split + 4), headers.get('content-transfer-encoding') ?? '7bit');
  const subject = (headers.get('subject') ?? '').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, e: string, w: string) =>
    e.toLowerCase() === 'b' ? Buffer.from(w, 'base64').toString('utf8') : decodeBody(w.replace(/_/g, ' '), 'quoted-printable'),
  );
  return { from, to, headers, subject, text, raw };
}

/** A running SMTP server and what it received. */
export interface SmtpReceiver {
  readonly port: number;
  readonly mails: Mail[];
  /** Answers with a 451 to the next `n` messages (after DATA). */
  failNext(n: number): void;
  /** How many messages were refused with 451. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts smtp-server on 127.0.0.1 (port 0 = any free port); closed when the test ends. */
export async function startSmtp(t: TestContext, port = 0): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  let failing = 0;
  let refused = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failing > 0) {
          failing--;
          refused++;
          const err = Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, session.envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return {
    port: address.port,
    mails,
    failNext: (n) => {
      failing = n;
    },
    get refused() {
      return refused;
    },
    close,
  };
}

/** One webhook body as received, after its signature and schema were checked. */
export interface Hook {
  readonly schema: 1;
  readonly id: string;
  readonly event: string;
  readonly host: string;
  readonly time: string;
  readonly findings: readonly { package: string; path: string; status: string; conffile: boolean; expected: string | null; actual: string | null; detail: string | null }[];
  readonly offline: { readonly active: boolean; readonly since: string | null; readonly reason: string | null };
  readonly actions?: readonly { action: string; target: string; ok: boolean; detail: string }[];
  readonly agent?: { readonly version: string; readonly message: string; readonly schedule: string | null; readonly dropped: readonly { sink: string; id: string; event: string; queued: string }[]; readonly coverage?: string };
}

/** A running webhook receiver. */
export interface HookReceiver {
  readonly url: string;
  readonly port: number;
  /** Accepted (2xx) bodies, in arrival order, duplicates included. */
  readonly accepted: Hook[];
  /** Every request, accepted or not. */
  readonly requests: number;
  /** Answers 500 to the next `n` requests. */
  failNext(n: number): void;
  close(): Promise<void>;
}

const EVENTS = [
  'findings.opened',
  'findings.resolved',
  'findings.reminder',
  'file.written',
  'site.offline',
  'site.online',
  'agent.started',
  'agent.stopping',
  'run.failed',
  'run.recovered',
  'watch.degraded',
  'coverage.degraded',
  'coverage.restored',
  'alerts.dropped',
  'test',
];

/** Asserts a body has exactly the documented webhook schema (README, "Webhook"). */
export function assertHookSchema(v: unknown): asserts v is Hook {
  assert.ok(typeof v === 'object' && v !== null);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const base = ['schema', 'id', 'event', 'host', 'time', 'findings', 'offline'];
  assert.deepEqual(keys, [...base, ...(o['actions'] === undefined ? [] : ['actions']), ...(o['agent'] === undefined ? [] : ['agent'])]);
  if (o['agent'] !== undefined) {
    const coverage = String(o['event']).startsWith('coverage.') ? ['coverage'] : [];
    assert.deepEqual(Object.keys(o['agent'] as object), ['version', 'message', 'schedule', 'dropped', ...coverage]);
  }
  assert.equal(o['schema'], 1);
  assert.match(String(o['id']), /^[0-9a-f-]{36}$/);
  assert.ok(EVENTS.includes(String(o['event'])), `unknown event ${String(o['event'])}`);
  assert.equal(typeof o['host'], 'string');
  assert.equal(new Date(String(o['time'])).toISOString(), o['time']);
  assert.ok(Array.isArray(o['findings']));
  for (const f of o['findings'] as unknown[]) {
    // entries and entriesOmitted: only on a database-changed finding on an md5sums file, both or neither.
    const extra = (f as Record<string, unknown>)['entries'] === undefined ? [] : ['entries', 'entriesOmitted'];
    assert.deepEqual(Object.keys(f as object).sort(), ['actual', 'conffile', 'detail', ...extra, 'expected', 'package', 'path', 'status'].sort());
  }
  const off = o['offline'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(off).sort(), ['active', 'reason', 'since']);
  assert.equal(typeof off['active'], 'boolean');
}

/** A certificate and key (PEM) that make the receiver an https one. */
export interface ReceiverTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * Starts an HTTP receiver on 127.0.0.1 that verifies `X-Pkgwatch-Signature` with `secret`, or an
 * https one with `tls`; closed when the test ends.
 */
export async function startHookReceiver(t: TestContext, secret: string, port = 0, tls?: ReceiverTls): Promise<HookReceiver> {
  const accepted: Hook[] = [];
  let failing = 0;
  let requests = 0;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const body = Buffer.concat(chunks);
      const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-pkgwatch-signature'] ?? ''));
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        res.writeHead(401).end('bad signature');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
        assertHookSchema(parsed);
      } catch (err) {
        res.writeHead(400).end(`bad body: ${(err as Error).message}`);
        return;
      }
      if (failing > 0) {
        failing--;
        res.writeHead(500).end('receiver is down for maintenance');
        return;
      }
      accepted.push(parsed);
      res.writeHead(200).end('ok');
    });
  };
  const server = tls === undefined ? http.createServer(handler) : https.createServer({ cert: tls.cert, key: tls.key }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${actual}/hook`,
    port: actual,
    accepted,
    get requests() {
      return requests;
    },
    failNext: (n) => {
      failing = n;
    },
    close,
  };
}
