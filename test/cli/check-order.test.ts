// `check --format dpkg` and `--format debsums` print in their tool's order, line for line against the real dpkg --verify and debsums.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.js';
import { fixture, md5, type FixtureRoot } from '../helpers/fixture.js';

const ENV = { LC_ALL: 'C' };
const TIMEOUT_MS = 10 * 60_000;

/**
 * Four packages whose status-file order (zeta, libm-dev, libm, alpha), name order, dpkg's hash
 * table order (zeta, libm-dev, alpha, libm) and debsums' binary:Package order (alpha, libm-dev,
 * libm:amd64, zeta: `libm` is Multi-Arch: same) all differ, and files whose `.list` order,
 * md5sums order and sorted order all differ.
 */
function system(t: TestContext): FixtureRoot {
  const fx = fixture(t);
  fx.setFormat1();
  const pkg = (name: string, dir: string, multiArch?: 'same'): void => {
    const files = ['c.txt', 'a.txt', 'b.txt'].map((f) => ({ path: `${dir}/${f}`, content: `${name} ${f}\n` }));
    const conf = { path: `/etc/${name}.conf`, content: `${name} conf\n` };
    fx.addPackage({
      name,
      ...(multiArch === undefined ? {} : { multiArch }),
      files,
      conffiles: [conf],
      // .list: c, the conffile, b, a; md5sums: b, a, c; sorted: a, b, c.
      list: ['/.', '/etc', conf.path, '/usr', '/usr/share', dir, `${dir}/c.txt`, `${dir}/b.txt`, `${dir}/a.txt`],
      md5sums: ['b.txt', 'a.txt', 'c.txt'].map((f) => `${md5(`${name} ${f}\n`)}  ${dir.slice(1)}/${f}\n`).join(''),
    });
    for (const f of ['a.txt', 'b.txt', 'c.txt']) fx.write(`${dir}/${f}`, `changed ${name} ${f}\n`);
    fx.write(conf.path, 'changed conf\n');
  };
  pkg('zeta', '/usr/share/zeta');
  pkg('libm-dev', '/usr/share/libm-dev');
  pkg('libm', '/usr/share/libm', 'same');
  pkg('alpha', '/usr/share/alpha');
  fx.remove('/usr/share/alpha/a.txt');
  return fx;
}

test('--format dpkg prints what dpkg --verify prints, in its order (packages in its hash table\'s order, files in .list order)', async (t) => {
  const fx = system(t);
  const dpkg = await runProcess('dpkg', [`--root=${fx.root}`, '--verify'], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(dpkg.code, 0, dpkg.stderr);
  const ours = await runCli(['check', '--root', fx.root, '--format', 'dpkg'], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(ours.code, 1, ours.stderr);
  // The fixture means what it says: 4 packages x (3 files + a conffile), and dpkg's order is not sorted order.
  assert.equal(dpkg.stdoutBytes.split('\n').length - 1, 16, dpkg.stdoutBytes);
  assert.match(dpkg.stdoutBytes, /^missing {5}\/usr\/share\/alpha\/a\.txt\n/m);
  assert.equal(ours.stdoutBytes, dpkg.stdoutBytes);
});

test('--format dpkg follows the order of the named packages, as dpkg --verify does', async (t) => {
  const fx = system(t);
  const args = ['zeta', 'alpha'];
  const dpkg = await runProcess('dpkg', [`--root=${fx.root}`, '--verify', ...args], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(dpkg.code, 0, dpkg.stderr);
  const ours = await runCli(['check', '--root', fx.root, '--format', 'dpkg', ...args], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(ours.code, 1, ours.stderr);
  assert.match(dpkg.stdoutBytes, /^\?\?5\?{6} c \/etc\/zeta\.conf\n\?\?5\?{6} {3}\/usr\/share\/zeta\/c\.txt\n/);
  assert.equal(ours.stdoutBytes, dpkg.stdoutBytes);
});

test('--format debsums --no-conffiles prints what debsums -s prints, in its order (packages by binary:Package, files in md5sums order)', async (t) => {
  const fx = system(t);
  // debsums -s writes its lines to stderr: merge them into stdout.
  const ds = await runProcess('sh', ['-c', 'exec debsums -s "$@" 2>&1', 'debsums', `--root=${fx.root}`], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(ds.code, 2, ds.stdout);
  const ours = await runCli(['check', '--root', fx.root, '--format', 'debsums', '--no-conffiles'], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.equal(ours.code, 1, ours.stderr);
  assert.equal(ds.stdoutBytes.split('\n').length - 1, 12, ds.stdoutBytes);
  assert.equal(ours.stdoutBytes, ds.stdoutBytes);

  // Named packages: in the order named, as debsums walks its arguments.
  const named = ['zeta', 'libm'];
  const dsNamed = await runProcess('sh', ['-c', 'exec debsums -s "$@" 2>&1', 'debsums', `--root=${fx.root}`, ...named], { env: ENV, timeoutMs: TIMEOUT_MS });
  const oursNamed = await runCli(['check', '--root', fx.root, '--format', 'debsums', '--no-conffiles', ...named], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.match(dsNamed.stdoutBytes, /^debsums: changed file \S+\/usr\/share\/zeta\/b\.txt/);
  assert.equal(oursNamed.stdoutBytes, dsNamed.stdoutBytes);
});

test('--format debsums puts conffiles after the md5sums entries of their package; text and JSON stay sorted', async (t) => {
  const fx = system(t);
  const ours = await runCli(['check', '--root', fx.root, '--format', 'debsums', 'zeta'], { env: ENV, timeoutMs: TIMEOUT_MS });
  assert.deepEqual(
    ours.stdout.trimEnd().split('\n').map((l) => l.replace(fx.root, '')),
    ['b.txt', 'a.txt', 'c.txt'].map((f) => `debsums: changed file /usr/share/zeta/${f} (from zeta package)`).concat('debsums: changed file /etc/zeta.conf (from zeta package)'),
  );
  const json = await runCli(['check', '--root', fx.root, '--format', 'json'], { env: ENV, timeoutMs: TIMEOUT_MS });
  const doc = JSON.parse(json.stdout) as { findings: { package: string; path: string }[] };
  const keys = doc.findings.map((f) => `${f.package} ${f.path}`);
  assert.deepEqual(keys, [...keys].sort());
});
