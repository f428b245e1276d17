// Tests for package selection: names, name:arch, globs, not-installed errors, and the dependency closure.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { PkgwatchError } from '../../src/errors.js';
import { packageId } from '../../src/dpkg/loader.js';
import { selectPackages } from '../../src/dpkg/select.js';
import { parseStatus } from '../../src/dpkg/status.js';
import type { Database } from '../../src/dpkg/types.js';

function pkg(name: string, arch: string, fields: Record<string, string> = {}, state = 'installed'): string {
  const want = state === 'config-files' ? 'deinstall' : 'install';
  let s = `Package: ${name}\nStatus: ${want} ok ${state}\nArchitecture: ${arch}\nVersion: 1\n`;
  for (const [k, v] of Object.entries(fields)) s += `${k}: ${v}\n`;
  return s;
}

function makeDb(stanzas: readonly string[]): Database {
  const { packages, warnings } = parseStatus(stanzas.join('\n'), '/var/lib/dpkg/status');
  assert.deepEqual(warnings, []);
  return { root: '/', admindir: '/var/lib/dpkg', nativeArch: 'amd64', packages, diversions: [], pathFilters: [], warnings: [] };
}

const DB = makeDb([
  pkg('nginx', 'amd64'),
  pkg('libc6', 'amd64', { 'Multi-Arch': 'same' }),
  pkg('libc6', 'i386', { 'Multi-Arch': 'same' }),
  pkg('python3-yaml', 'amd64'),
  pkg('python3-apt', 'amd64'),
  pkg('rc-pkg', 'amd64', {}, 'config-files'),
  pkg('half', 'amd64', {}, 'half-configured'),
  pkg('rc-two', 'amd64', {}, 'config-files'),
  pkg('rc-two', 'i386', {}, 'unpacked'),
]);

function ids(db: Database, args: readonly string[], withDeps = false): string[] {
  return selectPackages(db, args, withDeps).map(packageId);
}

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PkgwatchError);
    assert.equal(err.kind, 'usage');
    return err.message;
  }
  assert.fail('expected a usage error');
}

void test('no arguments: every installed package, sorted by id; other states are left out', () => {
  assert.deepEqual(ids(DB, []), ['libc6:amd64', 'libc6:i386', 'nginx', 'python3-apt', 'python3-yaml']);
});

void test('names, name:arch, :any, case, and duplicates', () => {
  assert.deepEqual(ids(DB, ['nginx']), ['nginx']);
  // A plain name is the native instance, as in dpkg-semantics.md "Which packages".
  assert.deepEqual(ids(DB, ['libc6']), ['libc6:amd64']);
  assert.deepEqual(ids(DB, ['libc6:i386']), ['libc6:i386']);
  assert.deepEqual(ids(DB, ['libc6:any']), ['libc6:amd64', 'libc6:i386']);
  assert.deepEqual(ids(DB, ['libc6:native']), ['libc6:amd64']);
  assert.deepEqual(ids(DB, ['NGINX']), ['nginx']);
  assert.deepEqual(ids(DB, ['nginx', 'nginx:amd64', 'ngin?']), ['nginx']);
});

void test('patterns match name and name:arch', () => {
  assert.deepEqual(ids(DB, ['python3-*']), ['python3-apt', 'python3-yaml']);
  assert.deepEqual(ids(DB, ['*:i386']), ['libc6:i386']);
  assert.deepEqual(ids(DB, ['lib[c]6:amd*']), ['libc6:amd64']);
});

