// The agent's configuration: the resolved type and the one table of keys that drives loading,
// validation, `config show` and the README key table.
import type { TomlValue } from 'smol-toml';
import type { FindingStatus } from '../verify/finding.js';
import { DEFAULT_PERSIST_PATHS } from './persistdefaults.js';
import {
  absoluteGlobList,
  treeGlobList,
  persistPathList,
  absolutePath,
  absolutePathList,
  absolutePathOrEmpty,
  addressList,
  addressOrEmpty,
  argvList,
  headerTable,
  httpUrl,
  httpUrlOrList,
  listenAddress,
  promFileOrEmpty,
  oneOf,
  smtpUrl,
  stringList,
  stringValue,
  unitList,
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
  readonly schedule: {
    readonly scoped: string;
    readonly full: string;
    readonly splayMs: number;
    readonly fullMaxBytesPerSecond: number;
    /** 0 = never warn. */
    readonly dpkgMaxRunMs: number;
  };
  readonly watch: { readonly enabled: boolean; readonly alertWrites: boolean };
  readonly ignore: { readonly paths: readonly string[] };
  readonly unowned: { readonly trees: readonly string[]; readonly allow: readonly string[] };
  readonly persist: {
    readonly enabled: boolean;
    /** The persistence points (`~/x` = x in every account's home). */
    readonly paths: readonly string[];
    readonly add: readonly string[];
    readonly allow: readonly string[];
  };
  readonly alerts: {
    readonly reminderMs: number;
    readonly maxAgeMs: number;
    readonly retryMinMs: number;
    readonly retryMaxMs: number;
    /** "" = the machine's host name. */
    readonly host: string;
    readonly email: {
      /** Empty = no email. */
      readonly to: readonly string[];
      /** "" = pkgwatch@<host>. */
      readonly from: string;
      /** "" = no SMTP server (then sendmail). */
      readonly smtp: string;
      /** smtp:// to a host other than loopback may go on in plain text when the server offers no STARTTLS. */
      readonly allowPlaintext: boolean;
      readonly sendmail: boolean;
      readonly batchMs: number;
      readonly timeoutMs: number;
    };
    readonly webhook: {
      /** "" = no webhook. */
      readonly url: string;
      /** An http:// url to a host other than loopback is accepted. */
      readonly allowPlaintext: boolean;
      /** "" = unsigned. */
      readonly secret: string;
      readonly headers: readonly (readonly [string, string])[];
      readonly timeoutMs: number;
    };
    readonly alertmanager: {
      /** Empty = no Alertmanager; several = the members of a cluster, each posted to on its own. */
      readonly urls: readonly string[];
      /** An http:// url to a host other than loopback is accepted. */
      readonly allowPlaintext: boolean;
      readonly resendMs: number;
      readonly timeoutMs: number;
    };
    readonly heartbeat: {
      /** "" = no heartbeat. */
      readonly url: string;
      readonly method: HeartbeatMethod;
      readonly everyMs: number;
      readonly graceMs: number;
      readonly allowPlaintext: boolean;
      readonly timeoutMs: number;
    };
  };
  readonly offline: {
    readonly enabled: boolean;
    readonly on: readonly OfflineStatus[];
    readonly conffiles: boolean;
    readonly confirmDelayMs: number;
    /** "" = no flag file. */
    readonly flagFile: string;
    readonly stopUnits: readonly string[];
    readonly command: readonly string[];
    readonly restoreCommand: readonly string[];
    readonly commandTimeoutMs: number;
    readonly actionsBy: OfflineActionsBy;
  };
  readonly metrics: {
    /** "" = no HTTP endpoint. */
    readonly listen: string;
    /** "" = no textfile. */
    readonly textfile: string;
  };
  readonly trust: {
    /** Directories of .debs searched before apt's cache (paths on the checked system). */
    readonly debPaths: readonly string[];
    /** Keyrings added to apt's default keys for sources without Signed-By. */
    readonly keyrings: readonly string[];
    /** The trust store recorded at install time (a path on the checked system). */
    readonly store: string;
    /** What files are checked against under --signed: the record's md5 or its SHA-256. */
    readonly hash: 'md5' | 'sha256';
  };
  /** The files that were read, in order (for `config show` and messages). */
  readonly sources: readonly string[];
}

