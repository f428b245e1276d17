// Tests for the statoverride parser: dpkg-statoverride's lines, names and #ids, damaged lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseStatOverride } from '../../src/dpkg/statoverride.js';

const FILE = '/var/lib/dpkg/statoverride';

void test('user group mode path, the path being the rest of the line', () => {
  const text = 'root messagebus 4754 /usr/lib/dbus-1.0/dbus-daemon-launch-helper\n#0 #42 710 /etc/ssl/private dir\n';
  const { overrides, warnings } = parseStatOverride(text, FILE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(overrides, [
    { path: '/usr/lib/dbus-1.0/dbus-daemon-launch-helper', user: 'root', group: 'messagebus', mode: 0o4754, line: 1 },
    { path: '/etc/ssl/private dir', user: '#0', group: '#42', mode: 0o710, line: 2 },
  ]);
});

void test('a bad mode, a short line or a relative path is a warning with its line; the rest is kept', () => {
  const text = 'root root 4755\nroot root 9755 /a\nroot root 17777 /b\nroot root 755 rel/c\n\nroot root 0755 /d\r\n';
  const { overrides, warnings } = parseStatOverride(text, FILE);
  assert.deepEqual(overrides, [{ path: '/d', user: 'root', group: 'root', mode: 0o755, line: 6 }]);
  assert.deepEqual(warnings.map((w) => w.line), [1, 2, 3, 4]);
  assert.match(warnings[1]?.message ?? '', /not an octal mode/);
  assert.match(warnings[3]?.message ?? '', /absolute path/);
});
