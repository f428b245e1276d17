// Single-thread md5 throughput: SIMD multi-buffer MultiMd5 vs node:crypto (StreamMd5), warm cache.
// Usage: node build/bench/md5.js [rounds] [files-from-dpkg]
import { closeSync, fstatSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StreamMd5, type FdHasher } from '../src/verify/md5.js';
import { MultiMd5, simdAvailable } from '../src/verify/md5simd.js';

/** How the verifier's BatchRunner calls the hasher: big files in groups, small ones per batch. */
const BIG_FILE_BYTES = 1 << 20;
const BIG_GROUP = 16;
const BATCH = 256;

type Path = string | Buffer;

/**
 * Splits paths into hashFds calls the way src/verify/batch.ts does, each call largest first; with
 * bigGroup = Infinity all big files go in one last call.
 */
function plan(paths: readonly Path[], sizes: readonly number[], bigGroup: number): number[][] {
  const calls: number[][] = [];
  let big: number[] = [];
  for (let b = 0; b < paths.length; b += BATCH) {
    const small: number[] = [];
    for (let i = b; i < Math.min(paths.length, b + BATCH); i++) {
      if ((sizes[i] ?? 0) >= BIG_FILE_BYTES) big.push(i);
      else small.push(i);
    }
    if (small.length > 0) calls.push(small);
    if (big.length >= bigGroup) {
      calls.push(big);
      big = [];
    }
  }
  if (big.length > 0) calls.push(big);
  for (const c of calls) c.sort((x, y) => (sizes[y] ?? 0) - (sizes[x] ?? 0));
  return calls;
}