/** Finding statuses that can take the site offline (a write alone, `written`, never does; the agent does not produce unowned and setuid findings yet). */
export type OfflineStatus = Exclude<FindingStatus, 'unreadable' | 'written' | 'unowned' | 'setuid' | 'added'>;
export const OFFLINE_STATUSES: readonly OfflineStatus[] = ['changed', 'missing', 'wrong-type', 'database-changed'];

/** How the heartbeat is sent: POST with the agent's state as JSON, or a bare GET. */
export type HeartbeatMethod = 'POST' | 'GET';

/** Who runs the offline actions: the agent itself, the privileged helper unit, or `auto` (the agent when it runs as root). */
export type OfflineActionsBy = 'auto' | 'agent' | 'helper';

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
  defineTable('unowned', 'Trees in which every entry must come from a package (`pkgwatch check --unowned`).'),
  defineTable('persist', 'The places intruders persist, held to a local baseline (`pkgwatch baseline`, `check --persist`).'),
  defineTable('alerts', 'Alerts on findings: every alert goes to the log, and through the durable outbox to email, webhook and Alertmanager.'),
  defineTable('alerts.email', 'Email alerts: one message per batch of events. Set `to` and one of `smtp` or `sendmail`.'),
  defineTable('alerts.webhook', 'Webhook alerts: a JSON POST per event. Set `url`.'),
  defineTable('alerts.alertmanager', "Prometheus Alertmanager: open findings and the site offline as alerts on its v2 API, re-posted while they last. Set `url`."),
  defineTable('alerts.heartbeat', "A dead man's switch: a request every `every` while the agent is healthy, none when it is not. Set `url`."),
  defineTable('offline', 'Taking the site offline on a confirmed finding in the scoped packages. Off unless enabled.'),
  defineTable('metrics', 'Prometheus metrics: an HTTP endpoint to scrape and/or a textfile for node_exporter. Both off by default.'),
  defineTable('trust', '`check --signed` and the trust store: where signed .debs, keys and install-time records are found.'),
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
    doc: 'Packages the scoped check verifies: names or shell-style patterns, as `pkgwatch check` takes them. pkgwatch and nodejs, when installed, are always checked too.',
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
    key: 'schedule.dpkg_max_run',
    field: 'schedule.dpkgMaxRunMs',
    type: duration({ allowZero: true }),
    default: '30m',
    example: '"30m"',
    doc: "Checks wait while dpkg runs (its lock held, or the hook's marker); when that lasts longer than this, log a warning, and again after each further period, and alert coverage.degraded (coverage.restored when it ends). \"0\" = never.",
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
    key: 'watch.alert_writes',
    field: 'watch.alertWrites',
    type: booleanValue,
    default: true,
    example: 'true',
    doc: 'Alert (file.written, low severity) every write to a scoped file while no dpkg runs, even when its content is right again by the time it is checked.',
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
    key: 'unowned.trees',
    field: 'unowned.trees',
    type: treeGlobList,
    default: [],
    example: '["/usr/local/**", "/srv/*/htdocs"]',
    doc: "More trees for `check --unowned` besides the scoped packages' own (their directories under /srv, /var/www and /opt, and those only they own): absolute directories or globs (`*` within a segment; a trailing `/**` is the directory itself).",
  }),
  defineKey({
    key: 'unowned.allow',
    field: 'unowned.allow',
    type: absoluteGlobList,
    default: [],
    example: '["/srv/*/htdocs/uploads/**", "/**/__pycache__/**"]',
    doc: 'Entries in the trees that no package installs and that are not intrusions (uploads, caches, sockets): absolute globs as in `ignore.paths`; `/dir/**` also allows `/dir` and is not walked.',
  }),
  defineKey({
    key: 'persist.enabled',
    field: 'persist.enabled',
    type: booleanValue,
    default: true,
    example: 'true',
    doc: 'The agent holds the persistence points to the baseline on each scoped run (recording it at its first start) and accepts what a dpkg run changed (baseline.updated).',
  }),
  defineKey({
    key: 'persist.paths',
    field: 'persist.paths',
    type: persistPathList,
    default: [...DEFAULT_PERSIST_PATHS],
    example: '["/etc/cron.d", "/etc/ld.so.preload", "~/.ssh/authorized_keys"]',
    doc: "The persistence points held to the baseline: files, or directories walked whole; `~/PATH` is PATH in root's home and in every account's home of /etc/passwd. Setting it replaces the default list (see README); `add` extends it.",
  }),
  defineKey({
    key: 'persist.add',
    field: 'persist.add',
    type: persistPathList,
    default: [],
    example: '["/etc/nginx/sites-enabled", "/srv/app/.env"]',
    doc: 'More persistence points, added to `paths` (so the defaults stay as they grow).',
  }),
  defineKey({
    key: 'persist.allow',
    field: 'persist.allow',
    type: absoluteGlobList,
    default: [],
    example: '["/usr/local/lib/python3*/dist-packages/**"]',
    doc: 'Entries below the persistence points that are neither recorded nor reported: absolute globs as in `ignore.paths`; `/dir/**` also takes `/dir` and is not walked.',
  }),
  defineKey({
    key: 'alerts.reminder',
    field: 'alerts.reminderMs',
    type: duration({ allowZero: false }),
    default: '24h',
    example: '"24h"',
    doc: 'Send findings that are still open again this often.',
  }),
  defineKey({
    key: 'alerts.max_age',
    field: 'alerts.maxAgeMs',
    type: duration({ allowZero: false }),
    default: '7d',
    example: '"7d"',
    doc: 'Keep retrying an undelivered alert this long; older ones are dropped, logged and counted in `pkgwatch status`.',
  }),
  defineKey({
    key: 'alerts.retry_min',
    field: 'alerts.retryMinMs',
    type: duration({ allowZero: false }),
    default: '10s',
    example: '"10s"',
    doc: 'The first wait after a failed delivery, and the shortest; each further failure doubles it (with jitter that never goes below retry_min), up to retry_max.',
  }),
  defineKey({
    key: 'alerts.retry_max',
    field: 'alerts.retryMaxMs',
    type: duration({ allowZero: false }),
    default: '5m',
    example: '"5m"',
    doc: 'The longest wait between two attempts to deliver to a sink that keeps failing.',
  }),
  defineKey({
    key: 'alerts.host',
    field: 'alerts.host',
    type: stringValue('host name'),
    default: '',
    example: '"web1.example.com"',
    doc: 'The host name alerts carry; "" = the machine\'s host name.',
  }),
  defineKey({
    key: 'alerts.email.to',
    field: 'alerts.email.to',
    type: addressList,
    default: [],
    example: '["ops@example.com"]',
    doc: 'Who gets email alerts; [] = no email.',
  }),
  defineKey({
    key: 'alerts.email.from',
    field: 'alerts.email.from',
    type: addressOrEmpty,
    default: '',
    example: '"pkgwatch@web1.example.com"',
    doc: 'The sender address; "" = pkgwatch@<host>.',
  }),
  defineKey({
    key: 'alerts.email.smtp',
    field: 'alerts.email.smtp',
    type: smtpUrl,
    default: '',
    example: '"smtp://user:pass@mail.example.com:587"',
    doc: 'The SMTP server: smtp:// (STARTTLS, required unless the host is loopback or allow_plaintext is set) or smtps:// (TLS), with user:pass@ if it needs a login.',
  }),
  defineKey({
    key: 'alerts.email.allow_plaintext',
    field: 'alerts.email.allowPlaintext',
    type: booleanValue,
    default: false,
    example: 'false',
    doc: 'Let smtp:// to a host other than loopback go on in plain text (password and alerts readable on the way) when the server offers no STARTTLS.',
  }),
  defineKey({
    key: 'alerts.email.sendmail',
    field: 'alerts.email.sendmail',
    type: booleanValue,
    default: false,
    example: 'true',
    doc: 'Hand mail to the local MTA (/usr/sbin/sendmail) instead of an SMTP server.',
  }),
  defineKey({
    key: 'alerts.email.batch',
    field: 'alerts.email.batchMs',
    type: duration({ allowZero: true }),
    default: '10s',
    example: '"10s"',
    doc: 'Gather events this long before sending, so a burst of findings (and the site going offline) is one message.',
  }),
  defineKey({
    key: 'alerts.email.timeout',
    field: 'alerts.email.timeoutMs',
    type: duration({ allowZero: false }),
    default: '30s',
    example: '"30s"',
    doc: 'Give up on one attempt to hand over a message after this long (it is retried).',
  }),
  defineKey({
    key: 'alerts.webhook.url',
    field: 'alerts.webhook.url',
    type: httpUrl,
    default: '',
    example: '"https://hooks.example.com/pkgwatch"',
    doc: 'Where to POST each event as JSON; "" = no webhook. http:// only to a loopback host unless allow_plaintext is set.',
  }),
  defineKey({
    key: 'alerts.webhook.allow_plaintext',
    field: 'alerts.webhook.allowPlaintext',
    type: booleanValue,
    default: false,
    example: 'false',
    doc: 'Accept an http:// url to a host other than loopback (alerts readable and changeable on the way).',
  }),
  defineKey({
    key: 'alerts.webhook.secret',
    field: 'alerts.webhook.secret',
    type: stringValue('string'),
    default: '',
    example: '"a long random string"',
    doc: 'Sign each body with HMAC-SHA256 under this secret, sent as X-Pkgwatch-Signature: sha256=<hex>; "" = unsigned.',
  }),
  defineKey({
    key: 'alerts.webhook.headers',
    field: 'alerts.webhook.headers',
    type: headerTable,
    default: {},
    example: '{ Authorization = "Bearer ..." }',
    doc: 'Extra request headers.',
  }),
  defineKey({
    key: 'alerts.webhook.timeout',
    field: 'alerts.webhook.timeoutMs',
    type: duration({ allowZero: false }),
    default: '10s',
    example: '"10s"',
    doc: 'Give up on one request after this long (it is retried).',
  }),
  defineKey({
    key: 'alerts.alertmanager.url',
    field: 'alerts.alertmanager.urls',
    type: httpUrlOrList,
    default: [],
    example: '["http://am1.example.com:9093", "http://am2.example.com:9093"]',
    doc: 'Alertmanager\'s base URL, or an array of the URLs of every member of a cluster (each gets every alert, as Prometheus does); [] = none. Alerts go to <url>/api/v2/alerts. http:// only to a loopback host unless allow_plaintext is set.',
  }),
  defineKey({
    key: 'alerts.alertmanager.allow_plaintext',
    field: 'alerts.alertmanager.allowPlaintext',
    type: booleanValue,
    default: false,
    example: 'true',
    doc: 'Accept http:// urls to hosts other than loopback (alerts readable and changeable on the way).',
  }),
  defineKey({
    key: 'alerts.alertmanager.resend',
    field: 'alerts.alertmanager.resendMs',
    type: duration({ allowZero: false }),
    default: '1m',
    example: '"1m"',
    doc: 'Post the open findings again this often; each post sets endsAt 4 resend intervals ahead, so Alertmanager resolves them by itself once the agent stops posting.',
  }),
  defineKey({
    key: 'alerts.alertmanager.timeout',
    field: 'alerts.alertmanager.timeoutMs',
    type: duration({ allowZero: false }),
    default: '10s',
    example: '"10s"',
    doc: 'Give up on one request after this long (it is retried).',
  }),
  defineKey({
    key: 'alerts.heartbeat.url',
    field: 'alerts.heartbeat.url',
    type: httpUrl,
    default: '',
    example: '"https://hc-ping.com/your-uuid"',
    doc: 'The dead man\'s switch to ping while the agent is healthy; "" = no heartbeat. http:// only to a loopback host unless allow_plaintext is set.',
  }),
  defineKey({
    key: 'alerts.heartbeat.method',
    field: 'alerts.heartbeat.method',
    type: oneOf<HeartbeatMethod>(['POST', 'GET']),
    default: 'POST',
    example: '"POST"',
    doc: '"POST" sends the agent\'s state as JSON; "GET" sends no body.',
  }),
  defineKey({
    key: 'alerts.heartbeat.every',
    field: 'alerts.heartbeat.everyMs',
    type: duration({ allowZero: false }),
    default: '5m',
    example: '"5m"',
    doc: 'How often to ping; set the switch\'s own timeout to a few of these.',
  }),
  defineKey({
    key: 'alerts.heartbeat.grace',
    field: 'alerts.heartbeat.graceMs',
    type: duration({ allowZero: false }),
    default: '1h',
    example: '"1h"',
    doc: 'The agent is unhealthy (no pings) when a scheduled check has been due (after its splay) longer than this without finishing (a full check also gets as long as the last one took).',
  }),
  defineKey({
    key: 'alerts.heartbeat.allow_plaintext',
    field: 'alerts.heartbeat.allowPlaintext',
    type: booleanValue,
    default: false,
    example: 'false',
    doc: 'Accept an http:// url to a host other than loopback (its token readable on the way).',
  }),
  defineKey({
    key: 'alerts.heartbeat.timeout',
    field: 'alerts.heartbeat.timeoutMs',
    type: duration({ allowZero: false }),
    default: '10s',
    example: '"10s"',
    doc: 'Give up on one ping after this long (it is not retried: the next one is due anyway).',
  }),
  defineKey({
    key: 'offline.enabled',
    field: 'offline.enabled',
    type: booleanValue,
    default: false,
    example: 'true',
    doc: 'Take the site offline on a confirmed finding in the scoped packages. It stays offline until `pkgwatch online`.',
  }),
  defineKey({
    key: 'offline.on',
    field: 'offline.on',
    type: stringList(`array of ${OFFLINE_STATUSES.map((s) => `"${s}"`).join(', ')}`, (s) =>
      (OFFLINE_STATUSES as readonly string[]).includes(s) ? null : `'${s}' is not one of ${OFFLINE_STATUSES.join(', ')}`,
    ) as ValueType<readonly OfflineStatus[]>,
    default: [...OFFLINE_STATUSES],
    example: '["changed", "missing"]',
    doc: 'The finding statuses that take the site offline.',
  }),
  defineKey({
    key: 'offline.conffiles',
    field: 'offline.conffiles',
    type: booleanValue,
    default: false,
    example: 'false',
    doc: 'Also go offline for changed conffiles (operators edit them; off by default). Ignored paths never count.',
  }),
  defineKey({
    key: 'offline.confirm_delay',
    field: 'offline.confirmDelayMs',
    type: duration({ allowZero: true }),
    default: '2s',
    example: '"2s"',
    doc: 'Re-verify the findings after this long, and act only if they still fail and dpkg has not run meanwhile.',
  }),
  defineKey({
    key: 'offline.flag_file',
    field: 'offline.flagFile',
    type: absolutePathOrEmpty,
    default: '/var/lib/pkgwatch/maintenance.on',
    example: '"/var/lib/pkgwatch/maintenance.on"',
    doc: 'Created when the site goes offline; the web server answers 503 while it exists (systemd/nginx-maintenance.conf). "" = none.',
  }),
  defineKey({
    key: 'offline.stop_units',
    field: 'offline.stopUnits',
    type: unitList,
    default: [],
    example: '["nginx.service"]',
    doc: 'systemd units to stop when the site goes offline (and start again on `pkgwatch online`).',
  }),
  defineKey({
    key: 'offline.command',
    field: 'offline.command',
    type: argvList,
    default: [],
    example: '["supervisorctl", "stop", "all"]',
    doc: 'A command to run when the site goes offline: argv, no shell; [] = none.',
  }),
  defineKey({
    key: 'offline.restore_command',
    field: 'offline.restoreCommand',
    type: argvList,
    default: [],
    example: '["supervisorctl", "start", "all"]',
    doc: 'A command `pkgwatch online` runs to bring the site back: argv, no shell; [] = none.',
  }),
  defineKey({
    key: 'offline.command_timeout',
    field: 'offline.commandTimeoutMs',
    type: duration({ allowZero: false }),
    default: '60s',
    example: '"60s"',
    doc: 'Kill a command or systemctl call that has not finished after this long (it counts as failed).',
  }),
  defineKey({
    key: 'offline.actions_by',
    field: 'offline.actionsBy',
    type: oneOf<OfflineActionsBy>(['auto', 'agent', 'helper']),
    default: 'auto',
    example: '"auto"',
    doc: 'Who stops units and runs commands: "agent" itself, "helper" (pkgwatch-offline.path starts a root oneshot), or "auto" (the agent when it runs as root, else the helper).',
  }),
  defineKey({
    key: 'metrics.listen',
    field: 'metrics.listen',
    type: listenAddress,
    default: '',
    example: '"127.0.0.1:9847"',
    doc: 'Serve Prometheus metrics at http://HOST:PORT/metrics: an IP address and port (port 0 = any free one, logged); "" = off. Use a loopback or private address.',
  }),
  defineKey({
    key: 'metrics.textfile',
    field: 'metrics.textfile',
    type: promFileOrEmpty,
    default: '',
    example: '"/var/lib/prometheus/node-exporter/pkgwatch.prom"',
    doc: "Write the same metrics to this file (atomically, mode 0644) for node_exporter's textfile collector whenever the status changes and every minute; \"\" = off.",
  }),
  defineKey({
    key: 'trust.deb_paths',
    field: 'trust.debPaths',
    type: absolutePathList,
    default: [],
    example: '["/srv/debs"]',
    doc: 'Directories of .debs (like debsums --deb-path) searched before /var/cache/apt/archives for `check --signed`: paths on the checked system (under --root).',
  }),
  defineKey({
    key: 'trust.keyrings',
    field: 'trust.keyrings',
    type: absolutePathList,
    default: [],
    example: '["/etc/pkgwatch/site-archive.gpg"]',
    doc: "Keyring files (binary or armored) added to apt's trusted.gpg and trusted.gpg.d for sources without Signed-By, for `check --signed`.",
  }),
  defineKey({
    key: 'trust.store',
    field: 'trust.store',
    type: absolutePath,
    default: '/var/lib/pkgwatch-trust',
    example: '"/var/lib/pkgwatch-trust"',
    doc: "The trust store `pkgwatch trust record` (apt's hook) writes as root and `check --signed` reads first: a path on the checked system (under --root).",
  }),
  defineKey({
    key: 'trust.hash',
    field: 'trust.hash',
    type: oneOf<'md5' | 'sha256'>(['md5', 'sha256']),
    default: 'md5',
    example: '"md5"',
    doc: 'With `check --signed`, check files against the trust store\'s "md5" or its "sha256" (as --sha256; for sites whose policy rules MD5 out).',
  }),
];
