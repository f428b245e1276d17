// The TOML key locator: which line defines a key path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { locateKeys } from '../../src/config/locate.js';

const DOC = [
  '# comment with key = 1', // 1
  'top = "a # not a comment"', // 2
  'dotted.inner.leaf = 1 # trailing', // 3
  '', // 4
  '[table]', // 5
  'multi = """', // 6
  'fake = 2', // 7
  '[fake]', // 8
  '"""', // 9
  "lit = '''", // 10
  "x = 1'''", // 11
  'arr = [', // 12
  '  "[not.a.table]", # c', // 13
  '  { a = 1 },', // 14
  ']', // 15
  'headers = { A = "x", "B.c" = { d = 1 } }', // 16
  '  spaced . key  =  true', // 17
  '', // 18
  '[ table . sub ]', // 19
  'k = 1', // 20
  '[[jobs]]', // 21
  'name = "a"', // 22
  '[[jobs]]', // 23
  'name = "b"', // 24
  "['quoted key']", // 25
  'v = 1', // 26
  'inline = {', // 27
  '  late = 1,', // 28
  '}', // 29
  '',
].join('\n');

test('the document is valid TOML (so the locator sees what smol-toml accepted)', () => {
  assert.doesNotThrow(() => parse(DOC));
});

test('keys, tables, dotted keys and inline tables map to their lines', () => {
  const at = locateKeys(DOC);
  const cases: [string[], number | undefined][] = [
    [['top'], 2],
    [['dotted'], 3],
    [['dotted', 'inner', 'leaf'], 3],
    [['table'], 5],
    [['table', 'multi'], 6],
    [['table', 'lit'], 10],
    [['table', 'arr'], 12],
    [['table', 'headers'], 16],
    [['table', 'headers', 'A'], 16],
    [['table', 'headers', 'B.c', 'd'], 16],
    [['table', 'spaced', 'key'], 17],
    [['table', 'sub'], 19],
    [['table', 'sub', 'k'], 20],
    [['jobs'], 21],
    [['jobs', 'name'], 22],
    [['quoted key', 'v'], 26],
    [['quoted key', 'inline', 'late'], 28],
    // Text inside strings and arrays is not a key.
    [['fake'], undefined],
    [['table', 'fake'], 5],
    [['not'], undefined],
    // Unknown paths fall back to the nearest ancestor that was seen.
    [['table', 'sub', 'nope'], 19],
    [['nowhere'], undefined],
  ];
  for (const [path, line] of cases) assert.equal(at(path), line, path.join('.'));
});

test('CRLF line endings and a first line that is a key', () => {
  const at = locateKeys('a = 1\r\n[b]\r\nc = "x"\r\n');
  assert.equal(at(['a']), 1);
  assert.equal(at(['b', 'c']), 3);
});
