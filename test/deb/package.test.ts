// The Debian package, built once by scripts/build-deb: its contents and control files, lintian's
// verdict, and a real install into a temp root (dpkg --root, maintainer scripts run chrootless with
// DPKG_ROOT), where the installed pkgwatch verifies itself; then remove and purge.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { renderExampleConfig } from '../../src/config/render.js';
import { REPO_ROOT, runProcess, type CliResult } from '../helpers/cli.js';
import { findProgram, output } from '../helpers/systemd.js';

const VERSION = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string }).version;
const CONFFILES = ['/etc/dpkg/dpkg.cfg.d/pkgwatch', '/etc/apt/apt.conf.d/80pkgwatch-trust', '/etc/pkgwatch/pkgwatch.toml'];
/** What the package must ship besides the code (README, "Installing from a Debian package"). */
const SHIPPED = [
  'usr/bin/pkgwatch',
  'usr/lib/pkgwatch/package.json',
  'usr/lib/pkgwatch/dist/cli/main.js',
  'usr/lib/pkgwatch/dist/verify/worker.js',
  'usr/lib/systemd/system/pkgwatch.service',
  'usr/lib/systemd/system/pkgwatch-offline.service',
  'usr/lib/systemd/system/pkgwatch-offline.path',
  'usr/lib/sysusers.d/pkgwatch.conf',
  'usr/lib/tmpfiles.d/pkgwatch.conf',
  'etc/dpkg/dpkg.cfg.d/pkgwatch',
  'etc/apt/apt.conf.d/80pkgwatch-trust',
  'usr/lib/pkgwatch/apt-trust-record',
  'etc/pkgwatch/pkgwatch.toml',
  'usr/share/pkgwatch/nginx-maintenance.conf',
  'usr/share/man/man8/pkgwatch.8.gz',
  'usr/share/doc/pkgwatch/copyright',
  'usr/share/doc/pkgwatch/changelog.gz',
  'usr/share/lintian/overrides/pkgwatch',
];
/** Building and lintian take minutes on a loaded machine; this is only a safety net. */
const SLOW = { timeoutMs: 900_000 };
const TOOLS: Record<string, string> = { 'dpkg-deb': 'dpkg', dpkg: 'dpkg', 'dpkg-parsechangelog': 'dpkg-dev', help2man: 'help2man', lintian: 'lintian' };

