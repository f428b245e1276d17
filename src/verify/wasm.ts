// A minimal WebAssembly binary encoder (just what the generated SIMD md5 kernels need), plus the
// few WebAssembly JS API types we use: the tsconfig has no DOM lib, so they are declared here.

/** Value types: i32 and v128. */
export type ValType = 0x7f | 0x7b;
export const I32: ValType = 0x7f;
export const V128: ValType = 0x7b;

/** Appends `v` as unsigned LEB128. */
function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Appends `v` (an int32) as signed LEB128. */
function sleb(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Instruction stream of one function body (the final `end` is added by the encoder). */
export class Body {
  readonly bytes: number[] = [];

  localGet(i: number): this {
    this.bytes.push(0x20);
    uleb(this.bytes, i);
    return this;
  }

  localSet(i: number): this {
    this.bytes.push(0x21);
    uleb(this.bytes, i);
    return this;
  }

  localTee(i: number): this {
    this.bytes.push(0x22);
    uleb(this.bytes, i);
    return this;
  }

  i32Const(v: number): this {
    this.bytes.push(0x41);
    sleb(this.bytes, v);
    return this;
  }

  i32Add(): this {
    this.bytes.push(0x6a);
    return this;
  }

  i32Sub(): this {
    this.bytes.push(0x6b);
    return this;
  }

  i32And(): this {
    this.bytes.push(0x71);
    return this;
  }

  i32Or(): this {
    this.bytes.push(0x72);
    return this;
  }

  i32Xor(): this {
    this.bytes.push(0x73);
    return this;
  }

  i32Rotl(): this {
    this.bytes.push(0x77);
    return this;
  }

  i32Load(alignLog2: number, offset: number): this {
    this.bytes.push(0x28);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }

  i32Store(alignLog2: number, offset: number): this {
    this.bytes.push(0x36);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }

  /** `loop` with an empty block type. */
  loop(): this {
    this.bytes.push(0x03, 0x40);
    return this;
  }

  end(): this {
    this.bytes.push(0x0b);
    return this;
  }

  brIf(depth: number): this {
    this.bytes.push(0x0d);
    uleb(this.bytes, depth);
    return this;
  }

  /** A SIMD (0xfd-prefixed) instruction without immediates. */
  simd(op: number): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, op);
    return this;
  }

  /** A SIMD memory instruction with its memarg (log2 alignment, static offset). */
  simdMem(op: number, alignLog2: number, offset: number): this {
    this.simd(op);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }

  /** A SIMD instruction followed by 16 immediate bytes (v128.const, i8x16.shuffle). */
  simdImm16(op: number, imm: readonly number[]): this {
    if (imm.length !== 16) throw new RangeError('need 16 immediate bytes');
    this.simd(op);
    for (const b of imm) this.bytes.push(b & 0xff);
    return this;
  }
}

/** SIMD opcodes used (from the WebAssembly SIMD spec's opcode table). */
export const Op = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Shuffle: 0x0d,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
} as const;

/** One exported function. */
export interface FuncDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly locals: readonly ValType[];
  readonly body: Body;
}

/** `items` as a wasm vector: count, then the items. (concat, not push loops: this runs cold.) */
function vec(items: readonly number[][]): number[] {
  const head: number[] = [];
  uleb(head, items.length);
  return head.concat(...items);
}

function section(id: number, content: number[]): number[] {
  const head = [id];
  uleb(head, content.length);
  return head.concat(content);
}

function name(s: string): number[] {
  const head: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  uleb(head, bytes.length);
  return head.concat(Array.from(bytes));
}

function u32(v: number): number[] {
  const out: number[] = [];
  uleb(out, v);
  return out;
}

/** Encodes a module of result-less functions and one exported memory of fixed size. */
export function encodeModule(funcs: readonly FuncDef[], memoryPages: number, memoryName: string): Uint8Array {
  const types = funcs.map((f) => [0x60, ...u32(f.params.length), ...f.params, 0]);
  const exps = funcs.map((f, i) => [...name(f.name), 0x00, ...u32(i)]);
  exps.push([...name(memoryName), 0x02, 0x00]);
  const codes = funcs.map((f) => {
    // Locals as runs of equal type.
    const runs: [number, ValType][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const fn = vec(runs.map(([count, t]) => [...u32(count), t])).concat(f.body.bytes, [0x0b]);
    return u32(fn.length).concat(fn);
  });
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00].concat(
    section(1, vec(types)),
    section(3, vec(funcs.map((_, i) => u32(i)))),
    // Memory: min = max = memoryPages, so views over memory.buffer never go stale.
    section(5, [1, 0x01, ...u32(memoryPages), ...u32(memoryPages)]),
    section(7, vec(exps)),
    section(10, vec(codes)),
  );
  return Uint8Array.from(out);
}

/** The parts of the WebAssembly JS API used here. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => WasmInstance;
}

/** The global WebAssembly object, if this runtime has one. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}
