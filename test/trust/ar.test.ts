// Tests for the ar reader on real .debs from dpkg-deb, fed whole and byte by byte, and on damaged archives.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ArReader } from '../../src/trust/ar.js';
import { buildDeb, tempDir } from '../helpers/signedrepo.js';

let dir = '';
let deb = Buffer.alloc(0);

before(async () => {
  dir = tempDir('pkgwatch-ar-');
  const file = await buildDeb(dir, { name: 'artest', version: '1', arch: 'all', compression: 'gzip', files: [{ path: '/usr/share/artest/a', content: 'a\n' }] });
  deb = readFileSync(file);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function read(chunks: readonly Buffer[]): { name: string; size: number; bytes: Buffer }[] {
  const out: { name: string; size: number; bytes: Buffer }[] = [];
  const r = new ArReader((m) => {
    const parts: Buffer[] = [];
    return { data: (c) => parts.push(Buffer.from(c)), end: () => out.push({ name: m.name, size: m.size, bytes: Buffer.concat(parts) }) };
  });
  for (const c of chunks) r.push(c);
  r.end();
  return out;
}

test('a .deb built by dpkg-deb: its three members, whole or pushed one byte at a time', () => {
  const whole = read([deb]);
  assert.deepEqual(
    whole.map((m) => m.name),
    ['debian-binary', 'control.tar.gz', 'data.tar.gz'],
  );
  assert.equal(whole[0]?.bytes.toString(), '2.0\n');
  for (const m of whole) assert.equal(m.bytes.length, m.size);
  const bytes = [...deb].map((b) => Buffer.from([b]));
  assert.deepEqual(read(bytes), whole);
});

test('odd-sized members are padded; GNU trailing slashes are dropped from names', () => {
  const header = (name: string, size: number): string => `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(size).padEnd(10)}\`\n`;
  const ar = Buffer.from(`!<arch>\n${header('odd/', 3)}abc\n${header('even', 2)}de`, 'latin1');
  assert.deepEqual(
    read([ar]).map((m) => [m.name, m.bytes.toString()]),
    [
      ['odd', 'abc'],
      ['even', 'de'],
    ],
  );
});

test('damaged archives are refused with what and where', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(0), /the file is empty/],
    [Buffer.from('<arch>\n'), /too short for the magic/],
    [Buffer.from('!<arch!\nxxxxxxxxxxxxx'), /no !<arch> magic/],
    // 10 bytes less: 9 of data.tar.gz and its padding byte when its size is odd (it varies with the build time).
    [deb.subarray(0, deb.length - 10), /member 'data\.tar\.gz' is cut short: (9|10) of its \d+ bytes are missing/],
    [deb.subarray(0, 8 + 30), /30 stray bytes where a member header belongs/],
    [Buffer.concat([deb.subarray(0, 66), Buffer.from('X\n'), deb.subarray(68)]), /without its terminator/],
    [Buffer.concat([deb.subarray(0, 56), Buffer.from('abcdefghij'), deb.subarray(66)]), /bad size field/],
  ];
  for (const [bytes, why] of cases) assert.throws(() => read([bytes]), why);
  // The padding byte after an odd member must be a newline.
  const header = `${'odd'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${'1'.padEnd(10)}\`\n`;
  assert.throws(() => read([Buffer.from(`!<arch>\n${header}aX`, 'latin1')]), /padding byte/);
});

test('more members than allowed are refused', () => {
  const header = `${'m'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${'0'.padEnd(10)}\`\n`;
  const r = new ArReader(() => null, 3);
  assert.throws(() => r.push(Buffer.from(`!<arch>\n${header.repeat(4)}`, 'latin1')), /more than 3 members/);
});
