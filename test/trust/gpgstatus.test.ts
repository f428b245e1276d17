// Tests for judging gpgv's status lines: what counts as a good signature and what fails a file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeStatus } from '../../src/trust/gpgstatus.js';

const A = '4CB50190207B4758A3F73A796ED0E7B82643E131';
const A_PRIMARY = 'B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8';
const B = '4D64FEC119C2029067D6E791F8D2585B8783D481';

/** Status lines as gpgv 2.2.40 printed them for Debian's bookworm InRelease on this machine. */
const GOOD_A = [
  '[GNUPG:] NEWSIG',
  `[GNUPG:] KEY_CONSIDERED ${A_PRIMARY} 0`,
  '[GNUPG:] GOODSIG 6ED0E7B82643E131 Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>',
  `[GNUPG:] VALIDSIG ${A} 2026-07-11 1783765031 0 4 0 1 8 01 ${A_PRIMARY}`,
];
const MISSING_B = ['[GNUPG:] NEWSIG', `[GNUPG:] ERRSIG F8D2585B8783D481 22 8 01 1783765141 9 ${B}`, '[GNUPG:] NO_PUBKEY F8D2585B8783D481'];
const GOOD_B = ['[GNUPG:] NEWSIG', '[GNUPG:] GOODSIG F8D2585B8783D481 Debian Stable Release Key', `[GNUPG:] VALIDSIG ${B} 2026-07-11 1783765141 0 4 0 22 8 01 ${B}`];

const judge = (lines: readonly string[]): ReturnType<typeof judgeStatus> => judgeStatus(['[GNUPG:] PLAINTEXT 74 0 ', ...lines, ''].join('\n'));

test('a VALIDSIG is good: the primary key is the signer, the signing subkey is kept too', () => {
  const v = judge(GOOD_A);
  assert.equal(v.ok, true);
  assert.deepEqual(v.signers, [A_PRIMARY]);
  assert.deepEqual(v.keys, [A]);
});

test('one good signature among signatures by keys not in the keyring verifies, as in apt', () => {
  const v = judge([...GOOD_A, ...MISSING_B]);
  assert.equal(v.ok, true);
  assert.deepEqual(v.signers, [A_PRIMARY]);
  assert.match(v.problems.join('\n'), /F8D2585B8783D481, which is not in the keyring/);
});

test('no good signature: only unknown keys, or an empty status', () => {
  assert.equal(judge(MISSING_B).ok, false);
  const empty = judge([]);
  assert.equal(empty.ok, false);
  assert.deepEqual(empty.problems, ['gpgv found no signature']);
});

test('a BADSIG anywhere fails the file even beside a good signature', () => {
  const v = judge([...GOOD_A, '[GNUPG:] NEWSIG', '[GNUPG:] BADSIG F8D2585B8783D481 Debian Stable Release Key']);
  assert.equal(v.ok, false);
  assert.match(v.problems.join('\n'), /BAD signature/);
});

test('expired or revoked signatures and keys, and ERRSIG other than a missing key, are never good', () => {
  for (const bad of ['EXPSIG F8D2585B8783D481 x', 'EXPKEYSIG F8D2585B8783D481 x', 'REVKEYSIG F8D2585B8783D481 x', `ERRSIG F8D2585B8783D481 22 8 01 1783765141 4 ${B}`]) {
    const v = judge(['[GNUPG:] NEWSIG', `[GNUPG:] ${bad}`, `[GNUPG:] VALIDSIG ${B} 2026-07-11 1783765141 0 4 0 22 8 01 ${B}`]);
    assert.equal(v.ok, false, bad);
    assert.deepEqual(v.signers, []);
  }
  // The same bad status in another signature's group does not spoil a good one.
  assert.equal(judge([...GOOD_B, '[GNUPG:] NEWSIG', '[GNUPG:] EXPKEYSIG 6ED0E7B82643E131 old key']).ok, true);
});

test('a signature over a weak digest (SHA1, MD5, RIPEMD160) is not good', () => {
  for (const algo of ['1', '2', '3']) {
    const v = judge(['[GNUPG:] NEWSIG', `[GNUPG:] VALIDSIG ${B} 2026-07-11 1783765141 0 4 0 22 ${algo} 01 ${B}`]);
    assert.equal(v.ok, false, algo);
    assert.match(v.problems.join('\n'), /weak digest/);
  }
});

test('lines that are not status lines, and a VALIDSIG without a fingerprint, are not trusted', () => {
  assert.equal(judgeStatus(`gpgv: Good signature\nVALIDSIG ${B} 1 2 3 4 5 6 8 01 ${B}\n`).ok, false);
  assert.equal(judge(['[GNUPG:] NEWSIG', '[GNUPG:] VALIDSIG nothex 2026-07-11 1 0 4 0 22 8 01 nothex']).ok, false);
});
