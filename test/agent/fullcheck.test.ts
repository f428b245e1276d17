// The full check's command line: nice and ionice in production, left out only by the documented
// test-only switch PKGWATCH_FULL_CHECK_NICE=0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { FULL_CHECK_NICE_ENV, fullCheckCommand } from '../../src/agent/fullcheck.js';

const NICE = existsSync('/usr/bin/nice') ? ['/usr/bin/nice', '-n', '19'] : [];
const IONICE = existsSync('/usr/bin/ionice') ? ['/usr/bin/ionice', '-c', '3', '-t'] : [];

test('the full check runs under nice -n 19 and ionice -c 3 unless PKGWATCH_FULL_CHECK_NICE=0', () => {
  assert.ok(NICE.length > 0 && IONICE.length > 0, 'nice and ionice are in every Debian base system');
  const plain = fullCheckCommand('/srv/root', 20_000_000, { [FULL_CHECK_NICE_ENV]: '0' });
  assert.equal(plain[0], process.execPath);
  assert.deepEqual(plain.slice(2), ['check', '--format', 'json', '--root', '/srv/root', '--jobs', '1', '--max-mb-per-s', '20']);
  for (const env of [{}, { [FULL_CHECK_NICE_ENV]: '1' }, { [FULL_CHECK_NICE_ENV]: '' }, { [FULL_CHECK_NICE_ENV]: 'no' }]) {
    assert.deepEqual(fullCheckCommand('/srv/root', 20_000_000, env), [...NICE, ...IONICE, ...plain], JSON.stringify(env));
  }
});
