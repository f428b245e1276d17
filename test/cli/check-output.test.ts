// What `pkgwatch check` prints for people on a real host: ignored findings counted apart, a missing
// folder as one line, --quiet, --with-deps naming what it added, errors that scripts can parse.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixture, type FixtureRoot } from '../helpers/fixture.js';

/** `app` with one changed file and a folder of 30 files that is gone; `noise` with 3 changed files. */
function hostLike(fx: FixtureRoot): void {
  const gone = Array.from({ length: 30 }, (_, i) => ({ path: `/usr/share/app/assets/img-${String(i).padStart(2, '0')}.png`, content: `png ${i}\n` }));
  fx.addPackage({ name: 'app', files: [{ path: '/usr/lib/app/main.py', content: 'main\n' }, ...gone] });
  fx.write('/usr/lib/app/main.py', 'tampered\n');
  fx.remove('/usr/share/app/assets');
  fx.addPackage({
    name: 'noise',
    files: [1, 2, 3].map((i) => ({ path: `/usr/lib/noise/mod${i}.js`, content: `mod ${i}\n` })),
  });
  for (const i of [1, 2, 3]) fx.write(`/usr/lib/noise/mod${i}.js`, `upgraded by hand ${i}\n`);
}

function ignoreConfig(fx: FixtureRoot): string {
  const file = path.join(fx.root, 'pkgwatch.toml');
  writeFileSync(file, '[ignore]\npaths = ["/usr/lib/noise/**"]\n');
  return file;
}

test('findings on [ignore] paths are counted apart in the summary and listed only with --show-ignored', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const config = ignoreConfig(fx);
  const r = await runCli(['check', '--root', fx.root, '--config', config]);
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /noise/, 'ignored findings are not listed');
  assert.match(r.stdout, /: 1 changed, 31 missing in 1 package, 3 ignored\n$/);

  const shown = await runCli(['check', '--root', fx.root, '--config', config, '--show-ignored']);
  assert.equal(shown.code, 1);
  assert.equal(shown.stdout.match(/\(ignored: \[ignore\] paths\)/g)?.length, 3, shown.stdout);
  assert.match(shown.stdout, /, 3 ignored\n$/);

  // JSON keeps them, marked.
  const json = await runCli(['check', '--root', fx.root, '--config', config, '--format', 'json']);
  const doc = JSON.parse(json.stdout) as { findings: { package: string; ignored: boolean }[] };
  assert.deepEqual(doc.findings.filter((f) => f.ignored).map((f) => f.package), ['noise', 'noise', 'noise']);
});

test('only ignored findings: exit 0 and "no findings, N ignored"', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const config = ignoreConfig(fx);
  const r = await runCli(['check', '--root', fx.root, '--config', config, 'noise']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^checked 1 package, \d+ paths, .*: no findings, 3 ignored\n$/);
});

test('a missing folder is one line with the count beneath it in text; --verbose, JSON, dpkg and debsums list every path', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const text = await runCli(['check', '--root', fx.root, 'app']);
  assert.equal(text.code, 1);
  const missingLines = text.stdout.split('\n').filter((l) => /^\s+missing /.test(l));
  assert.deepEqual(missingLines.map((l) => l.trim()), ['missing    /usr/share/app/assets']);
  assert.match(text.stdout, /and 30 more missing paths beneath it \(--verbose lists them\)/);
  assert.match(text.stdout, /1 changed, 31 missing in 1 package\n$/, 'the summary still counts every path');

  const verbose = await runCli(['check', '--root', fx.root, 'app', '--verbose']);
  assert.equal(verbose.stdout.split('\n').filter((l) => /^\s+missing /.test(l)).length, 31);

  const dpkg = await runCli(['check', '--root', fx.root, 'app', '--format', 'dpkg']);
  assert.equal(dpkg.stdout.split('\n').filter((l) => l.startsWith('missing')).length, 31);
  const debsums = await runCli(['check', '--root', fx.root, 'app', '--format', 'debsums']);
  assert.equal(debsums.stdout.split('\n').filter((l) => l.startsWith('debsums: missing')).length, 31);
  const json = JSON.parse((await runCli(['check', '--root', fx.root, 'app', '--format', 'json'])).stdout) as { findings: { status: string }[] };
  assert.equal(json.findings.filter((f) => f.status === 'missing').length, 31);
});

