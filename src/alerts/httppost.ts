// One HTTP(S) endpoint that alerts are sent to (webhook, Alertmanager, heartbeat): a request per call over
// node:http(s), no keep-alive, one hard timeout, errors that say how far the connection got.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { maskUrl } from '../urls.js';

/** The most response body read (and then discarded, or quoted in an error) before the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of a failed response's body an error message quotes, in characters. */
const SNIPPET_CHARS = 200;

/**
 * Requests to one URL. A 2xx answer is success; anything else, a redirect, a timeout or a
 * connection error rejects with a message that names the URL masked (maskUrl: scheme, host and
 * port only), never credentials or header values. Every request has its own connection, closed
 * when it is done, so a dead receiver cannot pile up sockets. `close` aborts what is in flight.
 */
export class HttpTarget {
  /** The URL as it may be shown (maskUrl). */
  readonly shown: string;
  readonly #url: URL;
  readonly #what: string;
  readonly #timeoutMs: number;
  readonly #hostPort: string;
  readonly #inFlight = new Set<ClientRequest>();
  #closed = false;

  /** `what` names the sender in messages: `webhook`, `alertmanager`, `heartbeat`. */
  constructor(url: URL, what: string, timeoutMs: number) {
    this.#url = url;
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.shown = maskUrl(url);
    const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
    this.#hostPort = `${url.hostname}:${port}`;
  }

  /** Aborts the requests in flight; later requests reject. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const req of this.#inFlight) req.destroy(new SinkClosed(`${this.#what} sink closed while sending to ${this.shown}`));
    this.#inFlight.clear();
  }

  /**
   * Sends one request (`body` null: none) and resolves on a 2xx answer; rejects with a message an
   * operator can act on otherwise. `invalid` names what made Node refuse the request options.
   */
  request(method: 'POST' | 'GET', body: string | null, headers: OutgoingHttpHeaders, invalid: () => string | null = () => null): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.#what} sink is closed; not sending to ${this.shown}`));
    const url = this.#url;
    const shown = this.shown;
    const hostPort = this.#hostPort;
    const isHttps = url.protocol === 'https:';
    const timeoutMs = this.#timeoutMs;

    return new Promise<void>((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = (isHttps ? httpsRequest : httpRequest)({
          method,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port !== '' ? Number(url.port) : undefined,
          path: `${url.pathname}${url.search}`,
          headers,
          // A one-off agent per request: no keep-alive, no pooled sockets left behind.
          agent: false,
          ...(url.username !== '' || url.password !== ''
            ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }
            : {}),
        });
      } catch (err) {
        const why = invalid() ?? errorCode(err) ?? 'invalid request options';
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

      if (body === null) req.end();
      else req.end(body);
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
