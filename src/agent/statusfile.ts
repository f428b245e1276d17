// The agent's status, as `pkgwatch status` reads it: written by the agent to <state_dir>/status.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SinkStatus } from '../alerts/outbox.js';
import type { FindingJson } from '../verify/report.js';
import type { OfflineRecord } from '../respond/offlinestate.js';
import { writeFileAtomic } from '../atomic.js';
import type { ResolvedConfig } from '../config/schema.js';
import { array, bool, count, decodeFinding, fail, nonEmpty, parseJson, record, str, strOrNull, time } from '../decode.js';
import { readFileSafe } from '../safedir.js';
import type { ScheduleName } from './scheduler.js';
import type { Scope } from './scope.js';
import { decodeRun, type AgentState } from './state.js';
import type { WatcherStats } from '../watch/watcher.js';

export const STATUS_FILE = 'status.json';

/** The largest status file read back: `pkgwatch status` reads it as root from the agent's folder. */
const MAX_STATUS_BYTES = 64 * 1024 * 1024;

/** The largest pid Linux hands out (pid_max can be at most 2^22). */
const MAX_PID = 4_194_304;

/** What `pkgwatch status --json` prints (with `running` re-checked against the pid). */
export interface AgentStatus {
  running: boolean;
  pid: number;
  startedAt: string;
  updatedAt: string;
  configFiles: string[];
  root: string;
  scope: { packages: string[]; problems: string[] };
  /** Open findings: check's finding objects plus when each was first seen and whether it is ignored. */
  findings: (FindingJson & { ignored: boolean; firstSeen: string })[];
  lastRuns: AgentState['lastRuns'];
  nextRuns: { scoped: string | null; full: string | null };
  watch: { enabled: boolean; dirs: number; paths: number; errors: number; lastError: string | null; degraded: boolean };
  dpkgRunning: boolean;
  /** Deliveries per queued sink (email, webhook): pending, last error, dropped. */
  alerts: SinkStatus[];
  /** Taking the site offline: on or off, and whether the site is offline now. */
  offline: OfflineStatus;
}

/** The `offline` part of the status. */
export interface OfflineStatus {
  enabled: boolean;
  active: boolean;
  since: string | null;
  reason: string | null;
  /** A confirming re-check before going offline is under way. */
  confirming: boolean;
  restored: OfflineRecord['restored'];
}

/** What the agent knows, for composeStatus. */
export interface StatusSources {
  readonly running: boolean;
  readonly startedAt: string;
  readonly config: ResolvedConfig;
  readonly scope: Scope | null;
  readonly state: AgentState;
  readonly nextRun: (name: ScheduleName) => Date | null;
  readonly watch: WatcherStats | null;
  readonly dpkgRunning: boolean;
  readonly alerts: readonly SinkStatus[];
  readonly offline: OfflineRecord & { readonly confirming: boolean };
}

/** The status document from what the agent knows now. */
export function composeStatus(src: StatusSources): AgentStatus {
  const w = src.watch;
  return {
    running: src.running,
    pid: process.pid,
    startedAt: src.startedAt,
    updatedAt: new Date().toISOString(),
    configFiles: [...src.config.sources],
    root: src.config.root,
    scope: { packages: [...(src.scope?.ids ?? [])].sort(), problems: [...(src.scope?.problems ?? [])] },
    findings: src.state.findings.map((o) => ({ ...o.finding, ignored: o.ignored, firstSeen: o.firstSeen })),
    lastRuns: src.state.lastRuns,
    nextRuns: { scoped: src.nextRun('scoped')?.toISOString() ?? null, full: src.nextRun('full')?.toISOString() ?? null },
    watch: {
      enabled: w !== null,
      dirs: w?.dirs ?? 0,
      paths: w?.paths ?? 0,
      errors: w?.errors ?? 0,
      lastError: w?.lastError ?? null,
      degraded: w?.degraded ?? false,
    },
    dpkgRunning: src.dpkgRunning,
    alerts: src.alerts.map((a) => ({ ...a })),
    offline: {
      enabled: src.config.offline.enabled,
      active: src.offline.active,
      since: src.offline.since,
      reason: src.offline.reason,
      confirming: src.offline.confirming,
      restored: src.offline.restored,
    },
  };
}

