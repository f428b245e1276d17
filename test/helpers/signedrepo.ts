// Builds a real signed APT repository for tests: a throwaway GPG key, .debs by dpkg-deb, reprepro, and apt's lists.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess, type CliResult } from './cli.js';
import { md5, type FixtureRoot } from './fixture.js';

/** A throwaway signing key in its own GNUPGHOME, and its public part as a binary keyring for gpgv. */
export interface TestKey {
  readonly home: string;
  readonly fingerprint: string;
  /** The exported public key (binary), a host path. */
  readonly keyring: string;
}

/** A package to build and to install into fixture roots. */
export interface DebSpec {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly files: readonly { readonly path: string; readonly content: string }[];
  readonly conffiles?: readonly { readonly path: string; readonly content: string }[];
  readonly postinst?: string;
  /** dpkg-deb -Z: control.tar and data.tar both. */
  readonly compression: 'xz' | 'zstd' | 'gzip';
}

async function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await runProcess(cmd, args, { env, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Makes a temp dir; the caller removes it. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Generates an ed25519 signing key with `gpg --batch --quick-gen-key` in a fresh GNUPGHOME under `dir`. */
export async function makeKey(dir: string, name: string): Promise<TestKey> {
  const home = path.join(dir, `gnupg-${name}`);
  mkdirSync(home, { mode: 0o700 });
  const gpg = ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', ''];
  await run('gpg', [...gpg, '--quick-gen-key', `pkgwatch ${name} <${name}@pkgwatch.invalid>`, 'ed25519', 'sign', 'never']);
  const listed = await run('gpg', ['--batch', '--homedir', home, '--with-colons', '--list-keys']);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listed.stdout)?.[1];
  if (fpr === undefined) throw new Error(`no fingerprint in:\n${listed.stdout}`);
  const keyring = path.join(dir, `${name}.gpg`);
  await run('gpg', ['--batch', '--homedir', home, '--output', keyring, '--export', fpr]);
  return { home, fingerprint: fpr, keyring };
}

/** Stops the gpg-agent that gpg started for this key's home (only that one). */
export async function stopAgent(key: TestKey): Promise<void> {
  await runProcess('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent']);
}

/** Clearsigns `text` with `key` (for hand-made Release files), returning the InRelease text. */
export async function clearsign(key: TestKey, text: string, dir: string): Promise<string> {
  const input = path.join(dir, `release-${Math.random().toString(36).slice(2)}`);
  writeFileSync(input, text);
  await run('gpg', ['--batch', '--homedir', key.home, '--pinentry-mode', 'loopback', '--passphrase', '', '--digest-algo', 'SHA256', '--local-user', key.fingerprint, '--clearsign', '--output', `${input}.asc`, input]);
  return readFileSync(`${input}.asc`, 'utf8');
}

