// Tests for the deb822 reader: fields, continuations, line numbers, and every malformed paragraph dropped whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deb822Parser, LineSplitter, parseDeb822, type Deb822Field, type Deb822Paragraph, type Deb822Problem } from '../../src/trust/deb822.js';

function fields(p: Deb822Paragraph | undefined): Record<string, string> {
  return Object.fromEntries([...(p?.fields ?? new Map<string, Deb822Field>())].map(([k, f]) => [k, [f.value, ...f.more].join('|')]));
}

test('paragraphs: fields by lowercase name, continuation lines, blank-line separators, line numbers', () => {
  const { paragraphs, problems } = parseDeb822('Package: a\nDescription: short\n long line\n .\n\n\nPackage: b\nVersion:1.0\n');
  assert.deepEqual(problems, []);
  assert.equal(paragraphs.length, 2);
  assert.deepEqual(fields(paragraphs[0]), { package: 'a', description: 'short|long line|.' });
  assert.deepEqual(fields(paragraphs[1]), { package: 'b', version: '1.0' });
  assert.equal(paragraphs[1]?.line, 7);
  assert.equal(paragraphs[1]?.fields.get('version')?.line, 8);
});

test('hostile paragraphs are dropped whole with a problem naming the line; the next paragraph still counts', () => {
  const cases: [string, RegExp][] = [
    ['Package: a\nno colon here\n', /line.*expected 'Field: value', found 'no colon here'/],
    ['Package: a\nPackage: b\n', /field 'Package' appears twice/],
    [' starts with a space\n', /continuation line .* before any field/],
    ['Package: a\n#comment: x\n', /expected 'Field: value'/],
    ['Package: a\n: empty name\n', /expected 'Field: value'/],
    ['Package: a\nBad Name: x\n', /expected 'Field: value'/],
    [`Package: a\nLong: ${'x'.repeat(2000)}\n`, /a line of \d+ characters \(at most 1000\)/],
  ];
  for (const [bad, why] of cases) {
    const { paragraphs, problems } = parseDeb822(`${bad}\nPackage: good\n`, { maxLine: 1000 });
    assert.equal(problems.length, 1, bad);
    assert.match(`line ${problems[0]?.line}: ${problems[0]?.message}`, why);
    assert.deepEqual(paragraphs.map(fields), [{ package: 'good' }], bad);
  }
  const { problems } = parseDeb822('Package: a\nx\n');
  assert.equal(problems[0]?.line, 2);
});

test('comments are allowed only where asked for (apt .sources files), and a field may be limited in lines', () => {
  assert.deepEqual(parseDeb822('# a comment\nTypes: deb\n', { comments: true }).problems, []);
  assert.equal(parseDeb822('# a comment\nTypes: deb\n').problems.length, 1);
  const many = `SHA256:\n${' x\n'.repeat(5)}`;
  assert.match(parseDeb822(many, { maxMore: 4 }).problems[0]?.message ?? '', /more than 4 lines/);
});

test('continuation lines of fields not kept are checked but not stored', () => {
  const { paragraphs } = parseDeb822('Description: d\n more\nSHA256:\n a\n', { keep: (n) => n === 'sha256' });
  assert.deepEqual(paragraphs[0]?.fields.get('description')?.more, []);
  assert.deepEqual(paragraphs[0]?.fields.get('sha256')?.more, ['a']);
});

test('LineSplitter: lines split across chunks, CR kept, the last line without newline, an endless line cut and skipped', () => {
  const seen: [string, number][] = [];
  const s = new LineSplitter((t, n) => seen.push([t, n]), 8);
  for (const c of ['ab', 'c\nde', 'f\n\nlast']) s.push(c);
  s.end();
  assert.deepEqual(seen, [
    ['abc', 1],
    ['def', 2],
    ['', 3],
    ['last', 4],
  ]);
  const long: [string, number][] = [];
  const l = new LineSplitter((t, n) => long.push([t.length > 8 ? `long:${t.length}` : t, n]), 8);
  for (const c of ['ok\n0123456789', 'abcdef', 'ghij\nafter\n']) l.push(c);
  l.end();
  assert.deepEqual(long, [
    ['ok', 1],
    ['long:10', 2],
    ['after', 3],
  ]);
});

test('a parser fed the too-long line rejects its paragraph, then reads on', () => {
  const paragraphs: Deb822Paragraph[] = [];
  const problems: Deb822Problem[] = [];
  const p = new Deb822Parser({ maxLine: 8 }, (x) => paragraphs.push(x), (x) => problems.push(x));
  const s = new LineSplitter((t, n) => p.line(t, n), 8);
  s.push(`A: 1\nB: ${'z'.repeat(50)}`);
  s.push('zzz\n\nC: 3\n');
  s.end();
  p.end();
  assert.equal(problems.length, 1);
  assert.deepEqual(paragraphs.map(fields), [{ c: '3' }]);
});
