// Tests for Release parsing, its dates, Valid-Until, and the shape of a clearsigned InRelease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearsignedShapeProblem, expiryProblem, parseRelease, parseReleaseDate } from '../../src/trust/release.js';

const H = 'a'.repeat(64);
const RELEASE = [
  'Origin: Debian',
  'Label: Debian',
  'Suite: oldstable',
  'Codename: bookworm',
  'Date: Sat, 05 Dec 2026 03:33:28 UTC',
  'Valid-Until: Sat, 12 Dec 2026 03:33:28 UTC',
  'Architectures: all amd64 arm64',
  'Components: main contrib',
  'MD5Sum:',
  ' 0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages',
  'SHA256:',
  ` ${H} 50060337 main/binary-amd64/Packages`,
  ` ${'b'.repeat(64)}  8790396 main/binary-amd64/Packages.xz`,
  '',
].join('\n');

test('a Release: fields, dates, and the SHA256 table by path (MD5Sum ignored)', () => {
  const r = parseRelease(RELEASE);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.release.codename, 'bookworm');
  assert.equal(r.release.date?.toISOString(), '2026-12-05T03:33:28.000Z');
  assert.equal(r.release.validUntil?.toISOString(), '2026-12-12T03:33:28.000Z');
  assert.deepEqual(r.release.components, ['main', 'contrib']);
  assert.deepEqual([...r.release.sha256.values()], [
    { path: 'main/binary-amd64/Packages', size: 50060337, sha256: H },
    { path: 'main/binary-amd64/Packages.xz', size: 8790396, sha256: 'b'.repeat(64) },
  ]);
});

test('hostile Release files are refused with the line', () => {
  const bad: [string, RegExp][] = [
    [RELEASE.replace(/^SHA256:\n(?: .*\n)+/m, ''), /no SHA256 section/],
    [RELEASE.replace(` ${H} 50060337`, ` ${H.slice(1)} 50060337`), /not 64 lowercase hex/],
    [RELEASE.replace(` ${H} 50060337`, ` ${H.toUpperCase()} 50060337`), /not 64 lowercase hex/],
    [RELEASE.replace('50060337', '5e6'), /not a size/],
    [RELEASE.replace('50060337 main/binary-amd64/Packages', '50060337 ../../etc/passwd'), /not a relative index path/],
    [RELEASE.replace('50060337 main/binary-amd64/Packages', '50060337 /etc/passwd'), /not a relative index path/],
    [RELEASE.replace('50060337 main/binary-amd64/Packages', '50060337 main/binary-amd64/Packages extra'), /expected '<sha256> <size> <path>'/],
    [`${RELEASE} ${H} 1 main/binary-amd64/Packages\n`, /listed twice/],
    [RELEASE.replace('Sat, 12 Dec 2026', 'Sat, 31 Feb 2026'), /Valid-Until: expected a date/],
    [RELEASE.replace('Codename: bookworm', 'Codename: bookworm\nCodename: trixie'), /appears twice/],
    [`${RELEASE}\nOrigin: second paragraph\n`, /expected one paragraph, found 2/],
    ['SHA256: inline\n', /entries on the lines below/],
  ];
  for (const [text, why] of bad) {
    const r = parseRelease(text);
    assert.ok(!r.ok, text);
    assert.match(r.message, why);
  }
  const dup = parseRelease(`${RELEASE} ${H} 1 main/binary-amd64/Packages\n`);
  assert.ok(!dup.ok && dup.line === 14);
});

test('dates: RFC 1123 with UTC/GMT or a numeric zone; anything else is refused', () => {
  assert.equal(parseReleaseDate('Sat, 05 Dec 2026 03:33:28 UTC')?.toISOString(), '2026-12-05T03:33:28.000Z');
  assert.equal(parseReleaseDate('5 Dec 2026 03:33:28 GMT')?.toISOString(), '2026-12-05T03:33:28.000Z');
  assert.equal(parseReleaseDate('Sat, 05 Dec 2026 04:33:28 +0100')?.toISOString(), '2026-12-05T03:33:28.000Z');
  assert.equal(parseReleaseDate('Sat, 05 Dec 2026 02:33:28 -0100')?.toISOString(), '2026-12-05T03:33:28.000Z');
  for (const bad of ['', 'yesterday', '2026-12-05T03:33:28Z', 'Sat, 05 Foo 2026 03:33:28 UTC', 'Sat, 31 Feb 2026 03:33:28 UTC', 'Sat, 05 Dec 2026 25:00:00 UTC', 'Sat, 05 Dec 2026 03:33:28 CET']) {
    assert.equal(parseReleaseDate(bad), null, bad);
  }
});

test('Valid-Until: passed is a problem, not passed or absent is none', () => {
  const r = parseRelease(RELEASE);
  assert.ok(r.ok);
  assert.equal(expiryProblem(r.release, new Date('2026-12-12T03:33:28Z')), null);
  assert.match(expiryProblem(r.release, new Date('2026-12-12T03:33:29Z')) ?? '', /valid until 2026-12-12T03:33:28\.000Z/);
  const none = parseRelease(RELEASE.replace(/^Valid-Until: .*\n/m, ''));
  assert.ok(none.ok);
  assert.equal(expiryProblem(none.release, new Date('2100-01-01T00:00:00Z')), null);
});

test('clearsigned shape: exactly one message, nothing before or after', () => {
  const good = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: x\n- -dash escaped\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n\n';
  assert.equal(clearsignedShapeProblem(good), null);
  assert.match(clearsignedShapeProblem(`Origin: evil\n${good}`) ?? '', /does not start/);
  assert.match(clearsignedShapeProblem(`${good}Origin: evil\n`) ?? '', /text follows/);
  assert.match(clearsignedShapeProblem(`${good}${good}`) ?? '', /not exactly one clearsigned message/);
  assert.match(clearsignedShapeProblem(good.replace('-----END PGP SIGNATURE-----\n', '')) ?? '', /not exactly one/);
});
