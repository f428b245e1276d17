// Tests for resolving paths of a checked system inside its root, as chroot would.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { resolveInRoot } from '../../src/trust/rootpath.js';
import { tempDir } from '../helpers/signedrepo.js';

test('symlinks resolve inside the root: absolute targets restart at it, .. stops at it, missing parts stay as written', async (t) => {
  const root = tempDir('pkgwatch-rootpath-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'usr/share/keyrings'), { recursive: true });
  mkdirSync(path.join(root, 'etc/apt/trusted.gpg.d'), { recursive: true });
  writeFileSync(path.join(root, 'usr/share/keyrings/k.gpg'), 'k');
  symlinkSync('/usr/share/keyrings/k.gpg', path.join(root, 'etc/apt/trusted.gpg.d/abs.gpg'));
  symlinkSync('../../../usr/share/keyrings/k.gpg', path.join(root, 'etc/apt/trusted.gpg.d/rel.gpg'));
  symlinkSync('../../../../../../etc/passwd', path.join(root, 'etc/apt/trusted.gpg.d/escape.gpg'));
  symlinkSync('loop', path.join(root, 'loop'));
  const k = path.join(root, 'usr/share/keyrings/k.gpg');
  assert.equal(await resolveInRoot(root, '/etc/apt/trusted.gpg.d/abs.gpg'), k);
  assert.equal(await resolveInRoot(root, '/etc/apt/trusted.gpg.d/rel.gpg'), k);
  assert.equal(await resolveInRoot(root, '/etc/apt/trusted.gpg.d/escape.gpg'), path.join(root, 'etc/passwd'));
  assert.equal(await resolveInRoot(root, '/no/such/file'), path.join(root, 'no/such/file'));
  await assert.rejects(resolveInRoot(root, '/loop'), /ELOOP/);
  assert.equal(await resolveInRoot('/', '/etc'), '/etc');
});
