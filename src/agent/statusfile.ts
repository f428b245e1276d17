// The agent's status, as `pkgwatch status` reads it: written by the agent to <state_dir>/status.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SinkStatus } from '../alerts/outbox.js';
import type { FindingJson } from '../verify/report.js';
import type { OfflineRecord } from '../respond/offlinestate.js';
import { writeFileAtomic } from '../atomic.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ScheduleName } from './scheduler.js';
import type { Scope } from './scope.js';
import type { AgentState } from './state.js';
import type { WatcherStats } from '../watch/watcher.js';

export const STATUS_FILE = 'status.json';

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

/** The last status the agent wrote, or null when there is none; throws when it cannot be read. */
export function readStatus(stateDir: string): AgentStatus | null {
  let text: string;
  try {
    text = readFileSync(path.join(stateDir, STATUS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as AgentStatus;
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
