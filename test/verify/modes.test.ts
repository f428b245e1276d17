// Tests for the mode and owner rule of check --signed: statoverride, owner names, postinst excuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredFile } from '../../src/trust/storeformat.js';
import { excusedByPostinst, expectedOf } from '../../src/verify/modes.js';

const ACC = { users: new Map([[0, 'root'], [5, 'man']]), groups: new Map([[0, 'root'], [107, '_ssh']]), userIds: new Map([['root', 0], ['man', 5]]), groupIds: new Map([['root', 0], ['_ssh', 107]]) };
const F: StoredFile = { path: '/usr/bin/ssh-agent', type: 'file', mode: 0o755, uid: 0, gid: 0, user: 'root', group: 'root', size: 1, sha256: null, md5: null, link: '' };

test("data.tar's owner names map to this system's ids, as dpkg maps them; unknown names keep the archive's numbers", () => {
  assert.deepEqual(expectedOf(F, undefined, ACC), { mode: 0o755, uid: 0, gid: 0, owner: 'root:root' });
  assert.deepEqual(expectedOf({ ...F, user: 'nobody-here', uid: 42 }, undefined, ACC), { mode: 0o755, uid: 42, gid: 0, owner: 'nobody-here:root' });
});

test('a dpkg-statoverride entry replaces the archive mode and owner', () => {
  const o = { path: F.path, user: 'root', group: '_ssh', mode: 0o2755, line: 1 };
  assert.deepEqual(expectedOf(F, o, ACC), { mode: 0o2755, uid: 0, gid: 107, owner: 'root:_ssh' });
  assert.deepEqual(expectedOf(F, { ...o, user: '#5' }, ACC).uid, 5);
});

test("a signed postinst that runs chmod/chown/chgrp and names the file excuses it (openssh-client, man-db, polkitd)", () => {
  assert.equal(excusedByPostinst('chgrp _ssh /usr/bin/ssh-agent\nchmod 2755 /usr/bin/ssh-agent\n', '/usr/bin/ssh-agent'), true);
  assert.equal(excusedByPostinst('maybesetuid="man mandb"\nfor x in $maybesetuid; do chown $owner "/usr/bin/$x"; done\n', '/usr/bin/man'), true);
  assert.equal(excusedByPostinst('echo /usr/bin/ssh-agent\n', '/usr/bin/ssh-agent'), false, 'naming it without chmod/chown excuses nothing');
  assert.equal(excusedByPostinst('chmod 644 /etc/other\n', '/usr/bin/ssh-agent'), false);
  assert.equal(excusedByPostinst(null, '/usr/bin/ssh-agent'), false, 'no postinst, or one that is not the signed one');
});
