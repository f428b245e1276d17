// SafeDir: reading, writing and opening folders by name in a folder another user controls, on real
// files; as root, the agent's user is played by nobody (files chowned to it, a racing process run
// through setpriv).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { enqueueDurable } from '../src/alerts/outboxdisk.js';
import { SafeDir, UnsafeFileError, readFileSafe } from '../src/safedir.js';
import { writeFileAtomic } from '../src/atomic.js';
import { alert } from './alerts/outboxkit.js';

const NOBODY = 65534;
const AS_ROOT = process.getuid?.() === 0 ? false : 'needs root';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-safedir-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A root-owned 0600 stand-in for /etc/shadow, outside the folder under test. */
function secret(t: TestContext): string {
  const file = path.join(tempDir(t), 'shadow');
  fs.writeFileSync(file, 'root:$y$secret\n', { mode: 0o600 });
  return file;
}

function unsafe(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof UnsafeFileError && pattern.test(err.message);
}

test('readText: missing is null; links, hard links, FIFOs, folders, oversize and non-UTF-8 are refused by name', (t) => {
  const dir = tempDir(t);
  const shadow = secret(t);
  const d = SafeDir.open(dir);
  t.after(() => d.close());
  assert.equal(d.readText('absent', 100), null);
  assert.equal(readFileSafe(path.join(dir, 'no-such-dir', 'x'), 100), null);
  fs.writeFileSync(path.join(dir, 'ok'), 'fine\n');
  assert.equal(d.readText('ok', 5), 'fine\n');
  fs.symlinkSync(shadow, path.join(dir, 'link'));
  assert.throws(() => d.readText('link', 100), unsafe(new RegExp(`^${path.join(dir, 'link')} is a symbolic link, which pkgwatch never creates and does not follow; .*remove it \\(rm `)));
  fs.linkSync(shadow, path.join(dir, 'hard'));
  assert.throws(() => d.readText('hard', 100), unsafe(/ has 2 hard links, which pkgwatch never creates and does not read through/));
  spawnSync('mkfifo', [path.join(dir, 'fifo')]);
  assert.throws(() => d.readText('fifo', 100), unsafe(/ is a FIFO, not a file pkgwatch wrote/));
  fs.mkdirSync(path.join(dir, 'sub'));
  assert.throws(() => d.readText('sub', 100), unsafe(/ is a directory, not a file pkgwatch wrote/));
  assert.throws(() => d.readText('ok', 4), unsafe(/ is 5 bytes, more than pkgwatch writes there \(at most 4\)/));
  fs.writeFileSync(path.join(dir, 'latin1'), Buffer.from([0x66, 0xe9, 0x0a]));
  assert.throws(() => d.readText('latin1', 100), unsafe(/ is not UTF-8 text/));
  assert.equal(fs.readFileSync(shadow, 'utf8'), 'root:$y$secret\n');
});

test('writeFileAtomic: a link at the name or at the old fixed temp name is replaced or ignored, never written through', (t) => {
  const dir = tempDir(t);
  const shadow = secret(t);
  fs.symlinkSync(shadow, path.join(dir, 'a.json'));
  fs.symlinkSync(shadow, path.join(dir, 'b.json.tmp'));
  fs.linkSync(shadow, path.join(dir, 'c.json'));
  const umask = process.umask(0o077);
  try {
    for (const name of ['a.json', 'b.json', 'c.json']) writeFileAtomic(path.join(dir, name), `${name}\n`, { mode: 0o640 });
  } finally {
    process.umask(umask);
  }
  for (const name of ['a.json', 'b.json', 'c.json']) {
    const st = fs.lstatSync(path.join(dir, name));
    assert.deepEqual([st.isFile(), st.nlink, st.mode & 0o7777], [true, 1, 0o640], name);
    assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), `${name}\n`);
  }
  assert.equal(fs.readFileSync(shadow, 'utf8'), 'root:$y$secret\n');
  assert.equal(fs.statSync(shadow).mode & 0o7777, 0o600);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.json', 'b.json', 'b.json.tmp', 'c.json']);
});

