// `pkgwatch status`: what the agent that runs with this config is doing, from its status file.
import { agentAlive, readStatus, type AgentStatus } from '../agent/statusfile.js';
import type { RunRecord } from '../agent/state.js';
import { readOfflineRecord, type OfflineRecord } from '../respond/offlinestate.js';
import { outboxDir } from '../agent/alerting.js';
import { pendingOnDisk } from '../alerts/outboxdisk.js';
import { printable } from '../decode.js';
import { PkgwatchError } from '../errors.js';
import type { StatusArgs } from './options.js';
import { loadStateConfig } from './stateconfig.js';
import { EXIT, type ExitCode } from './exit.js';
import { formatBytes } from '../verify/report.js';

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
  lines.push(...alertLines(s.alerts, s.running, Date.now()));
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

/**
 * Per sink: pending (count, oldest and its age), the next attempt, the last delivery and the last
 * error with their times, and the counters. Ages are from `now`; a next attempt only while the
 * agent runs (a stopped agent attempts nothing).
 */
function alertLines(sinks: AgentStatus['alerts'], running: boolean, now: number): string[] {
  if (sinks.length === 0) return ['alerts: log only (no email or webhook configured)'];
  const out = ['alerts:'];
  for (const a of sinks) {
    const name = `${a.sink}${a.configured ? '' : ' (no longer configured)'}`;
    if (a.pending === 0) {
      out.push(`  ${name}: nothing pending`);
    } else {
      const oldest = a.oldest === null ? '' : ` (oldest queued ${a.oldest}, ${age(a.oldest, now)} ago)`;
      let next: string;
      if (!running) next = 'no attempt while the agent is not running';
      else if (a.nextAttempt !== null) next = `next attempt ${a.nextAttempt} (${until(a.nextAttempt, now)})`;
      else if (a.configured) next = 'sending now';
      else next = 'not sent: the sink is no longer configured; it expires after max_age';
      out.push(`  ${name}: ${a.pending} PENDING${oldest}; ${next}`);
    }
    out.push(`    last delivered: ${a.lastDelivered === null ? 'never (since the agent started)' : `${a.lastDelivered} (${age(a.lastDelivered, now)} ago)`}`);
    if (a.lastError !== null) out.push(`    last error: ${a.lastErrorAt === null ? '' : `${a.lastErrorAt} (${age(a.lastErrorAt, now)} ago): `}${a.lastError}`);
    out.push(`    delivered ${a.delivered}, failed attempts in a row ${a.failures}, dropped ${a.dropped}`);
  }
  return out;
}

/** `12 s`, `5 min`, `3 h`, `2 d`: a span for people, rounded down. */
function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function age(iso: string, now: number): string {
  return span(now - Date.parse(iso));
}

function until(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  return ms <= 0 ? 'due now' : `in ${span(ms)}`;
}

function run(r: RunRecord | undefined): string {
  if (r === undefined) return 'never';
  const what = r.outcome === 'failed' ? `FAILED: ${r.error ?? 'unknown error'}` : `${r.outcome}, ${r.findings} finding(s), ${r.files.toLocaleString('en-US')} paths, ${formatBytes(r.bytes)}`;
  return `${r.finished} ${what} in ${(r.durationMs / 1000).toFixed(1)} s`;
}
