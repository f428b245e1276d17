// The Alertmanager sink: open findings and the site offline as alerts on Alertmanager's v2 API, kept
// alive by re-posting (endsAt ahead, as Prometheus does) and resolved with endsAt = when they closed.
import type { ResolvedConfig } from '../config/schema.js';
import { isLoopbackHost, maskUrl } from '../urls.js';
import type { FindingJson } from '../verify/report.js';
import { HttpTarget } from './httppost.js';
import type { AlertEvent, AlertSink } from './sink.js';

/** What the sinks are built from: `[alerts.alertmanager]` of the resolved config. */
export type AlertmanagerConfig = ResolvedConfig['alerts']['alertmanager'];

/** Each post keeps an alert firing this many resend intervals ahead, as Prometheus does (4 x resend delay). */
export const ENDS_AFTER_RESENDS = 4;

/** The alertname of an open finding. */
export const FINDING_ALERT = 'PkgwatchFinding';
/** The alertname of the site taken offline. */
export const OFFLINE_ALERT = 'PkgwatchSiteOffline';
/** The alertname of `pkgwatch alert test`. */
export const TEST_ALERT = 'PkgwatchTest';

/** One alert as Alertmanager's `POST /api/v2/alerts` takes it (postableAlert in its openapi.yaml). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
}

/** The sink names of `[alerts.alertmanager] url`: `alertmanager` for one URL, `alertmanager-1` ... for several. */
export function alertmanagerSinkNames(urls: readonly string[]): string[] {
  return urls.length === 1 ? ['alertmanager'] : urls.map((_, i) => `alertmanager-${i + 1}`);
}

/** `critical` for what changed the installed software; `warning` for conffiles and unreadable files; `info` for writes. */
export function findingSeverity(f: FindingJson): 'critical' | 'warning' | 'info' {
  if (f.status === 'written') return 'info';
  if (f.status === 'unreadable' || (f.status === 'changed' && f.conffile)) return 'warning';
  return 'critical';
}

function findingAlert(host: string, f: FindingJson, startsAt: string, endsAt: string): PostableAlert {
  // Alertmanager tells alerts apart by their labels: package and path make one alert per finding,
  // so the repair of one file resolves only that file's alert.
  const labels = { alertname: FINDING_ALERT, host, package: f.package, path: f.path, status: f.status, severity: findingSeverity(f) };
  const annotations: Record<string, string> = { summary: `${f.package}: ${f.status} ${f.path} on ${host}`, path: f.path };
  if (f.expected !== null) annotations['expected'] = f.expected;
  if (f.actual !== null) annotations['actual'] = f.actual;
  if (f.detail !== null) annotations['description'] = f.detail;
  return { labels, annotations, startsAt, endsAt };
}

/**
 * The alerts one event posts, as of `nowMs`: findings that opened, are still open (reminders and
 * the agent's resends) or were written are firing until `now + ENDS_AFTER_RESENDS x resend`;
 * resolved findings end at the event's time. The site offline fires with every such event while
 * it lasts and ends with site.online. A test alert fires for one resend interval. The kinds about
 * the agent itself post nothing: the metrics rules and the heartbeat cover the agent.
 */
export function alertmanagerAlerts(event: AlertEvent, nowMs: number, resendMs: number): PostableAlert[] {
  const firingUntil = new Date(Math.max(nowMs, Date.parse(event.time)) + ENDS_AFTER_RESENDS * resendMs).toISOString();
  const host = event.host;
  const out: PostableAlert[] = [];
  switch (event.kind) {
    case 'findings.opened':
    case 'findings.reminder':
    case 'file.written':
      for (const f of event.findings) out.push(findingAlert(host, f, event.time, firingUntil));
      break;
    case 'findings.resolved':
      for (const f of event.findings) out.push(findingAlert(host, f, event.time, event.time));
      break;
    case 'test':
      out.push({
        labels: { alertname: TEST_ALERT, host, severity: 'info' },
        annotations: { summary: `pkgwatch alert test from ${host}` },
        startsAt: event.time,
        endsAt: new Date(Math.max(nowMs, Date.parse(event.time)) + resendMs).toISOString(),
      });
      break;
    default:
      break;
  }
  const offline = { alertname: OFFLINE_ALERT, host, severity: 'critical' };
  const reason = event.offline.reason === null ? {} : { description: event.offline.reason };
  if (event.kind === 'site.online') {
    out.push({ labels: offline, annotations: { summary: `the site on ${host} is back online`, ...reason }, startsAt: event.time, endsAt: event.time });
  } else if (event.offline.active && (event.kind.startsWith('findings.') || event.kind === 'site.offline')) {
    const since = event.offline.since ?? event.time;
    out.push({ labels: offline, annotations: { summary: `pkgwatch took the site on ${host} offline`, ...reason }, startsAt: since, endsAt: firingUntil });
  }
  return out;
}

/** The URL alerts are posted to: `<url>/api/v2/alerts`, unless the url names that path already. */
export function alertsEndpoint(base: string): URL {
  const u = new URL(base);
  if (!u.pathname.endsWith('/api/v2/alerts')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return u;
}

/**
 * Posts the alerts of each event to one Alertmanager (a cluster has one sink per member, each with
 * its own outbox queue, so one member down delays nothing for the others). A batch of events is one
 * request; an event with nothing to post is delivered without one.
 */
export class AlertmanagerSink implements AlertSink {
  readonly name: string;
  readonly maxBatch = 50;
  readonly gatherMs = 0;
  readonly #target: HttpTarget;
  readonly #resendMs: number;
  readonly #now: () => number;

  constructor(name: string, url: string, cfg: AlertmanagerConfig, now: () => number = Date.now) {
    this.name = name;
    const u = alertsEndpoint(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`alertmanager url ${maskUrl(u)}: the scheme must be http or https`);
    // The config refuses this too (with file and line); a sink built some other way must not either.
    if (u.protocol === 'http:' && !cfg.allowPlaintext && !isLoopbackHost(u.hostname)) {
      throw new Error(`alertmanager url ${maskUrl(u)}: plain http to a host that is not loopback; use https:// or set [alerts.alertmanager] allow_plaintext = true`);
    }
    this.#target = new HttpTarget(u, 'alertmanager', cfg.timeoutMs);
    this.#resendMs = cfg.resendMs;
    this.#now = now;
  }

  async send(events: readonly AlertEvent[]): Promise<void> {
    const now = this.#now();
    const alerts = events.flatMap((e) => alertmanagerAlerts(e, now, this.#resendMs));
    if (alerts.length === 0) return;
    const body = JSON.stringify(alerts);
    await this.#target.request('POST', body, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body, 'utf8')), 'User-Agent': 'pkgwatch' });
  }

  close(): Promise<void> {
    this.#target.close();
    return Promise.resolve();
  }
}
