// Multi-buffer MD5: hashes several files at once, one per 32-bit SIMD lane, in generated wasm.
import { readSync } from 'node:fs';
import { Body, encodeModule, I32, Op, V128, wasmApi, type FuncDef, type ValType, type WasmMemory } from './wasm.js';

/*
 * Design (kernel throughputs in CPU time on the 2-core Xeon this was written on, Node 20 / V8 11.3,
 * where node:crypto's MD5 does ~0.6 GB/s):
 * - Eight lanes: two groups of four 32-bit lanes whose MD5 chains are interleaved in one wasm
 *   function. One group alone is latency-bound (each step needs the previous one), ~1.9 GB/s; two
 *   reach the vector ports' throughput, ~3.0 GB/s. Three groups gave ~6% more but longer tails.
 * - Message words are transposed in wasm: per lane and quarter block one 16-byte load, then a 4x4
 *   transpose with i8x16.shuffle (V8 emits punpck*): ~10-15% faster than building each word
 *   vector with v128.load32_zero + 3 v128.load32_lane.
 * - Each lane reads into its own 64 KiB staging region in wasm memory (readSync straight into it);
 *   16 KiB was slower, 32-128 KiB the same. The memory has a fixed size (min = max pages), so the
 *   views made in the constructor never go stale.
 * - At EOF the JS side appends the MD5 padding to the lane's data, so a kernel call just runs as
 *   many whole blocks as the shortest busy lane holds. Idle lanes hash stale bytes of their own
 *   region into a state that is reset before the lane gets a file again.
 * - Tails: a wide kernel costs the same per block however many lanes idle, so once no file is
 *   waiting the busy lanes are packed into lanes 0.. and the narrowest kernel that holds them runs:
 *   4-lane SIMD for 3-4 files, scalar kernels for 2 (two interleaved chains, ~1.2 GB/s) or 1 file
 *   (~0.65 GB/s, a little faster than OpenSSL).
 */

/** Per-round left-rotation amounts (RFC 1321). */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21] as const;

/** The 64 additive constants, floor(abs(sin(i + 1)) * 2^32). */
const K: readonly number[] = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

/** Message word used by step i. */
function wordIndex(i: number): number {
  const r = i >> 4;
  const j = i & 15;
  if (r === 0) return j;
  if (r === 1) return (5 * j + 1) & 15;
  if (r === 2) return (3 * j + 5) & 15;
  return (7 * j) & 15;
}

/** Rotation of step i. */
function shift(i: number): number {
  return SHIFTS[(i >> 4) * 4 + (i & 3)] ?? 0;
}

/** Lanes of the wide kernel: files hashed side by side. */
export const LANES = 8;
/** Bytes a lane reads per refill; a multiple of 64. */
const STAGE = 64 * 1024;
/** A lane's region: STAGE, plus room for the padding (at most 72 bytes) after it. */
const REGION = STAGE + 128;

/** Memory layout (bytes). */
const KTAB = 0; // the 64 round constants, each splatted to 16 bytes
const STATE = 1024; // per group of 4 lanes: vectors a, b, c, d (16 bytes each)
const REGIONS = 4096; // the lanes' staging regions
const PAGES = Math.ceil((REGIONS + LANES * REGION) / 65536);

/** u32 index of state word k (0..3 = a..d) of lane s. */
function stateIndex(s: number, k: number): number {
  return (STATE >> 2) + (s >> 2) * 16 + k * 4 + (s & 3);
}

/**
 * Generates the SIMD kernel for `groups` groups of 4 lanes: f(n, p0..p[4*groups-1]) runs n >= 1
 * 64-byte blocks per lane, lane l reading its blocks at p_l, p_l + 64, ..., on the states at STATE.
 */