let dir = '';
let deb = '';
let missing: string | null = null;

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${output(r)}`);
  return r;
}

before(async () => {
  const absent = Object.entries(TOOLS).filter(([tool]) => findProgram(tool) === null);
  if (absent.length > 0) {
    missing = `needs ${absent.map(([t, p]) => `${t} (package ${p})`).join(', ')}: apt-get install ${[...new Set(absent.map(([, p]) => p))].join(' ')}`;
    if (process.env['CI'] !== undefined) throw new Error(`CI must build the package, but it ${missing}`);
    return;
  }
  dir = await mkdtemp(join(tmpdir(), 'pkgwatch-deb-'));
  const r = ok(await runProcess(`${REPO_ROOT}scripts/build-deb`, ['--out', join(dir, 'out')], SLOW), 'scripts/build-deb');
  deb = r.stdout.trim();
  assert.equal(deb, join(dir, 'out', `pkgwatch_${VERSION}_all.deb`));
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function skipped(t: { skip: (m: string) => void }): boolean {
  if (missing === null) return false;
  t.skip(missing);
  return true;
}

test('the control file: version from package.json, nodejs >= 20.19, section admin, conffiles, md5sums of every other file', async (t) => {
  if (skipped(t)) return;
  const control = ok(await runProcess('dpkg-deb', ['--field', deb]), 'dpkg-deb --field').stdout;
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(control)?.[1];
  assert.equal(field('Package'), 'pkgwatch');
  assert.equal(field('Version'), VERSION);
  assert.equal(field('Architecture'), 'all');
  assert.equal(field('Depends'), 'nodejs (>= 20.19)');
  assert.equal(field('Section'), 'admin');
  assert.equal(field('Priority'), 'optional');
  assert.match(field('Maintainer') ?? '', /^.+ <.+@.+>$/);
  const contents = ok(await runProcess('dpkg-deb', ['--contents', deb]), 'dpkg-deb --contents').stdout;
  const files = contents
    .split('\n')
    .filter((l) => l.startsWith('-'))
    .map((l) => (/ \.\/(.*)$/.exec(l)?.[1] ?? ''));
  for (const f of SHIPPED) assert.ok(files.includes(f), `${f} is in the package`);
  assert.ok(files.some((f) => f.startsWith('usr/lib/pkgwatch/node_modules/yargs/')), 'the production dependencies are in the package');
  for (const dev of ['typescript', 'eslint', '@types', 'smtp-server']) {
    assert.ok(!files.some((f) => f.startsWith(`usr/lib/pkgwatch/node_modules/${dev}/`)), `no development dependency ${dev}`);
  }
  assert.ok(!files.some((f) => f.endsWith('.map') || f.endsWith('.d.ts')), 'no source maps or type declarations');
  const control2 = join(dir, 'control');
  ok(await runProcess('dpkg-deb', ['--control', deb, control2]), 'dpkg-deb --control');
  assert.deepEqual((await readFile(join(control2, 'conffiles'), 'utf8')).trim().split('\n'), CONFFILES);
  const md5sums = (await readFile(join(control2, 'md5sums'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.slice(34));
  assert.deepEqual(md5sums.sort(), files.filter((f) => !CONFFILES.includes(`/${f}`)).sort(), 'md5sums lists every file but the conffiles');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const text = await readFile(join(control2, script), 'utf8');
    assert.match(text, /^#!\/bin\/sh\n/, `${script} is POSIX sh`);
    assert.match(text, /^set -e$/m, `${script} stops at the first error`);
    ok(await runProcess('/bin/sh', ['-n', join(control2, script)]), `sh -n ${script}`);
  }
});

test('lintian finds no error and no warning that is not overridden', async (t) => {
  if (skipped(t)) return;
  const r = await runProcess('lintian', ['--info', '--pedantic', deb], { ...SLOW, env: { LC_ALL: 'C.UTF-8' } });
  const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
  t.diagnostic(`lintian: ${tags.length} tag(s)${tags.length > 0 ? `\n${tags.join('\n')}` : ''}`);
  assert.deepEqual(tags.filter((l) => /^[EW]: /.test(l)), [], output(r));
  assert.ok(r.code === 0 || r.code === 1, output(r));
});

test('the conffile config is the generated example, and the man page has every command\'s --help', async (t) => {
  if (skipped(t)) return;
  const x = join(dir, 'extracted');
  ok(await runProcess('dpkg-deb', ['--extract', deb, x]), 'dpkg-deb --extract');
  assert.equal(await readFile(join(x, 'etc/pkgwatch/pkgwatch.toml'), 'utf8'), renderExampleConfig());
  const man = gunzipSync(await readFile(join(x, 'usr/share/man/man8/pkgwatch.8.gz'))).toString('utf8');
  assert.match(man, /^\.TH PKGWATCH "8"/m);
  for (const cmd of ['check', 'agent', 'status', 'config check', 'config show', 'online', 'alert test', 'offline-helper', 'notify']) {
    assert.ok(man.includes(`.SS "pkgwatch ${cmd}"`), `the man page has pkgwatch ${cmd} --help`);
  }
  assert.ok(man.includes('--with-deps'), 'check --help is in it, options and all');
  const copyright = await readFile(join(x, 'usr/share/doc/pkgwatch/copyright'), 'utf8');
  assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
  assert.match(copyright, /^Files: \*\nCopyright: .+\nLicense: MIT$/m);
  assert.match(copyright, /^Files: usr\/lib\/pkgwatch\/node_modules\/yargs\/\*$/m);
  assert.match(gunzipSync(await readFile(join(x, 'usr/share/doc/pkgwatch/changelog.gz'))).toString('utf8'), new RegExp(`^pkgwatch \\(${VERSION.replaceAll('.', '\\.')}\\) `));
});

/** A temp root with an empty dpkg database. */
async function emptyRoot(name: string): Promise<string> {
  const root = join(dir, name);
  for (const sub of ['info', 'updates', 'triggers']) await mkdir(join(root, 'var/lib/dpkg', sub), { recursive: true });
  await writeFile(join(root, 'var/lib/dpkg/status'), '');
  return root;
}

/** dpkg on the temp root; the maintainer scripts run outside a chroot, with DPKG_ROOT=root. */
function dpkg(root: string, ...args: string[]): Promise<CliResult> {
  return runProcess('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-not-root', '--force-depends', '--force-script-chrootless', ...args], SLOW);
}

/** Runs an installed maintainer script by hand, as dpkg would. */
function script(root: string, name: string, ...args: string[]): Promise<CliResult> {
  return runProcess('/bin/sh', [join(root, 'var/lib/dpkg/info', `pkgwatch.${name}`), ...args], {
    env: { DPKG_ROOT: root, DPKG_MAINTSCRIPT_PACKAGE: 'pkgwatch', DPKG_MAINTSCRIPT_NAME: name },
  });
}

/** The root's pkgwatch user line, its state dir, enablement links and statoverride: what the scripts made. */
async function made(root: string): Promise<Record<string, unknown>> {
  const passwd = (await readFile(join(root, 'etc/passwd'), 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('pkgwatch:'));
  const state = await stat(join(root, 'var/lib/pkgwatch')).catch(() => null);
  const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
  return {
    passwd,
    state: state === null ? null : { mode: (state.mode & 0o7777).toString(8), uid: state.uid },
    service: await readlink(join(wants, 'pkgwatch.service')).catch(() => null),
    path: await readlink(join(wants, 'pkgwatch-offline.path')).catch(() => null),
    statoverride: (await readFile(join(root, 'var/lib/dpkg/statoverride'), 'utf8').catch(() => '')).trim(),
  };
}

test('installed into a temp root: user, state dir and units set up, pkgwatch verifies itself, a changed file is found', async (t) => {
  if (skipped(t)) return;
  if (process.getuid?.() !== 0) {
    t.skip('needs root: dpkg --root unpacks files owned by root, and tmpfiles chowns the state dir');
    return;
  }
  const hostUserBefore = readFileSync('/etc/passwd', 'utf8').includes('\npkgwatch:');
  const hostLink = '/etc/systemd/system/multi-user.target.wants/pkgwatch.service';
  const hostLinkBefore = existsSync(hostLink);
  const root = await emptyRoot('root');
  ok(await dpkg(root, '--install', deb), 'dpkg --install');
  const first = await made(root);
  assert.equal((first['passwd'] as string[]).length, 1, `the pkgwatch user: ${JSON.stringify(first)}`);
  assert.match((first['passwd'] as string[])[0] ?? '', /^pkgwatch:x:\d+:\d+:[^:]*:\/var\/lib\/pkgwatch:\/usr\/sbin\/nologin$/);
  assert.deepEqual(first['state'], { mode: '711', uid: Number((first['passwd'] as string[])[0]?.split(':')[2]) });
  assert.equal(first['service'], '/usr/lib/systemd/system/pkgwatch.service', 'enabled, as deb-systemd-helper does');
  assert.equal(first['path'], '/usr/lib/systemd/system/pkgwatch-offline.path');
  assert.match(first['statoverride'] as string, /^root \S+ 750 \/etc\/pkgwatch$/);
  assert.equal(((await stat(join(root, 'etc/pkgwatch'))).mode & 0o777).toString(8), '750');
  // Nothing of it reached this machine.
  assert.equal(readFileSync('/etc/passwd', 'utf8').includes('\npkgwatch:'), hostUserBefore, 'the host has the same users');
  assert.equal(existsSync(hostLink), hostLinkBefore, 'the host has the same enabled units');

  // Idempotent: configure again (as after a failure), then as a reinstall, then reinstall the .deb.
  ok(await script(root, 'postinst', 'configure', ''), 'postinst configure, again');
  ok(await script(root, 'postinst', 'configure', VERSION), 'postinst configure (reinstall)');
  ok(await dpkg(root, '--install', deb), 'dpkg --install of the same .deb');
  assert.deepEqual(await made(root), first, 'running the scripts again changes nothing');

  // The installed code, with its production dependencies only, checks its own package.
  const cli = join(root, 'usr/lib/pkgwatch/dist/cli/main.js');
  const clean = await runProcess(process.execPath, [cli, 'check', '--root', root, 'pkgwatch'], SLOW);
  assert.equal(clean.code, 0, output(clean));
  assert.match(clean.stdout, /checked 1 package, \d+ paths, .*: no findings/);
  assert.equal(ok(await runProcess(process.execPath, [cli, '--version']), 'pkgwatch --version').stdout.trim(), VERSION);
  // A changed module (still loadable) is a finding.
  await appendFile(join(root, 'usr/lib/pkgwatch/dist/cli/status.js'), '\n// changed\n');
  const changed = await runProcess(process.execPath, [cli, 'check', '--root', root, 'pkgwatch'], SLOW);
  assert.equal(changed.code, 1, output(changed));
  assert.match(changed.stdout, /\/usr\/lib\/pkgwatch\/dist\/cli\/status\.js/);

  // Remove: the state and the conffiles stay; purge: they go.
  ok(await dpkg(root, '--remove', 'pkgwatch'), 'dpkg --remove');
  assert.ok(!existsSync(join(root, 'usr/lib/pkgwatch/dist')), 'the code is gone');
  assert.ok(existsSync(join(root, 'var/lib/pkgwatch')), 'remove keeps the state');
  assert.ok(existsSync(join(root, 'etc/pkgwatch/pkgwatch.toml')), 'remove keeps the conffiles');
  ok(await dpkg(root, '--purge', 'pkgwatch'), 'dpkg --purge');
  const purged = await made(root);
  assert.deepEqual([purged['state'], purged['service'], purged['path'], purged['statoverride']], [null, null, null, ''], JSON.stringify(purged));
  assert.ok(!existsSync(join(root, 'etc/pkgwatch')), 'purge removes /etc/pkgwatch');
  assert.ok(!existsSync(join(root, 'etc/dpkg/dpkg.cfg.d/pkgwatch')), 'purge removes the dpkg hook');
  // ...and a later install starts afresh, with the same user.
  ok(await dpkg(root, '--install', deb), 'dpkg --install after purge');
  assert.deepEqual(await made(root), first);
});
