// Tests for apt sources: one-line and deb822 files, options, Signed-By in its forms, and bad entries reported.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseSourcesDeb822, parseSourcesList } from '../../src/trust/sources.js';

test('one-line: options, components, flat repositories, deb-src and comments skipped', () => {
  const text = [
    '# a comment',
    'deb http://deb.debian.org/debian bookworm main contrib # trailing',
    'deb-src http://deb.debian.org/debian bookworm main',
    'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://repo.example.com/apt/ stable web',
    'deb [trusted=yes] file:/srv/repo ./',
    '',
  ].join('\n');
  const { entries, problems } = parseSourcesList(text, '/etc/apt/sources.list');
  assert.deepEqual(problems, []);
  assert.deepEqual(
    entries.map((e) => [e.uri, e.suite, e.components.join(','), e.signedBy?.keyrings.join(',') ?? null, e.trusted, e.line]),
    [
      ['http://deb.debian.org/debian/', 'bookworm', 'main,contrib', null, false, 2],
      ['https://repo.example.com/apt/', 'stable', 'web', '/usr/share/keyrings/x.gpg', false, 4],
      ['file:/srv/repo/', './', '', null, true, 5],
    ],
  );
});

test('one-line: bad lines are problems with their line and are not used', () => {
  const { entries, problems } = parseSourcesList('deb\ndeb http://x bookworm\ndeb http://x ./ main\ndeb [novalue] http://x s main\nrpm http://x s main\n', 'f');
  assert.deepEqual(entries, []);
  assert.deepEqual(problems.map((p) => p.line), [1, 2, 3, 4, 5]);
  assert.match(problems[1]?.message ?? '', /needs at least one component/);
  assert.match(problems[2]?.message ?? '', /takes no components/);
});

test('deb822: URIs x Suites, Enabled: no, Types without deb, Signed-By as paths, fingerprints or an inline key', () => {
  const text = [
    '# comment',
    'Types: deb deb-src',
    'URIs: http://a.example/debian http://b.example/debian',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    'Signed-By: /usr/share/keyrings/a.gpg',
    '',
    'Types: deb',
    'URIs: http://c.example/',
    'Suites: stable',
    'Components: main',
    'Enabled: no',
    '',
    'Types: deb-src',
    'URIs: http://d.example/',
    'Suites: stable',
    'Components: main',
    '',
    'Types: deb',
    'URIs: http://e.example/',
    'Suites: stable',
    'Components: main',
    'Signed-By: 0123456789ABCDEF0123456789abcdef01234567!',
    '',
    'Types: deb',
    'URIs: http://f.example/',
    'Suites: stable',
    'Components: main',
    'Signed-By:',
    ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
    ' .',
    ' mQINBF1h',
    ' =abcd',
    ' -----END PGP PUBLIC KEY BLOCK-----',
    '',
  ].join('\n');
  const { entries, problems } = parseSourcesDeb822(text, 'x.sources');
  assert.deepEqual(problems, []);
  assert.deepEqual(
    entries.map((e) => `${e.uri} ${e.suite}`),
    ['http://a.example/debian/ bookworm', 'http://a.example/debian/ bookworm-updates', 'http://b.example/debian/ bookworm', 'http://b.example/debian/ bookworm-updates', 'http://e.example/ stable', 'http://f.example/ stable'],
  );
  assert.deepEqual(entries[0]?.signedBy, { keyrings: ['/usr/share/keyrings/a.gpg'], fingerprints: [], inline: [] });
  assert.deepEqual(entries[4]?.signedBy, { keyrings: [], fingerprints: ['0123456789ABCDEF0123456789ABCDEF01234567'], inline: [] });
  assert.deepEqual(entries[5]?.signedBy?.inline, ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF1h\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----']);
});

test('deb822: paragraphs without URIs, Suites or Types, and malformed ones, are problems', () => {
  const { entries, problems } = parseSourcesDeb822('Types: deb\nSuites: s\nComponents: main\n\nURIs: http://x/\n\nTypes: deb\nURIs: http://x/\nSuites: s\n\nTypes deb\n', 'x.sources');
  assert.deepEqual(entries, []);
  assert.deepEqual(problems.map((p) => p.line).sort((a, b) => a - b), [1, 5, 7, 11]);
});

test("this machine's sources parse without a problem", (t) => {
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => /\.(list|sources)$/.test(n)) : [];
  if (files.length === 0) {
    t.skip('no sources in /etc/apt/sources.list.d');
    return;
  }
  for (const n of files) {
    const text = readFileSync(`${dir}/${n}`, 'latin1');
    const r = n.endsWith('.sources') ? parseSourcesDeb822(text, n) : parseSourcesList(text, n);
    assert.deepEqual(r.problems, [], n);
    assert.ok(r.entries.length > 0, n);
  }
});