test('as root in a folder nobody owns: new files and folders go to nobody; a link, or a folder of someone else, is refused', { skip: AS_ROOT }, (t) => {
  const dir = tempDir(t);
  fs.chownSync(dir, NOBODY, NOBODY);
  const elsewhere = tempDir(t);
  const d = SafeDir.open(dir);
  t.after(() => d.close());
  assert.deepEqual(d.owner, { uid: NOBODY, gid: NOBODY });
  const sub = d.dir('outbox', true);
  assert.ok(sub !== null);
  sub.writeAtomic('entry.json', '{}\n', 0o600);
  sub.close();
  for (const rel of ['outbox', 'outbox/entry.json']) assert.equal(fs.statSync(path.join(dir, rel)).uid, NOBODY, rel);

  fs.symlinkSync(elsewhere, path.join(dir, 'linked'));
  assert.throws(() => d.dir('linked', true), unsafe(/linked is a symbolic link, which pkgwatch never creates and does not follow/));
  assert.throws(() => d.dir('linked', false), unsafe(/linked is a symbolic link/));
  fs.mkdirSync(path.join(dir, 'roots'));
  fs.writeFileSync(path.join(dir, 'roots', 'x'), '');
  assert.throws(() => d.dir('roots', true), unsafe(new RegExp(`roots belongs to uid 0, not to the owner of ${dir} \\(uid ${NOBODY}\\); pkgwatch does not change owners there as root`)));
  assert.equal(fs.statSync(path.join(dir, 'roots')).uid, 0, 'left as it was');
  assert.equal(fs.statSync(elsewhere).uid, 0, 'the link target is untouched');
  assert.deepEqual(fs.readdirSync(elsewhere), []);
});

// The agent's user flips state/outbox between its own folder and a link to a root-owned folder as
// fast as it can while root queues alerts: a check-then-use by path would sooner or later write
// through the link; opening each folder relative to the one above it, never following, cannot.
const FLIPPER = `
const fs = require('node:fs');
const [outbox, target] = process.argv.slice(1);
process.stdout.write('ready\\n');
for (;;) {
  try { fs.rmSync(outbox, { recursive: true, force: true }); fs.symlinkSync(target, outbox); } catch {}
  try { fs.rmSync(outbox, { recursive: true, force: true }); fs.mkdirSync(outbox + '/webhook', { recursive: true }); } catch {}
}
`;

test('root queuing alerts while the agent\'s user swaps the outbox for a link never writes outside the state dir', { skip: AS_ROOT }, async (t) => {
  const state = tempDir(t);
  fs.chmodSync(state, 0o711);
  fs.chownSync(state, NOBODY, NOBODY);
  const etc = tempDir(t);
  fs.chmodSync(etc, 0o755);
  const outbox = path.join(state, 'outbox');
  const child = spawn('setpriv', ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', process.execPath, '-e', FLIPPER, outbox, etc], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the flipper exited with ${String(code)}`)));
  });
  let queued = 0;
  const refused = new Set<string>();
  for (let i = 0; i < 400; i++) {
    try {
      enqueueDurable(outbox, ['webhook'], alert(i));
      queued++;
    } catch (err) {
      // The folder was a link, or was removed or replaced under root's feet: refusing is right.
      refused.add((err as Error).message.replace(/\/[^ ]*/g, 'PATH'));
    }
  }
  child.kill('SIGKILL');
  assert.deepEqual(fs.readdirSync(etc), [], `root wrote into the link's target (${queued} queued)`);
  assert.equal(fs.statSync(etc).uid, 0, 'root gave the link\'s target away');
  t.diagnostic(`${queued} queued; refusals: ${[...refused].join(' | ')}`);
});
