// Tests for reading apt's DPkg::Pre-Install-Pkgs input (protocol versions 3, 2 and 1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aptRoot, parseHookInput } from '../../src/trust/apthook.js';

// As apt 2.6 wrote it in this repository's test (test/cli/trust-record.test.ts runs the real thing).
const V3 = [
  'VERSION 3',
  'APT::Architecture=amd64',
  'Dir=/srv/root',
  'Dir::Cache::archives=archives/',
  '',
  'tp - - none < 1.0 all none /srv/root/var/cache/apt/archives/tp_1.0_all.deb',
  'libx:amd64 1.0-1 amd64 same < 1.0-2 amd64 same /var/cache/apt/archives/libx_1.0-2_amd64.deb',
  'tp - - none < 1.0 all none **CONFIGURE**',
  'old 2.0 amd64 none > - - none **REMOVE**',
  '',
].join('\n');

test('version 3: the config, then only the unpacks from a .deb, with name, new version and architecture', () => {
  const r = parseHookInput(V3);
  assert.equal(r.version, 3);
  assert.equal(r.config.get('Dir'), '/srv/root');
  assert.equal(aptRoot(r.config), '/srv/root');
  assert.deepEqual(r.installs, [
    { name: 'tp', version: '1.0', arch: 'all', file: '/srv/root/var/cache/apt/archives/tp_1.0_all.deb' },
    { name: 'libx:amd64', version: '1.0-2', arch: 'amd64', file: '/var/cache/apt/archives/libx_1.0-2_amd64.deb' },
  ]);
  assert.deepEqual(r.problems, []);
});

test('garbage lines are problems with their line number, never exceptions; the rest is read', () => {
  const r = parseHookInput('VERSION 3\nnot config\n\ngarbage\nx - - none < 1 all none relative.deb\ny - - none < 1 all none /ok.deb\n');
  assert.deepEqual(r.installs, [{ name: 'y', version: '1', arch: 'all', file: '/ok.deb' }]);
  assert.equal(r.problems.length, 3);
  assert.match(r.problems[0] ?? '', /^line 2: not a 'key=value'/);
  assert.match(r.problems[1] ?? '', /^line 4: expected 9 fields/);
  assert.match(r.problems[2] ?? '', /^line 5: not an unpack from a \.deb/);
});

test('version 2 has no architecture; version 1 is bare .deb paths; no Dir means /', () => {
  const v2 = parseHookInput('VERSION 2\n\ntp - < 1.0 /a/tp.deb\n');
  assert.deepEqual(v2.installs, [{ name: 'tp', version: '1.0', arch: null, file: '/a/tp.deb' }]);
  const v1 = parseHookInput('/a/tp.deb\n/b/x.deb\n');
  assert.deepEqual(v1.installs.map((i) => i.file), ['/a/tp.deb', '/b/x.deb']);
  assert.equal(aptRoot(v1.config), '/');
});
