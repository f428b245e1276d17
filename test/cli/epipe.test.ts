// Output into a closed pipe (`pkgwatch check | head -1`): every command stops quietly with 141, the
// status a shell shows for a program that SIGPIPE ended (what dpkg --verify and debsums do there).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { fixture, type FixtureRoot } from '../helpers/fixture.js';

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** What was read before the pipe was closed. */
  readonly read: string;
}

/**
 * Runs the CLI with stdout on a pipe and closes the pipe's read end: at once (`afterLines` 0), or
 * after reading that many lines, as `head -N` does.
 */
function runIntoClosedPipe(args: readonly string[], afterLines: number): Promise<Ended> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
  let stderr = '';
  let read = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  if (afterLines === 0) child.stdout.destroy();
  else {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      if (child.stdout.destroyed) return;
      read += s;
      if (read.split('\n').length > afterLines) child.stdout.destroy();
    });
  }
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, read })));
}

/** A package of 4,000 files, every one missing: far more output than a pipe holds (64 KiB), read a chunk at a time. */
function noisyFixture(fx: FixtureRoot): void {
  const files = Array.from({ length: 4000 }, (_, i) => ({ path: `/usr/share/noisy/some/longer/folder/name/file-${String(i).padStart(5, '0')}.txt`, content: `${i}\n` }));
  fx.addPackage({ name: 'noisy', files });
  fx.remove('/usr/share/noisy');
}

for (const format of ['text', 'json', 'dpkg', 'debsums'] as const) {
  test(`check --format ${format} | head -1: exit 141, nothing on stderr`, async (t) => {
    const fx = fixture(t);
    noisyFixture(fx);
    // --verbose: text would otherwise say the missing folder in one line, which fits in the pipe.
    const r = await runIntoClosedPipe(['check', '--root', fx.root, '--format', format, '--verbose'], 1);
    assert.ok(r.read.length > 0, 'something was read before the pipe closed');
    assert.deepEqual({ code: r.code, signal: r.signal, stderr: r.stderr }, { code: 141, signal: null, stderr: '' });
  });
}

test('every command that writes to stdout stops with 141 and no stack trace when its reader is gone', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/usr/lib/app/main.py', content: 'main\n' }] });
  fx.write('/usr/lib/app/main.py', 'changed\n');
  const config = path.join(fx.root, 'pkgwatch.toml');
  writeFileSync(config, `root = ${JSON.stringify(fx.root)}\nstate_dir = ${JSON.stringify(path.join(fx.root, 'state'))}\n`);
  const commands: string[][] = [
    ['check', '--root', fx.root],
    ['check', '--root', fx.root, '--format', 'json'],
    ['config', 'show', '--config', config],
    ['config', 'show', '--config', config, '--json'],
    ['config', 'check', '--config', config],
    ['status', '--config', config],
    ['status', '--config', config, '--json'],
  ];
  for (const args of commands) {
    const r = await runIntoClosedPipe(args, 0);
    assert.deepEqual({ args, code: r.code, signal: r.signal, stderr: r.stderr }, { args, code: 141, signal: null, stderr: '' });
  }
  // yargs prints help and version in one write and exits 0 at once, before the error can arrive:
  // quiet either way, and never a stack trace.
  for (const args of [['--help'], ['--version'], ['check', '--help']]) {
    const r = await runIntoClosedPipe(args, 0);
    assert.equal(r.stderr, '', `${args.join(' ')}: nothing on stderr`);
    assert.ok(r.code === 0 || r.code === 141, `${args.join(' ')}: exit ${String(r.code)}, want 0 or 141`);
  }
});
