// Oracle test: installed packages whose exact .deb is in this machine's apt cache verify as `signed` against Debian's own InRelease files.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.js';

const CACHE = '/var/cache/apt/archives';
/** Enough packages to be a real sample, few enough to hash their .debs quickly on a loaded machine. */
const MAX_PACKAGES = 40;
/** A safety net, not a budget. */
const TIMEOUT_MS = 20 * 60_000;

/**
 * The installed packages (binary:Package) whose exact version has a .deb in apt's cache, found
 * with dpkg-query and confirmed with dpkg-deb --field: no code of pkgwatch decides what the
 * candidates are. apt names cached files `name_version_arch.deb` with `:` as `%3a`.
 */
async function cachedInstalled(): Promise<string[]> {
  const q = await runProcess('dpkg-query', ['-W', '-f', '${db:Status-Status}\\t${binary:Package}\\t${Package}\\t${Version}\\t${Architecture}\\n']);
  assert.equal(q.code, 0, q.stderr);
  const files = new Set(existsSync(CACHE) ? readdirSync(CACHE) : []);
  const out: string[] = [];
  for (const line of q.stdout.split('\n')) {
    const [status, id, name, version, arch] = line.split('\t');
    if (status !== 'installed' || id === undefined || name === undefined || version === undefined || arch === undefined) continue;
    const file = `${name}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
    if (!files.has(file)) continue;
    const f = await runProcess('dpkg-deb', ['--field', `${CACHE}/${file}`, 'Package', 'Version', 'Architecture']);
    if (f.code === 0 && f.stdout === `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\n`) out.push(id);
    if (out.length >= MAX_PACKAGES) break;
  }
  return out;
}

interface Entry {
  readonly package: string;
  readonly state: string;
  readonly reason: string | null;
  readonly detail: string | null;
}

test(
  "this machine: packages with their .deb in apt's cache are signed against Debian's InRelease, none forged",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const packages = await cachedInstalled();
    if (packages.length === 0) {
      // The image may clean apt's cache after every install; then there is nothing to hold the database to.
      t.skip(`no installed package has its exact .deb in ${CACHE}`);
      return;
    }
    const res = await runCli(['check', '--signed', '--format', 'json', ...packages], { timeoutMs: TIMEOUT_MS });
    const doc = JSON.parse(res.stdout) as { trust: Entry[]; findings: { status: string }[]; summary: { trust: Record<string, number> } };
    t.diagnostic(`${packages.length} packages with a cached .deb: ${JSON.stringify(doc.summary.trust)}`);
    for (const e of doc.trust) if (e.state !== 'signed') t.diagnostic(`${e.package}: ${e.state} ${e.reason ?? ''}: ${e.detail ?? ''}`);
    assert.equal(doc.trust.length, packages.length);
    assert.deepEqual(doc.trust.filter((e) => e.state === 'forged'), []);
    assert.deepEqual(doc.findings.filter((f) => f.status === 'database-changed'), []);
    // Debian's own files never fail the chain: a bad signature, a hash mismatch or an unreadable
    // .deb here is a bug in pkgwatch. Stale lists (expired) or a superseded version are allowed.
    assert.deepEqual(doc.trust.filter((e) => e.reason === 'bad-signature' || e.reason === 'hash-mismatch' || e.reason === 'bad-deb'), []);
    assert.ok(doc.summary.trust['signed'] !== undefined && doc.summary.trust['signed'] >= 1, `no package signed: ${res.stderr}`);
  },
);
