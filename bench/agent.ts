// Benchmark of `pkgwatch agent` on fixture systems in temp dirs: the watcher's own latency, real-time detection latency (write to alert line) and idle RSS.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FixtureRoot, type FixtureFile } from '../test/helpers/fixture.js';
import { prng } from '../test/helpers/prng.js';
import { watcherLatency } from './watcher.js';

/** Targets: an alert within a second of the change (p95), and under 60 MB 1.5 s and 15 s after READY (issue 16). */
const TARGET_P95_MS = 1000;
const TARGET_IDLE_RSS_BYTES = 60_000_000;
/** When memory is judged, after `agent.ready`: soon after start-up, and once idle. */
const EARLY_AFTER_READY_MS = 1500;
const IDLE_AFTER_READY_MS = 15_000;

/** The latency fixture: one scoped package `app` of this many files in this many directories. */
const LATENCY_FILES = 200;
const LATENCY_DIRS = 20;
/** The idle-memory fixture: a bigger scoped package, so the watch and scope state are not trivial. */
const RSS_FILES = 2000;
const RSS_DIRS = 100;

/** A change whose alert has not arrived in this long is a miss (and a FAIL), not a slow sample. */
const CHANGE_TIMEOUT_MS = 10_000;
/** Spawn to `agent.ready` and the first scoped run; a fixture this small takes well under a second. */
const START_TIMEOUT_MS = 60_000;
/** SIGTERM must stop the agent within seconds (STYLE 10); after this it is SIGKILLed and reported. */
const STOP_TIMEOUT_MS = 10_000;
/** Node flags of the unit's ExecStart (systemd/pkgwatch.service): the bench runs the agent as production does. */
const NODE_FLAGS = ['--max-semi-space-size=1'];
const SAMPLE_SPAN_MS = 3000;
const SAMPLE_EVERY_MS = 500;
/** One more reading this long after `agent.ready`, reported but not judged: is the memory still falling? */
const SETTLED_MS = 20_000;
/** Slowest changes shown with their breakdown. */
const SHOW_SLOWEST = 3;

/** The repository root, from build/bench/ or bench/. */
const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/build/') ? '../../' : '../', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

class BenchError extends Error {}

/** What the agent bench does. */
export interface AgentBenchOptions {
  /** Files changed (and restored) in the latency part, 1 to LATENCY_FILES. */
  readonly changes: number;
}

/** One line of the agent's stdout: when it arrived here, and the parsed JSON (null when it is not JSON). */
interface LogLine {
  readonly at: number;
  readonly text: string;
  readonly json: Record<string, unknown> | null;
}

