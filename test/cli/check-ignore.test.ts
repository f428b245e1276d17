// `check --config`: findings on the agent's [ignore] paths are reported, marked, and do not set the exit code.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { checkJson, fixture } from '../helpers/fixture.js';

function configFile(t: { after: (fn: () => void) => void }, text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-ignore-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pkgwatch.toml');
  writeFileSync(file, text);
  return file;
}

test('a finding on an ignored path is reported with ignored: true and exit 0; another finding still exits 1', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'nodejs', files: [{ path: '/usr/lib/node_modules/npm/index.js', content: 'npm\n' }] });
  fx.addPackage({ name: 'app', files: [{ path: '/srv/app/main.py', content: 'app\n' }] });
  const cfg = configFile(t, '[ignore]\npaths = ["/usr/lib/node_modules/npm/**"]\n');
  fx.write('/usr/lib/node_modules/npm/index.js', 'npm -g rewrote me\n');

  const only = await checkJson(fx, ['--config', cfg]);
  assert.equal(only.res.code, 0, only.res.stderr);
  assert.deepEqual(
    only.json.findings.map((f) => [f.package, f.path, f.status, (f as { ignored?: boolean }).ignored]),
    [['nodejs', '/usr/lib/node_modules/npm/index.js', 'changed', true]],
  );
  const text = await runCli(['check', '--root', fx.root, '--config', cfg]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /: no findings, 1 ignored\n$/);
  const shown = await runCli(['check', '--root', fx.root, '--config', cfg, '--show-ignored']);
  assert.match(shown.stdout, /changed {4}\/usr\/lib\/node_modules\/npm\/index\.js \(ignored: \[ignore\] paths\)/);

  fx.write('/srv/app/main.py', 'backdoor\n');
  const both = await checkJson(fx, ['--config', cfg]);
  assert.equal(both.res.code, 1);
  assert.deepEqual(
    both.json.findings.map((f) => [f.package, (f as { ignored?: boolean }).ignored]),
    [['app', false], ['nodejs', true]],
  );
});

test('a --config that does not exist, or is invalid, is exit 2 naming the file', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'app', files: [{ path: '/srv/app/main.py', content: 'app\n' }] });
  const missing = await runCli(['check', '--root', fx.root, '--config', '/nonexistent/pkgwatch.toml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/pkgwatch\.toml/);
  const bad = configFile(t, '[ignore]\npath = ["/x/**"]\n');
  const invalid = await runCli(['check', '--root', fx.root, '--config', bad]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: key 'ignore.path': unknown key; did you mean 'ignore.paths'\\?`));
});

test('ignore globs match non-ASCII (UTF-8) paths: globs and paths are compared as bytes', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'site', files: [{ path: '/srv/café/index.html', content: 'menu\n' }] });
  const cfg = configFile(t, '[ignore]\npaths = ["/srv/café/**"]\n');
  fx.write('/srv/café/index.html', 'changed menu\n');
  const run = await checkJson(fx, ['--config', cfg]);
  assert.equal(run.res.code, 0, run.res.stderr);
  assert.deepEqual(
    run.json.findings.map((f) => [f.path, f.status, f.ignored]),
    [['/srv/café/index.html', 'changed', true]],
  );
});
