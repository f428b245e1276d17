// `pkgwatch online [--force]`: brings the site back after the agent took it offline, once a fresh
// check of the scope finds nothing that would take it offline again.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alertHost, outboxDir } from '../agent/alerting.js';
import { isDpkgLockHeld } from '../dpkgrun/lock.js';
import { readDpkgMarker } from '../dpkgrun/marker.js';
import { qualifies } from '../agent/offline.js';
import { OFFLINE_FILE, readOfflineRecord, writeOfflineRecord, NEVER_OFFLINE, type OfflineRecord } from '../respond/offlinestate.js';
import { resolveScope } from '../agent/scope.js';
import { StateStore, type OpenFinding } from '../agent/state.js';
import { enqueueDurable } from '../alerts/outboxdisk.js';
import { configuredSinks } from '../alerts/registry.js';
import type { ActionOutcome, AlertEvent } from '../alerts/sink.js';
import { compileIgnoreJson } from '../config/ignore.js';
import type { ResolvedConfig } from '../config/schema.js';
import { printable } from '../decode.js';
import { PkgwatchError } from '../errors.js';
import { bringOnline } from '../respond/actions.js';
import { findingJson, type FindingJson } from '../verify/report.js';
import { defaultJobs, verify } from '../verify/run.js';
import type { OnlineArgs } from './options.js';
import { loadStateConfig } from './stateconfig.js';
import { EXIT, type ExitCode } from './exit.js';
import { shellCommand } from './shellwords.js';

