// Tests for the SIMD multi-buffer MD5: every digest must equal node:crypto's on the bytes read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MultiMd5, simdAvailable } from '../../src/verify/md5simd.js';
import { prng } from '../helpers/prng.js';

const skip = !simdAvailable();
/** The staging size per lane in md5simd.ts: refills happen at multiples of it. */
const STAGE = 64 * 1024;

/** 4 MiB of seeded noise; file contents are slices of it. */
const POOL = ((): Buffer => {
  const rnd = prng(12345);
  const b = Buffer.alloc(4 << 20);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(rnd() * 4294967296), i);
  return b;
})();

function content(size: number, salt: number): Buffer {
  if (size <= POOL.length - 4096) {
    const at = (salt * 4099) % (POOL.length - size + 1);
    return POOL.subarray(at, at + size);
  }
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += POOL.length) POOL.copy(out, at, 0, Math.min(POOL.length, size - at));
  out.writeUInt32LE(salt >>> 0, 0);
  return out;
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

/** A temp dir for one test, removed afterwards. */
function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(os.tmpdir() + '/pkgwatch-');
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes one file per size; returns paths and expected digests. */
function writeFiles(dir: string, sizes: readonly number[]): { paths: string[]; want: string[] } {
  const paths: string[] = [];
  const want: string[] = [];
  sizes.forEach((size, i) => {
    const data = content(size, i + 1);
    const p = path.join(dir, `f${i}`);
    writeFileSync(p, data);
    paths.push(p);
    want.push(md5(data));
  });
  return { paths, want };
}

