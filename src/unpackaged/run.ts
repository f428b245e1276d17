// One unowned-files check and one setuid walk: load the database and the index, walk, judge.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { loadAlternatives, loadStatOverrides } from '../dpkg/admindb.js';
import { fromUtf8, joinPath } from '../dpkg/bytes.js';
import { compileGlob, isGlob } from '../dpkg/fnmatch.js';
import { loadDatabase, packageId } from '../dpkg/loader.js';
import { selectPackages } from '../dpkg/select.js';
import type { StatOverride } from '../dpkg/statoverride.js';
import type { BytePath, Database, DbWarning, PackageRecord } from '../dpkg/types.js';
import { PkgwatchError } from '../errors.js';
import { compareFindings, type Finding } from '../verify/finding.js';
import { loadAccounts, type Accounts } from './accounts.js';
import { readMounts } from './mounts.js';
import { loadOwnedLists, OwnershipIndex, type OwnedList } from './ownership.js';
import { RootResolver } from './resolve.js';
import { alternativeLinks, compileAllow, GeneratedRules } from './rules.js';
import { judgeSetuid, walkSetuid } from './setuid.js';
import { outermost, packageTrees, type Tree } from './trees.js';
import { pruneOf, UnownedJudge, type UnownedContext } from './unowned.js';
import { DEFAULT_MAX_ENTRIES, lstatEntry, walkTree } from './walk.js';

/** What both checks load once: the database, the ownership index and the checked system's names. */
export interface UnpackagedBase {
  readonly root: string;
  readonly db: Database;
  readonly lists: readonly OwnedList[];
  readonly index: OwnershipIndex;
  readonly resolver: RootResolver;
  readonly accounts: Accounts;
  readonly warnings: DbWarning[];
}

/** Loads the database of `root` and indexes every path a package lists (~120,000 on a server). */
export async function loadBase(root: string, admindir?: string): Promise<UnpackagedBase> {
  const db = await loadDatabase(admindir === undefined ? { root } : { root, admindir });
  const warnings: DbWarning[] = [];
  const resolver = new RootResolver(db.root);
  const [lists, accounts] = await Promise.all([loadOwnedLists(db, warnings), loadAccounts(db.root)]);
  const index = new OwnershipIndex(lists, db.diversions, (p) => resolver.canonical(p));
  return { root: db.root, db, lists, index, resolver, accounts, warnings: [...db.warnings, ...warnings] };
}

/** Which packages' trees `check --unowned` walks. */
export interface UnownedRequest {
  /** Names or patterns from the command line; empty = the configured scope. */
  readonly packages: readonly string[];
  readonly withDeps: boolean;
  /** `[scope]` of the configuration, used when no package is named. */
  readonly scope: { readonly packages: readonly string[]; readonly withDependencies: boolean };
  /** `[unowned] trees`: added when no package is named. */
  readonly trees: readonly string[];
  /** `[unowned] allow`. */
  readonly allow: readonly string[];
  readonly maxEntries?: number;
}

export interface UnownedReport {
  /** Whose trees: the named packages, the configured scope, or (no scope) every installed package's application directories. */
  readonly basis: 'named' | 'scope' | 'installed';
  readonly trees: readonly Tree[];
  readonly findings: Finding[];
  readonly warnings: DbWarning[];
  readonly summary: { readonly trees: number; readonly entries: number; readonly durationMs: number };
}

/**
 * The packages whose trees are walked: the named ones (an unknown name is a usage error, as for
 * `check`), else the configured scope (a scope name that is not installed is a warning), else
 * null: no scope, so the application directories of every installed package.
 */
function subjects(db: Database, req: UnownedRequest, warnings: DbWarning[]): PackageRecord[] | null {
  if (req.packages.length > 0) return selectPackages(db, req.packages, req.withDeps, warnings);
  if (req.scope.packages.length === 0) return null;
  const ok: string[] = [];
  for (const arg of req.scope.packages) {
    try {
      selectPackages(db, [arg], false);
      ok.push(arg);
    } catch (err) {
      if (!(err instanceof PkgwatchError)) throw err;
      warnings.push({ package: null, file: 'scope.packages', line: null, message: `${err.message}; its trees are not walked` });
    }
  }
  return ok.length === 0 ? [] : selectPackages(db, ok, req.scope.withDependencies);
}

/** Expands an `[unowned] trees` glob to the directories it names (segment by segment, never through a symlink). */
export function expandTreeGlob(root: string, glob: string): BytePath[] {
  const bytes = fromUtf8(glob.endsWith('/**') ? glob.slice(0, -3) || '/' : glob);
  if (!isGlob(bytes)) return [bytes];
  let dirs: BytePath[] = ['/'];
  for (const seg of bytes.split('/').filter((s) => s !== '')) {
    const next: BytePath[] = [];
    const re = isGlob(seg) ? compileGlob(seg) : null;
    for (const d of dirs) {
      if (re === null) {
        next.push(joinPath(d, seg));
        continue;
      }
      for (const ev of walkTree(root, d, { maxEntries: 100_000, prune: () => true })) {
        if (ev.t !== 'entry' || ev.entry.kind !== 'directory') continue;
        const name = ev.entry.path.slice(ev.entry.path.lastIndexOf('/') + 1);
        if (re.test(name)) next.push(ev.entry.path);
      }
    }
    dirs = next;
  }
  return dirs;
}

