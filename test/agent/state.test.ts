// The agent's state store: round trip, first start, corrupt files kept aside, and no loss under kill -9.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeState, findingKey, freshState, StateStore, type AgentState, type OpenFinding } from '../../src/agent/state.js';
import type { FindingJson } from '../../src/verify/report.js';
import { SAFETY_NET_MS } from '../helpers/wait.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-state-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const FIXED = new Date('2024-01-31T12:00:00.000Z');
const STAMP = '2024-01-31T12-00-00.000Z';

function open(pkg: string, p: string, extra: Partial<FindingJson> = {}): OpenFinding {
  const finding: FindingJson = {
    package: pkg,
    path: p,
    status: 'changed',
    conffile: false,
    expected: '0123456789abcdef0123456789abcdef',
    actual: 'fedcba9876543210fedcba9876543210',
    detail: null,
    ...extra,
  };
  return { key: findingKey(finding), finding, firstSeen: '2024-01-30T08:00:00.000Z', lastAlerted: '2024-01-30T08:00:00.000Z', ignored: false };
}

function sample(): AgentState {
  return {
    version: 1,
    findings: [
      open('nginx', '/usr/sbin/nginx'),
      { ...open('nginx-common', '/etc/nginx/nginx.conf', { status: 'missing', conffile: true, actual: null }), ignored: true },
      open('caf\\xe9', '/usr/share/caf\\xe9', { status: 'unreadable', expected: null, actual: null, detail: 'EACCES: permission denied' }),
    ],
    lastRuns: {
      scoped: {
        started: '2024-01-31T11:00:00.000Z',
        finished: '2024-01-31T11:00:01.500Z',
        outcome: 'findings',
        findings: 3,
        files: 1234,
        bytes: 12_300_000,
        durationMs: 1500,
      },
      full: {
        started: '2024-01-28T03:00:00.000Z',
        finished: '2024-01-28T03:00:00.100Z',
        outcome: 'failed',
        findings: 0,
        files: 0,
        bytes: 0,
        durationMs: 100,
        error: 'cannot read /var/lib/dpkg/status',
      },
    },
    lastDue: { scoped: '2024-01-31T11:00:00.000Z', full: '2024-01-28T03:00:00.000Z' },
  };
}

test('findingKey joins package and path with a NUL', () => {
  assert.equal(findingKey({ package: 'nginx', path: '/usr/sbin/nginx' }), 'nginx\0/usr/sbin/nginx');
});

