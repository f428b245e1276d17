// Benchmark of scale: a generated system with 1x and 10x this machine's packaged paths (tiny files,
// so it is about paths, not bytes), timing `pkgwatch check --root` and its peak RSS at each size.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from build/bench/ or bench/. */
const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/build/') ? '../../' : '../', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const GNU_TIME = '/usr/bin/time';
/** Bump when the fixture's layout changes, so a cached one is not reused. */
const LAYOUT = 1;
/** Files per generated directory and directories per generated package. */
const FILES_PER_DIR = 25;
const DIRS_PER_PKG = 6;
/** Parents listed by every package (`/.`, `/usr`, `/usr/share`, `/usr/share/scale`, its own directory). */
const SHARED_LINES = 5;
const LINES_PER_PKG = SHARED_LINES + DIRS_PER_PKG * (1 + FILES_PER_DIR);
/** A hang is an error: the 10x check takes minutes on a loaded 2-core machine, not an hour. */
const RUN_TIMEOUT_MS = 3_600_000;
const POLL_MS = 50;

class BenchError extends Error {}

interface Options {
  readonly factors: readonly number[];
  readonly rounds: number;
  readonly cache: string;
}

const USAGE = `usage: node build/bench/scale.js [--factors 1,10] [--rounds N] [--cache DIR]
  --factors LIST  sizes, as multiples of this machine's packaged paths (default 1,10)
  --rounds N      timed runs per size after one untimed warm-up (default 1)
  --cache DIR     where generated systems are kept between runs (default $PKGWATCH_BENCH_CACHE or
                  <tmpdir>/pkgwatch-bench-scale; each is ~4 KiB of disk per path, 5 GiB at 10x)`;

function parseArgs(argv: readonly string[]): Options | null {
  let factors = [1, 10];
  let rounds = 1;
  let cache = process.env.PKGWATCH_BENCH_CACHE ?? join(tmpdir(), 'pkgwatch-bench-scale');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--factors') {
      factors = (argv[++i] ?? '').split(',').map(Number);
      if (factors.length === 0 || factors.some((f) => !(f > 0 && f <= 100))) throw new BenchError(`--factors needs numbers from 0 to 100, e.g. 1,10\n${USAGE}`);
    } else if (a === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new BenchError(`--rounds needs a whole number from 1 to 20\n${USAGE}`);
    } else if (a === '--cache') {
      cache = argv[++i] ?? '';
      if (cache === '') throw new BenchError(`--cache needs a directory\n${USAGE}`);
    } else if (a === '--help' || a === '-h') return null;
    else throw new BenchError(`unknown argument '${a}'\n${USAGE}`);
  }
  return { factors, rounds, cache };
}

/** Lines of this machine's .list files (its packaged paths), rounded to thousands so the cache key is stable. */
function hostPaths(): number {
  const info = '/var/lib/dpkg/info';
  let n = 0;
  for (const name of readdirSync(info)) {
    if (!name.endsWith('.list')) continue;
    for (const b of readFileSync(join(info, name))) if (b === 0x0a) n++;
  }
  return Math.max(1000, Math.round(n / 1000) * 1000);
}

interface Fixture {
  readonly root: string;
  /** Lines of all .list files (paths in the database). */
  readonly paths: number;
  /** Regular files (md5sums lines): what is hashed. */
  readonly files: number;
}

