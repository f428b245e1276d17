// Tests for the parser of update-alternatives' administrative files.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseAlternative } from '../../src/dpkg/alternatives.js';

const FILE = '/var/lib/dpkg/alternatives/editor';

// The shape update-alternatives writes: status, master link, slave pairs, an empty line, then per
// choice its path, priority and one line per slave (empty when it has none), and an empty line.
const EDITOR = [
  'auto',
  '/usr/bin/editor',
  'editor.1.gz',
  '/usr/share/man/man1/editor.1.gz',
  'editor.de.1.gz',
  '/usr/share/man/de/man1/editor.1.gz',
  '',
  '/bin/ed',
  '-100',
  '/usr/share/man/man1/ed.1.gz',
  '',
  '/usr/bin/vim.basic',
  '30',
  '/usr/share/man/man1/vim.1.gz',
  '/usr/share/man/de/man1/vim.1.gz',
  '',
  '',
].join('\n');

void test('master and slave links point into the altdir; the altdir links to every choice', () => {
  const { group, warnings } = parseAlternative(EDITOR, 'editor', FILE, '/etc/alternatives');
  assert.deepEqual(warnings, []);
  assert.deepEqual(Object.fromEntries(group.links), {
    '/usr/bin/editor': ['/etc/alternatives/editor'],
    '/usr/share/man/man1/editor.1.gz': ['/etc/alternatives/editor.1.gz'],
    '/usr/share/man/de/man1/editor.1.gz': ['/etc/alternatives/editor.de.1.gz'],
    '/etc/alternatives/editor': ['/bin/ed', '/usr/bin/vim.basic'],
    '/etc/alternatives/editor.1.gz': ['/usr/share/man/man1/ed.1.gz', '/usr/share/man/man1/vim.1.gz'],
    '/etc/alternatives/editor.de.1.gz': ['/usr/share/man/de/man1/vim.1.gz'],
  });
});

void test('a file cut short keeps what was read and says so', () => {
  const { group, warnings } = parseAlternative('auto\n/usr/bin/pager\npager.1.gz\n', 'pager', FILE, '/etc/alternatives');
  assert.deepEqual([...group.links.keys()], ['/usr/bin/pager']);
  assert.equal(warnings.length, 1);
  const empty = parseAlternative('', 'x', FILE, '/etc/alternatives');
  assert.equal(empty.group.links.size, 0);
  assert.match(empty.warnings[0]?.message ?? '', /master link/);
});
