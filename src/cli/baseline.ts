// `pkgwatch baseline init|diff|accept`: records the persistence points' baseline in the state dir,
// shows what changed since, and records the present state after an operator looked.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { alertHost, outboxDir } from '../agent/alerting.js';
import { enqueueDurable } from '../alerts/outboxdisk.js';
import { configuredSinks } from '../alerts/registry.js';
import { ONLINE, type AlertEvent } from '../alerts/sink.js';
import { compileIgnore } from '../config/ignore.js';
import type { ResolvedConfig } from '../config/schema.js';
import { displayPath } from '../dpkg/bytes.js';
import { printable } from '../decode.js';
import { offlineInfo, readOfflineRecord } from '../respond/offlinestate.js';
import type { UnpackagedBase } from '../unpackaged/run.js';
import { findingJson } from '../verify/report.js';
import type { BaselineArgs } from './options.js';
import { loadStateConfig } from './stateconfig.js';
import { persistRequest } from './check.js';
import { EXIT, type ExitCode } from './exit.js';
import { plural, renderJson, renderText, renderWarning, type CheckReport } from './render.js';

async function setup(args: BaselineArgs): Promise<{ cfg: ResolvedConfig; root: string; base: UnpackagedBase }> {
  const cfg = await loadStateConfig(args);
  const root = args.root ?? cfg.root;
  const { loadBase } = await import('../unpackaged/run.js');
  return { cfg, root, base: await loadBase(root) };
}

export async function runInit(args: BaselineArgs): Promise<ExitCode> {
  const { cfg, base } = await setup(args);
  const { initBaseline } = await import('../unpackaged/persist.js');
  const r = await initBaseline(base, persistRequest(cfg), cfg.stateDir, args.force);
  for (const w of r.warnings) process.stderr.write(renderWarning(w));
  if (r.unreadable > 0) process.stderr.write(`pkgwatch: warning: ${plural(r.unreadable, 'entry', 'entries')} could not be read and are not in the baseline\n`);
  process.stdout.write(`recorded ${plural(r.baseline.entries.length, 'entry', 'entries')} below ${plural(r.baseline.points.length, 'persistence point')} in ${cfg.stateDir}/baseline.json\n`);
  return EXIT.ok;
}

export async function runDiff(args: BaselineArgs): Promise<ExitCode> {
  const { cfg, base } = await setup(args);
  const { checkPersist } = await import('../unpackaged/persist.js');
  const persist = await checkPersist(base, persistRequest(cfg), cfg.stateDir);
  const report: CheckReport = { packages: [], findings: persist.findings, warnings: persist.warnings, summary: null, persist };
  const isIgnored = compileIgnore(cfg.ignore.paths);
  const ignored = (f: { path: string }): boolean => isIgnored(f.path);
  if (args.format === 'json') process.stdout.write(renderJson(report, ignored));
  else {
    for (const w of report.warnings) process.stderr.write(renderWarning(w));
    process.stdout.write(renderText(report, { ignored }));
  }
  const { exitCodeOf } = await import('./check.js');
  return exitCodeOf(report, ignored);
}

/** Who ran the command: the user sudo was run by, the login user, or the user it runs as. */
export function operator(): string {
  const sudo = process.env['SUDO_USER'];
  if (sudo !== undefined && sudo !== '') return sudo;
  try {
    const login = readFileSync('/proc/self/loginuid', 'utf8').trim();
    // 4294967295: no login uid (a daemon, a container).
    if (/^\d+$/.test(login) && login !== '4294967295' && Number(login) !== process.getuid?.()) {
      const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === login);
      return line?.split(':')[0] ?? `uid ${login}`;
    }
  } catch {
    // no /proc, or no loginuid: the user it runs as
  }
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

export async function runAccept(args: BaselineArgs): Promise<ExitCode> {
  const { cfg, base } = await setup(args);
  const { acceptBaseline } = await import('../unpackaged/persist.js');
  const r = await acceptBaseline(base, persistRequest(cfg), cfg.stateDir, args.paths);
  for (const w of r.warnings) process.stderr.write(renderWarning(w));
  const by = operator();
  const what = args.paths.length === 0 ? 'every persistence point' : args.paths.join(' ');
  const points = r.points.length === 0 ? '' : `; ${r.points.join(', ')} now compared`;
  // The log line: one per acceptance, with who and what (the agent's journal shows the alert too).
  process.stdout.write(`${printable(`baseline.accepted by ${by}: ${what}: ${plural(r.findings.length, 'change')} recorded${points}`)}\n`);
  for (const f of r.findings) process.stdout.write(`  ${f.status.padEnd(10)} ${displayPath(f.path)}\n`);
  let offline = ONLINE;
  try {
    offline = offlineInfo(readOfflineRecord(cfg.stateDir));
  } catch {
    // the alert goes out all the same
  }
  const event: AlertEvent = {
    kind: 'baseline.accepted',
    id: randomUUID(),
    host: alertHost(cfg),
    time: new Date().toISOString(),
    findings: r.findings.map(findingJson),
    offline,
    baseline: { by, paths: args.paths.length === 0 ? [] : [...args.paths] },
  };
  const sinks = configuredSinks(cfg);
  if (sinks.length > 0) {
    try {
      enqueueDurable(outboxDir(cfg.stateDir), sinks, event);
      process.stdout.write(`Alert baseline.accepted ${event.id} queued for ${sinks.join(', ')} (the agent delivers it).\n`);
    } catch (err) {
      process.stderr.write(`pkgwatch: the baseline.accepted alert could not be queued: ${printable((err as Error).message)}\n`);
      return EXIT.error;
    }
  }
  return EXIT.ok;
}
