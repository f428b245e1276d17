// The agent's configuration: the resolved type and the one table of keys that drives loading,
// validation, `config show` and the README key table.
import type { TomlValue } from 'smol-toml';
import {
  absoluteGlobList,
  absolutePath,
  booleanValue,
  cronExpression,
  duration,
  megabytesPerSecond,
  packageList,
  type Checked,
  type ValueType,
} from './values.js';

/** The configuration after loading: every key has a value, units are resolved, and it is frozen. */
export interface ResolvedConfig {
  readonly root: string;
  readonly stateDir: string;
  readonly scope: { readonly packages: readonly string[]; readonly withDependencies: boolean };
  readonly schedule: { readonly scoped: string; readonly full: string; readonly splayMs: number; readonly fullMaxBytesPerSecond: number };
  readonly watch: { readonly enabled: boolean };
  readonly ignore: { readonly paths: readonly string[] };
  readonly alerts: { readonly reminderMs: number };
  /** The files that were read, in order (for `config show` and messages). */
  readonly sources: readonly string[];
}

type Leaf = string | number | boolean | readonly unknown[];
type Paths<T> = { [K in keyof T & string]: T[K] extends Leaf ? K : `${K}.${Paths<T[K]>}` }[keyof T & string];

/** A dotted path to one value in ResolvedConfig, e.g. `schedule.splayMs`. */
export type ConfigField = Paths<Omit<ResolvedConfig, 'sources'>>;

/** The type of the value at a ConfigField. */
export type FieldValue<P extends string, T = ResolvedConfig> = P extends `${infer H}.${infer R}`
  ? H extends keyof T
    ? FieldValue<R, T[H]>
    : never
  : P extends keyof T
    ? T[P]
    : never;

/** One config key: its TOML name, where it lands in ResolvedConfig, its default, docs and checker. */
export interface KeySpec {
  /** The TOML key, dotted from the top: `schedule.splay`. */
  readonly key: string;
  /** `key` split at the dots. */
  readonly path: readonly string[];
  /** Where the resolved value lives in ResolvedConfig: `schedule.splayMs`. */
  readonly field: ConfigField;
  /** The kind of value, for docs: "duration", "cron expression", ... */
  readonly type: string;
  /** The default as a TOML value (what a file would say). */
  readonly default: TomlValue;
  /** A TOML literal that error messages show as an example. */
  readonly example: string;
  /** What the key does, one or two sentences (comments of `config show`, the README). */
  readonly doc: string;
  /** Checks a TOML value and resolves it (units, MB to bytes). */
  readonly parse: (value: TomlValue) => Checked<unknown>;
  /** The key's value in `cfg`, as TOML (for `config show`). */
  readonly toToml: (cfg: ResolvedConfig) => TomlValue;
}

/** A table (`[scope]`) that holds keys; every key's parent must be listed here. */
export interface TableSpec {
  /** The TOML table name, dotted: `alerts.email`. */
  readonly key: string;
  readonly path: readonly string[];
  /** What the table is for (a comment above its header in `config show`). */
  readonly doc: string;
}

/** Reads a dotted path of a nested object (also used by the loader to build ResolvedConfig). */
export function getField(obj: unknown, field: string): unknown {
  let cur = obj;
  for (const part of field.split('.')) cur = (cur as Record<string, unknown>)[part];
  return cur;
}

function defineKey<P extends ConfigField>(spec: {
  key: string;
  field: P;
  type: ValueType<FieldValue<P>>;
  default: TomlValue;
  example: string;
  doc: string;
}): KeySpec {
  const { type } = spec;
  return {
    key: spec.key,
    path: spec.key.split('.'),
    field: spec.field,
    type: type.name,
    default: spec.default,
    example: spec.example,
    doc: spec.doc,
    parse: type.parse,
    toToml: (cfg) => type.toToml(getField(cfg, spec.field) as FieldValue<P>),
  };
}

function defineTable(key: string, doc: string): TableSpec {
  return { key, path: key.split('.'), doc };
}

