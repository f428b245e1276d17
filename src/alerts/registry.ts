// The one table of alert sinks that go through the outbox; the agent builds sinks here and never imports a concrete one.
import type { ResolvedConfig } from '../config/schema.js';
import { EmailSink } from './email.js';
import type { AlertSink } from './sink.js';
import { WebhookSink } from './webhook.js';

/** What sinks need beyond the config. */
export interface SinkDeps {
  /** The host name alerts are about (`[alerts] host` resolved). */
  readonly host: string;
}

interface SinkEntry {
  /** True when the config turns this sink on. */
  readonly configured: (cfg: ResolvedConfig) => boolean;
  readonly create: (cfg: ResolvedConfig, deps: SinkDeps) => AlertSink;
}

/** Every queued sink pkgwatch knows, by the name it is reported under (status, logs, outbox folders). */
const SINKS = {
  email: {
    configured: (cfg) => cfg.alerts.email.to.length > 0,
    create: (cfg, deps) => new EmailSink({ ...cfg.alerts.email, host: deps.host, offlineEnabled: cfg.offline.enabled }),
  },
  webhook: {
    configured: (cfg) => cfg.alerts.webhook.url !== '',
    create: (cfg) => new WebhookSink(cfg.alerts.webhook),
  },
} as const satisfies Record<string, SinkEntry>;

/** The name of a known sink. */
export type SinkName = keyof typeof SINKS;

/** The known sink names, in table order. */
export const SINK_NAMES: readonly SinkName[] = Object.freeze(Object.keys(SINKS) as SinkName[]);

/** True when `name` is a known sink. */
export function isSinkName(name: string): name is SinkName {
  return Object.hasOwn(SINKS, name);
}

/** The names of the sinks the config turns on, in table order. */
export function configuredSinks(cfg: ResolvedConfig): SinkName[] {
  return SINK_NAMES.filter((name) => SINKS[name].configured(cfg));
}

/** Creates the sinks the config turns on, in table order. */
export function createSinks(cfg: ResolvedConfig, deps: SinkDeps): AlertSink[] {
  return configuredSinks(cfg).map((name) => SINKS[name].create(cfg, deps));
}
