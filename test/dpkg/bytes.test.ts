// Tests for byte-string helpers: lossless fs paths, root joining, normalisation and display escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { displayPath, excerpt, fromUtf8, joinRoot, normalizeDbPath, toFsPath } from '../../src/dpkg/bytes.js';

void test('toFsPath keeps every byte, including non-UTF-8 ones', () => {
  assert.deepEqual(toFsPath('/usr/\xff\x80a'), Buffer.from([0x2f, 0x75, 0x73, 0x72, 0x2f, 0xff, 0x80, 0x61]));
});

void test('fromUtf8 turns typed text into the byte string of its UTF-8 encoding', () => {
  assert.equal(fromUtf8('é'), '\xc3\xa9');
  assert.equal(fromUtf8('nginx'), 'nginx');
});

void test('joinRoot: root / gives the path itself; other roots are prefixed without double slashes', () => {
  assert.deepEqual(joinRoot('/', '/etc/passwd'), Buffer.from('/etc/passwd'));
  assert.deepEqual(joinRoot('/srv/r', '/etc/x'), Buffer.from('/srv/r/etc/x'));
  assert.deepEqual(joinRoot('/srv/r/', '/etc/x'), Buffer.from('/srv/r/etc/x'));
  assert.deepEqual(joinRoot('/srv/é', '/\xff'), Buffer.concat([Buffer.from('/srv/é'), Buffer.from([0x2f, 0xff])]));
  assert.deepEqual(joinRoot('/srv/r', 'rel'), Buffer.from('/srv/r/rel'));
});

void test('displayPath shows valid UTF-8 as characters and escapes everything else', () => {
  assert.equal(displayPath('/usr/bin/ls'), '/usr/bin/ls');
  assert.equal(displayPath(fromUtf8('/usr/share/café/日本')), '/usr/share/café/日本');
  assert.equal(displayPath('/a\xffb'), '/a\\xffb');
  assert.equal(displayPath('/a\nb\tc\x7f'), '/a\\x0ab\\x09c\\x7f');
  assert.equal(displayPath('/back\\slash'), '/back\\\\slash');
  // Truncated, overlong and surrogate sequences are bytes, not characters.
  assert.equal(displayPath('/\xc3'), '/\\xc3');
  assert.equal(displayPath('/\xc0\xaf'), '/\\xc0\\xaf');
  assert.equal(displayPath('/\xed\xa0\x80'), '/\\xed\\xa0\\x80');
  // A 4-byte sequence (emoji) is a character.
  assert.equal(displayPath(fromUtf8('/😀')), '/😀');
  // C1 controls (valid UTF-8 for U+0080..U+009F) are escaped: terminals act on them.
  assert.equal(displayPath('/\xc2\x9b'), '/\\xc2\\x9b');
});

void test('normalizeDbPath', () => {
  assert.deepEqual(normalizeDbPath('/usr/bin/ls', false), { ok: true, path: '/usr/bin/ls' });
  assert.deepEqual(normalizeDbPath('usr/bin/ls', true), { ok: true, path: '/usr/bin/ls' });
  assert.deepEqual(normalizeDbPath('./usr//bin/./ls', true), { ok: true, path: '/usr/bin/ls' });
  assert.deepEqual(normalizeDbPath('/usr/lib/', false), { ok: true, path: '/usr/lib' });
  assert.deepEqual(normalizeDbPath('/.', false), { ok: true, path: '/' });
  assert.deepEqual(normalizeDbPath('/etc/.pwd.lock', false), { ok: true, path: '/etc/.pwd.lock' });
  assert.deepEqual(normalizeDbPath('/..foo', false), { ok: true, path: '/..foo' });
  assert.equal(normalizeDbPath('usr/bin', false).ok, false);
  assert.equal(normalizeDbPath('/usr/../etc/shadow', false).ok, false);
  assert.equal(normalizeDbPath('../etc', true).ok, false);
  assert.equal(normalizeDbPath('/usr/a\0b', false).ok, false);
});

void test('excerpt escapes and shortens', () => {
  assert.equal(excerpt('a'.repeat(100), 10), 'aaaaaaaaaa…');
  assert.equal(excerpt('x\xff'), 'x\\xff');
});