interface Waiter {
  readonly pred: (l: LogLine) => boolean;
  readonly resolve: (l: LogLine | null) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

// ---- cleanup on every path ------------------------------------------------------------------

/** Synchronous teardowns of what is live now (agents, temp dirs), run on SIGINT/SIGTERM and at exit. */
const emergencies = new Set<() => void>();

function runEmergencies(): void {
  for (const e of [...emergencies]) {
    emergencies.delete(e);
    try {
      e();
    } catch {
      // best effort: the other teardowns still run
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runEmergencies();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // Die of the same signal, as the default action would have.
  process.kill(process.pid, sig);
}

// ---- the agent as a child process -----------------------------------------------------------

/** A running `pkgwatch agent --log-format json`, its stdout parsed line by line as it arrives. */
class AgentProcess {
  readonly lines: LogLine[] = [];
  readonly spawnedAt: number;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly waiters = new Set<Waiter>();
  private partial = '';
  private stderr = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;

  constructor(configFile: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
    // Under systemd these would add `<N>` prefixes and sd_notify traffic to a bench run.
    for (const k of ['JOURNAL_STREAM', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[k];
    this.spawnedAt = performance.now();
    this.child = spawn(process.execPath, [...NODE_FLAGS, CLI, 'agent', '--config', configFile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk, performance.now()));
    this.child.stderr.on('data', (chunk: string) => {
      if (this.stderr.length < 8000) this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.exit ??= { code: null, signal: null };
        this.stderr += `\ncannot run ${process.execPath}: ${err.message}`;
        this.failWaiters();
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.failWaiters();
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new BenchError(`the agent did not start:${this.tail()}`);
    return this.child.pid;
  }

  /**
   * The first line from index `from` on that matches, as soon as it arrives; null after `timeoutMs`.
   * Rejects when the agent exits first.
   */
  waitFor(pred: (l: LogLine) => boolean, from: number, timeoutMs: number): Promise<LogLine | null> {
    const seen = this.lines.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exit !== null) return Promise.reject(this.died());
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          resolve(null);
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves with how long it took and how it ended. */
  async stop(): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null; killed: boolean; wasRunning: boolean }> {
    const t0 = performance.now();
    let killed = false;
    const wasRunning = this.exit === null;
    if (wasRunning) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        this.child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    return { ms: performance.now() - t0, code: this.exit?.code ?? null, signal: this.exit?.signal ?? null, killed, wasRunning };
  }

  /** For signal handlers and exit: no waiting. */
  killNow(): void {
    if (this.exit === null) this.child.kill('SIGKILL');
  }

  /** Lines of a kind (`warning`, `watch.degraded`, ...). */
  ofKind(kind: string): LogLine[] {
    return this.lines.filter((l) => l.json?.['kind'] === kind);
  }

  private onData(chunk: string, at: number): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const text of parts) {
      if (text === '') continue;
      let json: Record<string, unknown> | null = null;
      try {
        const v: unknown = JSON.parse(text);
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>;
      } catch {
        // not JSON: kept as text for the error messages
      }
      const line: LogLine = { at, text, json };
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (!w.pred(line)) continue;
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(line);
      }
    }
  }

  private failWaiters(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(this.died());
    }
    this.waiters.clear();
  }

  private died(): BenchError {
    return new BenchError(`the agent exited (code ${String(this.exit?.code)}, signal ${String(this.exit?.signal)}):${this.tail()}`);
  }

  private tail(): string {
    const out = this.lines.slice(-10).map((l) => l.text).join('\n');
    return `\n--- last stdout lines ---\n${out}\n--- stderr ---\n${this.stderr.trim()}`;
  }
}

// ---- fixtures and start-up ------------------------------------------------------------------

/** `count` files spread over `dirs` directories of `/usr/share/app`, 0.5 to 8 KiB each, deterministic. */
function appFiles(count: number, dirs: number): FixtureFile[] {
  const out: FixtureFile[] = [];
  for (let i = 0; i < count; i++) {
    const dir = `d${String(i % dirs).padStart(3, '0')}`;
    const size = 512 + ((i * 7919) % 7681);
    out.push({ path: `/usr/share/app/${dir}/f${String(i).padStart(4, '0')}.dat`, content: Buffer.alloc(size, `app file ${i}\n`) });
  }
  return out;
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const rnd = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The config: only the watcher can find changes (schedules on 1 January, no splay), no dependencies. */
function writeConfig(scratch: string, root: string): string {
  const stateDir = join(scratch, 'state');
  mkdirSync(stateDir);
  // Its own directory: loadConfig also reads conf.d/*.toml beside the main file.
  mkdirSync(join(scratch, 'etc'));
  const file = join(scratch, 'etc', 'pkgwatch.toml');
  writeFileSync(
    file,
    [
      `root = ${JSON.stringify(root)}`,
      `state_dir = ${JSON.stringify(stateDir)}`,
      '',
      '[scope]',
      'packages = ["app"]',
      'with_dependencies = false',
      '',
      '[schedule]',
      'scoped = "0 0 1 1 *"',
      'full = "0 0 1 1 *"',
      'splay = "0"',
      '',
      '[watch]',
      'enabled = true',
      '',
    ].join('\n'),
  );
  return file;
}

const kindOf = (l: LogLine): unknown => l.json?.['kind'];

/** What start-up looked like, for the log. */
interface StartInfo {
  readonly readyMs: number;
  /** performance.now() of the `agent.ready` line. */
  readonly readyAt: number;
  /** VmRSS and VmHWM EARLY_AFTER_READY_MS after `agent.ready` (null: the agent was gone). */
  readonly early: Promise<{ rss: number; hwm: number } | null>;
  readonly firstRunMs: number;
  readonly watchDirs: number;
  readonly watchPaths: number;
}

/** Waits for `agent.ready` and the end of the first scoped run; throws when either fails. */
async function startUp(agent: AgentProcess, expectPaths: number): Promise<StartInfo> {
  const ready = await agent.waitFor((l) => kindOf(l) === 'agent.ready', 0, START_TIMEOUT_MS);
  if (ready === null) throw new BenchError(`no agent.ready within ${START_TIMEOUT_MS / 1000} s`);
  const pid = agent.pid;
  const early = sleep(Math.max(0, ready.at + EARLY_AFTER_READY_MS - performance.now())).then(() => readMemory(pid));
  const first = await agent.waitFor((l) => (kindOf(l) === 'run.finished' || kindOf(l) === 'run.failed') && l.json?.['schedule'] === 'scoped', 0, START_TIMEOUT_MS);
  if (first === null) throw new BenchError(`the first scoped run did not finish within ${START_TIMEOUT_MS / 1000} s`);
  if (kindOf(first) === 'run.failed') throw new BenchError(`the first scoped run failed: ${first.text}`);
  if (first.json?.['findings'] !== 0) throw new BenchError(`the first scoped run of a clean fixture found something: ${first.text}`);
  const watch = agent.ofKind('watch.started')[0]?.json;
  if (watch === undefined || watch === null) throw new BenchError('the agent logged no watch.started: the real-time watch is off');
  const info: StartInfo = {
    readyMs: ready.at - agent.spawnedAt,
    readyAt: ready.at,
    early,
    firstRunMs: first.at - agent.spawnedAt,
    watchDirs: Number(watch['dirs']),
    watchPaths: Number(watch['paths']),
  };
  console.log(`  agent ready ${ms(info.readyMs)} after spawn, first scoped run done at ${ms(info.firstRunMs)}; watching ${info.watchPaths} paths in ${info.watchDirs} directories`);
  // Files plus their directories (dpkg lists both); fewer means the scope lost paths.
  if (info.watchPaths < expectPaths) console.log(`  warning: the watch covers ${info.watchPaths} paths, expected at least ${expectPaths}`);
  return info;
}

/** Builds a fixture with package `app`, starts an agent on it, runs `body`, and tears everything down on every path. */
async function withAgent<T>(files: readonly FixtureFile[], body: (agent: AgentProcess, fx: FixtureRoot, info: StartInfo) => Promise<T>): Promise<T> {
  const fx = new FixtureRoot();
  const scratch = mkdtempSync(join(tmpdir(), 'pkgwatch-bench-agent-'));
  let agent: AgentProcess | null = null;
  const emergency = (): void => {
    agent?.killNow();
    fx.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  };
  emergencies.add(emergency);
  try {
    fx.addPackage({ name: 'app', files });
    agent = new AgentProcess(writeConfig(scratch, fx.root));
    const info = await startUp(agent, files.length);
    return await body(agent, fx, info);
  } finally {
    try {
      if (agent !== null) {
        const s = await agent.stop();
        const how = !s.wasRunning ? 'had exited before it was stopped' : s.killed ? `did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM: SIGKILLed` : `stopped ${ms(s.ms)} after SIGTERM`;
        const bad = s.wasRunning && (s.killed || s.code !== 0) ? ' (warning: expected exit 0 within seconds)' : '';
        console.log(`  agent ${how}, exit ${String(s.code)}${s.signal === null ? '' : ` signal ${s.signal}`}${bad}`);
        const warnings = agent.ofKind('warning').concat(agent.ofKind('watch.degraded'), agent.ofKind('run.failed'));
        for (const w of warnings.slice(0, 5)) console.log(`  agent said: ${w.text}`);
        if (warnings.length > 5) console.log(`  ... and ${warnings.length - 5} more warnings`);
      }
    } finally {
      emergencies.delete(emergency);
      fx.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}

// ---- the two measurements -------------------------------------------------------------------

const ms = (x: number): string => `${Math.round(x)} ms`;

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** An alert line of `kind` whose findings name `sysPath`. */
function alertFor(kind: 'findings.opened' | 'findings.resolved', sysPath: string): (l: LogLine) => boolean {
  return (l) => {
    if (kindOf(l) !== 'alert') return false;
    const ev = l.json?.['event'] as { kind?: unknown; findings?: { path?: unknown }[] } | undefined;
    return ev?.kind === kind && Array.isArray(ev.findings) && ev.findings.some((f) => f.path === sysPath);
  };
}

interface Change {
  readonly path: string;
  /** Write to alert line, or null for a miss. */
  readonly latencyMs: number | null;
  /** The real-time run's own durationMs (verify and alert), from its run.finished line. */
  readonly runMs: number | null;
  readonly resolved: boolean;
}

async function latency(changes: number): Promise<string> {
  console.log(`\nagent detection latency (load average ${loadAverage()}): package app, ${LATENCY_FILES} files in ${LATENCY_DIRS} directories; ${changes} changes, each written in place, alerted, restored, resolved`);
  const files = appFiles(LATENCY_FILES, LATENCY_DIRS);
  return withAgent(files, async (agent, fx) => {
    const picks = shuffled(files, 20240131).slice(0, changes);
    const results: Change[] = [];
    const loopStart = agent.lines.length;
    const memBefore = readMemory(agent.pid);
    for (const [i, f] of picks.entries()) {
      const sysPath = String(f.path);
      const host = fx.path(sysPath);
      const original = readFileSync(host);
      // Same size, different bytes: the hash has to catch it, the size cannot.
      const tampered = Buffer.from(original);
      tampered.write(`TAMPERED ${i} `, 0, 'latin1');
      let from = agent.lines.length;
      const t0 = performance.now();
      writeFileSync(host, tampered);
      const opened = await agent.waitFor(alertFor('findings.opened', sysPath), from, CHANGE_TIMEOUT_MS);
      const changedAt = from;
      from = agent.lines.length;
      writeFileSync(host, original);
      const resolved = await agent.waitFor(alertFor('findings.resolved', sysPath), from, CHANGE_TIMEOUT_MS);
      // A real-time run logs run.finished only when it found something: the first one is the opening run.
      const runLine = opened === null ? undefined : agent.lines.slice(changedAt).find((l) => kindOf(l) === 'run.finished' && l.json?.['schedule'] === 'realtime');
      const runMs = runLine?.json?.['durationMs'];
      results.push({ path: sysPath, latencyMs: opened === null ? null : opened.at - t0, runMs: typeof runMs === 'number' ? runMs : null, resolved: resolved !== null });
      if ((i + 1) % 10 === 0 || i + 1 === picks.length) {
        const recent = results.slice(-10).map((r) => (r.latencyMs === null ? 'miss' : String(Math.round(r.latencyMs))));
        console.log(`  ${String(i + 1).padStart(3)}/${picks.length}: ${recent.join(' ')} (ms)`);
      }
    }

    const hits = results.filter((r): r is Change & { latencyMs: number } => r.latencyMs !== null);
    const misses = results.length - hits.length;
    const unresolved = results.filter((r) => r.latencyMs !== null && !r.resolved).length;
    const sorted = hits.map((r) => r.latencyMs).sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p95 = percentile(sorted, 95);
    const max = sorted[sorted.length - 1] ?? Number.NaN;
    // Every alert should be one of the 2 per change; anything else is noise or a double alert.
    const alerts = agent.lines.slice(loopStart).filter((l) => kindOf(l) === 'alert').length;
    const expected = hits.length + results.filter((r) => r.resolved).length;
    console.log(`  latency over ${hits.length} alerts: p50 ${ms(p50)}, p95 ${ms(p95)}, max ${ms(max)}, min ${ms(sorted[0] ?? Number.NaN)}`);
    if (misses > 0) console.log(`  ${misses} change(s) got no alert within ${CHANGE_TIMEOUT_MS / 1000} s`);
    if (unresolved > 0) console.log(`  ${unresolved} restore(s) got no findings.resolved within ${CHANGE_TIMEOUT_MS / 1000} s`);
    if (alerts !== expected) console.log(`  note: ${alerts} alert lines, expected ${expected} (one opened and one resolved per change)`);
    const slowest = [...hits].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, SHOW_SLOWEST);
    for (const r of slowest) {
      const split = r.runMs === null ? '' : `: real-time run ${ms(r.runMs)}, before it (watch + debounce + queue) ~${ms(r.latencyMs - r.runMs)}`;
      console.log(`  slow: ${r.path} ${ms(r.latencyMs)}${split}`);
    }
    const memAfter = readMemory(agent.pid);
    if (memBefore !== null && memAfter !== null) console.log(`  agent VmRSS before the changes ${mib(memBefore.rss)}, after ${mib(memAfter.rss)}; VmHWM ${mib(memAfter.hwm)}`);
    const runs = hits.map((r) => r.runMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
    if (runs.length > 0) console.log(`  real-time run durationMs (agent's own figure): p50 ${ms(percentile(runs, 50))}, max ${ms(runs[runs.length - 1] ?? Number.NaN)}`);
    const ok = misses === 0 && hits.length > 0 && p95 < TARGET_P95_MS;
    const missText = misses === 0 ? '' : `, ${misses} missed`;
    return `${ok ? 'PASS' : 'FAIL'} detection latency: p50 ${ms(p50)}, p95 ${ms(p95)}, max ${ms(max)} over ${results.length} changes${missText} (target p95 < ${TARGET_P95_MS} ms, no misses)`;
  });
}

/** VmRSS and VmHWM of a live process, in bytes; null once it is gone. */
function readMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kib = (field: string): number | null => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
      return m?.[1] === undefined ? null : Number(m[1]) * 1024;
    };
    const rss = kib('VmRSS');
    const hwm = kib('VmHWM');
    return rss === null || hwm === null ? null : { rss, hwm };
  } catch {
    return null;
  }
}

/** The 1-minute load average: other work on a shared machine delays alerts. */
function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'latin1').split(' ')[0] ?? '?';
  } catch {
    return '?';
  }
}

