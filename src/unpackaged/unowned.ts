// The decision "is this entry unowned": a pure function of the ownership index, the rules and a
// tree's walk; a new directory is one finding with the count of what lies below it.
import type { BytePath, DbWarning } from '../dpkg/types.js';
import type { Finding } from '../verify/finding.js';
import type { Accounts } from './accounts.js';
import { describeStat, entryStat } from './describe.js';
import type { OwnershipIndex } from './ownership.js';
import type { AllowRules, GeneratedRules } from './rules.js';
import type { Tree } from './trees.js';
import type { WalkEntry, WalkEvent } from './walk.js';

/** Everything the decision needs besides the walk. */
export interface UnownedContext {
  readonly index: OwnershipIndex;
  readonly generated: GeneratedRules;
  readonly allow: AllowRules;
  readonly accounts: Accounts;
}

/** Why an entry is not a finding, or `unowned`. */
export type Verdict = 'owned' | 'allowed' | 'generated' | 'unowned';

/** The verdict on one entry (a directory's content is judged on its own entries). */
export function verdictOf(ctx: UnownedContext, e: WalkEntry): Verdict {
  if (ctx.index.has(e.path)) return 'owned';
  if (ctx.allow.allows(e.path) || (e.kind === 'directory' && ctx.allow.allowsTree(e.path))) return 'allowed';
  if (ctx.generated.generatedBy(e) !== null) return 'generated';
  return 'unowned';
}

/** The walk's prune test: directories the allow rules cover whole are not entered. */
export function pruneOf(ctx: UnownedContext): (e: WalkEntry) => boolean {
  return (e) => e.kind === 'directory' && ctx.allow.allowsTree(e.path);
}

/** The findings and warnings of one tree, and how many entries its walk met. */
export interface TreeResult {
  readonly findings: Finding[];
  readonly warnings: DbWarning[];
  readonly entries: number;
}

function under(p: BytePath, dir: BytePath): boolean {
  return p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * Judges a tree's walk, event by event (pre-order, as walkTree yields them). Pure: the same
 * events give the same findings, whether they come from a scheduled walk or, later, from the
 * watcher's view of one new entry.
 */
export class UnownedJudge {
  private readonly findings: Finding[] = [];
  private readonly warnings: DbWarning[] = [];
  private entries = 0;
  private open: { entry: WalkEntry; below: number } | null = null;

  constructor(
    private readonly ctx: UnownedContext,
    private readonly tree: Tree,
    /** Host path of the root, for warnings that name a place on the host. */
    private readonly hostRoot: string,
  ) {}

  add(ev: WalkEvent): void {
    if (ev.t === 'cap') {
      this.close();
      this.warnings.push({
        package: this.tree.package === '' ? null : this.tree.package,
        file: this.host(ev.path),
        line: null,
        message: `stopped walking the tree after ${ev.max.toLocaleString('en-US')} entries; the rest of it was not checked for unowned files`,
      });
      return;
    }
    const path = ev.t === 'entry' ? ev.entry.path : ev.path;
    if (this.open !== null && under(path, this.open.entry.path)) {
      if (ev.t === 'entry') {
        this.open.below++;
        this.entries++;
      }
      return;
    }
    this.close();
    if (ev.t === 'mount') {
      this.warnings.push({ package: null, file: this.host(ev.path), line: null, message: 'another filesystem is mounted here; it was not walked for unowned files (a tree never crosses filesystems)' });
      return;
    }
    if (ev.t === 'unreadable') {
      this.findings.push({ package: this.tree.package, path, status: 'unreadable', conffile: false, expected: null, actual: null, detail: `${ev.error}: cannot be checked for unowned files` });
      return;
    }
    this.entries++;
    const e = ev.entry;
    if (verdictOf(this.ctx, e) !== 'unowned') return;
    if (e.kind === 'directory') this.open = { entry: e, below: 0 };
    else this.findings.push(this.finding(e));
  }

  /** The findings, in walk order, once the walk is over. */
  finish(): TreeResult {
    this.close();
    return { findings: this.findings, warnings: this.warnings, entries: this.entries };
  }

  private close(): void {
    if (this.open === null) return;
    this.findings.push(this.finding(this.open.entry, this.open.below));
    this.open = null;
  }

  private finding(e: WalkEntry, below?: number): Finding {
    const stat = entryStat(e, this.ctx.accounts, below);
    let detail = describeStat(stat);
    const managed = e.kind === 'symlink' ? this.ctx.generated.alternativeTargets(e.path) : undefined;
    if (managed !== undefined) detail += `; update-alternatives points it to ${managed.join(' or ')}`;
    return { package: this.tree.package, path: e.path, status: 'unowned', conffile: false, expected: null, actual: e.kind, detail, stat };
  }

  private host(p: BytePath): string {
    const r = this.hostRoot.replace(/\/+$/, '');
    return `${r}${Buffer.from(p, 'latin1').toString('utf8')}`;
  }
}

/** Judges a whole walk of one tree. */
export function judgeTree(ctx: UnownedContext, tree: Tree, events: Iterable<WalkEvent>, hostRoot = '/'): TreeResult {
  const judge = new UnownedJudge(ctx, tree, hostRoot);
  for (const ev of events) judge.add(ev);
  return judge.finish();
}
