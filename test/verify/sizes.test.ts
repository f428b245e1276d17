// verify() with known sizes: a big file whose size is not the one it had when it last verified is
// changed without being read (a sparse terabyte costs nothing); small ones are hashed as ever; the
// sizes of files that verified come back.
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { test } from 'node:test';
import { verify, type KnownSize } from '../../src/verify/run.js';
import { findingJson } from '../../src/verify/report.js';
import { fixture, md5 } from '../helpers/fixture.js';

const MAIN = 'print("app")\n';
const UTIL = 'def util(): pass\n';
const DATA = 'x'.repeat(4096);

test('a big file of another size than the recorded one is changed at once, unread; sizes of verified files come back', async (t) => {
  const fx = fixture(t);
  fx.addPackage({
    name: 'app',
    files: [
      { path: '/usr/lib/app/main.py', content: MAIN },
      { path: '/usr/lib/app/util.py', content: UTIL },
      { path: '/usr/share/app/data.bin', content: DATA },
      { path: '/usr/share/app/new.bin', content: 'new in 2.0\n' },
    ],
  });
  // data.bin becomes a 64 GiB sparse file; util.py keeps its size with other bytes; main.py grows a
  // little (small: hashed, so its finding says what it holds now).
  truncateSync(fx.path('/usr/share/app/data.bin'), 64 * 2 ** 30);
  fx.write('/usr/lib/app/util.py', UTIL.toUpperCase());
  fx.write('/usr/lib/app/main.py', `${MAIN}#\n`);
  const sizes = new Map<string, KnownSize>([
    ['/usr/lib/app/main.py', { md5: md5(MAIN), size: MAIN.length }],
    ['/usr/lib/app/util.py', { md5: md5(UTIL), size: UTIL.length }],
    ['/usr/share/app/data.bin', { md5: md5(DATA), size: DATA.length }],
    // A record for another md5 (the file of an older version) does not count.
    ['/usr/share/app/new.bin', { md5: md5('old\n'), size: 4 }],
  ]);
  const report = await verify({ root: fx.root, packages: ['app'], withDeps: false, conffiles: true, jobs: 1, sizes });
  assert.deepEqual(
    report.findings.map(findingJson).map((f) => [f.path, f.status, f.actual]),
    [
      ['/usr/lib/app/main.py', 'changed', md5(`${MAIN}#\n`)],
      ['/usr/lib/app/util.py', 'changed', md5(UTIL.toUpperCase())],
      ['/usr/share/app/data.bin', 'changed', null],
    ],
  );
  assert.match(report.findings[2]?.detail ?? '', /size is 68719476736 bytes, not the 4096/);
  // Only the small files were read: the sparse file was not.
  assert.equal(report.summary.bytes, MAIN.length + 2 + UTIL.length + 'new in 2.0\n'.length);
  assert.deepEqual([...(report.verifiedSizes ?? [])], [['/usr/share/app/new.bin', { md5: md5('new in 2.0\n'), size: 'new in 2.0\n'.length }]]);
});

test('without sizes nothing changes: every file is hashed, and no sizes come back', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/lib/app/main.py', content: MAIN }] });
  const report = await verify({ root: fx.root, packages: ['app'], withDeps: false, conffiles: true, jobs: 1 });
  assert.deepEqual(report.findings, []);
  assert.equal(report.summary.bytes, MAIN.length);
  assert.equal(report.verifiedSizes, null);
});
