// Tests for the fnmatch(3) glob compiler (no FNM_PATHNAME, no FNM_PERIOD).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compileGlob, isGlob } from '../../src/dpkg/fnmatch.js';

function m(glob: string, s: string): boolean {
  return compileGlob(glob).test(s);
}

void test('* matches any sequence, including / and leading dots', () => {
  assert.ok(m('/usr/share/doc/*', '/usr/share/doc/a/b/copyright'));
  assert.ok(m('/usr/share/doc/*', '/usr/share/doc/'));
  assert.ok(m('*', '.hidden'));
  assert.ok(m('/usr/*/man*', '/usr/share/man/man1/ls.1.gz'));
  assert.ok(!m('/usr/share/doc/*', '/usr/share/docs'));
  assert.ok(m('a*b*c', 'a\nb\nc'));
});

void test('anchored whole-string match; regex metacharacters are literal', () => {
  assert.ok(!m('doc', '/usr/share/doc'));
  assert.ok(m('a.b', 'a.b'));
  assert.ok(!m('a.b', 'axb'));
  assert.ok(m('(x)+{1}|$^', '(x)+{1}|$^'));
  assert.ok(m('/a/b', '/a/b'));
});

void test('? matches exactly one char, including /', () => {
  assert.ok(m('a?c', 'abc'));
  assert.ok(m('a?c', 'a/c'));
  assert.ok(!m('a?c', 'ac'));
});

void test('bracket expressions', () => {
  assert.ok(m('[abc]', 'b'));
  assert.ok(!m('[abc]', 'd'));
  assert.ok(m('[a-z]x', 'qx'));
  assert.ok(!m('[a-z]', 'Q'));
  assert.ok(m('[!a]', 'b'));
  assert.ok(!m('[!a]', 'a'));
  assert.ok(m('[^a]', '/'));
  assert.ok(m('[]]', ']'));
  assert.ok(m('[!]]', 'x'));
  assert.ok(!m('[!]]', ']'));
  assert.ok(m('[a-]', '-'));
  assert.ok(m('[[:digit:]]', '7'));
  assert.ok(!m('[[:digit:]]', 'x'));
  assert.ok(m('[\\]]', ']'));
  assert.ok(!m('[z-a]', 'm'), 'a reversed range matches nothing');
  assert.ok(m('[\x80-\xff]', '\xe9'), 'byte ranges');
});

void test('an unterminated [ is a literal [', () => {
  assert.ok(m('a[b', 'a[b'));
  assert.ok(!m('a[b', 'ab'));
  assert.ok(m('[', '['));
  assert.ok(m('x[*', 'x[yz'));
});

void test('backslash escapes the next char', () => {
  assert.ok(m('a\\*', 'a*'));
  assert.ok(!m('a\\*', 'ab'));
  assert.ok(m('\\[a]', '[a]'));
  assert.ok(m('a\\', 'a\\'), 'a trailing backslash is literal');
});

void test('isGlob', () => {
  assert.equal(isGlob('python3-*'), true);
  assert.equal(isGlob('lib?'), true);
  assert.equal(isGlob('[ab]c'), true);
  assert.equal(isGlob('nginx'), false);
  assert.equal(isGlob('libc6:amd64'), false);
  assert.equal(isGlob('a\\*'), false);
});
