// Alerts queued by another process (`pkgwatch online`, run as root) into the agent's outbox: the
// unprivileged agent must be able to read and remove them.
import assert from 'node:assert/strict';
import { chownSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { enqueueDurable } from '../../src/alerts/outboxdisk.js';
import { alert, tempDir } from './outboxkit.js';

const NOBODY = 65534;

test('root queuing into an outbox whose state_dir belongs to the agent gives the folders and files to the agent', { skip: process.getuid?.() !== 0 && process.env['CI'] === undefined ? 'needs root (CI runs it, as root)' : false }, (t) => {
  const stateDir = tempDir(t);
  chownSync(stateDir, NOBODY, NOBODY);
  const outbox = path.join(stateDir, 'outbox');
  const event = alert(1);
  enqueueDurable(outbox, ['webhook', 'email'], event);
  for (const dir of [outbox, path.join(outbox, 'webhook'), path.join(outbox, 'email')]) {
    assert.equal(statSync(dir).uid, NOBODY, dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
  }
  for (const sink of ['webhook', 'email']) {
    const files = readdirSync(path.join(outbox, sink));
    assert.equal(files.length, 1);
    const st = statSync(path.join(outbox, sink, files[0] ?? ''));
    assert.equal(st.uid, NOBODY);
    assert.equal(st.mode & 0o777, 0o600);
  }
});

test('queuing as the owner itself leaves ownership alone', (t) => {
  const stateDir = tempDir(t);
  const outbox = path.join(stateDir, 'outbox');
  enqueueDurable(outbox, ['webhook'], alert(1));
  const files = readdirSync(path.join(outbox, 'webhook'));
  assert.equal(statSync(path.join(outbox, 'webhook', files[0] ?? '')).uid, process.getuid?.());
});
