// The one table of alert sinks that go through the outbox; the agent builds sinks here and never imports a concrete one.
import type { ResolvedConfig } from '../config/schema.js';
import { AlertmanagerSink, alertmanagerSinkNames } from './alertmanager.js';
import { EmailSink } from './email.js';
import type { AlertSink } from './sink.js';
import { WebhookSink } from './webhook.js';

/** What sinks need beyond the config. */
export interface SinkDeps {
  /** The host name alerts are about (`[alerts] host` resolved). */
  readonly host: string;
}

interface SinkEntry {
  /**
   * The names of the sinks the config turns on, as reported in status, logs and outbox folders:
   * [] when off, [kind] for one, several for a kind with one queue per target (Alertmanager).
   */
  readonly instances: (cfg: ResolvedConfig) => string[];
  /** Creates them, in the order of `instances`. */
  readonly create: (cfg: ResolvedConfig, deps: SinkDeps) => AlertSink[];
}

/** Every kind of queued sink pkgwatch knows. */
const SINKS = {
  email: {
    instances: (cfg) => (cfg.alerts.email.to.length > 0 ? ['email'] : []),
    create: (cfg, deps) => [new EmailSink({ ...cfg.alerts.email, host: deps.host, offlineEnabled: cfg.offline.enabled })],
  },
  webhook: {
    instances: (cfg) => (cfg.alerts.webhook.url !== '' ? ['webhook'] : []),
    create: (cfg) => [new WebhookSink(cfg.alerts.webhook)],
  },
  alertmanager: {
    instances: (cfg) => alertmanagerSinkNames(cfg.alerts.alertmanager.urls),
    create: (cfg) => {
      const am = cfg.alerts.alertmanager;
      const names = alertmanagerSinkNames(am.urls);
      return am.urls.map((url, i) => new AlertmanagerSink(names[i] ?? 'alertmanager', url, am));
    },
  },
} as const satisfies Record<string, SinkEntry>;

/** The name of a known kind of sink. */
export type SinkName = keyof typeof SINKS;

/** The known kinds of sink, in table order. */
export const SINK_NAMES: readonly SinkName[] = Object.freeze(Object.keys(SINKS) as SinkName[]);

/** True when `name` is a known kind of sink. */
export function isSinkName(name: string): name is SinkName {
  return Object.hasOwn(SINKS, name);
}

/** The names of the sinks the config turns on (`alertmanager-2` for the second Alertmanager), in table order. */
export function configuredSinks(cfg: ResolvedConfig): string[] {
  return SINK_NAMES.flatMap((kind) => SINKS[kind].instances(cfg));
}

/** The names of the configured sinks of one kind. */
export function sinksOfKind(cfg: ResolvedConfig, kind: SinkName): string[] {
  return SINKS[kind].instances(cfg);
}

/** Creates the sinks the config turns on, in table order. */
export function createSinks(cfg: ResolvedConfig, deps: SinkDeps): AlertSink[] {
  return SINK_NAMES.flatMap((kind): AlertSink[] => (SINKS[kind].instances(cfg).length > 0 ? SINKS[kind].create(cfg, deps) : []));
}
