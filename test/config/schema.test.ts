// The key table itself: consistent, complete, and its defaults and examples valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { CONFIG_KEYS, CONFIG_TABLES } from '../../src/config/schema.js';
import { suggestKey } from '../../src/config/validate.js';
import { formatDuration, parseDuration } from '../../src/config/values.js';

test('keys and fields are unique, and every key sits in a listed table', () => {
  const keys = new Set(CONFIG_KEYS.map((k) => k.key));
  const fields = new Set(CONFIG_KEYS.map((k) => k.field));
  assert.equal(keys.size, CONFIG_KEYS.length);
  assert.equal(fields.size, CONFIG_KEYS.length);
  const tables = new Set(CONFIG_TABLES.map((t) => t.key));
  for (const k of CONFIG_KEYS) {
    const parent = k.path.slice(0, -1).join('.');
    if (parent !== '') assert.ok(tables.has(parent), `${k.key}: table [${parent}] is not in CONFIG_TABLES`);
    assert.ok(!tables.has(k.key), `${k.key} is both a key and a table`);
    assert.ok(k.doc.length > 10, `${k.key} has a doc`);
  }
});

test('top-level keys come first, then tables in CONFIG_TABLES order (config show relies on it)', () => {
  const order = CONFIG_KEYS.map((k) => k.path.slice(0, -1).join('.'));
  const firstTable = order.findIndex((t) => t !== '');
  assert.ok(order.slice(firstTable).every((t) => t !== ''));
  const tableOrder = CONFIG_TABLES.map((t) => t.key);
  const seen = [...new Set(order.slice(firstTable))];
  assert.deepEqual(seen, tableOrder.filter((t) => seen.includes(t)));
});

test('every default and every example is accepted by its key', () => {
  for (const k of CONFIG_KEYS) {
    assert.ok(k.parse(k.default).ok, `${k.key}: default`);
    const example = parse(`v = ${k.example}`, { integersAsBigInt: true })['v'];
    assert.ok(example !== undefined && k.parse(example).ok, `${k.key}: example ${k.example}`);
  }
});

test('suggestions come from the same table, or the same name in another table', () => {
  assert.deepEqual(suggestKey(['schedule', 'scopd']), ['schedule', 'scoped']);
  assert.deepEqual(suggestKey(['scope', 'package']), ['scope', 'packages']);
  assert.deepEqual(suggestKey(['alerts', 'Reminder']), ['alerts', 'reminder']);
  assert.deepEqual(suggestKey(['ignore', 'path']), ['ignore', 'paths']);
  assert.deepEqual(suggestKey(['watch', 'paths']), ['ignore', 'paths']);
  assert.equal(suggestKey(['watch', 'x']), undefined);
  assert.equal(suggestKey(['schedule', 'daily']), undefined);
});

test('parseDuration and formatDuration agree', () => {
  for (const ms of [0, 1, 999, 1000, 61_000, 3_600_000, 86_400_000, 172_800_000, 90 * 60_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms, String(ms));
  }
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('7 d'), null);
  assert.equal(parseDuration(''), null);
});
