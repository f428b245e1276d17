// dpkg's lock as /proc/locks shows it: the parser, the dev_t split, and a real lock held by a child process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { devMajorMinor, findDpkgLocks, isDpkgLockHeld, parseProcLocks } from '../../src/dpkgrun/lock.js';

const SAMPLE = [
  '1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF',
  '1: -> POSIX  ADVISORY  WRITE 1300 fd:01:5678 0 EOF',
  '2: FLOCK  ADVISORY  WRITE 99 00:2d:12 0 EOF',
  '3: OFDLCK ADVISORY  READ  -1 103:02:18446744073709551615 0 EOF',
  '4: LEASE  ACTIVE    READ  77 08:01:42 0 EOF',
  'garbage line',
  '',
].join('\n');

test('parseProcLocks reads every field, marks waiters, and skips what it does not know', () => {
  const locks = parseProcLocks(SAMPLE);
  assert.equal(locks.length, 5);
  assert.deepEqual(locks[0], { id: 1, blocked: false, type: 'POSIX', mode: 'ADVISORY', access: 'WRITE', pid: 1234, major: 0xfd, minor: 1, inode: 5678n });
  assert.equal(locks[1]?.blocked, true);
  assert.equal(locks[1]?.pid, 1300);
  assert.deepEqual([locks[2]?.type, locks[2]?.major, locks[2]?.minor, locks[2]?.inode], ['FLOCK', 0, 0x2d, 12n]);
  // OFD locks have no pid; inode numbers can use all 64 bits.
  assert.deepEqual([locks[3]?.pid, locks[3]?.major, locks[3]?.minor, locks[3]?.inode], [-1, 0x103, 2, 18446744073709551615n]);
  assert.equal(locks[4]?.type, 'LEASE');
  assert.deepEqual(parseProcLocks(''), []);
});

test('devMajorMinor splits dev_t as glibc does (12-bit major, 20-bit minor)', () => {
  assert.deepEqual(devMajorMinor(0xfd01n), { major: 0xfd, minor: 1 });
  assert.deepEqual(devMajorMinor(0x2dn), { major: 0, minor: 0x2d });
  // major 259, minor 0x12345: minor's low byte, major, then minor's high bits.
  const dev = (0x45n) | (0x103n << 8n) | (0x123n << 20n);
  assert.deepEqual(devMajorMinor(dev), { major: 0x103, minor: 0x12345 });
  // Majors above 0xfff keep their high bits in the high word, as glibc's makedev puts them.
  assert.deepEqual(devMajorMinor((0x1000n << 32n) | (0x2n << 8n)), { major: 0x1002, minor: 0 });
});

test('findDpkgLocks matches device and inode, WRITE holders of POSIX/OFDLCK/FLOCK only', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'lock'), '');
  const st = fs.statSync(path.join(dir, 'lock'), { bigint: true });
  const { major, minor } = devMajorMinor(st.dev);
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const at = `${hex(major)}:${hex(minor)}:${st.ino}`;
  const other = `${hex(major + 1)}:${hex(minor)}:${st.ino}`;
  const cases: [string, boolean][] = [
    [`1: POSIX  ADVISORY  WRITE 10 ${at} 0 EOF`, true],
    [`1: OFDLCK ADVISORY  WRITE -1 ${at} 0 EOF`, true],
    [`1: FLOCK  ADVISORY  WRITE 10 ${at} 0 EOF`, true],
    [`1: POSIX  ADVISORY  READ  10 ${at} 0 EOF`, false],
    [`1: -> POSIX  ADVISORY  WRITE 10 ${at} 0 EOF`, false],
    [`1: LEASE  ACTIVE    WRITE 10 ${at} 0 EOF`, false],
    [`1: POSIX  ADVISORY  WRITE 10 ${other} 0 EOF`, false],
  ];
  await Promise.all(
    cases.map(async ([line, held], i) => {
      const proc = path.join(dir, `locks${i}`);
      fs.writeFileSync(proc, `${line}\n`);
      const found = await findDpkgLocks(dir, proc);
      assert.equal(found.length > 0, held, line);
      if (held) assert.equal(found[0]?.file, path.join(dir, 'lock'));
    }),
  );
});

test('no lock file: not held, and /proc/locks is not even needed', async (t) => {
  const dir = tempDir(t);
  assert.equal(await isDpkgLockHeld(dir), false);
  assert.deepEqual(await findDpkgLocks(dir, path.join(dir, 'no-such-proc-locks')), []);
  assert.equal(await isDpkgLockHeld(path.join(dir, 'no-such-admindir')), false);
});

for (const [kind, code] of [
  ['fcntl (lockf, as dpkg)', 'fcntl.lockf(f, fcntl.LOCK_EX)'],
  ['flock', 'fcntl.flock(f, fcntl.LOCK_EX)'],
] as const) {
  test(`a real ${kind} write lock held by another process is seen, and gone after it dies`, async (t) => {
    const dir = tempDir(t);
    const lock = path.join(dir, 'lock');
    fs.writeFileSync(lock, '');
    assert.equal(await isDpkgLockHeld(dir), false);
    const child = await holdLock(t, lock, code);
    assert.equal(await isDpkgLockHeld(dir), true);
    const held = await findDpkgLocks(dir);
    assert.equal(held[0]?.file, lock);
    assert.equal(held[0]?.pid, child.pid);
    await kill(child);
    assert.equal(await isDpkgLockHeld(dir), false);
  });
}

test('lock-frontend (apt) counts too; a shared (READ) lock does not', async (t) => {
  const dir = tempDir(t);
  const front = path.join(dir, 'lock-frontend');
  fs.writeFileSync(front, '');
  const reader = await holdLock(t, front, 'fcntl.lockf(f, fcntl.LOCK_SH)', 'r');
  assert.equal(await isDpkgLockHeld(dir), false);
  await kill(reader);
  const writer = await holdLock(t, front, 'fcntl.lockf(f, fcntl.LOCK_EX)');
  assert.equal(await isDpkgLockHeld(dir), true);
  await kill(writer);
  assert.equal(await isDpkgLockHeld(dir), false);
});

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-lock-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts python3 holding a lock on `file` until it is killed (or its stdin closes); resolves once it says it holds it. */
function holdLock(t: TestContext, file: string, lockCall: string, mode = 'w'): Promise<ChildProcess> {
  const script = `import fcntl,sys; f=open(sys.argv[1],${JSON.stringify(mode)}); ${lockCall}; print("locked", flush=True); sys.stdin.read()`;
  const child = spawn('python3', ['-c', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`python3 exited early (${String(code)})`)));
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('locked')) resolve(child);
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