const sleep = (t: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, t));
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const bytesText = (b: number): string => b.toLocaleString('en-US');

async function idleMemory(): Promise<string> {
  console.log(
    `\nagent memory (load average ${loadAverage()}): package app, ${RSS_FILES} files in ${RSS_DIRS} directories; VmRSS ${EARLY_AFTER_READY_MS / 1000} s after agent.ready, then every ${SAMPLE_EVERY_MS} ms for ${SAMPLE_SPAN_MS / 1000} s from ${IDLE_AFTER_READY_MS / 1000} s after it`,
  );
  return withAgent(appFiles(RSS_FILES, RSS_DIRS), async (agent, _fx, info) => {
    const pid = agent.pid;
    const early = await info.early;
    if (early === null) throw new BenchError(`/proc/${pid}/status cannot be read: the agent is gone`);
    console.log(`  VmRSS ${EARLY_AFTER_READY_MS / 1000} s after agent.ready: ${bytesText(early.rss)} bytes (${mib(early.rss)})`);
    await sleep(Math.max(0, info.readyAt + IDLE_AFTER_READY_MS - performance.now()));
    const samples: { rss: number; hwm: number }[] = [];
    for (let t = 0; t <= SAMPLE_SPAN_MS; t += SAMPLE_EVERY_MS) {
      if (t > 0) await sleep(SAMPLE_EVERY_MS);
      const m = readMemory(pid);
      if (m === null) throw new BenchError(`/proc/${pid}/status cannot be read: the agent is gone`);
      samples.push(m);
    }
    const rss = Math.max(...samples.map((s) => s.rss));
    const hwm = Math.max(...samples.map((s) => s.hwm));
    console.log(`  VmRSS samples from ${IDLE_AFTER_READY_MS / 1000} s after agent.ready: ${samples.map((s) => mib(s.rss)).join(', ')}`);
    console.log(`  VmRSS max ${bytesText(rss)} bytes (${mib(rss)}); VmHWM (peak since start, incl. the first scoped run) ${bytesText(hwm)} bytes (${mib(hwm)})`);
    await sleep(Math.max(0, info.readyAt + SETTLED_MS - performance.now()));
    const settled = readMemory(pid);
    if (settled === null) throw new BenchError(`/proc/${pid}/status cannot be read: the agent is gone`);
    console.log(`  VmRSS ${SETTLED_MS / 1000} s after agent.ready (not judged): ${bytesText(settled.rss)} bytes (${mib(settled.rss)})`);
    const target = `target < ${bytesText(TARGET_IDLE_RSS_BYTES)} bytes = ${mib(TARGET_IDLE_RSS_BYTES)}`;
    return [
      `${early.rss < TARGET_IDLE_RSS_BYTES ? 'PASS' : 'FAIL'} agent RSS ${EARLY_AFTER_READY_MS / 1000} s after ready: ${mib(early.rss)} (${target})`,
      `${rss < TARGET_IDLE_RSS_BYTES ? 'PASS' : 'FAIL'} agent RSS ${IDLE_AFTER_READY_MS / 1000} s after ready: ${mib(rss)}, peak ${mib(hwm)} (${target})`,
    ].join('\n  ');
  });
}

