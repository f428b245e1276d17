// Tests for the md5sums parser: normal and odd-but-valid lines, and a warning for every kind of bad line.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseMd5sums } from '../../src/dpkg/md5sums.js';

const FILE = '/var/lib/dpkg/info/foo:amd64.md5sums';
const PKG = 'foo:amd64';
const H1 = '0123456789abcdef0123456789abcdef';
const H2 = 'fedcba9876543210fedcba9876543210';

void test('normal lines, ./ and / prefixes, binary marker, uppercase hex, CRLF, empty lines, non-UTF-8 names', () => {
  const text = [
    `${H1}  usr/bin/foo`,
    `${H2}  ./usr/lib/x86_64-linux-gnu/libfoo.so.1`,
    '',
    `${H1} */usr/share/doc/foo/copyright`,
    `${H2.toUpperCase()}  usr//share///foo/UPPER`,
    `${H1}  usr/share/foo/crlf\r`,
    `${H2}  usr/share/foo/\xff\xfe latin1 name`,
    `${H1}  usr/share/foo/.hidden`,
    `${H1}  usr/share/foo/trailing space `,
    '',
  ].join('\n');
  const { sums, warnings } = parseMd5sums(text, FILE, PKG);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    [...sums],
    [
      ['/usr/bin/foo', H1],
      ['/usr/lib/x86_64-linux-gnu/libfoo.so.1', H2],
      ['/usr/share/doc/foo/copyright', H1],
      ['/usr/share/foo/UPPER', H2],
      ['/usr/share/foo/crlf', H1],
      ['/usr/share/foo/\xff\xfe latin1 name', H2],
      ['/usr/share/foo/.hidden', H1],
      ['/usr/share/foo/trailing space ', H1],
    ],
  );
});

void test('every kind of bad line is skipped with a warning naming package, file and line', () => {
  const lines = [
    `${H1}  usr/bin/good`, // 1
    `${H1.slice(0, 31)}  usr/bin/short`, // 2 wrong length
    `${H1}0  usr/bin/long`, // 3 wrong length
    `${H1.slice(0, 31)}g  usr/bin/nonhex`, // 4 non-hex
    `${H1} usr/bin/oneSpace`, // 5 missing separator
    `${H1}`, // 6 no path
    `${H1}  `, // 7 empty path
    `${H1}  usr/../etc/shadow`, // 8 escapes the root
    `${H1}  ../../etc/shadow`, // 9 escapes the root
    `${H1}  usr/bin/nul\0byte`, // 10 NUL
    `${H2}  ./usr/bin/good`, // 11 duplicate (normalised)
    `${H1}\tusr/bin/tab`, // 12 tab instead of spaces
    `  usr/bin/nohash`, // 13 no hash at all
    `${H1}  ./`, // 14 names no file
  ];
  const { sums, warnings } = parseMd5sums(lines.join('\n'), FILE, PKG);
  assert.deepEqual([...sums], [['/usr/bin/good', H1]]);
  assert.deepEqual(
    warnings.map((w) => w.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  );
  for (const w of warnings) {
    assert.equal(w.package, PKG);
    assert.equal(w.file, FILE);
  }
  const msg = (line: number): string => warnings.find((w) => w.line === line)?.message ?? '';
  assert.match(msg(2), /expected '<32 hex digits> {2}<path>', found a hash of 31 hex digits/);
  assert.match(msg(3), /found a hash of 33 hex digits/);
  assert.match(msg(4), /non-hex/);
  assert.match(msg(5), /instead of two spaces/);
  assert.match(msg(6), /no path/);
  assert.match(msg(7), /no path/);
  assert.match(msg(8), /'\.\.' component/);
  assert.match(msg(9), /'\.\.' component/);
  assert.match(msg(10), /NUL/);
  assert.match(msg(11), /duplicate entry for \/usr\/bin\/good \(first at line 1\); keeping the first/);
  assert.match(msg(14), /names no file/);
});

void test('long garbage is shortened and escaped in the warning', () => {
  const { warnings } = parseMd5sums(`${'\xff'.repeat(10_000)}  x`, FILE, PKG);
  assert.equal(warnings.length, 1);
  const m = warnings[0]?.message ?? '';
  assert.ok(m.length < 200, m);
  assert.match(m, /\\xff\\xff/);
});

void test('empty and blank-line-only files give no sums and no warnings', () => {
  assert.deepEqual(parseMd5sums('', FILE, PKG), { sums: new Map(), warnings: [] });
  assert.deepEqual(parseMd5sums('\n\n\r\n', FILE, PKG), { sums: new Map(), warnings: [] });
});