/** Builds (or reuses from the cache) a system with about `paths` packaged paths. */
function fixture(cache: string, paths: number): Fixture {
  const pkgs = Math.max(1, Math.round(paths / LINES_PER_PKG));
  const root = join(cache, `v${LAYOUT}-pkgs${pkgs}-d${DIRS_PER_PKG}-f${FILES_PER_DIR}`);
  const done = join(root, '.complete');
  const fx = { root, paths: pkgs * LINES_PER_PKG, files: pkgs * DIRS_PER_PKG * FILES_PER_DIR };
  if (existsSync(done)) {
    console.log(`  using the cached system ${root}`);
    return fx;
  }
  console.log(`  generating ${root}: ${pkgs} packages, ${fx.paths} paths, ${fx.files} files (once; cached)`);
  const started = performance.now();
  rmSync(root, { recursive: true, force: true });
  const info = join(root, 'var/lib/dpkg/info');
  mkdirSync(info, { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  const status: string[] = [];
  for (let p = 0; p < pkgs; p++) {
    const name = `scale-p${p}`;
    const pdir = `/usr/share/scale/p${p}`;
    const list = ['/.', '/usr', '/usr/share', '/usr/share/scale', pdir];
    const sums: string[] = [];
    for (let d = 0; d < DIRS_PER_PKG; d++) {
      const dir = `${pdir}/d${d}`;
      mkdirSync(join(root, dir), { recursive: true });
      list.push(dir);
      for (let f = 0; f < FILES_PER_DIR; f++) {
        const file = `${dir}/f${f}`;
        const content = `${name} ${file}\n`;
        writeFileSync(join(root, file), content);
        list.push(file);
        sums.push(`${createHash('md5').update(content).digest('hex')}  ${file.slice(1)}`);
      }
    }
    writeFileSync(join(info, `${name}.list`), `${list.join('\n')}\n`);
    writeFileSync(join(info, `${name}.md5sums`), `${sums.join('\n')}\n`);
    status.push(`Package: ${name}\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 1\nMaintainer: Bench <bench@example.org>\nArchitecture: all\nVersion: 1.0-1\nDescription: generated for the scale bench\n`);
  }
  writeFileSync(join(root, 'var/lib/dpkg/status'), `${status.join('\n')}`);
  writeFileSync(done, `${new Date().toISOString()}\n`);
  // Written back now, not during the first timed run.
  spawnSync('sync', { stdio: 'ignore' });
  console.log(`  generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return fx;
}

interface Sample {
  readonly wallMs: number;
  readonly peakKiB: number | null;
  readonly load: number;
}

function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

function readVmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m?.[1] === undefined ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** One full check of `root`; every file matches, so anything but exit 0 is an error. */
function check(root: string, scratch: string): Promise<Sample> {
  const args = [CLI, 'check', '--root', root, '--format', 'dpkg'];
  const gnu = existsSync(GNU_TIME);
  const timeFile = join(scratch, 'time.out');
  const [file, argv] = gnu ? [GNU_TIME, ['-f', '%M', '-o', timeFile, process.execPath, ...args]] : [process.execPath, args];
  const load = loadAverage();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    const keep = (b: Buffer): void => {
      if (out.length < 4000) out += b.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let polled: number | null = null;
    const poll = gnu ? null : setInterval(() => {
      const v = child.pid === undefined ? null : readVmHwm(child.pid);
      if (v !== null) polled = Math.max(polled ?? 0, v);
    }, POLL_MS);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (err) => reject(new BenchError(`cannot run ${file}: ${err.message}`)));
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (poll !== null) clearInterval(poll);
      if (code !== 0) {
        reject(new BenchError(`pkgwatch check --root ${root} failed (exit ${String(code)}, signal ${String(signal)}):\n${out.trim()}`));
        return;
      }
      let peakKiB: number | null = polled;
      if (gnu) {
        const kib = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
        peakKiB = Number.isFinite(kib) && kib > 0 ? kib : null;
      }
      resolve({ wallMs, peakKiB, load });
    });
  });
}

const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);

interface Row {
  readonly factor: number;
  readonly fx: Fixture;
  readonly wallMs: number;
  readonly peakKiB: number | null;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts === null) {
    console.log(USAGE);
    return;
  }
  if (!existsSync(CLI)) throw new BenchError(`${CLI} is missing: run npm run build first`);
  const base = hostPaths();
  console.log(`pkgwatch scale bench: node ${process.version}, ${availableParallelism()} cores; this machine has about ${base} packaged paths`);
  console.log(`each size: ${DIRS_PER_PKG} directories of ${FILES_PER_DIR} files (tens of bytes each) per package; peak RSS from ${existsSync(GNU_TIME) ? `${GNU_TIME} %M` : 'VmHWM polling'}`);
  mkdirSync(opts.cache, { recursive: true });
  const scratch = join(opts.cache, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const rows: Row[] = [];
  for (const factor of opts.factors) {
    console.log(`\n${factor}x:`);
    const fx = fixture(opts.cache, base * factor);
    const warm = await check(fx.root, scratch); // warm-up: page cache and the loader's first touch
    console.log(`  warm-up (untimed) wall ${(warm.wallMs / 1000).toFixed(2)} s  peak ${mib(warm.peakKiB)}  load ${warm.load.toFixed(2)}`);
    const samples: Sample[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const s = await check(fx.root, scratch);
      samples.push(s);
      console.log(`  #${r + 1} wall ${(s.wallMs / 1000).toFixed(2)} s  peak ${mib(s.peakKiB)}  load ${s.load.toFixed(2)}`);
    }
    const walls = samples.map((s) => s.wallMs).sort((a, b) => a - b);
    const wallMs = walls[Math.floor(walls.length / 2)] ?? Number.NaN;
    const peaks = samples.map((s) => s.peakKiB).filter((k): k is number => k !== null);
    rows.push({ factor, fx, wallMs, peakKiB: peaks.length === 0 ? null : Math.max(...peaks) });
  }

  console.log('\nsize   paths      files      wall       µs/path  µs/file  peak RSS    KiB/1k paths');
  for (const r of rows) {
    const perK = r.peakKiB === null ? 'n/a' : ((r.peakKiB / r.fx.paths) * 1000).toFixed(0);
    console.log(
      `${`${r.factor}x`.padEnd(6)} ${String(r.fx.paths).padEnd(10)} ${String(r.fx.files).padEnd(10)} ${`${(r.wallMs / 1000).toFixed(2)} s`.padEnd(10)} ` +
        `${((r.wallMs * 1000) / r.fx.paths).toFixed(1).padEnd(8)} ${((r.wallMs * 1000) / r.fx.files).toFixed(1).padEnd(8)} ${mib(r.peakKiB).padEnd(11)} ${perK}`,
    );
  }
  const small = rows[0];
  const big = rows[rows.length - 1];
  if (small !== undefined && big !== undefined && big !== small) {
    const size = big.fx.paths / small.fx.paths;
    const time = big.wallMs / small.wallMs;
    console.log(`\n${big.factor}x against ${small.factor}x: ${size.toFixed(1)}x the paths took ${time.toFixed(1)}x the time${time > size * 1.2 ? ' (worse than linear)' : ''}`);
    if (small.peakKiB !== null && big.peakKiB !== null) {
      const mem = big.peakKiB / small.peakKiB;
      console.log(`peak RSS ${mem.toFixed(1)}x${mem > size * 1.2 ? ' (worse than linear)' : ' (at most linear)'}`);
    }
  }
  const load = loadAverage();
  if (load > 0.25 * availableParallelism()) console.log(`warning: load average ${load.toFixed(2)} on ${availableParallelism()} cores: the machine is busy, wall times are unreliable`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
