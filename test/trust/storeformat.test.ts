// Tests for the trust store's record format: names, the round trip, and strict decoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../../src/decode.js';
import { decodeRecord, encodeRecord, recordName, STORE_FORMAT, type StoredRecord } from '../../src/trust/storeformat.js';

const KEY = { name: 'webtool', version: '1:0.9-2', arch: 'amd64' };
const REC: StoredRecord = {
  format: STORE_FORMAT,
  package: 'webtool',
  version: '1:0.9-2',
  arch: 'amd64',
  state: 'signed',
  reason: null,
  detail: null,
  recordedAt: '2026-12-06T10:00:00.000Z',
  deb: { path: '/var/cache/apt/archives/webtool.deb', sha256: 'a'.repeat(64), size: 10 },
  origin: { release: '/var/lib/apt/lists/x_InRelease', releaseSha256: 'b'.repeat(64), suite: 'stable', codename: null, date: null, signer: 'C'.repeat(40), index: 'i', stanza: 'Package: webtool\n' },
  md5sums: 'd41d8cd98f00b204e9800998ecf8427e  usr/bin/webtool\n',
  conffiles: null,
  scripts: { postinst: 'e'.repeat(64) },
  files: [{ path: '/usr/bin/w\xe9btool', type: 'file', mode: 0o4755, uid: 0, gid: 0, user: 'root', group: 'root', size: 0, sha256: 'f'.repeat(64), md5: 'd41d8cd98f00b204e9800998ecf8427e', link: '' }],
};

test('file names: epochs as %3a; names no package could have are refused', () => {
  assert.equal(recordName(KEY), 'webtool_1%3a0.9-2_amd64.json');
  assert.equal(recordName({ name: '../etc', version: '1', arch: 'amd64' }), null);
  assert.equal(recordName({ name: 'a', version: '1/2', arch: 'amd64' }), null);
  assert.equal(recordName({ name: 'a', version: '1', arch: 'amd64/x' }), null);
});

test('a record reads back as written, byte names (latin1) included', () => {
  assert.deepEqual(decodeRecord(encodeRecord(REC), KEY), REC);
});

test('decoding is strict: unknown fields, bad hashes, modes, states and a record under another name are refused', () => {
  const text = encodeRecord(REC);
  const bad = (mutate: (o: Record<string, unknown>) => void, re: RegExp): void => {
    const o = JSON.parse(text) as Record<string, unknown>;
    mutate(o);
    assert.throws(() => decodeRecord(JSON.stringify(o), KEY), (e: Error) => e instanceof ShapeError && re.test(e.message));
  };
  bad((o) => (o['extra'] = 1), /unknown field "extra"/);
  bad((o) => ((o['deb'] as Record<string, unknown>)['sha256'] = 'A'.repeat(64)), /record\.deb\.sha256: expected 64 lowercase hex/);
  bad((o) => (((o['files'] as unknown[][])[0] as unknown[])[2] = 0o10000), /files\[0\]\[2\]: expected a mode of at most 07777/);
  bad((o) => (o['state'] = 'unverified'), /record\.state/);
  bad((o) => (o['package'] = 'other'), /as its file name says/);
  bad((o) => (o['format'] = 2), /record\.format/);
  assert.throws(() => decodeRecord('{"format": 1', KEY), ShapeError);
});
