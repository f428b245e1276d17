// The real machine as the oracle: a stock Debian system's trees hold nothing that no package (or
// dpkg's helpers) put there, and no setuid file that no package installed. Every exception is
// named and checked against the machine itself.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadAlternatives } from '../../src/dpkg/admindb.js';
import { loadBase } from '../../src/unpackaged/run.js';
import { alternativeLinks, compileAllow, GeneratedRules } from '../../src/unpackaged/rules.js';
import { outermost, packageTrees } from '../../src/unpackaged/trees.js';
import { judgeTree, pruneOf, type UnownedContext } from '../../src/unpackaged/unowned.js';
import { walkTree } from '../../src/unpackaged/walk.js';
import type { Finding } from '../../src/verify/finding.js';
import { runCli } from '../helpers/cli.js';

/** A safety net, not a budget: the setuid walk of a whole machine takes half a minute under load. */
const TIMEOUT_MS = 20 * 60_000;
const RUN = { timeoutMs: TIMEOUT_MS };

interface CheckDoc {
  readonly findings: readonly { readonly package: string; readonly path: string; readonly status: string; readonly detail: string | null }[];
  readonly summary: { readonly unowned?: { readonly trees: readonly unknown[] }; readonly setuid?: { readonly filesystems: readonly string[]; readonly entries: number } };
}

function installed(pkg: string): boolean {
  const status = readFileSync('/var/lib/dpkg/status', 'latin1');
  return new RegExp(`^Package: ${pkg}\\nStatus: install ok installed$`, 'm').test(status);
}

async function checkHost(args: readonly string[]): Promise<{ code: number | null; doc: CheckDoc; stderr: string }> {
  const res = await runCli(['check', '--format', 'json', '--no-verify', ...args], RUN);
  return { code: res.code, doc: JSON.parse(res.stdout) as CheckDoc, stderr: res.stderr };
}

test('check --unowned with the defaults reports nothing on this machine', { timeout: TIMEOUT_MS }, async () => {
  const { code, doc, stderr } = await checkHost(['--unowned']);
  assert.deepEqual(doc.findings, [], stderr);
  assert.equal(code, 0, stderr);
});

test('check --unowned nginx-light python3 --with-deps (a webserver scope) reports nothing on this machine', { timeout: TIMEOUT_MS }, async (t) => {
  if (!installed('nginx-light') || !installed('python3')) {
    t.skip('needs nginx-light and python3 installed (apt-get install nginx-light python3)');
    return;
  }
  const { code, doc, stderr } = await checkHost(['--unowned', '--with-deps', 'nginx-light', 'python3']);
  assert.deepEqual(doc.findings, [], stderr);
  assert.equal(code, 0, stderr);
  // The scope owns trees of its own (the Python standard library's packages, /usr/share/nginx...).
  assert.ok((doc.summary.unowned?.trees.length ?? 0) > 10);
});

// ---------------------------------------------------------------------------------------------
// Every installed package's own trees, one package at a time: the generated-file rules must
// explain all a stock system holds. What an operator added is named here, and checked.

/** npm upgraded over nodejs's copy (`npm install -g npm`, README Quick start): nodejs's own npm files no longer match. */
function npmUpgraded(path: string): boolean {
  if (!path.startsWith('/usr/lib/node_modules/npm/')) return false;
  const sums = readFileSync('/var/lib/dpkg/info/nodejs.md5sums', 'latin1');
  const m = /^([0-9a-f]{32}) {2}usr\/lib\/node_modules\/npm\/package\.json$/m.exec(sums);
  if (m === null) return false;
  const actual = createHash('md5').update(readFileSync('/usr/lib/node_modules/npm/package.json')).digest('hex');
  return actual !== m[1];
}

/**
 * A third-party apt repository's key that a vendor's setup script put into /usr/share/keyrings:
 * an OpenPGP key that an apt source of this machine (in use or disabled) names with signed-by.
 */
function aptKeyring(path: string): boolean {
  if (!/^\/usr\/share\/keyrings\/[^/]+\.(gpg|asc)$/.test(path)) return false;
  const key = readFileSync(path);
  const openpgp = key[0] === 0x99 || key[0] === 0x98 || key[0] === 0xc6 || key.toString('latin1', 0, 36) === '-----BEGIN PGP PUBLIC KEY BLOCK-----';
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).map((n) => `${dir}/${n}`) : [])];
  const named = new RegExp(`signed-by\\s*[=:]\\s*${path.replace(/[.]/g, '\\.')}(\\s|\\]|$)`, 'im');
  return openpgp && files.some((f) => existsSync(f) && named.test(readFileSync(f, 'utf8')));
}

const OPERATOR_CHANGES: readonly { readonly why: string; readonly holds: (path: string) => boolean }[] = [
  { why: 'npm -g upgraded npm over the nodejs package', holds: npmUpgraded },
  { why: "a third-party apt repository's key that an apt source names", holds: aptKeyring },
];

test("every installed package's own trees hold only what packages and dpkg's helpers put there", { timeout: TIMEOUT_MS }, async () => {
  const base = await loadBase('/');
  const canonical = (p: string): string => base.resolver.canonical(p);
  const trees = outermost(base.lists.flatMap((l) => packageTrees(base.index, [l], { ownTrees: true, canonical })));
  const ctx: UnownedContext = {
    index: base.index,
    generated: new GeneratedRules(base.index, alternativeLinks(await loadAlternatives(base.db.admindir, []), canonical)),
    allow: compileAllow([]),
    accounts: base.accounts,
  };
  const unexplained: Finding[] = [];
  let entries = 0;
  for (const tree of trees) {
    const r = judgeTree(ctx, tree, walkTree('/', tree.path, { maxEntries: 1_000_000, prune: pruneOf(ctx) }));
    entries += r.entries;
    for (const f of r.findings) if (!OPERATOR_CHANGES.some((c) => c.holds(f.path))) unexplained.push(f);
  }
  assert.ok(trees.length > 100 && entries > 10_000, `walked ${trees.length} trees, ${entries} entries`);
  assert.deepEqual(
    unexplained.map((f) => `${f.package}: ${f.path} (${f.detail ?? ''})`),
    [],
    'entries no package, no generated-file rule and no named operator change explains',
  );
});

test('check --setuid finds no setuid or setgid file on this machine that no package installed', { timeout: TIMEOUT_MS }, async () => {
  const { code, doc, stderr } = await checkHost(['--setuid']);
  assert.deepEqual(doc.findings.map((f) => `${f.status} ${f.package} ${f.path}: ${f.detail ?? ''}`), [], stderr);
  assert.equal(code, 0, stderr);
  assert.ok(doc.summary.setuid?.filesystems.includes('/'));
  assert.ok((doc.summary.setuid?.entries ?? 0) > 10_000);
});