function simdKernel(name: string, groups: number): FuncDef {
  const lanes = groups * 4;
  const params: ValType[] = [I32];
  for (let l = 0; l < lanes; l++) params.push(I32);
  let next = params.length;
  const alloc = (count: number): number => {
    const first = next;
    next += count;
    return first;
  };
  const st = alloc(4 * groups);
  const sv = alloc(4 * groups);
  const m = alloc(16 * groups);
  const ones = alloc(1);
  const tmp = alloc(groups);
  const tr = alloc(8);
  const locals: ValType[] = new Array<ValType>(next - params.length).fill(V128);
  const p = (l: number): number => 1 + l;

  const b = new Body();
  b.simdImm16(Op.v128Const, new Array<number>(16).fill(0xff)).localSet(ones);
  for (let k = 0; k < 4 * groups; k++) b.i32Const(0).simdMem(Op.v128Load, 4, STATE + 16 * k).localSet(st + k);
  b.loop();

  // Message words: m[16g + w] = word w of the four lanes of group g. Per quarter block q:
  // tr[0..3] = words 4q..4q+3 of lanes 0..3 (one 16-byte load each), transposed by unpacking pairs
  // of rows, then pairs of pairs (shuffle patterns V8 emits as punpck{l,h}{dq,qdq}).
  const lo32 = [0, 4, 1, 5];
  const hi32 = [2, 6, 3, 7];
  const lo64 = [0, 1, 4, 5];
  const hi64 = [2, 3, 6, 7];
  for (let g = 0; g < groups; g++) {
    for (let q = 0; q < 4; q++) {
      for (let l = 0; l < 4; l++) b.localGet(p(4 * g + l)).simdMem(Op.v128Load, 0, 16 * q).localSet(tr + l);
      const w = m + 16 * g + 4 * q;
      const shuffles: [number, number, number[], number][] = [
        [tr, tr + 1, lo32, tr + 4],
        [tr, tr + 1, hi32, tr + 5],
        [tr + 2, tr + 3, lo32, tr + 6],
        [tr + 2, tr + 3, hi32, tr + 7],
        [tr + 4, tr + 6, lo64, w],
        [tr + 4, tr + 6, hi64, w + 1],
        [tr + 5, tr + 7, lo64, w + 2],
        [tr + 5, tr + 7, hi64, w + 3],
      ];
      for (const [x, y, pick, dst] of shuffles) {
        const imm: number[] = [];
        for (const lane of pick) imm.push(4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3);
        b.localGet(x).localGet(y).simdImm16(Op.i8x16Shuffle, imm).localSet(dst);
      }
    }
  }
  for (let k = 0; k < 4 * groups; k++) b.localGet(st + k).localSet(sv + k);

  // roles[g] = locals currently playing a, b, c, d; renamed after each step instead of moving.
  const roles: number[][] = [];
  for (let g = 0; g < groups; g++) roles.push([st + 4 * g, st + 4 * g + 1, st + 4 * g + 2, st + 4 * g + 3]);
  for (let i = 0; i < 64; i++) {
    const s = shift(i);
    for (let g = 0; g < groups; g++) {
      const [ra, rb, rc, rd] = roles[g] as [number, number, number, number];
      // a = b + rotl(a + f(b, c, d) + m + k, s). b is pushed first for the final add; a + (m + k)
      // is summed before f, as it does not depend on b (the previous step's result).
      b.localGet(rb);
      b.localGet(ra).localGet(m + 16 * g + wordIndex(i));
      b.i32Const(0).simdMem(Op.v128Load, 4, KTAB + 16 * i).simd(Op.i32x4Add).simd(Op.i32x4Add);
      switch (i >> 4) {
        case 0: // F = (b & c) | (~b & d)
          b.localGet(rc).localGet(rd).localGet(rb).simd(Op.v128Bitselect);
          break;
        case 1: // G = (b & d) | (c & ~d) = (b & d) + (c & ~d): c & ~d is added before b is known
          b.localGet(rc).localGet(rd).simd(Op.v128AndNot).simd(Op.i32x4Add);
          b.localGet(rb).localGet(rd).simd(Op.v128And);
          break;
        case 2: // H = b ^ c ^ d, with c ^ d off the critical path
          b.localGet(rc).localGet(rd).simd(Op.v128Xor).localGet(rb).simd(Op.v128Xor);
          break;
        default: // I = c ^ (b | ~d)
          b.localGet(rc).localGet(rb).localGet(rd).localGet(ones).simd(Op.v128Xor).simd(Op.v128Or).simd(Op.v128Xor);
      }
      b.simd(Op.i32x4Add).localTee(tmp + g);
      // No SIMD rotate in wasm: (x << s) | (x >>> (32 - s)).
      b.i32Const(s).simd(Op.i32x4Shl).localGet(tmp + g).i32Const(32 - s).simd(Op.i32x4ShrU).simd(Op.v128Or);
      b.simd(Op.i32x4Add).localSet(ra);
      roles[g] = [rd, ra, rb, rc];
    }
  }
  for (let k = 0; k < 4 * groups; k++) b.localGet(st + k).localGet(sv + k).simd(Op.i32x4Add).localSet(st + k);
  for (let l = 0; l < lanes; l++) b.localGet(p(l)).i32Const(64).i32Add().localSet(p(l));
  b.localGet(0).i32Const(1).i32Sub().localTee(0).brIf(0);
  b.end();
  for (let k = 0; k < 4 * groups; k++) b.i32Const(0).localGet(st + k).simdMem(Op.v128Store, 4, STATE + 16 * k);
  return { name, params, locals, body: b };
}

