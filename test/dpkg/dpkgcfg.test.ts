// Tests for dpkg.cfg path filters: both syntaxes, other options ignored, last match wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { isPathExcluded, parseDpkgCfg } from '../../src/dpkg/dpkgcfg.js';

const FILE = '/etc/dpkg/dpkg.cfg.d/excludes';

void test('both syntaxes, leading --, comments, quotes and other options', () => {
  const text = [
    '# Drop docs, like slim images do',
    'path-exclude=/usr/share/doc/*',
    '  path-include /usr/share/doc/*/copyright  ',
    '--path-exclude=/usr/share/man/*',
    'path-exclude = "/usr/share/locale/*"',
    'force-unsafe-io',
    'no-debsig',
    'log /var/log/dpkg.log',
    '',
  ].join('\n');
  const { filters, warnings } = parseDpkgCfg(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(filters, [
    { kind: 'exclude', glob: '/usr/share/doc/*', file: FILE, line: 2 },
    { kind: 'include', glob: '/usr/share/doc/*/copyright', file: FILE, line: 3 },
    { kind: 'exclude', glob: '/usr/share/man/*', file: FILE, line: 4 },
    { kind: 'exclude', glob: '/usr/share/locale/*', file: FILE, line: 5 },
  ]);
});

void test('a rule without a glob is warned about', () => {
  const { filters, warnings } = parseDpkgCfg('path-exclude\npath-include=\n', FILE);
  assert.deepEqual(filters, []);
  assert.deepEqual(warnings.map((w) => [w.file, w.line]), [
    [FILE, 1],
    [FILE, 2],
  ]);
});

void test('isPathExcluded: the last matching rule wins; no match is not excluded', () => {
  const { filters } = parseDpkgCfg(
    'path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/doc/secret/*\n',
    FILE,
  );
  assert.equal(isPathExcluded('/usr/share/doc/foo/README', filters), true);
  assert.equal(isPathExcluded('/usr/share/doc/foo/copyright', filters), false);
  assert.equal(isPathExcluded('/usr/share/doc/secret/copyright', filters), true);
  assert.equal(isPathExcluded('/usr/bin/foo', filters), false);
  assert.equal(isPathExcluded('/usr/share/doc', filters), false);
  assert.equal(isPathExcluded('/usr/bin/foo', []), false);
});
