// Tests for the .list parser: normalisation of owned paths and warnings for paths that escape the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseList } from '../../src/dpkg/list.js';

const FILE = '/var/lib/dpkg/info/foo.list';

void test('normal list: /. is /, trailing and repeated slashes dropped, CRLF and empty lines tolerated', () => {
  const text = '/.\n/usr\n/usr/bin/\n/usr//bin///foo\r\n\n/usr/share/\xff\xfename\n/etc/.hidden\n/usr/bin/foo\n';
  const { paths, warnings } = parseList(text, FILE, 'foo');
  assert.deepEqual(warnings, []);
  assert.deepEqual(paths, ['/', '/usr', '/usr/bin', '/usr/bin/foo', '/usr/share/\xff\xfename', '/etc/.hidden']);
});

void test('relative paths, .. components and NUL bytes are skipped with warnings by line', () => {
  const text = '/.\nusr/bin/rel\n/usr/../etc/shadow\n/usr/bin/a\0b\n/usr/bin/ok\n..\n';
  const { paths, warnings } = parseList(text, FILE, 'foo');
  assert.deepEqual(paths, ['/', '/usr/bin/ok']);
  assert.deepEqual(
    warnings.map((w) => [w.package, w.file, w.line]),
    [
      ['foo', FILE, 2],
      ['foo', FILE, 3],
      ['foo', FILE, 4],
      ['foo', FILE, 6],
    ],
  );
  assert.match(warnings[0]?.message ?? '', /absolute path.*found 'usr\/bin\/rel'/);
  assert.match(warnings[1]?.message ?? '', /'\.\.'/);
  assert.match(warnings[2]?.message ?? '', /NUL.*found '\/usr\/bin\/a\\x00b'/);
});

void test('a file without a final newline still gives its last line', () => {
  assert.deepEqual(parseList('/a\n/b', FILE, 'foo').paths, ['/a', '/b']);
  assert.deepEqual(parseList('/a\r\n/b\r', FILE, 'foo').paths, ['/a', '/b']);
  assert.deepEqual(parseList('', FILE, 'foo'), { paths: [], warnings: [] });
});
