// check --unowned on fixture roots: what an intruder drops into an application's tree is found,
// what packages, dpkg's helpers and the operator's allow rules account for is not.
import assert from 'node:assert/strict';
import { chownSync, chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.js';
import { checkJson, fixture, FixtureRoot } from '../helpers/fixture.js';

const SITE = '/srv/http/example.org';

/** An application package with a site tree, a Python library, and a local package diverting one of its files. */
function appRoot(fx: FixtureRoot): void {
  fx.write('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n');
  fx.write('/etc/group', 'root:x:0:\nwww-data:x:33:\n');
  fx.addPackage({
    name: 'app',
    files: [
      { path: `${SITE}/htdocs/index.php`, content: '<?php echo "hello";\n' },
      { path: `${SITE}/htdocs/config.php`, content: '<?php $db = "app";\n' },
      { path: `${SITE}/lib/app.py`, content: 'print("app")\n' },
    ],
    dirs: [`${SITE}/htdocs/uploads`],
  });
  // app-local diverts app's config.php and ships its own; the diverted file lives on at the target.
  fx.addDiversion(`${SITE}/htdocs/config.php`, `${SITE}/htdocs/config.php.app`, 'app-local');
  fx.addPackage({ name: 'app-local', files: [{ path: `${SITE}/htdocs/config.php`, content: '<?php $db = "local";\n' }] });
}

/** What an intruder and the application's runtime leave behind. */
async function dropFiles(fx: FixtureRoot): Promise<void> {
  fx.write(`${SITE}/htdocs/shell.php`, '<?php system($_GET["c"]);\n');
  chownSync(fx.path(`${SITE}/htdocs/shell.php`), 33, 33);
  chmodSync(fx.path(`${SITE}/htdocs/shell.php`), 0o640);
  // mkdir -p a/b/c && touch a/b/c/x.php: one finding for `a`, with the 3 entries below it.
  fx.write(`${SITE}/htdocs/a/b/c/x.php`, '<?php\n');
  const fifo = await runProcess('mkfifo', [fx.path(`${SITE}/htdocs/pipe`)]);
  assert.equal(fifo.code, 0, fifo.stderr);
  // A link to a directory outside the tree: reported, never followed.
  symlinkSync('/etc', fx.path(`${SITE}/htdocs/etc`));
  // Uploads: allowed by the config, deep ones too.
  fx.write(`${SITE}/htdocs/uploads/cat.jpg`, 'jpeg');
  fx.write(`${SITE}/htdocs/uploads/2024/05/dog.jpg`, 'jpeg');
  // py3compile's byte code of a packaged .py: quiet. A .py no package installed, and its byte code: found.
  fx.write(`${SITE}/lib/__pycache__/app.cpython-311.pyc`, 'pyc');
  fx.write(`${SITE}/lib/__pycache__/app.cpython-311.opt-1.pyc`, 'pyc');
  fx.write(`${SITE}/lib/evil.py`, 'import os\n');
  fx.write(`${SITE}/lib/__pycache__/evil.cpython-311.pyc`, 'pyc');
}

function writeConfig(fx: FixtureRoot, text: string): string {
  const file = fx.path('pkgwatch.toml');
  writeFileSync(file, text);
  return file;
}

const ALLOW_UPLOADS = '[unowned]\nallow = ["/srv/http/*/htdocs/uploads/**"]\n';

test('check --unowned app: every dropped entry is one finding; packaged, diverted, allowed and py3compile files are not', async (t) => {
  const fx = fixture(t);
  appRoot(fx);
  await dropFiles(fx);
  const config = writeConfig(fx, ALLOW_UPLOADS);
  const { res, json } = await checkJson(fx, ['--unowned', '--no-verify', '--config', config, 'app']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status, f.actual, f.stat?.type, f.stat?.entries]),
    [
      ['app', `${SITE}/htdocs/a`, 'unowned', 'directory', 'directory', 3],
      ['app', `${SITE}/htdocs/etc`, 'unowned', 'symlink', 'symlink', undefined],
      ['app', `${SITE}/htdocs/pipe`, 'unowned', 'fifo', 'fifo', undefined],
      ['app', `${SITE}/htdocs/shell.php`, 'unowned', 'file', 'file', undefined],
      ['app', `${SITE}/lib/__pycache__/evil.cpython-311.pyc`, 'unowned', 'file', 'file', undefined],
      ['app', `${SITE}/lib/evil.py`, 'unowned', 'file', 'file', undefined],
    ],
  );
  const shell = json.findings.find((f) => f.path.endsWith('/shell.php'));
  assert.deepEqual({ ...shell?.stat, mtime: undefined }, { type: 'file', size: 26, uid: 33, gid: 33, user: 'www-data', group: 'www-data', mode: '0640', mtime: undefined });
  assert.match(shell?.stat?.mtime ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.match(shell?.detail ?? '', /^file, 26 B, www-data:www-data \(33:33\), mode 0640, modified \d{4}-/);
  assert.equal(json.findings.find((f) => f.path.endsWith('/etc'))?.stat?.target, '/etc');
  // The tree is the outermost directory app lists under /srv.
  const summary = json.summary as unknown as { unowned: { trees: unknown[] } };
  assert.deepEqual(summary.unowned.trees, [{ path: '/srv/http', package: 'app', reason: 'app-dir' }]);

  // Text: the new directory's line says what lies below it.
  const text = await runCli(['check', '--root', fx.root, '--unowned', '--no-verify', '--config', config, 'app']);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^ {2}unowned {4}\/srv\/http\/example\.org\/htdocs\/a\n {13}directory with 3 entries below it, root:root \(0:0\), mode 0755, /m);
  assert.match(text.stdout, /walked 1 tree, \d+ entries in [\d.]+ s: 6 unowned in 1 package\n$/);
});

