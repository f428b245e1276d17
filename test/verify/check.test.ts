// PathChecker: resolution inside a root, kinds, and hashing of real files in a temp dir.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { PathChecker } from '../../src/verify/check.js';
import { StreamMd5 } from '../../src/verify/md5.js';

const root = mkdtempSync(path.join(tmpdir(), 'pkgwatch-check-'));
after(() => rmSync(root, { recursive: true, force: true }));
const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
const hasher = new StreamMd5();

mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
mkdirSync(path.join(root, 'opt/app'), { recursive: true });
writeFileSync(path.join(root, 'usr/bin/tool'), 'inside');
writeFileSync(path.join(root, 'opt/app/main.js'), 'app');
symlinkSync('usr/bin', path.join(root, 'bin')); // merged /usr, relative
mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
symlinkSync('/opt/app', path.join(root, 'usr/lib/app')); // absolute: must restart at the root
symlinkSync('../../../../../../../usr/bin', path.join(root, 'usr/lib/up')); // `..` must stop at the root
symlinkSync('loop2', path.join(root, 'loop1'));
symlinkSync('loop1', path.join(root, 'loop2'));
writeFileSync(path.join(root, 'usr/bin/notadir'), 'x');

test('a relative directory symlink (merged /usr) resolves inside the root', () => {
  const c = new PathChecker(root);
  assert.deepEqual(c.hash('/bin/tool', md5('inside'), hasher), { status: null, actual: md5('inside'), detail: null, bytes: 6, kind: 'file' });
});

test('an absolute directory symlink restarts at the root, never at the host /', () => {
  const c = new PathChecker(root);
  assert.equal(c.hash('/usr/lib/app/main.js', md5('app'), hasher).status, null);
  // The host has no /opt/app/main.js; if resolution escaped the root this would be "missing".
  assert.equal(c.exists('/usr/lib/app/main.js').kind, 'file');
});

test('`..` never climbs above the root', () => {
  const c = new PathChecker(root);
  assert.equal(c.hash('/usr/lib/up/tool', md5('inside'), hasher).status, null);
});

test('a symlink loop in a directory component is reported, not followed forever', () => {
  const c = new PathChecker(root);
  const o = c.exists('/loop1/file');
  assert.equal(o.status, 'missing');
  assert.match(o.detail ?? '', /too many levels of symbolic links/);
});

test('a regular file where a directory component belongs makes the path missing', () => {
  const c = new PathChecker(root);
  const o = c.hash('/usr/bin/notadir/x', md5(''), hasher);
  assert.equal(o.status, 'missing');
  assert.match(o.detail ?? '', /is not a directory/);
});

test('the last component is not followed: a symlink is wrong-type, its target named', () => {
  const c = new PathChecker(root);
  symlinkSync('tool', path.join(root, 'usr/bin/tool-link'));
  const o = c.hash('/usr/bin/tool-link', md5('inside'), hasher);
  assert.deepEqual(o, { status: 'wrong-type', actual: 'symlink', detail: 'symlink where a regular file belongs (-> tool)', bytes: 0, kind: 'symlink' });
  assert.equal(c.exists('/usr/bin/tool-link').kind, 'symlink');
});

test('a FIFO where a file belongs is wrong-type and never opened', () => {
  execFileSync('mkfifo', [path.join(root, 'usr/bin/fifo')]);
  const c = new PathChecker(root);
  assert.equal(c.hash('/usr/bin/fifo', md5(''), hasher).actual, 'fifo');
});

test('changed content reports both hashes; names with non-UTF-8 bytes work', () => {
  const name = Buffer.concat([Buffer.from(path.join(root, 'usr/bin/')), Buffer.from([0xff, 0x41])]);
  writeFileSync(name, 'bytes');
  const c = new PathChecker(root);
  const byteName = '/usr/bin/\xffA';
  assert.equal(c.hash(byteName, md5('bytes'), hasher).status, null);
  const o = c.hash(byteName, md5('other'), hasher);
  assert.equal(o.status, 'changed');
  assert.equal(o.actual, md5('bytes'));
  assert.equal(o.bytes, 5);
});

test('a missing file, and a file under a missing directory, are missing', () => {
  const c = new PathChecker(root);
  assert.equal(c.hash('/usr/bin/nope', md5(''), hasher).status, 'missing');
  assert.equal(c.exists('/no/such/dir/file').status, 'missing');
});
