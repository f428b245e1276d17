// compileIgnore: gitignore-like absolute globs over byte-string paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIgnore } from '../../src/config/ignore.js';

function matches(glob: string, path: string): boolean {
  return compileIgnore([glob])(path);
}

test('a trailing /** matches everything below the directory, not the directory itself', () => {
  const g = '/usr/lib/node_modules/npm/**';
  assert.ok(matches(g, '/usr/lib/node_modules/npm/package.json'));
  assert.ok(matches(g, '/usr/lib/node_modules/npm/lib/cli/a.js'));
  assert.ok(matches(g, '/usr/lib/node_modules/npm/.npmrc'));
  assert.ok(!matches(g, '/usr/lib/node_modules/npm'));
  assert.ok(!matches(g, '/usr/lib/node_modules/npmx/a.js'));
  assert.ok(!matches(g, '/usr/lib/node_modules/np/a.js'));
});

test('* and ? stay within one segment', () => {
  const g = '/srv/*/cache/*';
  assert.ok(matches(g, '/srv/site/cache/x'));
  assert.ok(matches(g, '/srv/.hidden/cache/.x'));
  assert.ok(!matches(g, '/srv/a/b/cache/x'));
  assert.ok(!matches(g, '/srv/site/cache/x/y'));
  assert.ok(!matches(g, '/srv/site/cache'));
  assert.ok(matches('/srv/site/cache/*', '/srv/site/cache/'), 'an empty last segment is still a segment');
  assert.ok(matches('/etc/?ginx.conf', '/etc/nginx.conf'));
  assert.ok(!matches('/etc/?ginx.conf', '/etc/ginx.conf'));
  assert.ok(!matches('/a?b', '/a/b'));
  assert.ok(matches('/srv/*.log', '/srv/app.log'));
  assert.ok(!matches('/srv/*.log', '/srv/app.log.1'));
});

test('** in the middle matches any number of whole segments, none included', () => {
  const g = '/srv/**/cache/*.tmp';
  assert.ok(matches(g, '/srv/cache/a.tmp'));
  assert.ok(matches(g, '/srv/site/cache/a.tmp'));
  assert.ok(matches(g, '/srv/a/b/c/cache/a.tmp'));
  assert.ok(!matches(g, '/srv/xcache/a.tmp'));
  assert.ok(!matches(g, '/srv/site/cache/sub/a.tmp'));
  assert.ok(matches('/**/__pycache__/**', '/usr/lib/python3/dist-packages/x/__pycache__/y.pyc'));
  assert.ok(matches('/**/a', '/a'));
  // `**` that is not a whole segment is an ordinary `*`.
  assert.ok(matches('/srv/a**b', '/srv/axyb'));
  assert.ok(!matches('/srv/a**b', '/srv/ax/yb'));
});

test('bracket classes, ranges, negation; never /', () => {
  assert.ok(matches('/var/log/[abc].log', '/var/log/b.log'));
  assert.ok(!matches('/var/log/[abc].log', '/var/log/d.log'));
  assert.ok(matches('/var/log/app[0-9]', '/var/log/app7'));
  assert.ok(matches('/var/log/app[!0-9]', '/var/log/appx'));
  assert.ok(!matches('/var/log/app[!0-9]', '/var/log/app7'));
  assert.ok(!matches('/a[!x]b', '/a/b'));
  assert.ok(!matches('/a[+-0]b', '/a/b'), 'a range spanning / still does not match it');
  assert.ok(matches('/a[]]b', '/a]b'));
  assert.ok(matches('/a[b', '/a[b'), 'an unclosed [ is literal');
});

test('regex metacharacters and escapes are literal; matching is whole-path', () => {
  assert.ok(matches('/srv/a.b+(c)', '/srv/a.b+(c)'));
  assert.ok(!matches('/srv/a.b', '/srv/axb'));
  assert.ok(matches('/srv/\\*', '/srv/*'));
  assert.ok(!matches('/srv/\\*', '/srv/x'));
  assert.ok(!matches('/srv/a', '/srv/a/b'));
  assert.ok(!matches('/srv/a', '/x/srv/a'));
});

test('paths are byte strings: a UTF-8 glob matches the bytes; other bytes pass through *', () => {
  const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  assert.ok(matches('/srv/café/**', utf8('/srv/café/menu')));
  assert.ok(matches('/srv/*/x', '/srv/\xff\xfe/x'));
  assert.ok(matches('/srv/*', '/srv/new\nline'));
});

test('several globs; none matches nothing', () => {
  const ignored = compileIgnore(['/a/**', '/b/*.tmp']);
  assert.ok(ignored('/a/x'));
  assert.ok(ignored('/b/x.tmp'));
  assert.ok(!ignored('/c/x'));
  assert.ok(!compileIgnore([])('/anything'));
});
