// The /metrics HTTP endpoint: GET /metrics renders the current metrics; nothing else is served, no
// request body is read, and connections, header size and time per request are bounded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/values.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';

/** At most this many connections at once: a scraper needs one; the rest wait in the kernel's backlog. */
const MAX_CONNECTIONS = 16;
/** A request's headers must arrive within this long, and the whole request too. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections are closed after this long (Prometheus scrapes every 15 s or more). */
const KEEP_ALIVE_MS = 65_000;
const MAX_HEADER_BYTES = 8192;

/** A running metrics endpoint. */
export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    /** The address actually bound (the real port when 0 was asked for). */
    readonly address: ListenAddress,
  ) {}

  /** Listens on `at` and serves `render()` at GET /metrics; rejects when it cannot listen (EADDRINUSE). */
  static async listen(at: ListenAddress, render: () => string): Promise<MetricsServer> {
    const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) =>
      respond(req, res, render),
    );
    server.maxConnections = MAX_CONNECTIONS;
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.host, port: at.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    return new MetricsServer(server, { host: a.address, port: a.port });
  }

  /** Stops listening and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function respond(req: http.IncomingMessage, res: http.ServerResponse, render: () => string): void {
  const url = req.url ?? '';
  const pathname = url.split('?', 1)[0];
  // A body is never read: a request that has one gets its answer and the connection is closed.
  const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'] !== undefined;
  if (hasBody) res.shouldKeepAlive = false;
  if (pathname !== '/metrics') return plain(res, 404, 'not found: pkgwatch serves only /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return plain(res, 405, 'method not allowed: use GET\n');
  }
  let body: string;
  try {
    body = render();
  } catch (err) {
    return plain(res, 500, `cannot render the metrics: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function plain(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
