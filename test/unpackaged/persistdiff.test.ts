// The pure parts of the persistence points' baseline: the strict decoder, the points' expansion,
// and what a comparison says of account files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJson } from '../../src/decode.js';
import { NO_ACCOUNTS } from '../../src/unpackaged/accounts.js';
import { decodeBaseline, encodeBaseline, type Baseline, type BaselineEntry } from '../../src/unpackaged/baseline.js';
import { comparePersist } from '../../src/unpackaged/persistdiff.js';
import { accountLineHashes, expandPoints, homes } from '../../src/unpackaged/snapshot.js';

const FILE: BaselineEntry = { path: '/etc/cron.d/backup', kind: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtimeMs: 1, sha256: 'a'.repeat(64) };
const BASE: Baseline = { version: 1, root: '/', created: '2026-12-06T00:00:00.000Z', updated: '2026-12-06T00:00:00.000Z', points: ['/etc/cron.d'], entries: [FILE] };

test('a baseline survives encoding, byte paths included; a wrong field is named', () => {
  const odd: BaselineEntry = { path: '/etc/cron.d/caf\xe9\xff', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 4, mtimeMs: 2, target: '/\x80x' };
  const b = { ...BASE, entries: [FILE, odd] };
  assert.deepEqual(parseJson(encodeBaseline(b), decodeBaseline), b);
  const doc = JSON.parse(encodeBaseline(b)) as { entries: Record<string, unknown>[] };
  const bad = (patch: Record<string, unknown>): string => {
    const entries = [{ ...doc.entries[0], ...patch }];
    try {
      decodeBaseline({ ...doc, entries });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(bad({ sha256: 'xyz' }), 'baseline.entries[0].sha256: expected 64 hex digits or null, found the string "xyz"');
  assert.equal(bad({ evil: 1 }), 'baseline.entries[0]: unknown field "evil"');
  assert.equal(bad({ path: 'etc/x' }), 'baseline.entries[0].path: expected an absolute path, found the string "etc/x"');
  assert.equal(bad({ path: '/\u0100' }), 'baseline.entries[0].path: expected a path of bytes, found the string "/\u0100"');
  assert.throws(() => decodeBaseline({ ...doc, entries: [doc.entries[0], doc.entries[0]] }), /is recorded twice/);
});

test("~/ points are each home of passwd, root's first; parents resolve, duplicates go", () => {
  const h = homes('alice:x:1000:1000::/home/alice/:/bin/sh\nroot:x:0:0:root:/root:/bin/bash\nbob:x:1001:1001::/home/alice:/bin/sh\nbroken line\n');
  assert.deepEqual(h, ['/root', '/home/alice']);
  const points = expandPoints(['/etc/cron.d/', '~/.ssh/authorized_keys'], h, (p) => p.replace('/home/', '/data/home/'));
  assert.deepEqual(points, [
    { point: '/etc/cron.d/', path: '/etc/cron.d' },
    { point: '~/.ssh/authorized_keys', path: '/root/.ssh/authorized_keys' },
    { point: '~/.ssh/authorized_keys', path: '/data/home/alice/.ssh/authorized_keys' },
  ]);
});

test('an account file: the finding names the accounts added, changed and removed, and holds no hash', () => {
  const was = Buffer.from('root:x:0:0::/root:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  const now = Buffer.from('root:x:0:0::/root:/bin/bash\nalice:x:0:0::/home/alice:/bin/sh\neve:x:0:0::/:/bin/sh\n');
  const entry = (text: Buffer, sha: string): BaselineEntry => ({ path: '/etc/passwd', kind: 'file', mode: 0o644, uid: 0, gid: 0, size: text.length, mtimeMs: 0, sha256: sha, accounts: accountLineHashes(text) });
  const f = comparePersist(new Map([['/etc/passwd', entry(was, 'b'.repeat(64))]]), new Map([['/etc/passwd', entry(now, 'c'.repeat(64))]]), () => true, ['/etc/passwd'], NO_ACCOUNTS);
  assert.deepEqual(
    f.map((x) => [x.path, x.status, x.expected, x.actual, x.detail, x.source]),
    [['/etc/passwd', 'changed', null, null, 'since the baseline: accounts: added eve; changed alice; removed bob', 'baseline']],
  );
});
