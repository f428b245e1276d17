// Tests for the decoders: gzip in-process, xz, zstd and lz4 through their tools, output caps, and garbage refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { compressionOf, createDecoder, decompressBuffer, type Compression } from '../../src/trust/decompress.js';
import { runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/signedrepo.js';

let dir = '';
const plain = Buffer.concat([randomBytes(300_000), Buffer.alloc(3_000_000, 'a')]);
const packed = new Map<Compression, Buffer>();
const zeros = new Map<Compression, Buffer>();

/** Compresses with the real tool, as repositories and apt do. */
async function compress(kind: Compression, input: Buffer, name: string): Promise<Buffer> {
  const file = path.join(dir, name);
  writeFileSync(file, input);
  const argv: Record<Exclude<Compression, 'none'>, string[]> = {
    gz: ['gzip', '-k', '-f', file],
    xz: ['xz', '-k', '-f', file],
    zstd: ['zstd', '-q', '-f', file],
    lz4: ['lz4', '-q', '-f', file, `${file}.lz4`],
  };
  const ext: Record<Exclude<Compression, 'none'>, string> = { gz: '.gz', xz: '.xz', zstd: '.zst', lz4: '.lz4' };
  if (kind === 'none') return input;
  const [cmd, ...args] = argv[kind];
  const r = await runProcess(cmd as string, args);
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(`${file}${ext[kind]}`);
}

before(async () => {
  dir = tempDir('pkgwatch-z-');
  for (const kind of ['gz', 'xz', 'zstd', 'lz4'] as const) {
    packed.set(kind, await compress(kind, plain, `plain-${kind}`));
    zeros.set(kind, await compress(kind, Buffer.alloc(20_000_000), `zeros-${kind}`));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('names: control.tar.xz, data.tar.zst, Packages.lz4 and friends; unknown suffixes are null', () => {
  assert.equal(compressionOf('control.tar.xz', 'control.tar'), 'xz');
  assert.equal(compressionOf('data.tar.zst', 'data.tar'), 'zstd');
  assert.equal(compressionOf('data.tar', 'data.tar'), 'none');
  assert.equal(compressionOf('Packages.lz4', 'Packages'), 'lz4');
  assert.equal(compressionOf('Packages.gz', 'Packages'), 'gz');
  assert.equal(compressionOf('data.tar.bz2', 'data.tar'), null);
  assert.equal(compressionOf('data.tarx', 'data.tar'), null);
});

test('every codec gives back the exact bytes, in one buffer and streamed in small writes', async () => {
  for (const [kind, bytes] of packed) {
    assert.ok((await decompressBuffer(kind, bytes, 10_000_000)).equals(plain), kind);
    const parts: Buffer[] = [];
    const d = createDecoder(kind, (c) => parts.push(Buffer.from(c)), 10_000_000);
    for (let i = 0; i < bytes.length; i += 4096) await d.write(bytes.subarray(i, i + 4096));
    await d.end();
    assert.ok(Buffer.concat(parts).equals(plain), `${kind} streamed`);
  }
});

test('a stream that decompresses beyond its limit is stopped with an error (a decompression bomb)', async () => {
  for (const [kind, bytes] of zeros) {
    await assert.rejects(decompressBuffer(kind, bytes, 1_000_000), /decompresses to more than 1000000 bytes/, kind);
  }
});

test('garbage and truncated input are errors that name the decoder', async () => {
  for (const [kind, bytes] of packed) {
    await assert.rejects(decompressBuffer(kind, Buffer.from('this is not compressed data at all'), 1000), kind === 'gz' ? /gzip/ : new RegExp(kind), kind);
    await assert.rejects(decompressBuffer(kind, bytes.subarray(0, Math.floor(bytes.length / 2)), 10_000_000), /./, `${kind} truncated`);
  }
});

test('an error thrown by the consumer stops the decoder and surfaces', async () => {
  const d = createDecoder('xz', () => {
    throw new Error('consumer refused');
  }, 10_000_000);
  const xz = packed.get('xz') as Buffer;
  await assert.rejects(
    (async () => {
      await d.write(xz);
      await d.end();
    })(),
    /consumer refused/,
  );
});
