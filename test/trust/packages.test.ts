// Tests for the Packages index reader: wanted stanzas kept, every name seen, malformed stanzas warned about with their line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PackagesReader } from '../../src/trust/packages.js';

const H = 'c'.repeat(64);
const stanza = (name: string, version: string, extra = ''): string =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: x\nDescription: d\n long\n .\nFilename: pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb\nSize: 1234\nSHA256: ${H}\nMD5sum: ${'d'.repeat(32)}\n${extra}`;

function read(text: string, wanted: readonly string[], chunk = text.length): PackagesReader {
  const r = new PackagesReader((n) => wanted.includes(n));
  for (let i = 0; i < text.length; i += chunk) r.push(text.slice(i, i + chunk));
  r.end();
  return r;
}

test('only wanted packages are kept, every version of them; every name is remembered', () => {
  const text = [stanza('nginx', '1.22.1-9'), stanza('nginx', '1.22.1-9+deb12u1'), stanza('curl', '7.88.1-10')].join('\n');
  for (const chunk of [text.length, 13, 1]) {
    const r = read(text, ['nginx'], chunk);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.entries.map((e) => [e.package, e.version, e.architecture, e.size, e.sha256, e.line]),
      [
        ['nginx', '1.22.1-9', 'amd64', 1234, H, 1],
        ['nginx', '1.22.1-9+deb12u1', 'amd64', 1234, H, 13],
      ],
    );
    assert.deepEqual([...r.names].sort(), ['curl', 'nginx']);
  }
});

test('a wanted stanza that cannot vouch for a .deb is a problem with its line, and is not used', () => {
  const cases: [string, RegExp][] = [
    [stanza('app', '1').replace(/^SHA256: .*\n/m, ''), /no SHA256/],
    [stanza('app', '1').replace(H, H.slice(2)), /SHA256 'c+…'/],
    [stanza('app', '1').replace('Size: 1234', 'Size: -1'), /Size '-1'/],
    [stanza('app', '1').replace(/^Filename: .*\n/m, ''), /no Filename/],
    [stanza('app', '1 2'), /Version '1 2'/],
    [stanza('app', '1').replace('Architecture: amd64', 'Architecture: AMD64!'), /Architecture/],
  ];
  for (const [bad, why] of cases) {
    const r = read(`${stanza('lib', '1')}\n${bad}`, ['app', 'lib']);
    assert.deepEqual(r.entries.map((e) => e.package), ['lib']);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]?.line, 13);
    assert.match(r.problems[0]?.message ?? '', why);
  }
});

test('malformed stanzas: a broken line drops the stanza, a stanza without Package or with a bad name is a problem', () => {
  const r = read([stanza('a', '1'), 'Package: b\nthis line is broken\n', 'Version: 1\n', 'Package: ../evil\n', stanza('c', '1')].join('\n'), ['a', 'b', 'c']);
  assert.deepEqual(r.entries.map((e) => e.package), ['a', 'c']);
  assert.deepEqual(r.problems.map((p) => p.line), [14, 16, 18]);
  assert.match(r.problems[1]?.message ?? '', /without Package/);
  assert.match(r.problems[2]?.message ?? '', /not a package name/);
});

test('an unwanted malformed stanza costs nothing but its problem; problems are capped', () => {
  const junk = 'garbage\n\n'.repeat(500);
  const r = read(`${junk}${stanza('a', '1')}`, ['a']);
  assert.equal(r.entries.length, 1);
  assert.equal(r.problems.length, 100);
});