/**
 * Runs the watcher and agent measurements and prints them with PASS/FAIL lines; returns those lines.
 * A missed target is reported, not thrown; an agent that cannot start or dies is a thrown error.
 */
export async function runAgentBench(opts: AgentBenchOptions): Promise<string[]> {
  if (!existsSync(CLI)) throw new BenchError(`${CLI} is missing: run npm run build first`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', runEmergencies);
  try {
    const results = [await watcherLatency(), await latency(opts.changes), await idleMemory()];
    console.log('\nagent results (a missed target is reported, not an error):');
    for (const r of results) console.log(`  ${r}`);
    return results;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', runEmergencies);
    runEmergencies();
  }
}

const USAGE = `usage: node build/bench/agent.js [--changes N]
  --changes N  files changed and restored in the latency part, 1 to ${LATENCY_FILES} (default 50)`;

function parseArgs(argv: readonly string[]): AgentBenchOptions | null {
  let changes = 50;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (name === '--changes') {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 1 || n > LATENCY_FILES) throw new BenchError(`--changes needs a whole number from 1 to ${LATENCY_FILES}, got '${v ?? ''}'\n${USAGE}`);
      changes = n;
    } else if (a === '--help' || a === '-h') return null;
    else throw new BenchError(`unknown argument '${a}'\n${USAGE}`);
  }
  return { changes };
}

/** Error text for the top level: a BenchError's message, anything else with its stack. */
export function benchErrorText(err: unknown): string {
  return err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(argv1)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  (async (): Promise<void> => {
    const opts = parseArgs(process.argv.slice(2));
    if (opts === null) {
      console.log(USAGE);
      return;
    }
    console.log(`pkgwatch agent bench: node ${process.version}, ${CLI}`);
    await runAgentBench(opts);
  })().catch((err: unknown) => {
    process.stderr.write(`bench: ${benchErrorText(err)}\n`);
    process.exitCode = 1;
  });
}
