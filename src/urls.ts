// Alert target URLs as they may be shown (no credentials), and whether one stays on this machine.
import net from 'node:net';

/** What a masked part of a URL is shown as; `config show` uses it for every secret. */
export const HIDDEN = '(hidden)';

/**
 * A URL as it may appear anywhere but in the request itself (`config show`, logs, errors, status,
 * email): scheme, host and port kept; userinfo, path and query, any of which may hold a credential
 * (`user:pass@`, a Slack-style `/services/T../B../secret`, `?token=`), shown as `(hidden)`; the
 * fragment (never sent) left out. A path of just `/` is kept. The result of a URL still parses as
 * the same scheme, host and port, so `config show` output still loads. A string that is not a URL
 * is not echoed at all.
 */
export function maskUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return HIDDEN;
  }
  const user = u.username !== '' || u.password !== '' ? `${HIDDEN}@` : '';
  const path = u.pathname === '' || u.pathname === '/' ? u.pathname : `/${HIDDEN}`;
  const query = u.search === '' ? '' : `?${HIDDEN}`;
  return `${u.protocol}//${user}${u.host}${path}${query}`;
}

/**
 * True when a URL's host is this machine's loopback interface: `localhost`, 127.0.0.0/8 or ::1
 * (as WHATWG URL normalizes them: `127.1` is 127.0.0.1, `[::1]` keeps its brackets). Only root can
 * listen on loopback ports below 1024 or change what `localhost` resolves to, so plain text there
 * cannot be read or changed by anyone on the network.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname).toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  // The URL parser writes an IPv6 address in its shortest form: 0:0:0:0:0:0:0:1 becomes ::1.
  return net.isIPv6(h) && new URL(`http://[${h}]/`).hostname === '[::1]';
}
