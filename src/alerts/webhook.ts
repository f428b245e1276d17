// The webhook sink: POSTs each alert event as signed JSON over node:http(s), with one hard timeout per request.
import { createHmac } from 'node:crypto';
import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders } from 'node:http';
import type { ResolvedConfig } from '../config/schema.js';
import { isLoopbackHost, maskUrl } from '../urls.js';
import { HttpTarget } from './httppost.js';
import type { AlertEvent, AlertSink } from './sink.js';
import { findingFields } from '../verify/report.js';

/** The request header that carries `sha256=<hex HMAC-SHA256 of the body>` when a secret is set. */
export const SIGNATURE_HEADER = 'X-Pkgwatch-Signature';

/** What the webhook sink is built from: `[alerts.webhook]` of the resolved config. */
export type WebhookConfig = ResolvedConfig['alerts']['webhook'];

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
      ...(a.coverage === undefined ? {} : { coverage: a.coverage }),
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
  readonly #target: HttpTarget;

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
    this.#target = new HttpTarget(this.#url, 'webhook', cfg.timeoutMs);
  }

  async send(events: readonly AlertEvent[]): Promise<void> {
    for (const event of events) {
      const body = webhookBody(event);
      await this.#target.request('POST', body, this.#headers(event, body), () => {
        // Node refuses a header name or value it cannot send; say which header, never its value.
        const bad = this.#cfg.headers.find(([name, value]) => !headerSendable(name, value));
        return bad !== undefined ? `header ${JSON.stringify(bad[0])} has an invalid name or value` : null;
      });
    }
  }

  close(): Promise<void> {
    this.#target.close();
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
