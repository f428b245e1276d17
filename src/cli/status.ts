// `pkgwatch status`: what the agent that runs with this config is doing, from its status file.
import type { Argv } from 'yargs';
import { pidAlive, readStatus, type AgentStatus } from '../agent/statusfile.js';
import type { RunRecord } from '../agent/state.js';
import { loadConfig } from '../config/load.js';
import { configOption } from './agent.js';
import { EXIT, type ExitCode } from './exit.js';
import { formatBytes } from '../verify/report.js';

export interface StatusArgs {
  config: string | undefined;
  stateDir: string | undefined;
  json: boolean;
}

export function statusOptions(y: Argv): Argv<StatusArgs> {
  return configOption(y)
    .option('state-dir', { describe: "the agent's state directory (overrides `state_dir`)", type: 'string', requiresArg: true })
    .option('json', { describe: 'print the status as one JSON document', type: 'boolean', default: false }) as unknown as Argv<StatusArgs>;
}

/** Exit 0: running, nothing open; 1: findings open; 3: the agent is not running (or never ran). */
export async function runStatus(args: StatusArgs): Promise<ExitCode> {
  const config = await loadConfig({ file: args.config, overrides: args.stateDir === undefined ? {} : { stateDir: args.stateDir } });
  const saved = readStatus(config.stateDir);
  const status: AgentStatus | null = saved === null ? null : { ...saved, running: saved.running && pidAlive(saved.pid) };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(status ?? { running: false, findings: [], stateDir: config.stateDir }, null, 2)}\n`);
  } else {
    process.stdout.write(status === null ? `pkgwatch agent: never ran with state_dir ${config.stateDir}\n` : renderStatus(status));
  }
  if (status === null || !status.running) return EXIT.incomplete;
  return status.findings.some((f) => !f.ignored) ? EXIT.findings : EXIT.ok;
}

function renderStatus(s: AgentStatus): string {
  const lines: string[] = [];
  lines.push(s.running ? `pkgwatch agent: running (pid ${s.pid}, since ${s.startedAt})` : `pkgwatch agent: NOT RUNNING (last seen ${s.updatedAt}, pid ${s.pid})`);
  lines.push(`root: ${s.root}; config: ${s.configFiles.length === 0 ? 'defaults only' : s.configFiles.join(', ')}`);
  lines.push(`scope: ${s.scope.packages.length} package(s)${s.scope.packages.length > 0 ? `: ${s.scope.packages.slice(0, 10).join(', ')}${s.scope.packages.length > 10 ? ', ...' : ''}` : ''}`);
  for (const p of s.scope.problems) lines.push(`  problem: ${p}`);
  lines.push(`last scoped run: ${run(s.lastRuns.scoped)}`);
  lines.push(`last full run:   ${run(s.lastRuns.full)}`);
  lines.push(`next runs: scoped ${s.nextRuns.scoped ?? 'off'}, full ${s.nextRuns.full ?? 'off'}`);
  const w = s.watch;
  lines.push(
    w.enabled
      ? `watch: ${w.degraded ? 'DEGRADED' : 'ok'}, ${w.dirs} directories, ${w.paths} paths, ${w.errors} error(s)${w.lastError === null ? '' : `; last: ${w.lastError}`}`
      : 'watch: off',
  );
  lines.push(`dpkg: ${s.dpkgRunning ? 'RUNNING (checks wait)' : 'not running'}`);
  const open = s.findings.filter((f) => !f.ignored);
  lines.push(`open findings: ${open.length}${s.findings.length > open.length ? ` (+${s.findings.length - open.length} on ignored paths)` : ''}`);
  for (const f of s.findings) lines.push(`  ${f.status.padEnd(16)} ${f.path} (${f.package})${f.ignored ? ' [ignored]' : ''} since ${f.firstSeen}`);
  return `${lines.join('\n')}\n`;
}

function run(r: RunRecord | undefined): string {
  if (r === undefined) return 'never';
  const what = r.outcome === 'failed' ? `FAILED: ${r.error ?? 'unknown error'}` : `${r.outcome}, ${r.findings} finding(s), ${r.files.toLocaleString('en-US')} paths, ${formatBytes(r.bytes)}`;
  return `${r.finished} ${what} in ${(r.durationMs / 1000).toFixed(1)} s`;
}
