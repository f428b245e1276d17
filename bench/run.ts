// Benchmark: `pkgwatch check --format dpkg` against `dpkg --verify` on this machine's own system, warm and (with --cold) cold page cache.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchErrorText, runAgentBench } from './agent.js';
import { runStartupBench } from './startup.js';

/** Targets from the project brief: half of dpkg's warm time, under 200 MiB, and never slower cold. */
const TARGET_WARM_RATIO = 0.5;
const TARGET_PEAK_MIB = 200;
const TARGET_COLD_RATIO = 1;

const GNU_TIME = '/usr/bin/time';
const DROP_CACHES = '/proc/sys/vm/drop_caches';
/** A hang is an error, not a slow run: dpkg --verify takes ~30 s cold on the reference machine. */
const RUN_TIMEOUT_MS = 600_000;
/** How often /proc/PID/status is read when GNU time is not installed. */
const POLL_MS = 50;
/** Above this 1-minute load per core before the runs, wall times are flagged as unreliable. */
const BUSY_LOAD_PER_CORE = 0.25;

/** The repository root, from build/bench/ or bench/. */
const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/build/') ? '../../' : '../', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

type Tool = 'dpkg --verify' | 'pkgwatch';
const TOOLS: readonly Tool[] = ['dpkg --verify', 'pkgwatch'];

interface Options {
  readonly rounds: number;
  readonly cold: boolean;
  readonly coldRounds: number;
  /** Also run the agent bench (bench/agent.ts) after the comparison. */
  readonly agent: boolean;
  /** Rounds of the start-up bench (bench/startup.ts); 0 = skip it. */
  readonly startupRounds: number;
  /** The package the start-up bench checks (default: nginx-common, else one of ~50 paths). */
  readonly pkg: string | undefined;
  /** Only the start-up bench. */
  readonly startupOnly: boolean;
}

interface Sample {
  readonly tool: Tool;
  readonly wallMs: number;
  /** Peak resident set size of the process (worker threads included), or null when unknown. */
  readonly peakKiB: number | null;
  /** User + system CPU time, or null when unknown (no GNU time). */
  readonly cpuMs: number | null;
  /** Output lines (failures found), to show the two did the same work. */
  readonly lines: number;
  /** 1-minute load average just before the run: other work on a shared machine skews wall times. */
  readonly loadBefore: number;
}

/** How peak memory is measured: GNU time's %M (ru_maxrss at exit), or polling VmHWM. */
type MemoryProbe = 'gnu-time' | 'vmhwm-poll';

class BenchError extends Error {}

const USAGE = `usage: node build/bench/run.js [--rounds N] [--cold] [--cold-rounds N] [--no-agent]
  --rounds N       timed warm rounds, each runs both tools once, order alternating (default 5)
  --cold           also time runs after dropping the page cache (root only, ~45 s per round)
  --cold-rounds N  cold rounds (default 3)
  --no-agent       skip the agent bench (detection latency, idle RSS; ~35 s) that runs after the comparison
  --startup-rounds N  rounds of the start-up bench: node -e 0, --version, --help, check of one package (default 10; 0 skips it)
  --package NAME   the package the start-up bench checks (default nginx-common, else one of about 50 paths)
  --startup-only   only the start-up bench`;

