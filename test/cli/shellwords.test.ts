// The commands pkgwatch prints for operators to paste: a real sh must read back exactly the words given.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { shellCommand, shellWord } from '../../src/cli/shellwords.js';

test('plain words stay as they are', () => {
  assert.equal(shellCommand(['pkgwatch', 'check', '--root', '/srv/roots/web-1', 'libc6:amd64']), 'pkgwatch check --root /srv/roots/web-1 libc6:amd64');
});

test('sh reads back every word exactly, whatever it holds', () => {
  const words = ['/tmp/my config.toml', "it's", '$(touch /tmp/pwned)', '`id`', 'a;b|c&d', '*', '~root', '', 'line\nbreak', '"quoted"', 'back\\slash', '-n'];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${words.map(shellWord).join(' ')}`], { encoding: 'utf8' });
  assert.deepEqual(out.split('\0').slice(0, -1), words);
});