test('first start: no directory, no file -> a fresh state without warning, directory made 0700', (t) => {
  const dir = path.join(tempDir(t), 'a', 'state');
  const store = new StateStore(dir);
  assert.deepEqual(store.load(), { state: freshState(), warning: null });
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('save then load returns the same state; the file is 0600, readable JSON, no temp file left', (t) => {
  const dir = tempDir(t);
  const store = new StateStore(dir);
  store.save(sample());
  assert.deepEqual(fs.readdirSync(dir), ['state.json']);
  assert.equal(fs.statSync(path.join(dir, 'state.json')).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')), sample());
  assert.deepEqual(new StateStore(dir).load(), { state: sample(), warning: null });
  // A second save replaces the first.
  store.save(freshState());
  assert.deepEqual(store.load(), { state: freshState(), warning: null });
});

test('save refuses a state that load would reject, and leaves the saved one alone', (t) => {
  const dir = tempDir(t);
  const store = new StateStore(dir);
  store.save(sample());
  const bad = { ...sample(), findings: [{ ...open('a', '/x'), key: 'wrong' }] };
  assert.throws(() => store.save(bad), { name: 'ShapeError', message: 'state.findings[0].key: does not match the finding\'s package and path' });
  assert.deepEqual(store.load().state, sample());
});

test('save names the file when it cannot write, and leaves no temp file behind', (t) => {
  const dir = tempDir(t);
  const store = new StateStore(dir);
  fs.mkdirSync(path.join(dir, 'state.json', 'x'), { recursive: true }); // renaming the temp file over it fails with EISDIR
  assert.throws(() => store.save(freshState()), (err: Error) => {
    assert.match(err.message, new RegExp(`^cannot save the agent state to ${path.join(dir, 'state.json')}: EISDIR: illegal operation on a directory$`));
    return true;
  });
  assert.deepEqual(fs.readdirSync(dir), ['state.json']);
  fs.rmSync(path.join(dir, 'state.json'), { recursive: true });
  store.save(sample());
  assert.deepEqual(store.load().state, sample());
});

/** Writes `text` as state.json, loads, and returns the warning, the state and the files left. */
function loadBad(t: { after: (fn: () => void) => void }, text: string): { warning: string | null; state: AgentState; files: string[]; dir: string } {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'state.json'), text);
  const { state, warning } = new StateStore(dir, { now: () => FIXED }).load();
  return { warning, state, files: fs.readdirSync(dir).sort(), dir };
}

test('a file that is not JSON: fresh state, a warning naming the file, the bad file kept', (t) => {
  const r = loadBad(t, '{"version": 1, "findi');
  assert.deepEqual(r.state, freshState());
  assert.deepEqual(r.files, [`state.json.corrupt-${STAMP}`]);
  const file = path.join(r.dir, 'state.json');
  assert.match(
    r.warning ?? '',
    new RegExp(
      `^${file}: not valid JSON \\(.+\\); starting from an empty state, so open findings will be alerted again as new; the bad file was kept as ${file}\\.corrupt-${STAMP}$`,
    ),
  );
  assert.equal(fs.readFileSync(`${file}.corrupt-${STAMP}`, 'utf8'), '{"version": 1, "findi');
});

test('an empty file is corrupt, not a first start', (t) => {
  const r = loadBad(t, '');
  assert.deepEqual(r.state, freshState());
  assert.match(r.warning ?? '', /state\.json: not valid JSON/);
  assert.deepEqual(r.files, [`state.json.corrupt-${STAMP}`]);
});

test('wrong shapes: each names the field and what was found', async (t) => {
  const good = sample();
  const cases: [string, unknown, string][] = [
    ['array', [], 'state: expected an object, found an array'],
    ['version', { ...good, version: 2 }, 'state.version: expected 1, found number 2'],
    ['missing field', { version: 1, findings: [], lastRuns: {} }, 'state: field "lastDue" is missing'],
    ['unknown field', { ...good, extra: 1 }, 'state: unknown field "extra"'],
    ['findings not array', { ...good, findings: {} }, 'state.findings: expected an array, found an object'],
    [
      'bad status',
      { ...good, findings: [{ ...open('a', '/x'), finding: { ...open('a', '/x').finding, status: 'gone' } }] },
      'state.findings[0].finding.status: expected one of changed, missing, wrong-type, unreadable, database-changed, metadata-changed, written, unowned, setuid, added, found the string "gone"',
    ],
    ['conffile', { ...good, findings: [{ ...open('a', '/x'), finding: { ...open('a', '/x').finding, conffile: 'no' } }] }, 'state.findings[0].finding.conffile: expected true or false, found the string "no"'],
    ['expected', { ...good, findings: [{ ...open('a', '/x'), finding: { ...open('a', '/x').finding, expected: 5 } }] }, 'state.findings[0].finding.expected: expected a string or null, found number 5'],
    ['empty path', { ...good, findings: [open('a', '')] }, 'state.findings[0].finding.path: expected a non-empty string, found the string ""'],
    ['key mismatch', { ...good, findings: [{ ...open('a', '/x'), key: 'a\0/y' }] }, "state.findings[0].key: does not match the finding's package and path"],
    ['duplicate', { ...good, findings: [open('a', '/x'), open('a', '/x')] }, 'state.findings[1]: a /x is listed twice'],
    ['bad time', { ...good, findings: [{ ...open('a', '/x'), firstSeen: 'yesterday' }] }, 'state.findings[0].firstSeen: expected an ISO time like 2024-01-31T12:00:00.000Z, found the string "yesterday"'],
    ['impossible date', { ...good, findings: [{ ...open('a', '/x'), lastAlerted: '2024-02-30T00:00:00.000Z' }] }, 'state.findings[0].lastAlerted: expected an ISO time like 2024-01-31T12:00:00.000Z, found the string "2024-02-30T00:00:00.000Z"'],
    ['ignored', { ...good, findings: [{ ...open('a', '/x'), ignored: null }] }, 'state.findings[0].ignored: expected true or false, found null'],
    ['run outcome', { ...good, lastRuns: { full: { ...good.lastRuns.full, outcome: 'ok' } } }, 'state.lastRuns.full.outcome: expected one of clean, findings, incomplete, failed, found the string "ok"'],
    ['run count', { ...good, lastRuns: { scoped: { ...good.lastRuns.scoped, files: -1 } } }, 'state.lastRuns.scoped.files: expected a whole number ≥ 0, found number -1'],
    ['run bytes', { ...good, lastRuns: { scoped: { ...good.lastRuns.scoped, bytes: 1.5 } } }, 'state.lastRuns.scoped.bytes: expected a whole number ≥ 0, found number 1.5'],
    ['run error', { ...good, lastRuns: { full: { ...good.lastRuns.full, error: null } } }, 'state.lastRuns.full.error: expected a string, found null'],
    ['unknown run', { ...good, lastRuns: { weekly: good.lastRuns.full } }, 'state.lastRuns: unknown field "weekly"'],
    ['lastDue', { ...good, lastDue: { full: 0 } }, 'state.lastDue.full: expected an ISO time like 2024-01-31T12:00:00.000Z, found number 0'],
    ['proto', JSON.parse('{"version":1,"findings":[],"lastRuns":{},"lastDue":{},"__proto__":{"x":1}}'), 'state: unknown field "__proto__"'],
  ];
  for (const [name, value, message] of cases) {
    await t.test(name, (t2) => {
      assert.throws(() => decodeState(value), { name: 'ShapeError', message });
      const r = loadBad(t2, JSON.stringify(value));
      assert.deepEqual(r.state, freshState());
      assert.equal(
        r.warning,
        `${path.join(r.dir, 'state.json')}: not a valid state (${message}); starting from an empty state, so open findings will be alerted again as new; the bad file was kept as ${path.join(r.dir, `state.json.corrupt-${STAMP}`)}`,
      );
      assert.deepEqual(r.files, [`state.json.corrupt-${STAMP}`]);
    });
  }
});

test('decodeState keeps only known fields and copies, never returns the parsed objects', () => {
  const parsed = JSON.parse(JSON.stringify(sample())) as AgentState;
  const decoded = decodeState(parsed);
  assert.deepEqual(decoded, sample());
  assert.notEqual(decoded.findings[0], parsed.findings[0]);
});

test('a state file that is a directory cannot be read: moved aside too, then the next save works', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'state.json'));
  const store = new StateStore(dir, { now: () => FIXED });
  const { state, warning } = store.load();
  assert.deepEqual(state, freshState());
  assert.match(warning ?? '', /state\.json: cannot be read \(.*state\.json is a directory, not a file pkgwatch wrote: remove it .*\); starting from an empty state/);
  assert.ok(fs.statSync(path.join(dir, `state.json.corrupt-${STAMP}`)).isDirectory());
  store.save(sample());
  assert.deepEqual(store.load(), { state: sample(), warning: null });
});

