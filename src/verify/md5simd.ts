// Multi-buffer MD5: hashes several files at once, one per 32-bit SIMD lane, in generated wasm.
import { readSync } from 'node:fs';
import { Body, encodeModule, I32, Op, V128, wasmApi, type FuncDef, type ValType } from './wasm.js';

/** Per-round left-rotation amounts (RFC 1321). */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21] as const;

/** The 64 additive constants, floor(abs(sin(i + 1)) * 2^32). */
const K: readonly number[] = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** Message word used by step i. */
function wordIndex(i: number): number {
  const r = i >> 4;
  const j = i & 15;
  if (r === 0) return j;
  if (r === 1) return (5 * j + 1) & 15;
  if (r === 2) return (3 * j + 5) & 15;
  return (7 * j) & 15;
}

/** Memory layout (bytes). */
const KTAB = 0; // 64 round constants, each splatted to 16 bytes
const STATE = 1024; // per group of 4 lanes: vectors a, b, c, d (16 bytes each)
const REGIONS = 4096; // per-lane staging regions

export type Gather = 'lanes' | 'transpose';

/**
 * Generates the kernel for `groups` groups of 4 lanes: f(n, p0..p[4*groups-1]) runs n 64-byte blocks
 * per lane, lane l reading its blocks from p_l, p_l + 64, ..., on the state vectors at STATE.
 */
function kernel(name: string, groups: number, gather: Gather): FuncDef {
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

  // Message words: m[g*16 + w] holds word w of the four lanes of group g.
  const shuf = (x: number, y: number, lanesIdx: readonly number[]): void => {
    const imm: number[] = [];
    for (const li of lanesIdx) for (let k = 0; k < 4; k++) imm.push(li * 4 + k);
    b.localGet(x).localGet(y).simdImm16(Op.i8x16Shuffle, imm);
  };
  for (let g = 0; g < groups; g++) {
    if (gather === 'lanes') {
      for (let w = 0; w < 16; w++) {
        b.localGet(p(4 * g + 3)).localGet(p(4 * g + 2)).localGet(p(4 * g + 1)).localGet(p(4 * g));
        b.simdMem(Op.v128Load32Zero, 2, 4 * w);
        for (let lane = 1; lane < 4; lane++) b.simdMem(Op.v128Load32Lane, 2, 4 * w, lane);
        b.localSet(m + 16 * g + w);
      }
    } else {
      for (let q = 0; q < 4; q++) {
        for (let l = 0; l < 4; l++) b.localGet(p(4 * g + l)).simdMem(Op.v128Load, 0, 16 * q).localSet(tr + l);
        shuf(tr, tr + 1, [0, 4, 1, 5]);
        b.localSet(tr + 4);
        shuf(tr, tr + 1, [2, 6, 3, 7]);
        b.localSet(tr + 5);
        shuf(tr + 2, tr + 3, [0, 4, 1, 5]);
        b.localSet(tr + 6);
        shuf(tr + 2, tr + 3, [2, 6, 3, 7]);
        b.localSet(tr + 7);
        shuf(tr + 4, tr + 6, [0, 1, 4, 5]);
        b.localSet(m + 16 * g + 4 * q);
        shuf(tr + 4, tr + 6, [2, 3, 6, 7]);
        b.localSet(m + 16 * g + 4 * q + 1);
        shuf(tr + 5, tr + 7, [0, 1, 4, 5]);
        b.localSet(m + 16 * g + 4 * q + 2);
        shuf(tr + 5, tr + 7, [2, 3, 6, 7]);
        b.localSet(m + 16 * g + 4 * q + 3);
      }
    }
  }
  for (let k = 0; k < 4 * groups; k++) b.localGet(st + k).localSet(sv + k);

  // roles[g] = locals currently playing a, b, c, d; renamed after each step instead of moving.
  const roles: number[][] = [];
  for (let g = 0; g < groups; g++) roles.push([st + 4 * g, st + 4 * g + 1, st + 4 * g + 2, st + 4 * g + 3]);
  for (let i = 0; i < 64; i++) {
    const s = SHIFTS[(i >> 4) * 4 + (i & 3)] ?? 0;
    for (let g = 0; g < groups; g++) {
      const [ra, rb, rc, rd] = roles[g] as [number, number, number, number];
      b.localGet(rb);
      // a + (m + k) first: it does not depend on b, the previous step's result.
      b.localGet(ra).localGet(m + 16 * g + wordIndex(i));
      b.i32Const(0).simdMem(Op.v128Load, 4, KTAB + 16 * i).simd(Op.i32x4Add).simd(Op.i32x4Add);
      switch (i >> 4) {
        case 0: // F = (b & c) | (~b & d)
          b.localGet(rc).localGet(rd).localGet(rb).simd(Op.v128Bitselect);
          break;
        case 1: // G = (b & d) | (c & ~d)
          b.localGet(rb).localGet(rc).localGet(rd).simd(Op.v128Bitselect);
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

/** Builds the module bytes: kernels "k4" (one group) and "kw" (`groups` groups). */
export function moduleBytes(groups: number, gather: Gather, pages: number): Uint8Array {
  return encodeModule([kernel('k4', 1, gather), kernel('kw', groups, gather)], pages, 'mem');
}
