// `pkgwatch status`: what the agent that runs with this config is doing, from its status file.
import type { Argv } from 'yargs';
import { agentAlive, readStatus, type AgentStatus } from '../agent/statusfile.js';
import type { RunRecord } from '../agent/state.js';
import { readOfflineRecord, type OfflineRecord } from '../respond/offlinestate.js';
import { outboxDir } from '../agent/alerting.js';
import { pendingOnDisk } from '../alerts/outboxdisk.js';
import { printable } from '../decode.js';
import { PkgwatchError } from '../errors.js';
import { loadStateConfig, stateDirOptions } from './agent.js';
import { EXIT, type ExitCode } from './exit.js';
import { formatBytes } from '../verify/report.js';

export interface StatusArgs {
  config: string | undefined;
  stateDir: string | undefined;
  json: boolean;
}

export function statusOptions(y: Argv): Argv<StatusArgs> {
  return stateDirOptions(y)
    .option('json', { describe: 'print the status as one JSON document', type: 'boolean', default: false });
}

function warn(message: string): void {
  process.stderr.write(`pkgwatch: warning: ${printable(message)}\n`);
}

/**
 * Exit 0: running, nothing open; 1: findings open or the site offline; 3: the agent is not running
 * (or never ran). Everything it reads is in the agent's folder (run as root: read without following
 * links, size-capped, decoded strictly); what it prints from there has control characters escaped.
 */