/** Who ran the command, for the record and the alert. */
function operator(): string {
  const sudo = process.env['SUDO_USER'];
  if (sudo !== undefined && sudo !== '') return sudo;
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** The findings that would take the site offline again: a fresh check of the scope, plus dpkg-record findings the agent holds open. */
async function openFindings(cfg: ResolvedConfig): Promise<{ findings: FindingJson[]; packages: number }> {
  const scope = await resolveScope(cfg.root, cfg.scope.packages, cfg.scope.withDependencies);
  const ignore = compileIgnoreJson(cfg.ignore.paths);
  const inScope = (pkg: string): boolean => scope.ids.has(pkg);
  const out: FindingJson[] = [];
  if (scope.args.length > 0) {
    const report = await verify({ root: cfg.root, packages: scope.args, withDeps: cfg.scope.withDependencies, conffiles: true, jobs: defaultJobs() });
    for (const f of report.findings.map(findingJson)) if (qualifies(f, ignore(f.path), cfg, inScope)) out.push(f);
  }
  // A forged md5sums file is seen only against the agent's baseline: trust the agent's open ones.
  let open: readonly OpenFinding[] = [];
  try {
    open = new StateStore(cfg.stateDir).peek()?.findings ?? [];
  } catch (err) {
    warn(`${(err as Error).message}; dpkg-record (database-changed) findings the agent holds are not considered`);
  }
  for (const o of open) {
    if (o.finding.status === 'database-changed' && qualifies(o.finding, o.ignored, cfg, inScope)) out.push(o.finding);
  }
  return { findings: out, packages: scope.ids.size };
}

// Lines carry text from the agent's files (reason, paths): control characters are escaped.
function line(s: string): void {
  process.stdout.write(`${printable(s)}\n`);
}

function warn(s: string): void {
  process.stderr.write(`pkgwatch: warning: ${printable(s)}\n`);
}

/** Whether something is at `file` (a link too: it is removed, not followed). */
function present(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function outcomeLine(a: ActionOutcome): string {
  return `  ${a.ok ? 'ok    ' : 'FAILED'} ${a.action} ${a.target}: ${a.detail}`;
}

/** Exit 0: back online; 1: refused, findings are open; 2: an error, or a step of bringing it back failed. */
export async function runOnline(args: OnlineArgs): Promise<ExitCode> {
  const cfg = await loadStateConfig(args);
  let record: OfflineRecord;
  try {
    record = readOfflineRecord(cfg.stateDir);
  } catch (err) {
    // A damaged record must not keep the site down: say so and go on as if it were offline.
    warn(`${(err as Error).message}; treating the site as offline`);
    record = { ...NEVER_OFFLINE, active: true, reason: 'the offline record was unreadable' };
  }
  const flag = cfg.offline.flagFile;
  const flagThere = flag !== '' && present(flag);
  if (!record.active && !flagThere) {
    line('The site is not offline: nothing to do.');
    return EXIT.ok;
  }
  if (record.active) line(`The site is offline since ${record.since ?? '?'}: ${record.reason ?? 'no reason recorded'}`);
  else line(`The site is online by pkgwatch's record, but the maintenance flag ${flag} exists.`);

  const admindir = path.join(cfg.root, 'var/lib/dpkg');
  if (readDpkgMarker(cfg.stateDir).running || (await isDpkgLockHeld(admindir))) {
    throw new PkgwatchError('usage', 'dpkg is running: files are being changed; run `pkgwatch online` again once it has finished');
  }
  line(`Re-checking the scoped packages (${cfg.scope.packages.join(', ') || 'none configured'})...`);
  const { findings, packages } = await openFindings(cfg);
  if (findings.length > 0) {
    line(`${findings.length} ${findings.length === 1 ? 'finding is' : 'findings are'} still open in ${packages} scoped packages:`);
    for (const f of findings) line(`  ${f.status} ${f.path} (${f.package})${f.actual === null ? '' : ` actual ${f.actual}`}`);
    if (!args.force) {
      const pkgs = [...new Set(findings.map((f) => f.package))].sort();
      // The commands name the same system, configuration and state as this run, ready to paste.
      const config = args.config === undefined ? [] : ['--config', args.config];
      const root = cfg.root === '/' ? [] : ['--root', cfg.root];
      const stateDir = args.stateDir === undefined ? [] : ['--state-dir', args.stateDir];
      const check = shellCommand(['pkgwatch', 'check', ...root, ...config, ...pkgs]);
      const again = shellCommand(['pkgwatch', 'online', ...config, ...stateDir]);
      line('Refusing to bring the site back online while they are open.');
      line(`Restore the files (e.g. ${shellCommand(['apt-get', 'install', '--reinstall', ...pkgs])}), check with \`${check}\`, then run \`${again}\` again;`);
      line(`\`${shellCommand(['pkgwatch', 'online', ...config, ...stateDir, '--force'])}\` brings the site back despite them.`);
      return EXIT.findings;
    }
    warn(`--force: bringing the site back online with ${findings.length} open finding(s); this is recorded and alerted`);
  } else {
    line('No findings: the scoped packages verify.');
  }

  const by = operator();
  const now = new Date().toISOString();
  const forced = findings.length > 0;
  const reason = forced
    ? `brought back online by ${by} with --force, despite ${findings.length} open finding(s)`
    : `brought back online by ${by} after a clean check of the scoped packages`;
  const actions = await bringOnline(cfg.offline, { since: record.since ?? now, reason });
  for (const a of actions) line(outcomeLine(a));
  const event: AlertEvent = {
    kind: 'site.online',
    id: randomUUID(),
    host: alertHost(cfg),
    time: now,
    findings: forced ? findings : [],
    offline: { active: false, since: null, reason },
    actions,
  };
  const sinks = configuredSinks(cfg);
  let unqueued: string | null = null;
  if (sinks.length > 0) {
    try {
      enqueueDurable(outboxDir(cfg.stateDir), sinks, event);
      line(`Alert site.online ${event.id} queued for ${sinks.join(', ')} (the agent delivers it).`);
    } catch (err) {
      // The site is back: record it all the same, or the agent would take it offline again at start.
      unqueued = (err as Error).message;
    }
  }
  // Recorded after the alert is queued: the agent, seeing the record change, picks the alert up.
  const next: OfflineRecord = {
    version: 1,
    active: false,
    since: null,
    reason,
    findings: [],
    request: null,
    acknowledged: forced ? findings : [],
    restored: { at: now, by, forced },
    alerted: false,
  };
  try {
    writeOfflineRecord(cfg.stateDir, next);
  } catch (err) {
    throw new PkgwatchError('usage', `the site is back, but it could not be recorded in ${path.join(cfg.stateDir, OFFLINE_FILE)}: ${(err as Error).message}; fix that and run \`pkgwatch online\` again, or the agent takes the site offline again when it restarts`, { cause: err });
  }
  if (unqueued !== null) {
    process.stderr.write(`pkgwatch: the site.online alert could not be queued: ${printable(unqueued)}\n`);
  }
  const failed = actions.filter((a) => !a.ok);
  if (failed.length > 0) {
    line(`${failed.length} step(s) failed: the site may not be fully back; fix them by hand (see above).`);
    return EXIT.error;
  }
  if (unqueued !== null) {
    line('The site is back online, but the site.online alert was not queued (see above).');
    return EXIT.error;
  }
  line('The site is back online.');
  return EXIT.ok;
}
