// The one table of alert sinks by name; the agent creates sinks here and never imports a concrete one.
import { PkgwatchError } from '../errors.js';
import { LogSink, type AlertLogger } from './log.js';
import type { AlertSink } from './sink.js';

/** What sinks may need from the agent to be built. Email and webhook add their config here. */
export interface SinkDeps {
  /** The agent's logger, for the `log` sink. */
  readonly logger: AlertLogger;
}

type SinkFactory = (deps: SinkDeps) => AlertSink;

/** Every sink pkgwatch knows, by the name used in the config. */
const SINKS = {
  log: (deps) => new LogSink(deps.logger),
} as const satisfies Record<string, SinkFactory>;

/** The name of a known sink. */
export type SinkName = keyof typeof SINKS;

/** The known sink names, in table order. */
export const SINK_NAMES: readonly SinkName[] = Object.freeze(Object.keys(SINKS) as SinkName[]);

/** True when `name` is a known sink. */
export function isSinkName(name: string): name is SinkName {
  return Object.hasOwn(SINKS, name);
}

/**
 * Creates the named sinks, in the order given. An unknown or repeated name is a config error
 * (config validation should have caught it first); nothing is created then.
 */
export function createSinks(names: readonly string[], deps: SinkDeps): AlertSink[] {
  const seen = new Set<string>();
  for (const name of names) {
    if (!isSinkName(name)) {
      throw new PkgwatchError('config', `unknown alert sink "${name}": the known sinks are ${SINK_NAMES.join(', ')}`);
    }
    if (seen.has(name)) throw new PkgwatchError('config', `alert sink "${name}" is listed twice`);
    seen.add(name);
  }
  return names.map((name) => SINKS[name as SinkName](deps));
}