function parseArgs(argv: readonly string[]): Options | null {
  let rounds = 5;
  let cold = false;
  let coldRounds = 3;
  let agent = true;
  let startupRounds = 10;
  let pkg: string | undefined;
  let startupOnly = false;
  const count = (name: string, v: string | undefined): number => {
    const n = Number(v);
    const min = name === '--startup-rounds' ? 0 : 1;
    if (v === undefined || !Number.isInteger(n) || n < min || n > 100) throw new BenchError(`${name} needs a whole number from ${min} to 100, got '${v ?? ''}'\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (name === '--rounds') rounds = count(name, inline ?? argv[++i]);
    else if (name === '--cold-rounds') coldRounds = count(name, inline ?? argv[++i]);
    else if (a === '--cold') cold = true;
    else if (a === '--no-agent') agent = false;
    else if (name === '--startup-rounds') startupRounds = count(name, inline ?? argv[++i]);
    else if (name === '--package') pkg = inline ?? argv[++i];
    else if (a === '--startup-only') startupOnly = true;
    else if (a === '--help' || a === '-h') return null;
    else throw new BenchError(`unknown argument '${a}'\n${USAGE}`);
  }
  if (startupOnly && startupRounds === 0) throw new BenchError(`--startup-only with --startup-rounds 0 leaves nothing to run\n${USAGE}`);
  return { rounds, cold, coldRounds, agent, startupRounds, pkg, startupOnly };
}

function commandOf(tool: Tool): { cmd: string; args: string[] } {
  return tool === 'pkgwatch'
    ? { cmd: process.execPath, args: [CLI, 'check', '--format', 'dpkg'] }
    : { cmd: 'dpkg', args: ['--verify'] };
}

/** Peak RSS so far of a live process, from the kernel's high-water mark; null once it is gone. */
function readVmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m?.[1] === undefined ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** Runs one tool once, timing it from spawn to exit. Exit codes other than "ran and found things" are errors. */
function measure(tool: Tool, probe: MemoryProbe, scratch: string): Promise<Sample> {
  const { cmd, args } = commandOf(tool);
  const timeFile = join(scratch, 'time.out');
  const [file, argv] = probe === 'gnu-time' ? [GNU_TIME, ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const loadBefore = loadAverage();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let lines = 0;
    let stderr = '';
    let polled: number | null = null;
    child.stdout.on('data', (b: Buffer) => {
      for (const byte of b) if (byte === 0x0a) lines++;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4000) stderr += b.toString('utf8');
    });
    const poll = probe === 'vmhwm-poll' && child.pid !== undefined
      ? setInterval(() => {
          const v = readVmHwm(child.pid as number);
          if (v !== null) polled = Math.max(polled ?? 0, v);
        }, POLL_MS)
      : null;
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      if (poll !== null) clearInterval(poll);
      reject(new BenchError(`cannot run ${file}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (poll !== null) clearInterval(poll);
      // dpkg --verify exits 0 even when files fail; pkgwatch exits 1 for findings and 3 for unreadable files.
      const fine = tool === 'pkgwatch' ? code === 0 || code === 1 || code === 3 : code === 0;
      if (!fine) {
        reject(new BenchError(`${tool} failed (exit ${String(code)}, signal ${String(signal)}):\n${stderr.trim()}`));
        return;
      }
      let peakKiB: number | null = polled;
      let cpuMs: number | null = null;
      if (probe === 'gnu-time') {
        // GNU time writes "Command exited with non-zero status N" before the format line.
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [, kib, user, system] = last.split(' ').map(Number);
        peakKiB = kib !== undefined && Number.isFinite(kib) && kib > 0 ? kib : null;
        cpuMs = user !== undefined && system !== undefined && Number.isFinite(user + system) ? (user + system) * 1000 : null;
      }
      resolve({ tool, wallMs, peakKiB, cpuMs, lines, loadBefore });
    });
  });
}

/** Empties the page cache so the next run reads from disk; false when the kernel will not let us. */
function dropCaches(): boolean {
  spawnSync('sync', { stdio: 'ignore' });
  try {
    writeFileSync(DROP_CACHES, '3\n');
    return true;
  } catch {
    return false;
  }
}

/** Why cold runs are impossible here, or null when they are possible. */
function coldUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    accessSync(DROP_CACHES, constants.W_OK);
  } catch (err) {
    return `${DROP_CACHES} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return dropCaches() ? null : `writing ${DROP_CACHES} failed (a container without CAP_SYS_ADMIN?)`;
}

function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);

function show(round: string, s: Sample): void {
  const cpu = s.cpuMs === null ? 'n/a' : sec(s.cpuMs);
  console.log(`  ${round.padEnd(8)} ${s.tool.padEnd(14)} wall ${sec(s.wallMs).padStart(8)}  cpu ${cpu.padStart(8)}  peak ${mib(s.peakKiB).padStart(10)}  ${String(s.lines).padStart(5)} lines  load ${s.loadBefore.toFixed(2)}`);
}

/** Runs `rounds` rounds of both tools, swapping who goes first each round, optionally cold. */
async function phase(name: string, rounds: number, cold: boolean, probe: MemoryProbe, scratch: string): Promise<Sample[]> {
  console.log(`\n${name}: ${rounds} round(s), both tools per round, order alternating${cold ? ', page cache dropped before every run' : ''}`);
  const samples: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? TOOLS : [...TOOLS].reverse();
    for (const tool of order) {
      if (cold && !dropCaches()) throw new BenchError(`dropping the page cache failed in round ${r + 1}`);
      const s = await measure(tool, probe, scratch);
      samples.push(s);
      show(`#${r + 1}`, s);
    }
  }
  return samples;
}

interface Summary {
  readonly dpkgMs: number;
  readonly pkgwatchMs: number;
  readonly ratio: number;
  readonly pkgwatchPeakKiB: number | null;
  readonly dpkgPeakKiB: number | null;
}

