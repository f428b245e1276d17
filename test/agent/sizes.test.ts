// The agent's record of file sizes (state_dir/sizes.json): written and read back, strict about what
// it reads, kept up to date by runs and pruned to the scope.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadSizes, pruneSizes, recordSizes, saveSizes, SIZES_FILE, sizesFromJson, sizesToJson, type SizeRecords } from '../../src/agent/sizes.js';

const A = '0123456789abcdef0123456789abcdef';
const B = 'fedcba9876543210fedcba9876543210';

test('sizes are saved and loaded back the same (byte paths too); no file yet is no sizes, quietly', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-sizes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(loadSizes(dir), { sizes: new Map(), warning: null });
  const m: SizeRecords = new Map([
    ['/usr/lib/b', { md5: B, size: 0 }],
    ['/usr/lib/a\xff', { md5: A, size: 2 ** 40 }],
  ]);
  saveSizes(dir, m);
  assert.deepEqual(loadSizes(dir), { sizes: m, warning: null });
});

test('anything but a valid sizes file is rejected as a whole, with a warning naming the file', (t) => {
  const bad = [
    'not json',
    '[]',
    '{"version":2,"files":[]}',
    `{"version":1,"files":[["rel/path","${A}",1]]}`,
    `{"version":1,"files":[["/p","${A}",-1]]}`,
    `{"version":1,"files":[["/p","${A}",1.5]]}`,
    `{"version":1,"files":[["/p","${A.toUpperCase()}",1]]}`,
    `{"version":1,"files":[["/p","${A}",1,"x"]]}`,
    `{"version":1,"files":[["/p","${A}","1"]]}`,
  ];
  for (const text of bad) assert.equal(sizesFromJson(text), null, text);
  assert.deepEqual(sizesFromJson(sizesToJson(new Map([['/p', { md5: A, size: 1 }]]))), new Map([['/p', { md5: A, size: 1 }]]));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-sizes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, SIZES_FILE), '{"version": 1, "files": [ truncated');
  const r = loadSizes(dir);
  assert.deepEqual(r.sizes, new Map());
  assert.match(r.warning ?? '', /sizes\.json: not a valid sizes file; every scoped file is hashed once more/);
  // A directory in its place cannot be read: the same, with the OS error.
  rmSync(path.join(dir, SIZES_FILE));
  mkdirSync(path.join(dir, SIZES_FILE));
  assert.match(loadSizes(dir).warning ?? '', /cannot be read \(EISDIR/);
});

test('a run records the sizes of files that verified; paths out of the scope are dropped', () => {
  const m: SizeRecords = new Map([['/old', { md5: A, size: 1 }]]);
  assert.equal(recordSizes(m, new Map([['/new', { md5: B, size: 3 }]])), true);
  assert.equal(recordSizes(m, new Map([['/new', { md5: B, size: 3 }]])), false, 'nothing new');
  assert.equal(recordSizes(m, null), false);
  assert.equal(pruneSizes(m, ['/new', '/other']), true);
  assert.equal(pruneSizes(m, ['/new']), false);
  assert.deepEqual(m, new Map([['/new', { md5: B, size: 3 }]]));
});
