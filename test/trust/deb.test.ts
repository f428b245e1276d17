// Tests for reading .debs in one pass: real dpkg-deb builds in every compression, truncated and foreign files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readDeb, readDebControl } from '../../src/trust/deb.js';
import { md5 } from '../helpers/fixture.js';
import { buildDeb, tempDir, type DebSpec } from '../helpers/signedrepo.js';

let dir = '';
const built = new Map<string, string>();
const spec = (compression: DebSpec['compression']): DebSpec => ({
  name: `deb-${compression}`,
  version: '1:2.0-1',
  arch: 'amd64',
  compression,
  files: [
    { path: '/usr/bin/tool', content: 'tool\n' },
    { path: '/usr/share/doc/tool/README', content: 'read me\n'.repeat(1000) },
  ],
  conffiles: [{ path: '/etc/tool/tool.conf', content: 'setting = 1\n' }],
  postinst: '#!/bin/sh\nexit 0\n',
});

before(async () => {
  dir = tempDir('pkgwatch-deb-');
  for (const c of ['xz', 'zstd', 'gzip'] as const) built.set(c, await buildDeb(dir, spec(c)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const wantAll = (): boolean => true;

test('each compression: the SHA256 of the whole file, control identity, md5sums, conffiles and data.tar entries', async () => {
  for (const [c, file] of built) {
    const bytes = readFileSync(file);
    const r = await readDeb(file, wantAll);
    assert.equal(r.error, null, c);
    assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(r.size, bytes.length);
    assert.deepEqual(r.contents?.control, { package: `deb-${c}`, version: '1:2.0-1', architecture: 'amd64' });
    assert.match(r.contents?.md5sums ?? '', new RegExp(`^${md5('tool\n')}  usr/bin/tool$`, 'm'));
    assert.equal(r.contents?.conffiles, '/etc/tool/tool.conf\n');
    const conf = r.contents?.data?.find((e) => e.path === '/etc/tool/tool.conf');
    assert.deepEqual(conf && { type: conf.type, mode: conf.mode, uid: conf.uid, md5: conf.md5 }, { type: 'file', mode: 0o644, uid: 0, md5: md5('setting = 1\n') });
    assert.equal(r.contents?.data?.find((e) => e.path === '/usr/share/doc/tool/README')?.md5, md5('read me\n'.repeat(1000)));
    assert.deepEqual((await readDebControl(file)), { package: `deb-${c}`, version: '1:2.0-1', architecture: 'amd64' });
  }
});

test('data.tar is read only when the caller wants it after seeing the control archive', async () => {
  const file = built.get('xz') as string;
  let asked = 0;
  const r = await readDeb(file, (ctl) => {
    asked++;
    assert.equal(ctl.control.package, 'deb-xz');
    return false;
  });
  assert.equal(asked, 1);
  assert.equal(r.error, null);
  assert.equal(r.contents?.data, null);
});

test('a truncated .deb: the hash of what is there, and an error saying where it stops', async () => {
  const file = path.join(dir, 'cut.deb');
  copyFileSync(built.get('zstd') as string, file);
  const size = readFileSync(file).length;
  for (const keep of [size - 1, 700, 100, 30]) {
    truncateSync(file, keep);
    const r = await readDeb(file, wantAll);
    assert.equal(r.size, keep);
    assert.equal(r.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
    assert.equal(r.contents, null);
    assert.match(r.error ?? '', /cut short|stray bytes|truncated|does not decompress|too short|padding byte/, String(keep));
  }
  await assert.rejects(readDebControl(file), /stray bytes|too short/);
});

test('not a .deb: another ar archive, a text file, a symlink, a directory', async () => {
  const text = path.join(dir, 'text.deb');
  writeFileSync(text, 'hello\n');
  assert.match((await readDeb(text, wantAll)).error ?? '', /not an ar archive/);
  const foreign = path.join(dir, 'foreign.deb');
  writeFileSync(foreign, `!<arch>\n${'hello.txt'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${'2'.padEnd(10)}\`\nhi`);
  assert.match((await readDeb(foreign, wantAll)).error ?? '', /first member is 'hello\.txt', not 'debian-binary'/);
  const link = path.join(dir, 'link.deb');
  symlinkSync(built.get('xz') as string, link);
  const viaLink = await readDeb(link, wantAll);
  assert.equal(viaLink.sha256, null);
  assert.match(viaLink.error ?? '', /cannot open it: ELOOP/);
  assert.match((await readDeb(dir, wantAll)).error ?? '', /cannot open it|not a regular file/);
});