test('two corrupt files in the same millisecond are both kept', (t) => {
  const dir = tempDir(t);
  const store = new StateStore(dir, { now: () => FIXED });
  fs.writeFileSync(path.join(dir, 'state.json'), 'x');
  store.load();
  fs.writeFileSync(path.join(dir, 'state.json'), 'y');
  assert.match(store.load().warning ?? '', new RegExp(`kept as .*state\\.json\\.corrupt-${STAMP}-1$`));
  assert.deepEqual(fs.readdirSync(dir).sort(), [`state.json.corrupt-${STAMP}`, `state.json.corrupt-${STAMP}-1`]);
});

test('temp files a crash left are removed at load; those of live processes and other names are not', (t) => {
  const dir = tempDir(t);
  const store = new StateStore(dir);
  store.save(sample());
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const leftovers = [`state.json.${dead.stdout}-0123456789ab.tmp`, `status.json.${dead.stdout}-ba9876543210.tmp`];
  const kept = [`state.json.${process.pid}-0123456789ab.tmp`, 'state.json.tmp', 'notes.tmp'];
  for (const name of [...leftovers, ...kept]) fs.writeFileSync(path.join(dir, name), '{"half');
  assert.deepEqual(store.load(), { state: sample(), warning: null });
  store.save(freshState());
  assert.deepEqual(fs.readdirSync(dir).sort(), [...kept, 'state.json'].sort());
});

