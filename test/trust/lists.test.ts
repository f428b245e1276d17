// Tests for apt's list-file names: URItoFileName, and finding each source's Packages files, checked on this machine's lists.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { listsPrefix, packagesFilesOf, uriToFileName } from '../../src/trust/lists.js';
import { parseSourcesDeb822, parseSourcesList, type SourceEntry } from '../../src/trust/sources.js';

const entry = (uri: string, suite: string, components: string[]): SourceEntry => ({ uri, suite, components, signedBy: null, trusted: false, file: 'f', line: 1 });

test('URItoFileName as apt: scheme, user and password dropped, unsafe characters quoted, / as _', () => {
  assert.equal(uriToFileName('http://deb.debian.org/debian/dists/bookworm/InRelease'), 'deb.debian.org_debian_dists_bookworm_InRelease');
  assert.equal(uriToFileName('https://user:secret@repo.example.com:8443/apt/'), 'repo.example.com:8443_apt_');
  assert.equal(uriToFileName('file:/srv/repo/dists/stable/'), '_srv_repo_dists_stable_');
  assert.equal(uriToFileName('http://h/~user/a_b=c%20d/'), 'h_%7euser_a%5fb%3dc%2520d_');
  assert.equal(uriToFileName('http://h/ü/'), 'h_%c3%bc_');
});

test('list prefixes: dists/SUITE/ for normal suites, the suite as written for flat ones', () => {
  assert.equal(listsPrefix(entry('http://deb.debian.org/debian-security/', 'bookworm-security', ['main'])), 'deb.debian.org_debian-security_dists_bookworm-security_');
  assert.equal(listsPrefix(entry('http://x/repo/', './', [])), 'x_repo_._');
});

test('Packages files: every architecture and compression apt stores, components with a slash, nothing else', () => {
  const names = [
    'h_d_dists_s_main_binary-amd64_Packages.lz4',
    'h_d_dists_s_main_binary-i386_Packages',
    'h_d_dists_s_updates_main_binary-amd64_Packages.xz',
    'h_d_dists_s_main_binary-amd64_Packages.bz2',
    'h_d_dists_s_main_i18n_Translation-en',
    'h_d_dists_s_contrib_binary-amd64_Packages',
    'h_d_dists_s_InRelease',
    'h_d_._Packages.gz',
  ];
  const files = packagesFilesOf(entry('http://h/d/', 's', ['main', 'updates/main']), names);
  assert.deepEqual(
    files.map((f) => [f.name, f.releasePath, f.compression, f.arch]),
    [
      ['h_d_dists_s_main_binary-amd64_Packages.lz4', 'main/binary-amd64/Packages', 'lz4', 'amd64'],
      ['h_d_dists_s_main_binary-i386_Packages', 'main/binary-i386/Packages', 'none', 'i386'],
      ['h_d_dists_s_updates_main_binary-amd64_Packages.xz', 'updates/main/binary-amd64/Packages', 'xz', 'amd64'],
    ],
  );
  assert.deepEqual(
    packagesFilesOf(entry('http://h/d/', './', []), names).map((f) => f.releasePath),
    ['Packages'],
  );
});

test("every Packages file in this machine's lists belongs to one of its sources", (t) => {
  const lists = '/var/lib/apt/lists';
  const names = existsSync(lists) ? readdirSync(lists) : [];
  const packages = names.filter((n) => /_Packages(\.\w+)?$/.test(n));
  if (packages.length === 0) {
    t.skip('no Packages file in /var/lib/apt/lists (apt update never ran)');
    return;
  }
  const dir = '/etc/apt/sources.list.d';
  const sources: SourceEntry[] = [];
  for (const n of readdirSync(dir).filter((x) => /\.(list|sources)$/.test(x))) {
    const text = readFileSync(`${dir}/${n}`, 'latin1');
    sources.push(...(n.endsWith('.sources') ? parseSourcesDeb822(text, n) : parseSourcesList(text, n)).entries);
  }
  if (existsSync('/etc/apt/sources.list')) sources.push(...parseSourcesList(readFileSync('/etc/apt/sources.list', 'latin1'), 'sources.list').entries);
  const found = new Set(sources.flatMap((s) => packagesFilesOf(s, names).map((f) => f.name)));
  assert.deepEqual(packages.filter((p) => !found.has(p)), []);
});