test('without the allow rule the upload directory is a finding; the dpkg and debsums formats leave unowned findings out', async (t) => {
  const fx = fixture(t);
  appRoot(fx);
  fx.write(`${SITE}/htdocs/uploads/cat.jpg`, 'jpeg');
  const { res, json } = await checkJson(fx, ['--unowned', '--no-verify', 'app']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(json.findings.map((f) => f.path), [`${SITE}/htdocs/uploads/cat.jpg`]);
  for (const format of ['dpkg', 'debsums']) {
    const r = await runCli(['check', '--root', fx.root, '--unowned', '--format', format, 'app']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`1 finding of --unowned/--setuid/--persist not shown: the ${format} format has no such status`));
  }
  // The packaged files verify, so with the verification the unowned file is still the only finding.
  const both = await checkJson(fx, ['--unowned', 'app']);
  assert.deepEqual(both.json.findings.map((f) => [f.status, f.path]), [['unowned', `${SITE}/htdocs/uploads/cat.jpg`]]);
  assert.equal(both.json.summary.packages, 1);
});

test('no package named: the configured scope\'s trees and [unowned] trees; an untouched tree exits 0', async (t) => {
  const fx = fixture(t);
  appRoot(fx);
  fx.addPackage({ name: 'tool', files: [{ path: '/opt/tool/bin/tool', content: '#!/bin/sh\n' }] });
  mkdirSync(fx.path('/usr/local/bin'), { recursive: true });
  const config = writeConfig(fx, `[scope]\npackages = ["app"]\n${ALLOW_UPLOADS}trees = ["/usr/local/**", "/srv/*/nothere"]\n`);
  const clean = await checkJson(fx, ['--unowned', '--no-verify', '--config', config]);
  assert.equal(clean.res.code, 0, clean.res.stderr);
  assert.deepEqual(clean.json.findings, []);
  assert.deepEqual(clean.json.warnings.map((w) => [w.file, w.message]), [['unowned.trees', `'/srv/*/nothere' names no directory under ${fx.root}; nothing walked for it`]]);

  fx.write('/usr/local/bin/backdoor', 'x');
  fx.write('/opt/tool/bin/extra', 'x');
  fx.write(`${SITE}/htdocs/shell.php`, 'x');
  const { res, json } = await checkJson(fx, ['--unowned', '--no-verify', '--config', config]);
  assert.equal(res.code, 1, res.stderr);
  // tool is not in the scope: its tree is not walked; the operator's tree has no package.
  assert.deepEqual(json.findings.map((f) => [f.package, f.path]), [
    ['', '/usr/local/bin/backdoor'],
    ['app', `${SITE}/htdocs/shell.php`],
  ]);
  // Named packages replace the scope and the configured trees.
  const named = await checkJson(fx, ['--unowned', '--no-verify', '--config', config, 'tool']);
  assert.deepEqual(named.json.findings.map((f) => [f.package, f.path]), [['tool', '/opt/tool/bin/extra']]);
  // No scope at all: every installed package's directories under /srv, /var/www and /opt.
  const bare = await checkJson(fx, ['--unowned', '--no-verify']);
  assert.deepEqual(bare.json.findings.map((f) => [f.package, f.path]), [
    ['tool', '/opt/tool/bin/extra'],
    ['app', `${SITE}/htdocs/shell.php`],
  ].sort());
});

test('a tree with no directory to walk says so; --no-verify alone is a usage error', async (t) => {
  const fx = fixture(t);
  fx.addPackage({ name: 'plain', files: [{ path: '/usr/share/plain/README', content: 'x' }] });
  fx.write('/srv/stray.php', 'x');
  const r = await runCli(['check', '--root', fx.root, '--unowned', '--no-verify']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^--unowned walked no tree: no \[scope\] packages are configured, no installed package lists a directory under \/srv, \/var\/www or \/opt/m);
  const usage = await runCli(['check', '--root', fx.root, '--no-verify']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--no-verify leaves nothing to check; add --unowned, --setuid or --persist/);
});

test('a filesystem mounted inside a tree is not walked, and the run says so', async (t) => {
  // Not fixture(t): the mount must go before the tree is removed (after-hooks run in order).
  const fx = new FixtureRoot();
  const mnt = fx.path(`${SITE}/htdocs/uploads`);
  let mounted = false;
  t.after(async () => {
    if (mounted) await runProcess('umount', [mnt]);
    fx.cleanup();
  });
  appRoot(fx);
  const mount = await runProcess('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  if (mount.code !== 0) {
    t.skip(`cannot mount a tmpfs here (${mount.stderr.trim()}); needs root with CAP_SYS_ADMIN`);
    return;
  }
  mounted = true;
  writeFileSync(`${mnt}/inside.php`, 'x');
  const { res, json } = await checkJson(fx, ['--unowned', '--no-verify', 'app']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings.map((w) => [w.file, w.message]), [[mnt, 'another filesystem is mounted here; it was not walked for unowned files (a tree never crosses filesystems)']]);
});