/**
 * Generates a scalar kernel for lanes 0..count-1 (their chains interleaved): f(n, p0, ...) like the
 * SIMD kernels, on the same state words. For the last one or two files, when SIMD lanes would idle.
 */
function scalarKernel(name: string, count: number): FuncDef {
  const params: ValType[] = [I32];
  for (let l = 0; l < count; l++) params.push(I32);
  const st = params.length;
  const sv = st + 4 * count;
  const locals: ValType[] = new Array<ValType>(8 * count).fill(I32);
  const addr = (l: number, k: number): number => 4 * stateIndex(l, k);
  const b = new Body();
  for (let l = 0; l < count; l++) for (let k = 0; k < 4; k++) b.i32Const(0).i32Load(2, addr(l, k)).localSet(st + 4 * l + k);
  b.loop();
  for (let k = 0; k < 4 * count; k++) b.localGet(st + k).localSet(sv + k);
  const roles: number[][] = [];
  for (let l = 0; l < count; l++) roles.push([st + 4 * l, st + 4 * l + 1, st + 4 * l + 2, st + 4 * l + 3]);
  for (let i = 0; i < 64; i++) {
    const s = shift(i);
    for (let l = 0; l < count; l++) {
      const [ra, rb, rc, rd] = roles[l] as [number, number, number, number];
      // a = b + rotl(a + f(b, c, d) + m + k, s), as in the SIMD kernel.
      b.localGet(rb);
      b.localGet(ra).i32Const(K[i] ?? 0).i32Add().localGet(1 + l).i32Load(0, 4 * wordIndex(i)).i32Add();
      switch (i >> 4) {
        case 0: // F = d ^ (b & (c ^ d))
          b.localGet(rd).localGet(rb).localGet(rc).localGet(rd).i32Xor().i32And().i32Xor();
          break;
        case 1: // G = (b & d) + (c & ~d), the second part off the critical path
          b.localGet(rc).localGet(rd).i32Const(-1).i32Xor().i32And().i32Add();
          b.localGet(rb).localGet(rd).i32And();
          break;
        case 2: // H = (c ^ d) ^ b
          b.localGet(rc).localGet(rd).i32Xor().localGet(rb).i32Xor();
          break;
        default: // I = c ^ (b | ~d)
          b.localGet(rc).localGet(rb).localGet(rd).i32Const(-1).i32Xor().i32Or().i32Xor();
      }
      b.i32Add().i32Const(s).i32Rotl().i32Add().localSet(ra);
      roles[l] = [rd, ra, rb, rc];
    }
  }
  for (let k = 0; k < 4 * count; k++) b.localGet(st + k).localGet(sv + k).i32Add().localSet(st + k);
  for (let l = 0; l < count; l++) b.localGet(1 + l).i32Const(64).i32Add().localSet(1 + l);
  b.localGet(0).i32Const(1).i32Sub().localTee(0).brIf(0);
  b.end();
  for (let l = 0; l < count; l++) for (let k = 0; k < 4; k++) b.i32Const(0).localGet(st + 4 * l + k).i32Store(2, addr(l, k));
  return { name, params, locals, body: b };
}

/** The module: kernels k8 and k4 (SIMD), s2 and s1 (scalar), and its memory "mem". */
function moduleBytes(): Uint8Array {
  const kernels = [simdKernel('k8', 2), simdKernel('k4', 1), scalarKernel('s2', 2), scalarKernel('s1', 1)];
  return encodeModule(kernels, PAGES, 'mem');
}

type Kernel1 = (n: number, p0: number) => void;
type Kernel2 = (n: number, p0: number, p1: number) => void;
type Kernel4 = (n: number, p0: number, p1: number, p2: number, p3: number) => void;
type Kernel8 = (
  n: number,
  p0: number,
  p1: number,
  p2: number,
  p3: number,
  p4: number,
  p5: number,
  p6: number,
  p7: number,
) => void;

/** The compiled module, once per thread; null when this runtime cannot run it. */
let compiled: object | null | undefined;

function compile(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  const api = wasmApi();
  if (api === undefined) return null;
  try {
    // Without SIMD support (old runtime, or an x64 CPU without SSE4.1) validation fails.
    const bytes = moduleBytes();
    if (api.validate(bytes)) compiled = new api.Module(bytes);
  } catch {
    compiled = null;
  }
  return compiled;
}

