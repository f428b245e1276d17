// Benchmark of fixed costs: Node's own start, `pkgwatch --version` and `--help`, and a check of one
// small package against `dpkg --verify` of it, interleaved in rounds so each comparison is in one run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Targets from issue 16, where `node -e 0` takes 0.1 s: --version and --help within 0.05 s of it,
 * one package in 0.25 s. On a loaded machine every process is slower by about the same factor, so
 * they are judged as ratios to Node's own start in the same run: 1.5 x and 2.5 x.
 */
const TARGET_STARTUP_RATIO = 1.5;
const TARGET_ONE_PACKAGE_RATIO = 2.5;
/** The package the issue names; else one of about this many paths. */
const PREFERRED_PACKAGE = 'nginx-common';
const PACKAGE_PATHS = 50;
const GNU_TIME = '/usr/bin/time';
const RUN_TIMEOUT_MS = 120_000;

interface Probe {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  /** Exit codes that mean "ran" (check exits 1 on findings). */
  readonly ok: readonly number[];
}

interface Run {
  readonly wallMs: number;
  readonly peakKiB: number | null;
}

export interface StartupOptions {
  readonly cli: string;
  readonly rounds: number;
  /** Package to check; absent: nginx-common when installed, else one of about 50 paths. */
  readonly pkg?: string | undefined;
}

/** nginx-common when installed, else the installed package whose .list is closest to 50 paths. */
function pickPackage(): string | null {
  const info = '/var/lib/dpkg/info';
  if (existsSync(join(info, `${PREFERRED_PACKAGE}.list`))) return PREFERRED_PACKAGE;
  let best: { name: string; off: number } | null = null;
  for (const f of readdirSync(info)) {
    if (!f.endsWith('.list') || f.includes(':')) continue;
    const lines = readFileSync(join(info, f), 'latin1').split('\n').length - 1;
    const off = Math.abs(lines - PACKAGE_PATHS);
    if (best === null || off < best.off) best = { name: f.slice(0, -'.list'.length), off };
  }
  return best?.name ?? null;
}

function once(p: Probe, scratch: string): Promise<Run> {
  const timeFile = join(scratch, 'time.out');
  const gnu = existsSync(GNU_TIME);
  const [file, argv] = gnu ? [GNU_TIME, ['-f', '%M', '-o', timeFile, p.cmd, ...p.args]] : [p.cmd, [...p.args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4000) stderr += b.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (code === null || !p.ok.includes(code)) {
        reject(new Error(`${p.name} failed (exit ${String(code)}):\n${stderr.trim()}`));
        return;
      }
      let peakKiB: number | null = null;
      if (gnu) {
        const kib = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
        peakKiB = Number.isFinite(kib) && kib > 0 ? kib : null;
      }
      resolve({ wallMs, peakKiB });
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const ms = (x: number): string => `${x.toFixed(0)} ms`;

/**
 * Runs every probe once per round, the order rotating each round, and prints medians and the
 * comparisons; returns PASS/FAIL lines.
 */
export async function runStartupBench(opts: StartupOptions): Promise<string[]> {
  const node = process.execPath;
  const pkg = opts.pkg ?? pickPackage();
  const probes: Probe[] = [
    { name: 'node -e 0', cmd: node, args: ['-e', '0'], ok: [0] },
    { name: 'pkgwatch --version', cmd: node, args: [opts.cli, '--version'], ok: [0] },
    { name: 'pkgwatch --help', cmd: node, args: [opts.cli, '--help'], ok: [0] },
  ];
  if (pkg !== null) {
    probes.push({ name: `pkgwatch check ${pkg}`, cmd: node, args: [opts.cli, 'check', '--quiet', pkg], ok: [0, 1, 3] });
    probes.push({ name: `dpkg --verify ${pkg}`, cmd: 'dpkg', args: ['--verify', pkg], ok: [0] });
  }
  console.log(`\nstart-up: ${opts.rounds} round(s), each runs ${probes.map((p) => p.name).join(', ')}; order rotating`);
  const scratch = mkdtempSync(join(tmpdir(), 'pkgwatch-bench-startup-'));
  const runs = new Map<string, Run[]>(probes.map((p) => [p.name, []]));
  try {
    for (const p of probes) await once(p, scratch); // warm-up: page cache
    for (let r = 0; r < opts.rounds; r++) {
      for (let k = 0; k < probes.length; k++) {
        const p = probes[(k + r) % probes.length] as Probe;
        runs.get(p.name)?.push(await once(p, scratch));
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const med = (name: string): number => median((runs.get(name) ?? []).map((x) => x.wallMs));
  const peak = (name: string): string => {
    const ks = (runs.get(name) ?? []).map((x) => x.peakKiB).filter((k): k is number => k !== null);
    return ks.length === 0 ? 'n/a' : `${(Math.max(...ks) / 1024).toFixed(1)} MiB`;
  };
  for (const p of probes) console.log(`  ${p.name.padEnd(36)} median wall ${ms(med(p.name)).padStart(8)}  peak RSS ${peak(p.name).padStart(9)}`);
  const base = med('node -e 0');
  const results: string[] = [];
  for (const name of ['pkgwatch --version', 'pkgwatch --help']) {
    const ratio = med(name) / base;
    results.push(`${ratio <= TARGET_STARTUP_RATIO ? 'PASS' : 'FAIL'} ${name}: ${ms(med(name))}, ${ms(med(name) - base)} over node -e 0's ${ms(base)}: ${ratio.toFixed(2)} x (target <= ${TARGET_STARTUP_RATIO} x)`);
  }
  if (pkg === null) {
    results.push('SKIP one-package check: no installed package found in /var/lib/dpkg/info');
  } else {
    const check = med(`pkgwatch check ${pkg}`);
    const dpkg = med(`dpkg --verify ${pkg}`);
    const ratio = check / base;
    results.push(
      `${ratio <= TARGET_ONE_PACKAGE_RATIO ? 'PASS' : 'FAIL'} one-package check: pkgwatch check ${pkg} ${ms(check)}, node -e 0 ${ms(base)}: ${ratio.toFixed(2)} x Node's start (target <= ${TARGET_ONE_PACKAGE_RATIO} x, 0.25 s where Node starts in 0.1 s); dpkg --verify ${pkg} ${ms(dpkg)}`,
    );
  }
  return results;
}