void test('unknown and not-installed arguments are all reported in one usage error, one line each', () => {
  assert.equal(usage(() => selectPackages(DB, ['nope'], false)), "package 'nope' is not installed (unknown to dpkg)");
  assert.equal(
    usage(() => selectPackages(DB, ['rc-pkg'], false)),
    "package 'rc-pkg' is not installed (state: config-files); only installed packages can be checked",
  );
  assert.equal(
    usage(() => selectPackages(DB, ['half'], false)),
    "package 'half' is not installed (state: half-configured); only installed packages can be checked",
  );
  assert.equal(
    usage(() => selectPackages(DB, ['rc-two'], false)),
    "package 'rc-two' is not installed (states: rc-two:amd64 config-files, rc-two:i386 unpacked); only installed packages can be checked",
  );
  assert.equal(usage(() => selectPackages(DB, ['zz*'], false)), "no package matches 'zz*' (unknown to dpkg)");
  assert.match(usage(() => selectPackages(DB, ['rc-*'], false)), /^no installed package matches 'rc-\*' \(states: rc-pkg:amd64 config-files, .*\); only installed/);
  assert.equal(usage(() => selectPackages(DB, ['nginx:i386'], false)), "package 'nginx:i386' is not installed (dpkg knows nginx only for amd64)");
  const many = usage(() => selectPackages(DB, ['nginx', 'nope', 'rc-pkg', 'zz*'], false));
  assert.deepEqual(many.split('\n').length, 3);
});

const DEPS = makeDb([
  pkg('app', 'amd64', {
    Depends: 'libc6 (>= 2.36), libssl3 | libssl1.1, python3:any, mail-transport-agent, missing-pkg, gone',
    'Pre-Depends': 'dpkg (>= 1.19)',
  }),
  pkg('libc6', 'amd64', { 'Multi-Arch': 'same' }),
  pkg('libc6', 'i386', { 'Multi-Arch': 'same' }),
  pkg('libssl3', 'amd64', { 'Multi-Arch': 'same', Depends: 'libc6 (>= 2.34)' }),
  pkg('libssl1.1', 'amd64', { 'Multi-Arch': 'same' }),
  pkg('python3', 'i386', { 'Multi-Arch': 'allowed' }),
  pkg('postfix', 'amd64', { Provides: 'mail-transport-agent', Depends: 'oddlib, tool' }),
  pkg('oddlib', 'i386'),
  pkg('tool', 'i386', { 'Multi-Arch': 'foreign' }),
  pkg('dpkg', 'amd64'),
  pkg('gone', 'amd64', {}, 'config-files'),
  pkg('docs', 'all', { Depends: 'libc6' }),
  pkg('unrelated', 'amd64'),
]);

void test('withDeps: closure over Depends and Pre-Depends with arch rules, providers and fallback', () => {
  assert.deepEqual(ids(DEPS, ['app'], true), [
    'app',
    'dpkg', // Pre-Depends
    'libc6:amd64', // same arch as the depender only, versions ignored
    'libssl1.1:amd64', // every installed alternative
    'libssl3:amd64',
    'oddlib', // no instance of the right arch: falls back to any installed one
    'postfix', // provides mail-transport-agent
    'python3', // :any takes any arch
    'tool', // Multi-Arch: foreign satisfies any arch
  ]);
  // Without withDeps only the named package; an Architecture: all depender resolves to the native arch.
  assert.deepEqual(ids(DEPS, ['app'], false), ['app']);
  assert.deepEqual(ids(DEPS, ['docs'], true), ['docs', 'libc6:amd64']);
});

void test('a plain name installed only for several foreign architectures is ambiguous', () => {
  const db = makeDb([pkg('libx', 'i386', { 'Multi-Arch': 'same' }), pkg('libx', 'armhf', { 'Multi-Arch': 'same' }), pkg('liby', 'i386', { 'Multi-Arch': 'same' })]);
  assert.equal(
    usage(() => ids(db, ['libx'])),
    "package 'libx' is installed for several architectures (libx:armhf, libx:i386); name one, or use 'libx:any' for all",
  );
  assert.deepEqual(ids(db, ['libx:any']), ['libx:armhf', 'libx:i386']);
  // A single foreign instance is unambiguous.
  assert.deepEqual(ids(db, ['liby']), ['liby:i386']);
});