/**
 * Walks the trees of the checked packages (and, with no package named, the configured ones) for
 * entries no package installed. Throws PkgwatchError for a named package that is not installed.
 */
export async function checkUnowned(base: UnpackagedBase, req: UnownedRequest): Promise<UnownedReport> {
  const started = performance.now();
  const { db, index, resolver, accounts } = base;
  const warnings: DbWarning[] = [];
  const selected = subjects(db, req, warnings);
  const ids = new Set((selected ?? db.packages.filter((p) => p.state === 'installed')).map(packageId));
  const subjectLists = base.lists.filter((l) => ids.has(l.id));
  const trees: Tree[] = packageTrees(index, subjectLists, { ownTrees: selected !== null, canonical: (p) => resolver.canonical(p) });
  if (req.packages.length === 0) {
    for (const glob of req.trees) {
      let found = 0;
      for (const d of expandTreeGlob(db.root, glob)) {
        const real = resolver.realDir(d);
        if (real === null) continue;
        trees.push({ path: real, package: '', reason: 'config' });
        found++;
      }
      if (found === 0) warnings.push({ package: null, file: 'unowned.trees', line: null, message: `'${glob}' names no directory under ${db.root}; nothing walked for it` });
    }
  }
  const walked = outermost(trees);
  const groups = await loadAlternatives(db.admindir, warnings);
  const ctx: UnownedContext = {
    index,
    generated: new GeneratedRules(index, alternativeLinks(groups, (p) => resolver.canonical(p))),
    allow: compileAllow(req.allow),
    accounts,
  };
  const findings: Finding[] = [];
  let entries = 0;
  let left = req.maxEntries ?? DEFAULT_MAX_ENTRIES;
  for (const tree of walked) {
    const top = lstatEntry(db.root, tree.path);
    if (top === null || 'error' in top || top.kind !== 'directory') continue;
    const judge = new UnownedJudge(ctx, tree, db.root);
    let n = 0;
    for (const ev of walkTree(db.root, tree.path, { maxEntries: left, prune: pruneOf(ctx) })) {
      judge.add(ev);
      if (++n % 4096 === 0) await yieldToLoop();
    }
    const r = judge.finish();
    findings.push(...r.findings);
    warnings.push(...r.warnings);
    entries += r.entries;
    left = Math.max(0, left - r.entries);
  }
  findings.sort(compareFindings);
  const basis = req.packages.length > 0 ? 'named' : selected === null ? 'installed' : 'scope';
  return { basis, trees: walked, findings, warnings, summary: { trees: walked.length, entries, durationMs: performance.now() - started } };
}

export interface SetuidReport {
  readonly findings: Finding[];
  readonly warnings: DbWarning[];
  readonly summary: {
    /** Where each walked filesystem starts, on the checked system. */
    readonly filesystems: readonly BytePath[];
    /** Mounts not entered (network, pseudo, nosuid tmpfs, a second view of a walked one). */
    readonly skipped: readonly { readonly path: BytePath; readonly fstype: string }[];
    readonly entries: number;
    readonly durationMs: number;
  };
}

/** Walks the local filesystems under the root for setuid and setgid files (see walkSetuid, judgeSetuid). */
export async function checkSetuid(base: UnpackagedBase, opts: { maxEntries?: number; signal?: AbortSignal } = {}): Promise<SetuidReport> {
  const started = performance.now();
  const warnings: DbWarning[] = [];
  const overrides = await loadStatOverrides(base.db.admindir, warnings);
  const byPath = new Map<BytePath, StatOverride>();
  for (const o of overrides) byPath.set(base.resolver.canonical(o.path), o);
  const walk = await walkSetuid(base.db.root, { mounts: readMounts(), maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES * 10, signal: opts.signal });
  const host = (p: BytePath): string => `${base.db.root === '/' ? '' : base.db.root}${Buffer.from(p, 'latin1').toString('utf8')}`;
  const findings: Finding[] = judgeSetuid(base.index, byPath, base.accounts, walk.files);
  for (const u of walk.unreadable) {
    findings.push({ package: '', path: u.path, status: 'unreadable', conffile: false, expected: null, actual: null, detail: `${u.error}: cannot be checked for setuid files` });
  }
  if (walk.capped) warnings.push({ package: null, file: host('/'), line: null, message: `stopped the setuid walk after ${walk.entries.toLocaleString('en-US')} entries; the rest was not checked` });
  findings.sort(compareFindings);
  return { findings, warnings, summary: { filesystems: walk.filesystems, skipped: walk.skipped, entries: walk.entries, durationMs: performance.now() - started } };
}
