// Tests for dearmoring OpenPGP key blocks: gpg --dearmor as the oracle on real .asc keyrings, and damaged armor refused.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dearmorKeys, isArmored } from '../../src/trust/armor.js';
import { runProcess } from '../helpers/cli.js';

const PARTS = '/etc/apt/trusted.gpg.d';

test("the machine's .asc keyrings dearmor to the same bytes as gpg --dearmor", async (t) => {
  const asc = existsSync(PARTS) ? readdirSync(PARTS).filter((n) => n.endsWith('.asc')) : [];
  if (asc.length === 0) {
    t.skip(`no .asc keyring in ${PARTS} on this machine`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-armor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of asc) {
    const out = path.join(dir, `${name}.gpg`);
    const r = await runProcess('gpg', ['--batch', '--homedir', dir, '--output', out, '--dearmor', path.join(PARTS, name)]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(path.join(PARTS, name), 'latin1');
    assert.ok(isArmored(text));
    const mine = dearmorKeys(text);
    assert.ok(mine.ok, name);
    assert.ok(mine.keys.equals(readFileSync(out)), name);
  }
});

/** A small armored block made by hand (the machine's real keyrings carry correct CRC lines, tested above). */
function block(body = 'mQENBF1hZGVtbyBrZXkgYnl0ZXM=', crc: string | null = null): string {
  return ['-----BEGIN PGP PUBLIC KEY BLOCK-----', 'Comment: test', '', body, ...(crc === null ? [] : [`=${crc}`]), '-----END PGP PUBLIC KEY BLOCK-----', ''].join('\n');
}

test('blocks: headers skipped, several blocks concatenated, CRLF tolerated', () => {
  const one = dearmorKeys(block());
  assert.ok(one.ok);
  assert.equal(one.keys.toString('latin1'), Buffer.from('mQENBF1hZGVtbyBrZXkgYnl0ZXM=', 'base64').toString('latin1'));
  const two = dearmorKeys(`${block()}\n${block()}`.replace(/\n/g, '\r\n'));
  assert.ok(two.ok);
  assert.equal(two.keys.length, one.keys.length * 2);
});

test('damaged armor is refused: bad checksum, bad base64, no end, junk between blocks, nothing at all', () => {
  const cases: [string, RegExp][] = [
    [block(undefined, 'AAAA'), /fails its checksum/],
    [block('mQEN*BF1h'), /not base64/],
    [block('mQENB'), /truncated base64/],
    [block().replace('-----END PGP PUBLIC KEY BLOCK-----\n', ''), /no '-----END/],
    [`${block()}junk\n${block()}`, /expected '-----BEGIN/],
    ['', /no public key block/],
    [block(''), /empty/],
  ];
  for (const [text, why] of cases) {
    const r = dearmorKeys(text);
    assert.ok(!r.ok, text);
    assert.match(r.message, why);
  }
});