function summarise(name: string, samples: readonly Sample[]): Summary {
  const of = (t: Tool): Sample[] => samples.filter((s) => s.tool === t);
  const peak = (t: Tool): number | null => {
    const ks = of(t).map((s) => s.peakKiB).filter((k): k is number => k !== null);
    return ks.length === 0 ? null : Math.max(...ks);
  };
  const dpkgMs = median(of('dpkg --verify').map((s) => s.wallMs));
  const pkgwatchMs = median(of('pkgwatch').map((s) => s.wallMs));
  const cpu = (t: Tool): string => {
    const xs = of(t).map((s) => s.cpuMs).filter((x): x is number => x !== null);
    return xs.length === 0 ? 'n/a' : sec(median(xs));
  };
  const sum: Summary = { dpkgMs, pkgwatchMs, ratio: pkgwatchMs / dpkgMs, pkgwatchPeakKiB: peak('pkgwatch'), dpkgPeakKiB: peak('dpkg --verify') };
  console.log(`\n${name} medians: wall dpkg --verify ${sec(dpkgMs)}, pkgwatch ${sec(pkgwatchMs)}; ratio pkgwatch/dpkg ${sum.ratio.toFixed(3)}`);
  console.log(`${name} medians: cpu dpkg --verify ${cpu('dpkg --verify')}, pkgwatch ${cpu('pkgwatch')} (user + system)`);
  console.log(`${name} peak RSS: dpkg --verify ${mib(sum.dpkgPeakKiB)}, pkgwatch ${mib(sum.pkgwatchPeakKiB)}`);
  const load = median(samples.map((s) => s.loadBefore));
  if (load > BUSY_LOAD_PER_CORE * availableParallelism()) {
    console.log(`warning: median load average ${load.toFixed(2)} on ${availableParallelism()} cores before the runs: the machine was busy, wall times are unreliable (pkgwatch, which uses every core, suffers most)`);
  }
  const counts = new Set(samples.map((s) => `${s.tool}:${s.lines}`));
  if (counts.size !== 2) console.log(`note: line counts varied between runs or tools (${[...counts].join(', ')}): files changed while benchmarking?`);
  return sum;
}

function verdict(ok: boolean, what: string): string {
  return `${ok ? 'PASS' : 'FAIL'} ${what}`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts === null) {
    console.log(USAGE);
    return;
  }
  if (!existsSync(CLI)) throw new BenchError(`${CLI} is missing: run npm run build first`);
  const probe: MemoryProbe = existsSync(GNU_TIME) ? 'gnu-time' : 'vmhwm-poll';
  const dpkgVersion = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'dpkg'], { encoding: 'utf8' }).stdout;
  console.log(`pkgwatch bench: node ${process.version}, dpkg ${dpkgVersion || '?'}, ${availableParallelism()} cores, pkgwatch --jobs default`);
  console.log(`peak memory from ${probe === 'gnu-time' ? `${GNU_TIME} %M (ru_maxrss)` : `/proc/PID/status VmHWM every ${POLL_MS} ms (${GNU_TIME} not installed; may miss the last ${POLL_MS} ms)`}`);

  const startup = opts.startupRounds === 0 ? [] : await runStartupBench({ cli: CLI, rounds: opts.startupRounds, pkg: opts.pkg });
  if (opts.startupOnly) {
    console.log('\nresults (a missed target is reported, not an error):');
    for (const r of startup) console.log(`  ${r}`);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'pkgwatch-bench-'));
  try {
    console.log('\nwarm-up (untimed): one run of each to fill the page cache');
    for (const tool of TOOLS) show('warm-up', await measure(tool, probe, scratch));

    const warm = summarise('warm', await phase('warm', opts.rounds, false, probe, scratch));
    const results = [
      ...startup,
      verdict(warm.ratio <= TARGET_WARM_RATIO, `warm time: pkgwatch ${sec(warm.pkgwatchMs)} is ${warm.ratio.toFixed(2)} x dpkg --verify's ${sec(warm.dpkgMs)} (target <= ${TARGET_WARM_RATIO})`),
      warm.pkgwatchPeakKiB === null
        ? 'FAIL peak memory: could not be measured'
        : verdict(warm.pkgwatchPeakKiB / 1024 < TARGET_PEAK_MIB, `peak memory: pkgwatch ${mib(warm.pkgwatchPeakKiB)} (target < ${TARGET_PEAK_MIB} MiB)`),
    ];

    if (opts.cold) {
      const why = coldUnavailable();
      if (why !== null) {
        console.log(`\ncold: skipped, the page cache cannot be dropped: ${why}`);
        results.push(`SKIP cold time: ${why}`);
      } else {
        const cold = summarise('cold', await phase('cold', opts.coldRounds, true, probe, scratch));
        results.push(verdict(cold.ratio <= TARGET_COLD_RATIO, `cold time: pkgwatch ${sec(cold.pkgwatchMs)} is ${cold.ratio.toFixed(2)} x dpkg --verify's ${sec(cold.dpkgMs)} (target: not slower)`));
        if (cold.pkgwatchPeakKiB !== null) {
          results.push(verdict(cold.pkgwatchPeakKiB / 1024 < TARGET_PEAK_MIB, `cold peak memory: pkgwatch ${mib(cold.pkgwatchPeakKiB)} (target < ${TARGET_PEAK_MIB} MiB)`));
        }
      }
    }
    console.log('\nresults (a missed target is reported, not an error):');
    for (const r of results) console.log(`  ${r}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  if (opts.agent) {
    console.log('\n---- agent (node build/bench/agent.js; skip with --no-agent) ----');
    try {
      await runAgentBench({ changes: 50 });
    } catch (err) {
      throw new BenchError(`agent bench: ${benchErrorText(err)}`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