/** Hashes every call's files (opened first, untimed); returns seconds in hashFds, bytes and digests. */
function run(
  h: FdHasher,
  paths: readonly Path[],
  calls: readonly number[][],
): { secs: number; cpuSecs: number; bytes: number; digests: string[] } {
  let ns = 0n;
  let cpu = 0;
  let bytes = 0;
  const digests = new Array<string>(paths.length).fill('');
  for (const call of calls) {
    const fds = call.map((i) => openSync(paths[i] as Path, 'r'));
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    const r = h.hashFds(fds);
    ns += process.hrtime.bigint() - t;
    const cu = process.cpuUsage(c);
    cpu += cu.user + cu.system;
    for (const fd of fds) closeSync(fd);
    call.forEach((i, k) => {
      const d = r.digests[k];
      digests[i] = typeof d === 'string' ? d : `error: ${String(d)}`;
      bytes += r.bytes[k] ?? 0;
    });
  }
  return { secs: Number(ns) / 1e9, cpuSecs: cpu / 1e6, bytes, digests };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

interface Rates {
  wall: number[];
  cpu: number[];
}

function fmt(r: Rates): string {
  return `${median(r.wall).toFixed(0)} MB/s (CPU time: ${median(r.cpu).toFixed(0)} MB/s)`;
}

/**
 * Runs both hashers over the same calls, alternating which goes first. Wall-clock rates are what
 * counts; the CPU-time rates (user + system of this process) are steadier on a shared machine.
 */
function compare(label: string, paths: readonly Path[], sizes: readonly number[], rounds: number, bigGroup = BIG_GROUP): void {
  const calls = plan(paths, sizes, bigGroup);
  const multi = new MultiMd5();
  const stream = new StreamMd5();
  // Warm-up: page cache, JIT, wasm tier-up; also checks both agree.
  const a = run(multi, paths, calls);
  const b = run(stream, paths, calls);
  const differ = a.digests.filter((d, i) => d !== b.digests[i]).length;
  console.log(`${label}: ${paths.length} files, ${(a.bytes / 1e6).toFixed(0)} MB, ${calls.length} hashFds calls, ${differ} digests differ`);
  const rm: Rates = { wall: [], cpu: [] };
  const rs: Rates = { wall: [], cpu: [] };
  const ratio: Rates = { wall: [], cpu: [] };
  for (let r = 0; r < rounds; r++) {
    let m;
    let s;
    if (r % 2 === 0) {
      m = run(multi, paths, calls);
      s = run(stream, paths, calls);
    } else {
      s = run(stream, paths, calls);
      m = run(multi, paths, calls);
    }
    const mw = m.bytes / 1e6 / m.secs;
    const sw = s.bytes / 1e6 / s.secs;
    const mc = m.bytes / 1e6 / m.cpuSecs;
    const sc = s.bytes / 1e6 / s.cpuSecs;
    rm.wall.push(mw);
    rm.cpu.push(mc);
    rs.wall.push(sw);
    rs.cpu.push(sc);
    ratio.wall.push(mw / sw);
    ratio.cpu.push(mc / sc);
    console.log(
      `  round ${r + 1}: MultiMd5 ${mw.toFixed(0)} MB/s, node:crypto ${sw.toFixed(0)} MB/s, ratio ${(mw / sw).toFixed(2)}x` +
        ` (CPU time: ${mc.toFixed(0)} vs ${sc.toFixed(0)} MB/s, ${(mc / sc).toFixed(2)}x)`,
    );
  }
  console.log(`  median MultiMd5:    ${fmt(rm)}`);
  console.log(`  median node:crypto: ${fmt(rs)}`);
  console.log(`  median ratio:       ${median(ratio.wall).toFixed(2)}x (CPU time: ${median(ratio.cpu).toFixed(2)}x)`);
}

/** The first `limit` regular files listed in /var/lib/dpkg/info/*.md5sums (paths are relative to /). */
function dpkgFiles(limit: number): { paths: Buffer[]; sizes: number[] } {
  const dir = '/var/lib/dpkg/info';
  const paths: Buffer[] = [];
  const sizes: number[] = [];
  const lists = readdirSync(dir)
    .filter((n) => n.endsWith('.md5sums'))
    .sort();
  for (const name of lists) {
    const text = readFileSync(path.join(dir, name));
    let at = 0;
    while (at < text.length && paths.length < limit) {
      let nl = text.indexOf(0x0a, at);
      if (nl < 0) nl = text.length;
      // "<32 hex digits>  <path>"; the path keeps its raw bytes.
      if (nl - at > 34) {
        const p = Buffer.concat([Buffer.from('/'), text.subarray(at + 34, nl)]);
        try {
          const st = lstatSync(p);
          if (st.isFile()) {
            paths.push(p);
            sizes.push(st.size);
          }
        } catch {
          // Missing or unreadable: not part of the workload.
        }
      }
      at = nl + 1;
    }
    if (paths.length >= limit) break;
  }
  return { paths, sizes };
}

function main(): void {
  const rounds = Number(process.argv[2] ?? 5);
  const limit = Number(process.argv[3] ?? 20000);
  if (!simdAvailable()) {
    console.log('WebAssembly SIMD is not available here');
    return;
  }
  const dir = mkdtempSync(os.tmpdir() + '/pkgwatch-');
  try {
    const paths: string[] = [];
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < 1000; i++) {
      for (let k = 0; k < data.length; k += 4) data.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ Math.imul(k, 40503)) >>> 0, k);
      const p = path.join(dir, String(i));
      writeFileSync(p, data);
      paths.push(p);
    }
    const sizes = paths.map((p) => {
      const fd = openSync(p, 'r');
      const size = fstatSync(fd).size;
      closeSync(fd);
      return size;
    });
    compare('(a) 1000 x 1 MiB', paths, sizes, rounds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mix = dpkgFiles(limit);
  compare(`(b) first ${mix.paths.length} files of dpkg md5sums`, mix.paths, mix.sizes, rounds);
  // The same files with every big file in one call: how much the grouping of big files costs
  // (with few big files per call, the largest ones run alone at the end of each call).
  const big = mix.sizes.filter((n) => n >= BIG_FILE_BYTES).length;
  if (big <= 512) compare(`(b2) as (b), but all ${big} big files in one call`, mix.paths, mix.sizes, rounds, Infinity);
}

main();
