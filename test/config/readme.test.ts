// The README's table of config keys lists every key of the schema, in order, with its real default.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tomlLiteral } from '../../src/config/render.js';
import { CONFIG_KEYS } from '../../src/config/schema.js';
import { REPO_ROOT } from '../helpers/cli.js';

test('README: the key table has every key, in schema order, with its default', () => {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const start = readme.indexOf('| key | default | meaning |');
  assert.ok(start >= 0, 'the key table is missing');
  const rows = readme
    .slice(start)
    .split('\n')
    .slice(2)
    .filter((_, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('|')));
  const table = rows.map((r) => {
    const m = /^\| `([^`]+)` \| `(.*?)` \|/.exec(r);
    assert.ok(m !== null, `a row the test cannot read: ${r}`);
    return [m[1], m[2]];
  });
  assert.deepEqual(
    table,
    CONFIG_KEYS.map((k) => [k.key, tomlLiteral(k.default)]),
  );
});