export async function runStatus(args: StatusArgs): Promise<ExitCode> {
  const config = await loadStateConfig(args);
  let saved: AgentStatus | null;
  try {
    saved = readStatus(config.stateDir);
  } catch (err) {
    throw new PkgwatchError('usage', printable((err as Error).message), { cause: err });
  }
  // Running: the agent said so (it writes `running: false` when it stops) and its process is still
  // there: a killed agent leaves `running: true` behind, with a pid that is gone or someone else's.
  let status: AgentStatus | null = saved === null ? null : { ...saved, running: saved.running && agentAlive(saved.pid, saved.startedAt) };
  // The offline record is the truth (`pkgwatch online` changes it while the agent may be down).
  let offline: OfflineRecord | null = null;
  try {
    offline = readOfflineRecord(config.stateDir);
  } catch (err) {
    warn(`${(err as Error).message}; the offline state shown is the status file's`);
  }
  if (status !== null && offline !== null) {
    status = { ...status, offline: { ...status.offline, active: offline.active, since: offline.since, reason: offline.reason, restored: offline.restored } };
  }
  // What is queued is on disk: right even when the agent is down or its status file is behind.
  if (status !== null) {
    try {
      const disk = pendingOnDisk(outboxDir(config.stateDir));
      status = { ...status, alerts: status.alerts.map((a) => ({ ...a, ...(disk.get(a.sink) ?? { pending: 0, oldest: null }) })) };
    } catch (err) {
      warn(`${(err as Error).message}; the pending counts shown are the status file's`);
    }
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(status ?? { running: false, findings: [], stateDir: config.stateDir }, null, 2)}\n`);
  } else {
    process.stdout.write(status === null ? `pkgwatch agent: never ran with state_dir ${config.stateDir}\n` : renderStatus(status));
  }
  if (status === null || !status.running) return EXIT.incomplete;
  return status.findings.some((f) => !f.ignored) || status.offline.active ? EXIT.findings : EXIT.ok;
}

function renderStatus(s: AgentStatus): string {
  const lines: string[] = [];
  lines.push(s.running ? `pkgwatch agent: running (pid ${s.pid}, since ${s.startedAt})` : `pkgwatch agent: NOT RUNNING (last seen ${s.updatedAt}, pid ${s.pid}): nothing is checked or watched; what follows is as it last saw it`);
  lines.push(`root: ${s.root}; config: ${s.configFiles.length === 0 ? 'defaults only' : s.configFiles.join(', ')}`);
  lines.push(`scope: ${s.scope.packages.length} package(s)${s.scope.packages.length > 0 ? `: ${s.scope.packages.slice(0, 10).join(', ')}${s.scope.packages.length > 10 ? ', ...' : ''}` : ''}`);
  for (const p of s.scope.problems) lines.push(`  problem: ${p}`);
  lines.push(`last scoped run: ${run(s.lastRuns.scoped)}`);
  lines.push(`last full run:   ${run(s.lastRuns.full)}`);
  lines.push(`last real-time run: ${run(s.lastRuns.realtime)}`);
  if (s.running) {
    lines.push(`next runs: scoped ${s.nextRuns.scoped ?? 'off'}, full ${s.nextRuns.full ?? 'off'}`);
    const w = s.watch;
    lines.push(
      w.enabled
        ? `watch: ${w.degraded ? 'DEGRADED' : 'ok'}, ${w.dirs} directories, ${w.paths} paths, ${w.errors} error(s)${w.lastError === null ? '' : `; last: ${w.lastError}`}`
        : 'watch: off',
    );
    lines.push(`dpkg: ${s.dpkgRunning ? 'RUNNING (checks wait)' : 'not running'}`);
  } else {
    // What a stopped agent last wrote of its schedule and watches describes nothing now.
    lines.push('next runs: none (the agent is not running)');
    lines.push('watch: not watching (the agent is not running)');
  }
  lines.push(...offlineLines(s.offline));
  lines.push(...alertLines(s.alerts));
  const open = s.findings.filter((f) => !f.ignored);
  lines.push(`open findings: ${open.length}${s.findings.length > open.length ? ` (+${s.findings.length - open.length} on ignored paths)` : ''}`);
  for (const f of s.findings) lines.push(`  ${f.status.padEnd(16)} ${f.path} (${f.package})${f.ignored ? ' [ignored]' : ''} since ${f.firstSeen}`);
  // Every string came from the agent's files: no terminal control sequences reach the screen.
  return `${lines.map(printable).join('\n')}\n`;
}

function offlineLines(o: AgentStatus['offline']): string[] {
  if (o.active) return [`site: OFFLINE since ${o.since ?? '?'}: ${o.reason ?? 'no reason recorded'}`, '  restore the files, then run `pkgwatch online`'];
  const how = o.enabled ? (o.confirming ? 'online (re-verifying findings before going offline)' : 'online (taken offline on a confirmed finding)') : 'online (taking it offline is disabled)';
  const restored = o.restored === null ? '' : `; last brought back ${o.restored.at} by ${o.restored.by}${o.restored.forced ? ' with --force' : ''}`;
  return [`site: ${how}${restored}`];
}

function alertLines(sinks: AgentStatus['alerts']): string[] {
  if (sinks.length === 0) return ['alerts: log only (no email or webhook configured)'];
  const out = ['alerts:'];
  for (const a of sinks) {
    const state = a.pending === 0 ? 'nothing pending' : `${a.pending} PENDING since ${a.oldest ?? '?'}${a.nextAttempt === null ? '' : `, next attempt ${a.nextAttempt}`}`;
    out.push(`  ${a.sink}${a.configured ? '' : ' (no longer configured)'}: ${state}; last delivered ${a.lastDelivered ?? 'never'}; dropped ${a.dropped}`);
    if (a.lastError !== null) out.push(`    last error (${a.lastErrorAt ?? '?'}): ${a.lastError}`);
  }
  return out;
}

function run(r: RunRecord | undefined): string {
  if (r === undefined) return 'never';
  const what = r.outcome === 'failed' ? `FAILED: ${r.error ?? 'unknown error'}` : `${r.outcome}, ${r.findings} finding(s), ${r.files.toLocaleString('en-US')} paths, ${formatBytes(r.bytes)}`;
  return `${r.finished} ${what} in ${(r.durationMs / 1000).toFixed(1)} s`;
}
