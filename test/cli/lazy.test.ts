// A command loads only what it runs: --help and --version load no parser, and check loads none of
// the agent's modules (its watcher, mailer, outbox). Also: the hand-written
// top-level --help is the one yargs would print from the same command table.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { commandLine } from '../../src/cli/parse.js';
import { topLevelHelp } from '../../src/cli/commands.js';
import { CLI, REPO_ROOT, runProcess } from '../helpers/cli.js';
import { fixture } from '../helpers/fixture.js';

/** The modules (file URLs, repository-relative where they are ours) one CLI run loaded, in load order. */
async function loaded(t: TestContext, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'loaded.txt');
  writeFileSync(log, '');
  // A module customization hook that records every module Node loads (node:module register()).
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`,
  );
  writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  const r = await runProcess(process.execPath, ['--import', path.join(dir, 'register.mjs'), CLI, ...args]);
  const root = `file://${REPO_ROOT}`;
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u !== '')
    .map((u) => (u.startsWith(root) ? u.slice(root.length) : u));
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, modules };
}

const fromPackage = (modules: readonly string[], name: string): string[] => modules.filter((m) => m.includes(`/node_modules/${name}/`));
// node-cron is not here: the config's validation of cron expressions uses it.
const AGENT_PACKAGES = ['chokidar', 'nodemailer'];

test('pkgwatch --help and --version load neither yargs nor any command module', async (t) => {
  for (const args of [['--help'], ['--version']]) {
    const r = await loaded(t, args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 0, `${args[0]} printed something`);
    assert.deepEqual(r.modules.filter((m) => m.includes('/node_modules/')), [], `${args[0]} loads nothing from node_modules`);
    const ours = r.modules.filter((m) => m.startsWith('dist/')).sort();
    assert.deepEqual(ours, ['dist/cli/commands.js', 'dist/cli/exit.js', 'dist/cli/fastparse.js', 'dist/cli/main.js', 'dist/cli/options.js', 'dist/config/file.js', 'dist/errors.js'], `${args[0]} loads only the command table`);
  }
});

test('check --help and check of one package load none of the agent, its watcher or mailer, and start no worker', async (t) => {
  const help = await loaded(t, ['check', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--with-deps/);
  assert.deepEqual(help.modules.filter((m) => m.startsWith('dist/') && !m.startsWith('dist/cli/') && !m.startsWith('dist/config/file') && m !== 'dist/errors.js'), [], 'check --help runs no command code');

  const fx = fixture(t);
  fx.addPackage({ name: 'alpha', files: [{ path: '/usr/lib/alpha/file', content: 'alpha\n' }] });
  const run = await loaded(t, ['check', '--root', fx.root, 'alpha']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.modules.includes('dist/verify/run.js'), 'the check ran the verifier (the probe sees modules)');
  for (const name of AGENT_PACKAGES) assert.deepEqual(fromPackage(run.modules, name), [], `check loads nothing of ${name}`);
  assert.deepEqual(run.modules.filter((m) => m.startsWith('dist/agent/') || m.startsWith('dist/watch/') || m.startsWith('dist/alerts/')), [], 'check loads no agent module');
  // A package this small is hashed on the main thread: no worker starts (a Node start-up each).
  assert.ok(!run.modules.includes('dist/verify/worker.js'), 'one small package starts no hashing worker');
  const all = await loaded(t, ['check', '--root', fx.root]);
  assert.equal(all.code, 0, all.stderr);
  assert.ok(all.modules.includes('dist/verify/worker.js'), 'a full check starts its workers (and the probe sees them)');
});

test('the hand-written top-level --help is what yargs prints from the same command table', async () => {
  const yargsHelp = await commandLine([], () => undefined).getHelp();
  assert.equal(topLevelHelp(), `${yargsHelp}\n`);
  const r = await runProcess(process.execPath, [CLI, '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, topLevelHelp());
});

test('pkgwatch --version prints package.json\'s version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await runProcess(process.execPath, [CLI, '--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${version}\n`);
});