/** True when WebAssembly SIMD is usable here; callers fall back to node:crypto otherwise. */
export function simdAvailable(): boolean {
  return compile() !== null;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hexWord(w: number): string {
  return (HEX[w & 255] ?? '') + (HEX[(w >>> 8) & 255] ?? '') + (HEX[(w >>> 16) & 255] ?? '') + (HEX[w >>> 24] ?? '');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Hashes many open files at once in SIMD lanes. One instance per thread; reuse it. */
export class MultiMd5 {
  private readonly mem: Uint8Array;
  private readonly words: Uint32Array;
  private readonly k4: Kernel4;
  private readonly k8: Kernel8;
  private readonly s1: Kernel1;
  private readonly s2: Kernel2;
  // Per lane. A lane's record (file, region and position) moves when lanes are compacted.
  private readonly fd = new Int32Array(LANES);
  /** Index into the current call's fds, or -1 when the lane is idle. */
  private readonly job = new Int32Array(LANES).fill(-1);
  private readonly base = new Int32Array(LANES);
  /** Next unhashed byte and end of valid data, relative to base; pos is a multiple of 64. */
  private readonly pos = new Int32Array(LANES);
  private readonly end = new Int32Array(LANES);
  /** The lane's data ends in its MD5 padding: once it is hashed the digest is final. */
  private readonly padded = new Uint8Array(LANES);
  private readonly length = new Float64Array(LANES);

  constructor() {
    const module = compile();
    const api = wasmApi();
    if (module === null || api === undefined) throw new Error('WebAssembly SIMD is not available');
    const inst = new api.Instance(module, {});
    const memory = inst.exports['mem'] as WasmMemory;
    this.mem = new Uint8Array(memory.buffer);
    this.words = new Uint32Array(memory.buffer);
    this.k4 = inst.exports['k4'] as Kernel4;
    this.k8 = inst.exports['k8'] as Kernel8;
    this.s1 = inst.exports['s1'] as Kernel1;
    this.s2 = inst.exports['s2'] as Kernel2;
    for (let i = 0; i < 64; i++) this.words.fill(K[i] ?? 0, (KTAB >> 2) + 4 * i, (KTAB >> 2) + 4 * i + 4);
    for (let s = 0; s < LANES; s++) this.base[s] = REGIONS + s * REGION;
  }

  /**
   * Reads each descriptor from its current position to EOF with fs.readSync (never trusting any
   * size: files can grow or shrink while read) and returns, per descriptor, the lowercase hex md5,
   * or the Error thrown by readSync for that descriptor (e.g. EIO) — one failing file must not
   * affect the others. Does not close the descriptors. Also returns the bytes read per descriptor.
   * A descriptor must not appear twice in one call (two lanes would share its file position).
   */
  hashFds(fds: readonly number[]): { digests: (string | Error)[]; bytes: number[] } {
    const count = fds.length;
    const digests = new Array<string | Error>(count);
    const bytes = new Array<number>(count).fill(0);
    const { job, pos, end, base, padded } = this;
    job.fill(-1);
    pos.fill(0);
    let nextJob = 0;
    let active = 0;
    for (;;) {
      if (nextJob < count) {
        for (let s = 0; s < LANES; s++) {
          while ((job[s] as number) < 0 && nextJob < count) {
            if (this.start(s, nextJob, fds[nextJob] as number, digests, bytes)) active++;
            nextJob++;
          }
        }
      }
      if (active === 0) break;
      // Lanes in use: all eight while files are waiting; once none are, the stragglers are packed
      // into lanes 0.. and run on the narrowest kernel that holds them (see the notes at the top).
      let width = LANES;
      if (nextJob >= count && active <= 4) {
        this.compact(active);
        width = active <= 2 ? active : 4;
      }
      let n = 0x7fffffff;
      for (let s = 0; s < width; s++) {
        if ((job[s] as number) >= 0) n = Math.min(n, ((end[s] as number) - (pos[s] as number)) >> 6);
      }
      const p0 = (base[0] as number) + (pos[0] as number);
      if (width === 1) {
        this.s1(n, p0);
      } else {
        const p1 = (base[1] as number) + (pos[1] as number);
        if (width === 2) {
          this.s2(n, p0, p1);
        } else {
          const p2 = (base[2] as number) + (pos[2] as number);
          const p3 = (base[3] as number) + (pos[3] as number);
          if (width === 4) {
            this.k4(n, p0, p1, p2, p3);
          } else {
            const p4 = (base[4] as number) + (pos[4] as number);
            const p5 = (base[5] as number) + (pos[5] as number);
            const p6 = (base[6] as number) + (pos[6] as number);
            const p7 = (base[7] as number) + (pos[7] as number);
            this.k8(n, p0, p1, p2, p3, p4, p5, p6, p7);
          }
        }
      }
      for (let s = 0; s < width; s++) {
        const j = job[s] as number;
        if (j < 0) continue;
        const p = (pos[s] as number) + (n << 6);
        pos[s] = p;
        if ((end[s] as number) - p >= 64) continue;
        if (padded[s] === 1) {
          digests[j] = this.digest(s);
          bytes[j] = this.length[s] as number;
          this.idle(s);
          active--;
          continue;
        }
        try {
          this.refill(s);
        } catch (err) {
          digests[j] = asError(err);
          bytes[j] = this.length[s] as number;
          this.idle(s);
          active--;
        }
      }
    }
    return { digests, bytes };
  }

  /** Loads file j into lane s; false (with the error recorded) if its first read failed. */
  private start(s: number, j: number, fd: number, digests: (string | Error)[], bytes: number[]): boolean {
    this.job[s] = j;
    this.fd[s] = fd;
    this.pos[s] = 0;
    this.end[s] = 0;
    this.padded[s] = 0;
    this.length[s] = 0;
    for (let k = 0; k < 4; k++) this.words[stateIndex(s, k)] = IV[k] ?? 0;
    try {
      this.refill(s);
      return true;
    } catch (err) {
      digests[j] = asError(err);
      bytes[j] = this.length[s];
      this.idle(s);
      return false;
    }
  }

  /** An idle lane hashes its own region's first bytes into a state nobody reads. */
  private idle(s: number): void {
    this.job[s] = -1;
    this.pos[s] = 0;
  }

  /**
   * Moves the unhashed tail (< 64 bytes) to the region start and reads until the region is full or
   * EOF; at EOF appends the MD5 padding, so the lane then holds whole blocks only.
   */
  private refill(s: number): void {
    const { mem } = this;
    const b = this.base[s] as number;
    const p = this.pos[s] as number;
    let e = this.end[s] as number;
    if (p > 0) {
      if (e > p) mem.copyWithin(b, b + p, b + e);
      e -= p;
      this.pos[s] = 0;
      this.end[s] = e;
    }
    const fd = this.fd[s] as number;
    while (e < STAGE) {
      const got = readSync(fd, mem, b + e, STAGE - e, null);
      if (got === 0) {
        this.pad(s, e);
        return;
      }
      e += got;
      this.end[s] = e;
      this.length[s] = (this.length[s] as number) + got;
    }
  }

  /** Appends 0x80, zeros and the 64-bit little-endian bit length after e bytes of lane s. */
  private pad(s: number, e: number): void {
    const { mem } = this;
    const b = this.base[s] as number;
    const stop = (e + 9 + 63) & ~63;
    mem[b + e] = 0x80;
    mem.fill(0, b + e + 1, b + stop - 8);
    const len = this.length[s] as number;
    const lo = (len * 8) % 0x100000000;
    const hi = Math.floor(len / 0x20000000) >>> 0;
    const at = b + stop - 8;
    mem[at] = lo & 255;
    mem[at + 1] = (lo >>> 8) & 255;
    mem[at + 2] = (lo >>> 16) & 255;
    mem[at + 3] = lo >>> 24;
    mem[at + 4] = hi & 255;
    mem[at + 5] = (hi >>> 8) & 255;
    mem[at + 6] = (hi >>> 16) & 255;
    mem[at + 7] = hi >>> 24;
    this.end[s] = stop;
    this.padded[s] = 1;
  }

  private digest(s: number): string {
    const w = this.words;
    return (
      hexWord(w[stateIndex(s, 0)] ?? 0) +
      hexWord(w[stateIndex(s, 1)] ?? 0) +
      hexWord(w[stateIndex(s, 2)] ?? 0) +
      hexWord(w[stateIndex(s, 3)] ?? 0)
    );
  }

  /** Packs the `active` busy lanes into lanes 0..active-1 (state words and records move). */
  private compact(active: number): void {
    let t = 0;
    for (let s = active; s < LANES; s++) {
      if ((this.job[s] as number) < 0) continue;
      while ((this.job[t] as number) >= 0) t++;
      for (let k = 0; k < 4; k++) this.words[stateIndex(t, k)] = this.words[stateIndex(s, k)] ?? 0;
      swap(this.job, s, t);
      swap(this.fd, s, t);
      swap(this.base, s, t);
      swap(this.pos, s, t);
      swap(this.end, s, t);
      swap(this.padded, s, t);
      swap(this.length, s, t);
    }
  }
}

function swap(a: Int32Array | Uint8Array | Float64Array, i: number, j: number): void {
  const x = a[i] as number;
  a[i] = a[j] as number;
  a[j] = x;
}
