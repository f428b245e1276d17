// The dpkg hook's marker: written atomically by notify, read by the agent, never blinding it for good.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { markDpkgEnd, markDpkgStart, MARKER_FILE, MARKER_MAX_AGE_MS, readDpkgMarker } from '../../src/dpkgrun/marker.js';

const MARKER_JS = fileURLToPath(new URL('../../src/dpkgrun/marker.js', import.meta.url));

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-marker-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeMarker(dir: string, json: unknown): void {
  fs.writeFileSync(path.join(dir, MARKER_FILE), typeof json === 'string' ? json : JSON.stringify(json));
}

test('no marker: not running, not stale', (t) => {
  const dir = tempDir(t);
  assert.deepEqual(readDpkgMarker(dir), { running: false, since: null, stale: false, pid: null });
  assert.deepEqual(readDpkgMarker(path.join(dir, 'no-such-dir')), { running: false, since: null, stale: false, pid: null });
});

test('start names the parent process and the time; end removes it; end twice is fine', (t) => {
  const dir = path.join(tempDir(t), 'state'); // created on demand
  const now = new Date();
  markDpkgStart(dir, now);
  const json = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8')) as { pid: number; since: string; start?: string };
  // This process is not under dpkg, so the marker names its parent (the test runner).
  assert.equal(json.pid, process.ppid);
  assert.equal(json.since, now.toISOString());
  assert.equal(typeof json.start, 'string');
  assert.deepEqual(readDpkgMarker(dir), { running: true, since: now.toISOString(), stale: false, pid: process.ppid });
  assert.deepEqual(fs.readdirSync(dir), [MARKER_FILE], 'no temp file left behind');
  // 0600 whatever the umask: www-data (which can search state_dir) must not learn when dpkg runs.
  assert.equal(fs.statSync(path.join(dir, MARKER_FILE)).mode & 0o777, 0o600);
  markDpkgEnd(dir);
  assert.equal(fs.existsSync(path.join(dir, MARKER_FILE)), false);
  markDpkgEnd(dir);
  assert.equal(readDpkgMarker(dir).running, false);
});

test('a marker whose process is gone is stale', async (t) => {
  const dir = tempDir(t);
  // A child runs `notify dpkg-start` the way a hook would: its parent is a short-lived shell.
  const shell = spawn('sh', ['-c', `"${process.execPath}" -e 'import(process.argv[1]).then((m) => m.markDpkgStart(process.argv[2]))' "${MARKER_JS}" "${dir}"; true`], { stdio: 'inherit' });
  await new Promise((resolve) => shell.once('exit', resolve));
  const m = readDpkgMarker(dir);
  assert.equal(m.pid, shell.pid, 'the hook is run by sh (which forked here), so sh is the marker pid');
  assert.deepEqual(m, { running: false, since: m.since, stale: true, pid: shell.pid });
});

test('under a process named dpkg, the marker names dpkg even through a forking shell', (t) => {
  const dir = tempDir(t);
  const bin = path.join(tempDir(t), 'dpkg');
  // A stand-in "dpkg" (its comm is dpkg): runs the hook through sh -c with a compound command, as
  // a hook line such as `pkgwatch notify dpkg-start || true` makes sh fork, then reports its own pid.
  fs.writeFileSync(bin, `#!/bin/sh\nsh -c '"${process.execPath}" -e "import(process.argv[1]).then((m) => m.markDpkgStart(process.argv[2]))" "${MARKER_JS}" "${dir}" || true'\necho $$\n`, { mode: 0o755 });
  const r = spawnSync(bin, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const dpkgPid = Number(r.stdout.trim());
  const json = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8')) as { pid: number };
  assert.equal(json.pid, dpkgPid);
  // And it has exited now: stale.
  assert.equal(readDpkgMarker(dir).stale, true);
});

test('a reused pid does not keep a marker alive: the start time must match', (t) => {
  const dir = tempDir(t);
  const since = new Date().toISOString();
  writeMarker(dir, { pid: process.pid, since, start: '1' });
  assert.deepEqual(readDpkgMarker(dir), { running: false, since, stale: true, pid: process.pid });
  // Without a recorded start time (older writers), the pid alone decides.
  writeMarker(dir, { pid: process.pid, since });
  assert.deepEqual(readDpkgMarker(dir), { running: true, since, stale: false, pid: process.pid });
});

test('a marker older than six hours is stale even when its process lives', (t) => {
  const dir = tempDir(t);
  const now = new Date('2024-05-01T12:00:00Z');
  const young = new Date(now.getTime() - MARKER_MAX_AGE_MS + 60_000).toISOString();
  const old = new Date(now.getTime() - MARKER_MAX_AGE_MS - 1).toISOString();
  writeMarker(dir, { pid: process.pid, since: young });
  assert.equal(readDpkgMarker(dir, now).running, true);
  writeMarker(dir, { pid: process.pid, since: old });
  assert.deepEqual(readDpkgMarker(dir, now), { running: false, since: old, stale: true, pid: process.pid });
  // Far in the future (a forged or mis-clocked date would never age): stale too.
  const future = new Date(now.getTime() + 3_600_000).toISOString();
  writeMarker(dir, { pid: process.pid, since: future });
  assert.equal(readDpkgMarker(dir, now).stale, true);
});

test('a marker that is a link, has other hard links or is too big is stale, never followed', (t) => {
  const dir = tempDir(t);
  const elsewhere = path.join(tempDir(t), 'marker');
  fs.writeFileSync(elsewhere, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
  fs.symlinkSync(elsewhere, path.join(dir, MARKER_FILE));
  assert.deepEqual(readDpkgMarker(dir), { running: false, since: null, stale: true, pid: null });
  fs.rmSync(path.join(dir, MARKER_FILE));
  fs.linkSync(elsewhere, path.join(dir, MARKER_FILE));
  assert.deepEqual(readDpkgMarker(dir), { running: false, since: null, stale: true, pid: null });
  fs.rmSync(path.join(dir, MARKER_FILE));
  writeMarker(dir, `${JSON.stringify({ pid: process.pid, since: new Date().toISOString() })}${' '.repeat(5000)}`);
  assert.equal(readDpkgMarker(dir).stale, true);
});

test('a damaged marker is stale, never "running"', (t) => {
  const dir = tempDir(t);
  for (const bad of ['', '{', 'null', '[]', '{"pid":"1","since":"x"}', '{"pid":0,"since":"2024-01-01T00:00:00Z"}', `{"pid":${process.pid},"since":"yesterday"}`]) {
    writeMarker(dir, bad);
    const m = readDpkgMarker(dir);
    assert.equal(m.running, false, bad);
    assert.equal(m.stale, true, bad);
  }
});
