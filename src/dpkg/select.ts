// Resolves command-line package arguments (names, name:arch, globs) to installed packages, optionally with dependencies.

import { usageError } from '../errors.js';
import { fromUtf8 } from './bytes.js';
import { compileGlob, isGlob } from './fnmatch.js';
import { packageId } from './loader.js';
import type { Database, DbWarning, PackageRecord, Relation } from './types.js';

/** A package we check: its Status state is `installed` (debsums also takes half-configured; we do not). */
function isInstalled(p: PackageRecord): boolean {
  return p.state === 'installed';
}

function byId(a: PackageRecord, b: PackageRecord): number {
  const x = packageId(a);
  const y = packageId(b);
  if (x !== y) return x < y ? -1 : 1;
  // Two records with one id (an unqualified name at two archs): order by arch for stability.
  return a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
}

function addTo(map: Map<string, PackageRecord[]>, key: string, p: PackageRecord): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [p]);
  else list.push(p);
}

/** Every record the argument names, installed or not. */
function matchArg(db: Database, arg: string): PackageRecord[] {
  if (isGlob(arg)) {
    const re = compileGlob(fromUtf8(arg));
    return db.packages.filter((p) => re.test(p.name) || re.test(`${p.name}:${p.arch}`));
  }
  const colon = arg.indexOf(':');
  const name = (colon < 0 ? arg : arg.slice(0, colon)).toLowerCase();
  const arch = colon < 0 ? null : arg.slice(colon + 1).toLowerCase();
  return db.packages.filter((p) => {
    if (p.name.toLowerCase() !== name) return false;
    if (arch === null || arch === 'any') return true;
    if (arch === 'native') return p.arch === db.nativeArch;
    return p.arch === arch;
  });
}

/** One line of the error for an argument that matches nothing in the database. */
function unknownMessage(db: Database, arg: string, pattern: boolean): string {
  if (pattern) return `no package matches '${arg}' (unknown to dpkg)`;
  const colon = arg.indexOf(':');
  if (colon >= 0) {
    const name = arg.slice(0, colon).toLowerCase();
    const archs = [...new Set(db.packages.filter((p) => p.name.toLowerCase() === name).map((p) => p.arch || '?'))];
    if (archs.length > 0) {
      return `package '${arg}' is not installed (dpkg knows ${name} only for ${archs.sort().join(', ')})`;
    }
  }
  return `package '${arg}' is not installed (unknown to dpkg)`;
}

/** One line of the error for an argument whose matches are all not installed. */
function notInstalledMessage(arg: string, matches: readonly PackageRecord[], pattern: boolean): string {
  const states = [...new Set(matches.map((p) => p.state))];
  if (!pattern && states.length === 1) {
    return `package '${arg}' is not installed (state: ${states[0] ?? ''}); only installed packages can be checked`;
  }
  const shown = matches.slice(0, 5).map((p) => `${p.name}:${p.arch || '?'} ${p.state}`);
  if (matches.length > 5) shown.push(`and ${matches.length - 5} more`);
  const what = pattern ? `no installed package matches '${arg}'` : `package '${arg}' is not installed`;
  return `${what} (states: ${shown.join(', ')}); only installed packages can be checked`;
}

/**
 * Installed packages that satisfy any alternative of `group` for `from`. An alternative without an
 * arch qualifier takes packages of `from`'s arch, `all`, or Multi-Arch: foreign; `:any` takes every
 * arch. When the arch rules leave nothing, every installed instance of the names is taken.
 */
function groupSatisfiers(
  group: readonly Relation[],
  from: PackageRecord,
  nativeArch: string,
  byName: ReadonlyMap<string, PackageRecord[]>,
  providers: ReadonlyMap<string, PackageRecord[]>,
): PackageRecord[] {
  // An Architecture: all package's dependencies are resolved for the native architecture.
  const fromArch = from.arch === 'all' || from.arch === '' ? nativeArch : from.arch;
  const all: PackageRecord[] = [];
  const fitting: PackageRecord[] = [];
  for (const rel of group) {
    const wantArch = rel.arch === 'native' ? nativeArch : rel.arch;
    for (const c of [...(byName.get(rel.name) ?? []), ...(providers.get(rel.name) ?? [])]) {
      all.push(c);
      let fits: boolean;
      if (wantArch === 'any') fits = true;
      else if (wantArch !== null) fits = c.arch === wantArch || c.arch === 'all';
      else fits = c.arch === fromArch || c.arch === 'all' || c.multiArch === 'foreign';
      if (fits) fitting.push(c);
    }
  }
  return fitting.length > 0 ? fitting : all;
}

