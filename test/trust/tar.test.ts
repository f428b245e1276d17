// Tests for the tar reader on archives GNU tar writes (gnu, pax, ustar formats, long names, links) and on damaged ones.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { entryPath, parsePax, readTar, TarReader, type TarEntry } from '../../src/trust/tar.js';
import { runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/signedrepo.js';

let dir = '';
const LONG = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}.conf`;
const archives = new Map<string, Buffer>();

before(async () => {
  dir = tempDir('pkgwatch-tar-');
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'etc', path.dirname(LONG)), { recursive: true });
  writeFileSync(path.join(tree, 'etc', LONG), 'long name\n');
  writeFileSync(path.join(tree, 'etc/app.conf'), 'x'.repeat(1000));
  linkSync(path.join(tree, 'etc/app.conf'), path.join(tree, 'etc/app.hard'));
  symlinkSync(`../${'t'.repeat(120)}`, path.join(tree, 'etc/link'));
  writeFileSync(path.join(tree, 'setuid'), 'suid\n', { mode: 0o4755 });
  for (const format of ['gnu', 'pax', 'ustar']) {
    const out = path.join(dir, `${format}.tar`);
    // ustar cannot hold the long names: give it only what fits.
    const what = format === 'ustar' ? ['./etc/app.conf', './etc/app.hard', './setuid'] : ['.'];
    const r = await runProcess('tar', ['--format', format, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', tree, '-cf', out, ...what]);
    assert.equal(r.code, 0, r.stderr);
    archives.set(format, readFileSync(out));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function entries(bytes: Buffer): Map<string, { entry: TarEntry; content: string }> {
  return new Map(readTar(bytes).map(({ entry, content }) => [entryPath(entry.name) ?? '?', { entry, content: content.toString('latin1') }]));
}

test('gnu and pax archives: long names, long link targets, hardlinks, modes with setuid, owners', () => {
  for (const format of ['gnu', 'pax']) {
    const e = entries(archives.get(format) as Buffer);
    assert.equal(e.get(`/etc/${LONG}`)?.content, 'long name\n', format);
    assert.equal(e.get('/etc/app.conf')?.content, 'x'.repeat(1000));
    assert.equal(e.get('/etc/app.hard')?.entry.type, 'hardlink');
    assert.equal(entryPath(e.get('/etc/app.hard')?.entry.linkname ?? ''), '/etc/app.conf');
    assert.equal(e.get('/etc/app.hard')?.content, '', 'a hardlink carries no content');
    assert.equal(e.get('/etc/link')?.entry.type, 'symlink');
    assert.equal(e.get('/etc/link')?.entry.linkname, `../${'t'.repeat(120)}`);
    assert.equal(e.get('/setuid')?.entry.mode, 0o4755);
    assert.equal(e.get('/setuid')?.entry.uid, 0);
    assert.equal(e.get('/etc')?.entry.type, 'directory');
  }
});

test('a ustar archive, and any archive pushed in odd-sized chunks, reads the same', () => {
  const u = entries(archives.get('ustar') as Buffer);
  assert.equal(u.get('/etc/app.conf')?.content, 'x'.repeat(1000));
  for (const format of ['gnu', 'pax', 'ustar']) {
    const bytes = archives.get(format) as Buffer;
    const got: string[] = [];
    const r = new TarReader((e) => {
      let n = 0;
      return { data: (c) => (n += c.length), end: () => got.push(`${e.name}:${e.type}:${n}`) };
    });
    for (let i = 0; i < bytes.length; i += 7) r.push(bytes.subarray(i, i + 7));
    r.end();
    assert.deepEqual(got, readTar(bytes).map(({ entry, content }) => `${entry.name}:${entry.type}:${content.length}`), format);
  }
});

test('damaged archives are refused: bad checksum, truncation, a lone zero block, a pax record out of bounds', () => {
  const gnu = archives.get('gnu') as Buffer;
  const flipped = Buffer.from(gnu);
  flipped[10] = (flipped[10] ?? 0) ^ 0xff;
  assert.throws(() => readTar(flipped), /bad checksum/);
  assert.throws(() => readTar(gnu.subarray(0, 1500)), /ends inside an entry|stray bytes/);
  assert.throws(() => readTar(Buffer.concat([Buffer.alloc(512), gnu])), /a lone zero block/);
  assert.throws(() => parsePax(Buffer.from('99 path=x\n')), /runs past/);
  assert.throws(() => parsePax(Buffer.from('12 nokey\n')), /runs past|without 'key='/);
  assert.throws(() => parsePax(Buffer.from('x path=y\n')), /without a length|bad length/);
  assert.deepEqual([...parsePax(Buffer.from('12 path=a/b\n'))], [['path', 'a/b']]);
});

test('long-name records larger than the limit are refused before they are buffered', () => {
  const pax = archives.get('pax') as Buffer;
  assert.throws(() => readTar(pax, { maxMeta: 10 }), /record of \d+ bytes \(at most 10\)/);
});

test('entry names: ./, repeated slashes and . components normalise; .. is refused', () => {
  assert.equal(entryPath('./etc//x/./y'), '/etc/x/y');
  assert.equal(entryPath('.'), '/');
  assert.equal(entryPath('./etc/../../x'), null);
});
