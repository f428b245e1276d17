// Tests for the diversions parser: triples, local diversions, and damaged files.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseDiversions } from '../../src/dpkg/diversions.js';

const FILE = '/var/lib/dpkg/diversions';

void test('triples of lines, : is a local diversion', () => {
  const text = '/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n/bin/sh\n/bin/sh.distrib\n:\n';
  const { diversions, warnings } = parseDiversions(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(diversions, [
    { from: '/usr/bin/pg_config', to: '/usr/bin/pg_config.libpq-dev', by: 'postgresql-common' },
    { from: '/bin/sh', to: '/bin/sh.distrib', by: null },
  ]);
});

void test('empty file, CRLF, non-UTF-8 bytes, no final newline', () => {
  assert.deepEqual(parseDiversions('', FILE), { diversions: [], warnings: [] });
  const { diversions, warnings } = parseDiversions('/a\xff\r\n/b\xff\r\npkg', FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(diversions, [{ from: '/a\xff', to: '/b\xff', by: 'pkg' }]);
});

void test('relative paths and a missing package are skipped with the offending line', () => {
  const text = 'rel/a\n/b\npkg\n/c\nrel/d\npkg\n/e\n/f\n\n/g\n/h\nok\n';
  const { diversions, warnings } = parseDiversions(text, FILE);
  assert.deepEqual(diversions, [{ from: '/g', to: '/h', by: 'ok' }]);
  assert.deepEqual(warnings.map((w) => [w.file, w.line]), [
    [FILE, 1],
    [FILE, 5],
    [FILE, 9],
  ]);
  assert.match(warnings[0]?.message ?? '', /original path/);
  assert.match(warnings[1]?.message ?? '', /diverted-to path/);
});

void test('an incomplete trailing triple is warned about with its first line', () => {
  const { diversions, warnings } = parseDiversions('/a\n/b\npkg\n/c\n/d\n', FILE);
  assert.deepEqual(diversions, [{ from: '/a', to: '/b', by: 'pkg' }]);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.line, 4);
  assert.match(warnings[0]?.message ?? '', /expected 3 lines.*found 2/);
});
