// README's table of where pkgwatch and debsums differ, kept honest: the real debsums is run on a
// root built for each claim, and the table row must say what it did.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { test } from 'node:test';
import { REPO_ROOT, runCli, runProcess } from '../helpers/cli.js';
import { fixture, md5, type FixtureRoot } from '../helpers/fixture.js';

/** The README table row whose first cell starts with `caseText`. */
function readmeRow(caseText: string): string {
  const row = readFileSync(`${REPO_ROOT}README.md`, 'utf8').split('\n').find((l) => l.startsWith(`| ${caseText}`));
  assert.ok(row !== undefined, `README has a row for '${caseText}'`);
  return row;
}

function debsums(fx: FixtureRoot): ReturnType<typeof runProcess> {
  return runProcess('sh', ['-c', 'exec debsums -s "$@" 2>&1', 'debsums', `--root=${fx.root}`], { env: { LC_ALL: 'C' }, timeoutMs: 10 * 60_000 });
}

test('a FIFO where a file belongs: debsums says it cannot check it and goes on (exit 2); pkgwatch says wrong-type', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'f', files: [{ path: '/usr/share/f/fifo', content: 'a\n' }, { path: '/usr/share/f/real', content: 'x\n' }] });
  fx.write('/usr/share/f/real', 'tampered\n');
  fx.remove('/usr/share/f/fifo');
  execFileSync('mkfifo', [fx.path('/usr/share/f/fifo')]);
  const ds = await debsums(fx);
  assert.equal(ds.code, 2, ds.stdout);
  assert.match(ds.stdout, /can't check f file .*\/usr\/share\/f\/fifo \(not a regular file\)/);
  assert.match(ds.stdout, /changed file .*\/usr\/share\/f\/real/, 'debsums went on after the FIFO');
  const row = readmeRow('FIFO where a file belongs');
  assert.match(row, /can't check \.\.\. \(not a regular file\)`, goes on, exit 2/);
  const pw = await runCli(['check', '--root', fx.root, '--format', 'json']);
  const doc = JSON.parse(pw.stdout) as { findings: { path: string; status: string }[] };
  assert.deepEqual(doc.findings.map((f) => [f.path, f.status]), [['/usr/share/f/fifo', 'wrong-type'], ['/usr/share/f/real', 'changed']]);
  assert.match(row, /`wrong-type`, never opened/);
});

test('an absolute symlink loop under --root: debsums aborts the whole run; pkgwatch says wrong-type and checks the rest', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'f', files: [{ path: '/usr/share/f/loop1', content: 'a\n' }, { path: '/usr/share/f/real', content: 'x\n' }] });
  fx.write('/usr/share/f/real', 'tampered\n');
  fx.remove('/usr/share/f/loop1');
  symlinkSync('/usr/share/f/loop2', fx.path('/usr/share/f/loop1'));
  symlinkSync('/usr/share/f/loop1', fx.path('/usr/share/f/loop2'));
  const ds = await debsums(fx);
  // perl's die: the exit status is errno at that moment or 255, never debsums' 0 or 2.
  assert.ok(ds.code !== null && ds.code !== 0 && ds.code !== 2, `debsums exited ${String(ds.code)}: ${ds.stdout}`);
  assert.match(ds.stdout, /symlink loop detected/);
  assert.doesNotMatch(ds.stdout, /\/usr\/share\/f\/real/, 'debsums stopped before the file after the loop');
  const row = readmeRow('absolute symlink under `--root` that loops');
  assert.match(row, /aborts the whole run: `symlink loop detected`, a failing exit status/);
  const pw = await runCli(['check', '--root', fx.root, '--format', 'json']);
  const doc = JSON.parse(pw.stdout) as { findings: { path: string; status: string; expected: string | null }[] };
  assert.deepEqual(doc.findings.map((f) => [f.path, f.status]), [['/usr/share/f/loop1', 'wrong-type'], ['/usr/share/f/real', 'changed']]);
  assert.equal(doc.findings[0]?.expected, md5('a\n'));
  assert.match(row, /`wrong-type` \(a symlink where a file belongs\), the rest is checked/);
});
