// The webhook sink: POSTs each alert event as signed JSON over node:http(s), with one hard timeout per request.
import { createHmac } from 'node:crypto';
import {
  request as httpRequest,
  validateHeaderName,
  validateHeaderValue,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { ResolvedConfig } from '../config/schema.js';
import { isLoopbackHost, maskUrl } from '../urls.js';
import type { AlertEvent, AlertSink } from './sink.js';
import { findingFields } from '../verify/report.js';

/** The request header that carries `sha256=<hex HMAC-SHA256 of the body>` when a secret is set. */
export const SIGNATURE_HEADER = 'X-Pkgwatch-Signature';

/** What the webhook sink is built from: `[alerts.webhook]` of the resolved config. */
export type WebhookConfig = ResolvedConfig['alerts']['webhook'];

/** The most response body read (and then discarded, or quoted in an error) before the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of a failed response's body an error message quotes, in characters. */
const SNIPPET_CHARS = 200;

/**
 * The request body for one event: the public wire format the README documents. Keys in this order,
 * nothing else; `actions`, `agent` and `baseline` only when the event has them. The same event always gives
 * the same body, so a retry carries the same `id` and signature.
 */
export function webhookBody(event: AlertEvent): string {
  const body: Record<string, unknown> = {
    schema: 1,
    id: event.id,
    event: event.kind,
    host: event.host,
    time: event.time,
    findings: event.findings.map(findingFields),
    offline: { active: event.offline.active, since: event.offline.since, reason: event.offline.reason },
  };
  if (event.actions !== undefined) {
    body['actions'] = event.actions.map((a) => ({ action: a.action, target: a.target, ok: a.ok, detail: a.detail }));
  }
  if (event.agent !== undefined) {
    const a = event.agent;
    body['agent'] = {
      version: a.version,
      message: a.message,
      schedule: a.schedule,
      dropped: a.dropped.map((d) => ({ sink: d.sink, id: d.id, event: d.event, queued: d.queued })),
    };
  }
  if (event.baseline !== undefined) {
    body['baseline'] = { by: event.baseline.by, paths: [...event.baseline.paths], ...(event.baseline.packages === undefined ? {} : { packages: [...event.baseline.packages] }) };
  }
  return JSON.stringify(body);
}

/** The signature header value for `body`: `sha256=` + hex HMAC-SHA256 of its UTF-8 bytes under `secret`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Delivers each event as one POST (maxBatch 1, no gathering). A 2xx answer is delivery; anything
 * else, a redirect, a timeout or a connection error rejects with a message that names the URL
 * masked (maskUrl: scheme, host and port only), never the secret or header values. No keep-alive:
 * every request has its own connection, closed when it is done, so a dead receiver cannot pile up
 * sockets.
 */
export class WebhookSink implements AlertSink {
  readonly name = 'webhook';
  readonly maxBatch = 1;
  readonly gatherMs = 0;
  readonly #cfg: WebhookConfig;
  readonly #url: URL;
  readonly #shown: string;
  readonly #hostPort: string;
  readonly #inFlight = new Set<ClientRequest>();
  #closed = false;

  constructor(cfg: WebhookConfig) {
    this.#cfg = cfg;
    this.#url = new URL(cfg.url);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new Error(`webhook url ${maskUrl(this.#url)}: the scheme must be http or https`);
    }
    // The config refuses this too (with file and line); a sink built some other way must not either.
    if (this.#url.protocol === 'http:' && !cfg.allowPlaintext && !isLoopbackHost(this.#url.hostname)) {
      throw new Error(`webhook url ${maskUrl(this.#url)}: plain http to a host that is not loopback; use https:// or set [alerts.webhook] allow_plaintext = true`);
    }
    this.#shown = maskUrl(this.#url);
    const port = this.#url.port !== '' ? this.#url.port : this.#url.protocol === 'https:' ? '443' : '80';
    this.#hostPort = `${this.#url.hostname}:${port}`;
  }

  async send(events: readonly AlertEvent[]): Promise<void> {
    for (const event of events) await this.#post(event);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const req of this.#inFlight) req.destroy(new SinkClosed(`webhook sink closed while sending to ${this.#shown}`));
      this.#inFlight.clear();
    }
    return Promise.resolve();
  }

  #headers(event: AlertEvent, body: string): OutgoingHttpHeaders {
    const headers = new Map<string, [string, string]>();
    const set = (name: string, value: string): void => {
      headers.set(name.toLowerCase(), [name, value]);
    };
    set('Content-Type', 'application/json');
    set('Content-Length', String(Buffer.byteLength(body, 'utf8')));
    set('User-Agent', 'pkgwatch');
    set('X-Pkgwatch-Event', event.kind);
    set('X-Pkgwatch-Id', event.id);
    if (this.#cfg.secret !== '') set(SIGNATURE_HEADER, signBody(this.#cfg.secret, body));
    // The config refuses Content-Type, Content-Length, Host and the signature; anything else the
    // operator sets (a User-Agent, say) replaces ours.
    for (const [name, value] of this.#cfg.headers) set(name, value);
    return Object.fromEntries(headers.values());
  }

  #post(event: AlertEvent): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`webhook sink is closed; not sending to ${this.#shown}`));
    const body = webhookBody(event);
    const url = this.#url;
    const shown = this.#shown;
    const hostPort = this.#hostPort;
    const isHttps = url.protocol === 'https:';
    const timeoutMs = this.#cfg.timeoutMs;

    return new Promise<void>((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = (isHttps ? httpsRequest : httpRequest)({
          method: 'POST',
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port !== '' ? Number(url.port) : undefined,
          path: `${url.pathname}${url.search}`,
          headers: this.#headers(event, body),
          // A one-off agent per request: no keep-alive, no pooled sockets left behind.
          agent: false,
          ...(url.username !== '' || url.password !== ''
            ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }
            : {}),
        });
      } catch (err) {
        // Node refuses a header name or value it cannot send; say which header, never its value.
        const bad = this.#cfg.headers.find(([name, value]) => !headerSendable(name, value));
        const why = bad !== undefined ? `header ${JSON.stringify(bad[0])} has an invalid name or value` : (errorCode(err) ?? 'invalid request options');
        reject(new Error(`cannot send to ${shown}: ${why}`));
        return;
      }
      this.#inFlight.add(req);

      let settled = false;
      let connected = false;
      let secured = !isHttps;
      let response: IncomingMessage | undefined;
      const chunks: Buffer[] = [];
      let received = 0;

      const finish = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#inFlight.delete(req);
        // Done either way: drop the connection rather than read the rest of a response.
        if (!req.destroyed) req.destroy();
        if (err === null) resolve();
        else reject(err);
      };

      /** The error for an answer that was not 2xx, quoting what arrived of its body. */
      const statusError = (res: IncomingMessage): Error => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          const location = redirectTarget(res.headers.location, url);
          return new Error(`HTTP ${status} from ${shown}${location === null ? '' : ` to ${location}`} (redirects are not followed; set url to the final address)`);
        }
        const snippet = bodySnippet(Buffer.concat(chunks));
        return new Error(`HTTP ${status} from ${shown}${snippet === '' ? '' : `: ${snippet}`}`);
      };

      /** Settles once a response's body ended, hit the limit, or the connection went away. */
      const responseDone = (): void => {
        if (response === undefined) return;
        const status = response.statusCode ?? 0;
        finish(status >= 200 && status < 300 ? null : statusError(response));
      };

      const timer = setTimeout(() => {
        // A 2xx that stalls in its body was still accepted; a non-2xx still says what it was.
        if (response !== undefined) responseDone();
        else finish(new Error(`timed out after ${formatSeconds(timeoutMs)} waiting for ${shown}`));
      }, timeoutMs);

      req.on('socket', (socket: Socket) => {
        socket.once('connect', () => {
          connected = true;
        });
        socket.once('secureConnect', () => {
          secured = true;
        });
      });

      req.on('response', (res: IncomingMessage) => {
        response = res;
        const status = res.statusCode ?? 0;
        const keep = status < 200 || status >= 300;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (keep) chunks.push(chunk);
          if (received >= MAX_RESPONSE_BYTES) responseDone();
        });
        res.on('end', responseDone);
        res.on('error', responseDone);
        res.on('close', responseDone);
      });

      req.on('error', (err: Error) => {
        if (err instanceof SinkClosed) return finish(err);
        if (response !== undefined) return responseDone();
        finish(connectionError(err, hostPort, shown, connected, secured));
      });

      req.end(body);
    });
  }
}