test('--quiet prints the findings and nothing else; the exit code is unchanged', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const q = await runCli(['check', '--root', fx.root, '-q']);
  assert.equal(q.code, 1);
  assert.doesNotMatch(q.stdout, /checked/);
  assert.match(q.stdout, /changed +\/usr\/lib\/app\/main\.py/);
  assert.equal(q.stderr, '');
  const clean = await runCli(['check', '--root', fx.root, '--quiet', 'nosuch*', 'app', '--config', ignoreConfig(fx), 'noise']);
  assert.equal(clean.code, 1);
});

test('--with-deps says which packages it added, in text and JSON', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'libz', files: [{ path: '/usr/lib/libz.so', content: 'z' }] });
  fx.addPackage({ name: 'libapp', depends: 'libz', files: [{ path: '/usr/lib/libapp.so', content: 'a' }] });
  fx.addPackage({ name: 'app', depends: 'libapp', files: [{ path: '/usr/bin/app', content: 'app' }] });
  const text = await runCli(['check', '--root', fx.root, '--with-deps', 'app']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^--with-deps added 2 packages: libapp, libz\nchecked 3 packages, /m);
  const json = JSON.parse((await runCli(['check', '--root', fx.root, '--with-deps', 'app', '--format', 'json'])).stdout) as { dependencies?: string[] };
  assert.deepEqual(json.dependencies, ['libapp', 'libz']);
  const without = JSON.parse((await runCli(['check', '--root', fx.root, 'app', '--format', 'json'])).stdout) as { dependencies?: string[] };
  assert.equal(without.dependencies, undefined);
});

test('one package and one path are said in the singular', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'solo', files: [{ path: '/usr/bin/solo', content: 'solo' }] });
  fx.remove('/usr/bin/solo');
  const r = await runCli(['check', '--root', fx.root, 'solo']);
  assert.match(r.stdout, /^checked 1 package, \d+ paths, .*: 1 missing in 1 package\n$/m);
});

test('--jobs and --max-mb-per-s quote what was typed when it is not a number', async (t) => {
  const fx = fixture(t);
  const jobs = await runCli(['check', '--root', fx.root, '--jobs', 'abc']);
  assert.equal(jobs.code, 2);
  assert.match(jobs.stderr, /--jobs must be a whole number from 1 to 256, got 'abc'/);
  const rate = await runCli(['check', '--root', fx.root, '--max-mb-per-s', 'fast']);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /--max-mb-per-s must be a number of MB per second, 0 or more, got 'fast'/);
});

test('a pattern that matches nothing is a warning and the rest is checked; a name that matches nothing stays an error', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const r = await runCli(['check', '--root', fx.root, 'ap*', 'nosuch*']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^pkgwatch: warning: command line: no package matches 'nosuch\*'/m);
  assert.match(r.stdout, /in 1 package\n$/);
  const none = await runCli(['check', '--root', fx.root, 'nosuch*']);
  assert.equal(none.code, 2, 'nothing left to check is an error');
  const name = await runCli(['check', '--root', fx.root, 'app', 'nosuch']);
  assert.equal(name.code, 2);
  assert.match(name.stderr, /nosuch/);
});

test('with --format json an error is still one JSON document on stdout', async (t) => {
  const fx = fixture(t);
  hostLike(fx);
  const r = await runCli(['check', '--root', fx.root, '--format', 'json', 'nosuch']);
  assert.equal(r.code, 2);
  const doc = JSON.parse(r.stdout) as { error: { kind: string; message: string } };
  assert.equal(doc.error.kind, 'usage');
  assert.match(doc.error.message, /nosuch/);
  assert.match(r.stderr, /nosuch/, 'and the message on stderr as for every format');
});

test('check --help lists the exit codes', async () => {
  const r = await runCli(['check', '--help']);
  assert.equal(r.code, 0);
  for (const code of ['0', '1', '2', '3', '141']) assert.match(r.stdout, new RegExp(`^ +${code} +\\S`, 'm'), `exit code ${code} in check --help`);
});