/** Opens the files, hashes them in one call, closes them; asserts digests and byte counts. */
function hashAndCheck(h: MultiMd5, paths: readonly string[], want: readonly string[], sizes: readonly number[]): void {
  const fds = paths.map((p) => openSync(p, 'r'));
  try {
    const r = h.hashFds(fds);
    assert.equal(r.digests.length, fds.length);
    assert.equal(r.bytes.length, fds.length);
    for (let i = 0; i < fds.length; i++) {
      assert.equal(r.digests[i], want[i], `file ${i} of ${sizes[i]} bytes`);
      assert.equal(r.bytes[i], sizes[i], `bytes of file ${i}`);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

void test('simdAvailable is true on this machine (x86-64 with SSE4.1, Node 20)', { skip: process.arch !== 'x64' }, () => {
  assert.equal(simdAvailable(), true);
});

void test('empty file hashes to d41d8cd98f00b204e9800998ecf8427e', { skip }, () => {
  withDir((dir) => {
    const p = path.join(dir, 'empty');
    writeFileSync(p, '');
    const fd = openSync(p, 'r');
    try {
      const r = new MultiMd5().hashFds([fd]);
      assert.deepEqual(r, { digests: ['d41d8cd98f00b204e9800998ecf8427e'], bytes: [0] });
    } finally {
      closeSync(fd);
    }
  });
});

void test('an empty list of descriptors gives empty results', { skip }, () => {
  assert.deepEqual(new MultiMd5().hashFds([]), { digests: [], bytes: [] });
});

void test('padding edge sizes and sizes around the staging size', { skip }, () => {
  const sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128];
  for (const base of [STAGE, 2 * STAGE, 3 * STAGE]) for (let d = -65; d <= 65; d++) if (Math.abs(d) <= 2 || Math.abs(d) >= 55) sizes.push(base + d);
  sizes.push((1 << 20) + 13, 3 * (1 << 20) - 1);
  withDir((dir) => {
    const { paths, want } = writeFiles(dir, sizes);
    const h = new MultiMd5();
    hashAndCheck(h, paths, want, sizes);
    // Each size alone as well: one lane busy, the scalar tail kernel does all the work.
    for (let i = 0; i < sizes.length; i += 7) hashAndCheck(h, [paths[i] as string], [want[i] as string], [sizes[i] as number]);
  });
});

void test('thousands of random sizes in one call, so lanes finish at different times', { skip }, () => {
  const rnd = prng(42);
  const sizes: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const r = rnd();
    // Mostly small, like a Debian system; a few up to ~600 KiB.
    sizes.push(r < 0.05 ? Math.floor(rnd() * 600_000) : r < 0.3 ? Math.floor(rnd() * 20_000) : Math.floor(rnd() * 3000));
  }
  withDir((dir) => {
    const { paths, want } = writeFiles(dir, sizes);
    const h = new MultiMd5();
    hashAndCheck(h, paths, want, sizes);
    // Largest first, as the verifier calls it.
    const order = sizes.map((_, i) => i).sort((a, b) => (sizes[b] ?? 0) - (sizes[a] ?? 0));
    hashAndCheck(
      h,
      order.map((i) => paths[i] as string),
      order.map((i) => want[i] as string),
      order.map((i) => sizes[i] as number),
    );
  });
});

void test('fewer files than lanes, and stragglers that move through every tail kernel', { skip }, () => {
  withDir((dir) => {
    const h = new MultiMd5();
    const sets: number[][] = [
      [1000],
      [70_000, 5],
      [3 * STAGE + 17, 64, 200_000],
      [1, 2, 3, 4, 5],
      [100_000, 0, 150_000, 64, 99_999, 7, 130_000],
      // Lanes finish one by one: 8, 7, ... 1 busy lanes, with states moved when lanes are packed.
      [8, 7, 6, 5, 4, 3, 2, 1].map((k) => k * STAGE + 11 * k),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((k) => k * 40_000 + k),
    ];
    sets.forEach((sizes, n) => {
      const sub = path.join(dir, `set${n}`);
      mkdirSync(sub);
      const { paths, want } = writeFiles(sub, sizes);
      hashAndCheck(h, paths, want, sizes);
    });
  });
});

void test('reads from the current position, and leaves descriptors open', { skip }, () => {
  withDir((dir) => {
    const data = content(100_000, 9);
    const p = path.join(dir, 'f');
    writeFileSync(p, data);
    const fd = openSync(p, 'r');
    try {
      readSync(fd, Buffer.alloc(1000), 0, 1000, null);
      const r = new MultiMd5().hashFds([fd]);
      assert.deepEqual(r, { digests: [md5(data.subarray(1000))], bytes: [99_000] });
      assert.equal(fstatSync(fd).size, 100_000);
    } finally {
      closeSync(fd);
    }
  });
});

void test('a file appended to or truncated after it was opened hashes what is read', { skip }, () => {
  withDir((dir) => {
    const grow = path.join(dir, 'grow');
    const shrink = path.join(dir, 'shrink');
    const other = path.join(dir, 'other');
    const g0 = content(STAGE - 10, 1);
    const extra = content(3 * STAGE + 5, 2);
    const s0 = content(5 * STAGE, 3);
    const o = content(12_345, 4);
    writeFileSync(grow, g0);
    writeFileSync(shrink, s0);
    writeFileSync(other, o);
    const fds = [grow, shrink, other].map((p) => openSync(p, 'r'));
    try {
      const w = openSync(grow, 'a');
      writeSync(w, extra);
      closeSync(w);
      const t = openSync(shrink, 'r+');
      ftruncateSync(t, 70_001);
      closeSync(t);
      const r = new MultiMd5().hashFds(fds);
      assert.deepEqual(r.digests, [md5(Buffer.concat([g0, extra])), md5(s0.subarray(0, 70_001)), md5(o)]);
      assert.deepEqual(r.bytes, [g0.length + extra.length, 70_001, o.length]);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
});

void test('a descriptor whose read fails gives its Error; the others are unaffected', { skip }, () => {
  withDir((dir) => {
    const rnd = prng(7);
    const sizes = Array.from({ length: 40 }, () => Math.floor(rnd() * 3 * STAGE));
    const { paths, want } = writeFiles(dir, sizes);
    const sub = path.join(dir, 'subdir');
    mkdirSync(sub);
    const h = new MultiMd5();
    // Directories open fine with O_RDONLY, then read() fails with EISDIR.
    for (const at of [0, 17, 40]) {
      const fds = paths.map((p) => openSync(p, 'r'));
      const dirFd = openSync(sub, 'r');
      fds.splice(at, 0, dirFd);
      try {
        const r = h.hashFds(fds);
        const e = r.digests[at];
        assert.ok(e instanceof Error, `entry ${at} is an Error`);
        assert.equal((e as NodeJS.ErrnoException).code, 'EISDIR');
        assert.equal(r.bytes[at], 0);
        const rest = r.digests.filter((_, i) => i !== at);
        assert.deepEqual(rest, want);
        assert.deepEqual(
          r.bytes.filter((_, i) => i !== at),
          sizes,
        );
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    }
    // Several bad descriptors, including one that is not open at all.
    const fds = paths.slice(0, 10).map((p) => openSync(p, 'r'));
    const d1 = openSync(sub, 'r');
    const d2 = openSync(sub, 'r');
    try {
      const r = h.hashFds([d1, ...fds.slice(0, 5), 0x7ffffff0, ...fds.slice(5), d2]);
      assert.ok(r.digests[0] instanceof Error);
      assert.ok(r.digests[6] instanceof Error);
      assert.equal((r.digests[6] as NodeJS.ErrnoException).code, 'EBADF');
      assert.ok(r.digests[12] instanceof Error);
      assert.deepEqual([...r.digests.slice(1, 6), ...r.digests.slice(7, 12)], want.slice(0, 10));
    } finally {
      for (const fd of [d1, d2, ...fds]) closeSync(fd);
    }
  });
});