export function writeStatus(stateDir: string, status: AgentStatus): void {
  // 0600: it lists what changed on this machine, and state_dir is searchable by others (0711, for nginx).
  writeFileAtomic(path.join(stateDir, STATUS_FILE), `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The last status the agent wrote, or null when there is none. Read as root from the agent's folder:
 * never through a link, one link only, size-capped, and decoded strictly. Throws an Error naming
 * the file when it cannot be read or is not a valid status.
 */
export function readStatus(stateDir: string): AgentStatus | null {
  const file = path.join(stateDir, STATUS_FILE);
  const text = readFileSafe(file, MAX_STATUS_BYTES);
  if (text === null) return null;
  try {
    return parseJson(text, decodeStatus);
  } catch (err) {
    throw new Error(`${file} is not a valid status file: ${(err as Error).message}`, { cause: err });
  }
}

const strings = (v: unknown, at: string): string[] => array(v, at).map((x, i) => str(x, `${at}[${i}]`));
const timeOrNull = (v: unknown, at: string): string | null => (v === null ? null : time(v, at));

/** Checks a parsed status file field by field; throws ShapeError naming the first bad one. */
export function decodeStatus(v: unknown): AgentStatus {
  const o = record(v, 'status', [
    'running',
    'pid',
    'startedAt',
    'updatedAt',
    'configFiles',
    'root',
    'scope',
    'findings',
    'lastRuns',
    'nextRuns',
    'watch',
    'dpkgRunning',
    'alerts',
    'offline',
  ]);
  const pid = count(o['pid'], 'status.pid');
  if (pid === 0 || pid > MAX_PID) fail('status.pid', `a process id from 1 to ${MAX_PID}`, pid);
  const scope = record(o['scope'], 'status.scope', ['packages', 'problems']);
  const runs = record(o['lastRuns'], 'status.lastRuns', [], ['scoped', 'full', 'realtime']);
  const lastRuns: AgentStatus['lastRuns'] = {};
  for (const k of ['scoped', 'full', 'realtime'] as const) {
    if (Object.hasOwn(runs, k)) lastRuns[k] = decodeRun(runs[k], `status.lastRuns.${k}`);
  }
  const next = record(o['nextRuns'], 'status.nextRuns', ['scoped', 'full']);
  const w = record(o['watch'], 'status.watch', ['enabled', 'dirs', 'paths', 'errors', 'lastError', 'degraded']);
  return {
    running: bool(o['running'], 'status.running'),
    pid,
    startedAt: time(o['startedAt'], 'status.startedAt'),
    updatedAt: time(o['updatedAt'], 'status.updatedAt'),
    configFiles: strings(o['configFiles'], 'status.configFiles'),
    root: nonEmpty(o['root'], 'status.root'),
    scope: { packages: strings(scope['packages'], 'status.scope.packages'), problems: strings(scope['problems'], 'status.scope.problems') },
    findings: array(o['findings'], 'status.findings').map((f, i) => decodeStatusFinding(f, `status.findings[${i}]`)),
    lastRuns,
    nextRuns: { scoped: timeOrNull(next['scoped'], 'status.nextRuns.scoped'), full: timeOrNull(next['full'], 'status.nextRuns.full') },
    watch: {
      enabled: bool(w['enabled'], 'status.watch.enabled'),
      dirs: count(w['dirs'], 'status.watch.dirs'),
      paths: count(w['paths'], 'status.watch.paths'),
      errors: count(w['errors'], 'status.watch.errors'),
      lastError: strOrNull(w['lastError'], 'status.watch.lastError'),
      degraded: bool(w['degraded'], 'status.watch.degraded'),
    },
    dpkgRunning: bool(o['dpkgRunning'], 'status.dpkgRunning'),
    alerts: array(o['alerts'], 'status.alerts').map((a, i) => decodeSinkStatus(a, `status.alerts[${i}]`)),
    offline: decodeOfflineStatus(o['offline'], 'status.offline'),
  };
}

function decodeStatusFinding(v: unknown, at: string): AgentStatus['findings'][number] {
  // A finding's optional fields (stat, source, entries) are decodeFinding's to judge.
  const o = record(v, at, ['package', 'path', 'status', 'conffile', 'expected', 'actual', 'detail', 'ignored', 'firstSeen'], ['stat', 'source', 'entries', 'entriesOmitted']);
  const { ignored, firstSeen, ...finding } = o;
  return { ...decodeFinding(finding, at), ignored: bool(ignored, `${at}.ignored`), firstSeen: time(firstSeen, `${at}.firstSeen`) };
}

function decodeSinkStatus(v: unknown, at: string): SinkStatus {
  const o = record(v, at, ['sink', 'configured', 'pending', 'oldest', 'lastError', 'lastErrorAt', 'lastDelivered', 'delivered', 'failures', 'nextAttempt', 'dropped']);
  return {
    sink: nonEmpty(o['sink'], `${at}.sink`),
    configured: bool(o['configured'], `${at}.configured`),
    pending: count(o['pending'], `${at}.pending`),
    oldest: timeOrNull(o['oldest'], `${at}.oldest`),
    lastError: strOrNull(o['lastError'], `${at}.lastError`),
    lastErrorAt: timeOrNull(o['lastErrorAt'], `${at}.lastErrorAt`),
    lastDelivered: timeOrNull(o['lastDelivered'], `${at}.lastDelivered`),
    delivered: count(o['delivered'], `${at}.delivered`),
    failures: count(o['failures'], `${at}.failures`),
    nextAttempt: timeOrNull(o['nextAttempt'], `${at}.nextAttempt`),
    dropped: count(o['dropped'], `${at}.dropped`),
  };
}

function decodeOfflineStatus(v: unknown, at: string): OfflineStatus {
  const o = record(v, at, ['enabled', 'active', 'since', 'reason', 'confirming', 'restored']);
  let restored: OfflineStatus['restored'] = null;
  if (o['restored'] !== null) {
    const r = record(o['restored'], `${at}.restored`, ['at', 'by', 'forced']);
    restored = { at: time(r['at'], `${at}.restored.at`), by: nonEmpty(r['by'], `${at}.restored.by`), forced: bool(r['forced'], `${at}.restored.forced`) };
  }
  return {
    enabled: bool(o['enabled'], `${at}.enabled`),
    active: bool(o['active'], `${at}.active`),
    since: timeOrNull(o['since'], `${at}.since`),
    reason: strOrNull(o['reason'], `${at}.reason`),
    confirming: bool(o['confirming'], `${at}.confirming`),
    restored,
  };
}

/** Clock ticks per second of /proc/PID/stat times: USER_HZ, 100 on every Linux architecture. */
const USER_HZ = 100;

/** When process `pid` started (ms since the epoch), from /proc; null when /proc cannot tell. */
function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The name in parentheses may hold spaces and parentheses: fields count from the last `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22, starttime: ticks after boot
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
    if (!Number.isFinite(ticks) || btime === undefined) return null;
    return (Number(btime) + ticks / USER_HZ) * 1000;
  } catch {
    return null;
  }
}

/** How much later than the process's start its agent may record `startedAt` (and boot-time rounding). */
const START_SLACK_MS = 5000;

/**
 * Whether the agent that wrote a status (its `pid` and `startedAt`) still runs: the process
 * exists and started no later than the agent did. A pid the kernel handed to another process
 * since the agent died (killed, crashed, the machine rebooted) started after it: not the agent.
 */
export function agentAlive(pid: number, startedAt: string): boolean {
  if (!pidAlive(pid)) return false;
  const started = processStartMs(pid);
  const agentStarted = Date.parse(startedAt);
  if (started === null || Number.isNaN(agentStarted)) return true;
  return started <= agentStarted + START_SLACK_MS;
}

/** Whether a process with this pid exists (the agent may have died without a word). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