/** The error close() aborts an in-flight request with. */
class SinkClosed extends Error {}

/** The error for a request that failed before any response, by how far the connection got. */
function connectionError(err: Error, hostPort: string, shown: string, connected: boolean, secured: boolean): Error {
  const code = errorCode(err);
  if (!connected) return new Error(`cannot connect to ${hostPort}: ${code ?? err.message}`);
  if (!secured) {
    // OpenSSL's messages are "...:error:0A00010B:SSL routines:func:wrong version number:file:line:";
    // the reason alone is what an operator needs.
    const reason = (err as { reason?: unknown }).reason;
    const what = typeof reason === 'string' ? reason : (/SSL routines:[^:]*:([^:]+):/.exec(err.message)?.[1] ?? firstLine(err.message));
    const hint = code === 'EPROTO' || code?.startsWith('ERR_SSL_') === true ? ' (is it an https server? use http:// for a plain one)' : tlsTrustHint(code);
    return new Error(`TLS handshake with ${hostPort} failed: ${code === undefined ? what : `${code}: ${what}`}${hint}`);
  }
  return new Error(`connection to ${hostPort} failed before ${shown} answered: ${code ?? err.message}`);
}

// OpenSSL's verify errors for a chain Node does not trust (X509_V_ERR_* without the prefix).
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * What to do about a certificate Node does not trust. Node trusts its own copy of the Mozilla CA
 * list, not /etc/ssl/certs, so a CA added with update-ca-certificates is not enough on its own.
 */
function tlsTrustHint(code: string | undefined): string {
  if (code === undefined || !UNTRUSTED.has(code)) return '';
  return ' (the certificate is not trusted: add its CA with NODE_EXTRA_CA_CERTS, see README "Webhook")';
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]?.trim() ?? '';
}

/** Whether Node accepts this header name and value. */
function headerSendable(name: string, value: string): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where a redirect points, for the message; null when there is no usable Location. */
function redirectTarget(location: string | undefined, base: URL): string | null {
  if (location === undefined || location === '') return null;
  try {
    return maskUrl(new URL(location, base));
  } catch {
    return null;
  }
}

/** The first characters of a response body, control characters escaped so a message stays one line. */
function bodySnippet(bytes: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).trim();
  const chars = Array.from(text);
  const head = chars.slice(0, SNIPPET_CHARS).join('');
  return escapeControl(head) + (chars.length > SNIPPET_CHARS ? '...' : '');
}

function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** `10 s`, `0.5 s`. */
function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}