/**
 * Resolves command-line arguments to installed packages, sorted by packageId, without duplicates.
 * No arguments: every installed package. An argument is a name (`nginx`: the native-architecture
 * or `all` instance; an error when several foreign instances leave it ambiguous),
 * `libc6:amd64`, `libc6:any`, `foo:native`) or an fnmatch pattern (`python3-*`, matched against
 * `name` and `name:arch`). Names that match nothing, or only packages that are not installed,
 * are collected into one usage error, one line each. A pattern that matches no installed package
 * is a warning pushed to `warnings` (the rest is still checked), or one of those errors when no
 * `warnings` array is given or when no argument selected anything. With `withDeps`, adds the installed packages
 * that satisfy the Depends and Pre-Depends of the selection, transitively; versions are ignored
 * (an installed dependency is code the application runs at whatever version) and unsatisfied
 * groups are skipped.
 */
export function selectPackages(db: Database, args: readonly string[], withDeps: boolean, warnings?: DbWarning[]): PackageRecord[] {
  const installed = db.packages.filter(isInstalled);
  const selected = new Set<PackageRecord>();
  if (args.length === 0) {
    for (const p of installed) selected.add(p);
  } else {
    const problems: string[] = [];
    const emptyPatterns: string[] = [];
    for (const arg of args) {
      const pattern = isGlob(arg);
      const matches = matchArg(db, arg);
      let ok = matches.filter(isInstalled);
      if (ok.length === 0) {
        const message = matches.length === 0 ? unknownMessage(db, arg, pattern) : notInstalledMessage(arg, matches, pattern);
        (pattern ? emptyPatterns : problems).push(message);
        continue;
      }
      if (!pattern && !arg.includes(':') && ok.length > 1) {
        // A plain name means the native-architecture instance (or the `all` one), as in dpkg;
        // `name:any` takes every instance of a Multi-Arch: same package.
        const native = ok.filter((p) => p.arch === db.nativeArch || p.arch === 'all');
        if (native.length === 0) {
          const ids = ok.map(packageId).sort();
          problems.push(`package '${arg}' is installed for several architectures (${ids.join(', ')}); name one, or use '${arg}:any' for all`);
          continue;
        }
        ok = native;
      }
      for (const p of ok) selected.add(p);
    }
    if (problems.length > 0 || warnings === undefined || selected.size === 0) {
      if (problems.length + emptyPatterns.length > 0) throw usageError([...problems, ...emptyPatterns].join('\n'));
    } else {
      for (const message of emptyPatterns) warnings.push({ package: null, file: 'command line', line: null, message });
    }
  }

  if (withDeps) {
    const byName = new Map<string, PackageRecord[]>();
    const providers = new Map<string, PackageRecord[]>();
    for (const p of installed) {
      addTo(byName, p.name, p);
      for (const v of p.provides) addTo(providers, v, p);
    }
    const queue = [...selected];
    while (queue.length > 0) {
      const from = queue.pop();
      if (from === undefined) break;
      for (const group of [...from.preDepends, ...from.depends]) {
        for (const dep of groupSatisfiers(group, from, db.nativeArch, byName, providers)) {
          if (!selected.has(dep)) {
            selected.add(dep);
            queue.push(dep);
          }
        }
      }
    }
  }
  return [...selected].sort(byId);
}

/** dpkg's package hash table: FNV-1a (32 bits) of the lowercased name, modulo this prime (dpkg 1.21 lib/dpkg/pkg-hash.c). */
const DPKG_BINS = 65521;

function dpkgBin(name: string): number {
  let h = 0x811c9dc5;
  const lower = name.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    h ^= lower.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % DPKG_BINS;
}

/**
 * The order `dpkg --verify` walks every package in: its hash table's, bin by bin (so neither
 * by name nor by status file); names sharing a bin, and the architectures of one name, in the
 * order dpkg met them, which the status file's order stands in for.
 */
function dpkgWalk(a: PackageRecord, b: PackageRecord): number {
  return dpkgBin(a.name) - dpkgBin(b.name) || a.line - b.line;
}

/**
 * Where each selected package (packageId) stands in the order the named tool walks packages. Both
 * tools walk their arguments in turn: packages in the order of the arguments that named them
 * (several packages of one pattern, and those --with-deps added after them, in the tool's own
 * order). With no arguments, in that order alone: dpkg's hash table (see dpkgWalk); debsums sorts
 * by binary:Package, which is packageId.
 */
export function selectionOrder(db: Database, args: readonly string[], selected: readonly PackageRecord[], tool: 'dpkg' | 'debsums'): Map<string, number> {
  const argOf = new Map<PackageRecord, number>();
  args.forEach((arg, i) => {
    for (const p of matchArg(db, arg)) if (!argOf.has(p)) argOf.set(p, i);
  });
  const own = tool === 'dpkg' ? dpkgWalk : byId;
  const ordered = [...selected].sort((a, b) => (argOf.get(a) ?? args.length) - (argOf.get(b) ?? args.length) || own(a, b));
  return new Map(ordered.map((p, i) => [packageId(p), i]));
}