// The child saves states of varying size in a tight loop and prints the sequence number of each
// save after save() returned. Each round kills it with SIGKILL once it has acknowledged a random
// number of saves; it goes on saving while that line travels, so the kill lands at an unknown point
// of a later save. Every kill must leave a state.json that loads without warning and holds at least
// the last acknowledged save. (This proves atomicity against a killed process; durability against
// power loss rests on the fsyncs.)
const STATE_MODULE = fileURLToPath(new URL('../../src/agent/state.js', import.meta.url));
const CHILD = `
import { StateStore, findingKey } from ${JSON.stringify(STATE_MODULE)};
const store = new StateStore(process.argv[1]);
const { state, warning } = store.load();
if (warning !== null) { console.error(warning); process.exit(3); }
let seq = state.lastRuns.full?.files ?? 0;
for (;;) {
  seq++;
  const n = (seq * 7) % 60;
  const findings = [];
  for (let i = 0; i < n; i++) {
    const finding = { package: 'pkg' + String(i).padStart(3, '0'), path: '/usr/lib/file-' + seq + '-' + 'x'.repeat(i * 13),
      status: 'changed', conffile: false, expected: '0'.repeat(32), actual: 'f'.repeat(32), detail: null };
    findings.push({ key: findingKey(finding), finding, firstSeen: new Date(0).toISOString(), lastAlerted: new Date().toISOString(), ignored: i % 5 === 0 });
  }
  const now = new Date().toISOString();
  state.findings = findings;
  state.lastRuns.full = { started: now, finished: now, outcome: 'clean', findings: n, files: seq, bytes: seq * 1000, durationMs: 1 };
  store.save(state);
  process.stdout.write(seq + '\\n');
}
`;

/** Starts the child on `dir`, SIGKILLs it once it has acknowledged `saves` saves (or at the safety net), and reports what it acknowledged. */
function killRound(dir: string, saves: number): Promise<{ first: number; acked: number; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    const acks = (): number[] =>
      out
        .split('\n')
        .slice(0, -1) // the last piece may be half a line
        .filter((l) => /^\d+$/.test(l))
        .map(Number);
    const safetyNet = setTimeout(() => child.kill('SIGKILL'), SAFETY_NET_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (acks().length >= saves) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(safetyNet);
      const acked = acks();
      resolve({ first: acked[0] ?? -1, acked: acked.at(-1) ?? -1, code, signal, stderr });
    });
  });
}

test('kill -9 at random moments never leaves a broken or older state.json', async (t) => {
  const dir = tempDir(t);
  let last = 0;
  let atLeast = 0;
  for (let round = 0; round < 10; round++) {
    const saves = 1 + Math.floor(Math.random() * 30);
    atLeast += saves;
    const r = await killRound(dir, saves);
    const what = `round ${round} (killed after ${saves} acknowledged saves)`;
    assert.equal(r.stderr, '', `${what}: the child could not load the state it left`);
    assert.deepEqual([r.code, r.signal], [null, 'SIGKILL'], `${what}: the child was killed, not exited`);
    // It went on from the state the last kill left.
    assert.equal(r.first, last + 1, `${what}: the child started from ${r.first - 1}, not ${last}`);
    assert.ok(r.acked >= last + saves, `${what}: only ${r.acked - last} saves acknowledged`);
    const state = decodeState(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')));
    const seq = state.lastRuns.full?.files ?? 0;
    // Everything acknowledged is on disk; at most the save in flight went further.
    assert.ok(seq === r.acked || seq === r.acked + 1, `${what}: saved ${seq}, acknowledged ${r.acked}`);
    assert.equal(state.findings.length, (seq * 7) % 60);
    assert.equal(new StateStore(dir).load().warning, null);
    last = seq;
  }
  assert.ok(last >= atLeast, `${last} saves, fewer than the ${atLeast} acknowledged`);
  // A save cut short leaves its temp file; the next load removes it.
  new StateStore(dir).load();
  assert.deepEqual(fs.readdirSync(dir), ['state.json']);
});
