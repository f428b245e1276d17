// Tests for combining sources of signed records: the first record wins, else the reason that says most.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstRecord, type RecordSource, type TrustLookup } from '../../src/trust/record.js';

const KEY = { name: 'app', version: '1', arch: 'amd64' };
const miss = (reason: Extract<TrustLookup, { found: false }>['reason']): RecordSource => ({
  lookup: () => Promise.resolve({ found: false, reason, detail: reason, source: null }),
});
const hit: RecordSource = {
  lookup: () =>
    Promise.resolve({
      found: true,
      source: 'store',
      record: { key: KEY, debSha256: 'f'.repeat(64), debSize: 1, md5sums: null, conffiles: [], release: 'r', signer: 'F'.repeat(40) },
    }),
};

test('the first source with a record wins; sources after it are not asked', async () => {
  let asked = 0;
  const counting: RecordSource = { lookup: () => (asked++, miss('local-install').lookup(KEY)) };
  const r = await firstRecord([miss('deb-not-available'), hit, counting]).lookup(KEY);
  assert.ok(r.found);
  assert.equal(r.source, 'store');
  assert.equal(asked, 0);
});

test('without a record, the reason that says most about the system is kept', async () => {
  const r = await firstRecord([miss('deb-not-available'), miss('bad-signature'), miss('local-install')]).lookup(KEY);
  assert.ok(!r.found);
  assert.equal(r.reason, 'bad-signature');
  const none = await firstRecord([]).lookup(KEY);
  assert.ok(!none.found && none.reason === 'no-index');
});

test('a source with nothing to say (null, the trust store without a record) leaves the answer to the next', async () => {
  const none: RecordSource = { lookup: () => Promise.resolve(null) };
  assert.equal((await firstRecord([none, hit]).lookup(KEY)).found, true);
  const r = await firstRecord([none, miss('not-in-index')]).lookup(KEY);
  assert.equal(r.found ? null : r.reason, 'not-in-index');
});