/** Builds `spec` with `dpkg-deb --build --root-owner-group -Z...` into `outDir`; returns the .deb's path. */
export async function buildDeb(outDir: string, spec: DebSpec): Promise<string> {
  const tree = mkdtempSync(path.join(outDir, `tree-${spec.name}-`));
  const debian = path.join(tree, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  const put = (p: string, content: string): void => {
    mkdirSync(path.dirname(path.join(tree, p)), { recursive: true });
    writeFileSync(path.join(tree, p), content);
  };
  for (const f of spec.files) put(f.path, f.content);
  for (const c of spec.conffiles ?? []) put(c.path, c.content);
  writeFileSync(
    path.join(debian, 'control'),
    `Package: ${spec.name}\nVersion: ${spec.version}\nArchitecture: ${spec.arch}\nSection: web\nPriority: optional\n` +
      `Maintainer: pkgwatch tests <tests@pkgwatch.invalid>\nDescription: test package ${spec.name}\n`,
  );
  // Like dh_md5sums: regular files but conffiles, paths without the leading slash.
  writeFileSync(path.join(debian, 'md5sums'), spec.files.map((f) => `${md5(f.content)}  ${f.path.replace(/^\//, '')}\n`).join(''));
  if ((spec.conffiles ?? []).length > 0) writeFileSync(path.join(debian, 'conffiles'), (spec.conffiles ?? []).map((c) => `${c.path}\n`).join(''));
  if (spec.postinst !== undefined) {
    writeFileSync(path.join(debian, 'postinst'), spec.postinst);
    chmodSync(path.join(debian, 'postinst'), 0o755);
  }
  const out = path.join(outDir, `${spec.name}_${spec.version}_${spec.arch}.deb`);
  await run('dpkg-deb', ['--root-owner-group', `-Z${spec.compression}`, '--build', tree, out]);
  rmSync(tree, { recursive: true, force: true });
  return out;
}

/** A reprepro repository with suite `stable`, component `main`, signed by `key`. */
export async function buildRepo(dir: string, key: TestKey, debs: readonly string[]): Promise<string> {
  const repo = path.join(dir, 'repo');
  mkdirSync(path.join(repo, 'conf'), { recursive: true });
  writeFileSync(
    path.join(repo, 'conf/distributions'),
    `Codename: stable\nSuite: stable\nArchitectures: amd64\nComponents: main\nSignWith: ${key.fingerprint}\n`,
  );
  for (const d of debs) await run('reprepro', ['-b', repo, '--gnupghome', key.home, 'includedeb', 'stable', d]);
  return repo;
}

/** The URI the fixture's sources name for the test repository, and apt's list-file prefix for it. */
export const REPO_URI = 'http://127.0.0.1/pkgwatch-test';
export const LISTS_PREFIX = '127.0.0.1_pkgwatch-test_dists_stable_';

/**
 * Installs the repository's indexes into a fixture root as `apt update` would leave them: the
 * InRelease (or Release + Release.gpg) and the Packages index, stored lz4-compressed as on Debian
 * images, under apt's mangled names; a deb822 source with Signed-By the given keyring (copied
 * into the root). Returns the host path of the lists directory.
 */
export async function installLists(fx: FixtureRoot, repo: string, keyring: string, opts: { detached?: boolean } = {}): Promise<string> {
  const lists = fx.path('var/lib/apt/lists');
  mkdirSync(lists, { recursive: true });
  const dists = path.join(repo, 'dists/stable');
  if (opts.detached === true) {
    copyFileSync(path.join(dists, 'Release'), path.join(lists, `${LISTS_PREFIX}Release`));
    copyFileSync(path.join(dists, 'Release.gpg'), path.join(lists, `${LISTS_PREFIX}Release.gpg`));
  } else {
    copyFileSync(path.join(dists, 'InRelease'), path.join(lists, `${LISTS_PREFIX}InRelease`));
  }
  await run('lz4', ['-q', '-f', path.join(dists, 'main/binary-amd64/Packages'), path.join(lists, `${LISTS_PREFIX}main_binary-amd64_Packages.lz4`)]);
  mkdirSync(fx.path('usr/share/keyrings'), { recursive: true });
  copyFileSync(keyring, fx.path('usr/share/keyrings/pkgwatch-test.gpg'));
  fx.write(
    '/etc/apt/sources.list.d/pkgwatch-test.sources',
    `Types: deb\nURIs: ${REPO_URI}\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/pkgwatch-test.gpg\n`,
  );
  return lists;
}

/** Copies .debs into the fixture's apt cache, `/var/cache/apt/archives`. */
export function cacheDebs(fx: FixtureRoot, debs: readonly string[]): void {
  const cache = fx.path('var/cache/apt/archives');
  mkdirSync(cache, { recursive: true });
  for (const d of debs) copyFileSync(d, path.join(cache, path.basename(d)));
}

/** Records `spec` in the fixture's dpkg database as installed, with its files on disk. */
export function installPackage(fx: FixtureRoot, spec: DebSpec): void {
  fx.addPackage({
    name: spec.name,
    version: spec.version,
    arch: spec.arch,
    files: spec.files.map((f) => ({ path: f.path, content: f.content })),
    conffiles: (spec.conffiles ?? []).map((c) => ({ path: c.path, content: c.content })),
  });
}