/** The tables, in the order `config show` prints them. Add a table here, then its keys below. */
export const CONFIG_TABLES: readonly TableSpec[] = [
  defineTable('scope', 'The scoped check: the packages that matter most (the web application), checked often.'),
  defineTable('schedule', 'When the scheduled checks run.'),
  defineTable('watch', 'Real-time checks of files as they change.'),
  defineTable('ignore', 'Paths that never cause an alert.'),
  defineTable('alerts', 'Alerts on findings.'),
];

/**
 * Every config key, top-level keys first, then table by table in CONFIG_TABLES order. This table
 * is the whole schema: the loader accepts exactly these keys, `config show` prints them in this
 * order with `doc` as comments, and ResolvedConfig is built from `field`.
 */
export const CONFIG_KEYS: readonly KeySpec[] = [
  defineKey({
    key: 'root',
    field: 'root',
    type: absolutePath,
    default: '/',
    example: '"/"',
    doc: 'The system to verify: the directory it is installed under (as `pkgwatch check --root`).',
  }),
  defineKey({
    key: 'state_dir',
    field: 'stateDir',
    type: absolutePath,
    default: '/var/lib/pkgwatch',
    example: '"/var/lib/pkgwatch"',
    doc: 'Where the agent keeps its state (open findings, pending alerts).',
  }),
  defineKey({
    key: 'scope.packages',
    field: 'scope.packages',
    type: packageList,
    default: [],
    example: '["my-django-app", "nginx*"]',
    doc: 'Packages the scoped check verifies: names or shell-style patterns, as `pkgwatch check` takes them. Empty = no scoped checks.',
  }),
  defineKey({
    key: 'scope.with_dependencies',
    field: 'scope.withDependencies',
    type: booleanValue,
    default: true,
    example: 'true',
    doc: "Also check the scoped packages' Depends and Pre-Depends, recursively (as `pkgwatch check --with-deps`).",
  }),
  defineKey({
    key: 'schedule.scoped',
    field: 'schedule.scoped',
    type: cronExpression,
    default: '*/5 * * * *',
    example: '"*/5 * * * *"',
    doc: 'When the scoped check runs: a node-cron expression (5 fields; 6 = with seconds first).',
  }),
  defineKey({
    key: 'schedule.full',
    field: 'schedule.full',
    type: cronExpression,
    default: '30 3 * * 0',
    example: '"30 3 * * 0"',
    doc: 'When the full check of every installed package runs: a node-cron expression; the default is weekly, Sundays at 03:30.',
  }),
  defineKey({
    key: 'schedule.splay',
    field: 'schedule.splayMs',
    type: duration({ allowZero: true }),
    default: '5m',
    example: '"5m"',
    doc: 'Before each scheduled run, wait a random time up to this, so that many hosts do not check at once. "0" = no delay.',
  }),
  defineKey({
    key: 'schedule.full_max_mb_per_s',
    field: 'schedule.fullMaxBytesPerSecond',
    type: megabytesPerSecond,
    default: 0,
    example: '50',
    doc: 'Limit the full check to reading this many MB (10^6 bytes) per second; 0 = unthrottled.',
  }),
  defineKey({
    key: 'watch.enabled',
    field: 'watch.enabled',
    type: booleanValue,
    default: true,
    example: 'true',
    doc: 'Watch files in real time (inotify) and check them as soon as they change.',
  }),
  defineKey({
    key: 'ignore.paths',
    field: 'ignore.paths',
    type: absoluteGlobList,
    default: [],
    example: '["/usr/lib/node_modules/npm/**"]',
    doc: 'Never alert on these paths: absolute globs (* and ? stay within one path segment, ** spans segments, [abc] classes).',
  }),
  defineKey({
    key: 'alerts.reminder',
    field: 'alerts.reminderMs',
    type: duration({ allowZero: false }),
    default: '24h',
    example: '"24h"',
    doc: 'Send findings that are still open again this often.',
  }),
];
