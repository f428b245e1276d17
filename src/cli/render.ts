// Renderings of a check's report: text for people, JSON, and dpkg/debsums-compatible lines.
import { displayPath, fromUtf8 } from '../dpkg/bytes.js';
import type { DbWarning } from '../dpkg/types.js';
import type { PersistReport } from '../unpackaged/persist.js';
import type { SetuidReport, UnownedReport } from '../unpackaged/run.js';
import { FINDING_STATUSES, type Finding, type FindingStatus } from '../verify/finding.js';
import { findingJson, formatBytes, warningJson } from '../verify/report.js';
import type { TrustEntry, TrustState } from '../verify/signed.js';
import type { UnverifiedReason } from '../trust/record.js';
import type { VerifySummary } from '../verify/run.js';

/** What one `check` found: the packages' verification and, with --unowned and --setuid, the walks. */
export interface CheckReport {
  /** The packages verified (packageId); empty with --no-verify. */
  readonly packages: readonly string[];
  /** Every finding: sorted by package, then path; for --format dpkg and debsums, in that tool's order. */
  readonly findings: readonly Finding[];
  readonly warnings: readonly DbWarning[];
  /** The verification's numbers; null with --no-verify. */
  readonly summary: VerifySummary | null;
  readonly unowned?: UnownedReport | null;
  readonly setuid?: SetuidReport | null;
  readonly persist?: PersistReport | null;
  /** With --signed: one trust entry per checked package. */
  readonly trust?: readonly TrustEntry[] | undefined;
}

/**
 * The findings of the --unowned and --setuid walks (including directories they could not read):
 * the dpkg and debsums formats leave them out, as those tools know nothing beyond packages.
 */
export function unpackagedFindings(report: CheckReport): Finding[] {
  return [...(report.unowned?.findings ?? []), ...(report.setuid?.findings ?? []), ...(report.persist?.findings ?? [])];
}

/** The findings on packaged files, for the dpkg and debsums formats. */
function packagedFindings(report: CheckReport): Finding[] {
  const walks = new Set(unpackagedFindings(report));
  return report.findings.filter((f) => !walks.has(f));
}

/** The JSON document of `check --format json`. */
export function renderJson(report: CheckReport, ignored: (f: Finding) => boolean = () => false, dependencies: readonly string[] | null = null): string {
  const summary: Record<string, unknown> = { ...(report.summary ?? { packages: 0, files: 0, bytes: 0, durationMs: 0 }) };
  if (report.trust !== undefined) summary['trust'] = trustCounts(report.trust);
  if (report.unowned) {
    const u = report.unowned;
    summary['unowned'] = {
      trees: u.trees.map((t) => ({ path: displayPath(t.path), package: t.package, reason: t.reason })),
      entries: u.summary.entries,
      durationMs: Math.round(u.summary.durationMs),
    };
  }
  if (report.setuid) {
    const s = report.setuid.summary;
    summary['setuid'] = {
      filesystems: s.filesystems.map(displayPath),
      skipped: s.skipped.map((m) => ({ path: displayPath(m.path), fstype: m.fstype })),
      entries: s.entries,
      durationMs: Math.round(s.durationMs),
    };
  }
  if (report.persist) {
    const s = report.persist.summary;
    summary['persist'] = { points: s.points.map(displayPath), entries: s.entries, baseline: s.baseline, durationMs: Math.round(s.durationMs) };
  }
  const doc = {
    findings: report.findings.map((f) => ({ ...findingJson(f), ignored: ignored(f) })),
    warnings: report.warnings.map(warningJson),
    summary,
    // Only with --with-deps: the packages it added to the named ones.
    ...(dependencies === null ? {} : { dependencies }),
    // Only with --signed: each checked package against its signed .deb.
    ...(report.trust === undefined ? {} : { trust: report.trust }),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A warning line for stderr: `pkgwatch: warning: FILE:LINE: PKG: message`. */
export function renderWarning(w: DbWarning): string {
  const where = w.line === null ? w.file : `${w.file}:${w.line}`;
  const pkg = w.package === null ? '' : `${w.package}: `;
  return `pkgwatch: warning: ${where}: ${pkg}${displayPath(w.message)}\n`;
}

const DPKG_COLUMN: Record<FindingStatus, string> = {
  changed: '??5??????',
  missing: 'missing  ',
  'wrong-type': '?M5??????',
  unreadable: '?????????',
  'database-changed': '??5??????',
  // rpm's M: the mode (or owner) differs.
  'metadata-changed': '.M.......',
  written: '?????????',
  // Never printed: the dpkg and debsums formats leave out what no package installed.
  unowned: '',
  setuid: '',
  added: '',
};

/** Turns `EACCES: permission denied` into strerror's `Permission denied`. */
function strerror(detail: string | null): string {
  if (detail === null) return 'Unknown error';
  const m = /^[A-Z0-9]+: (.*)$/.exec(detail);
  const text = m?.[1] ?? detail;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The lines `dpkg --verify` prints: `%.9s %c %s`. Paths stay raw bytes, as dpkg prints them;
 * the result is a byte string (one char per byte) to be written with latin1 encoding.
 */
export function renderDpkg(report: CheckReport): string {
  let out = '';
  for (const f of packagedFindings(report)) {
    out += `${DPKG_COLUMN[f.status]} ${f.conffile ? 'c' : ' '} ${f.path}`;
    if (f.status === 'unreadable') out += ` (${strerror(f.detail)})`;
    out += '\n';
  }
  return out;
}

/** The lines `debsums -s` prints, with the root prefix on paths; a byte string like renderDpkg's. */
export function renderDebsums(report: CheckReport, root: string): string {
  const prefix = root.replace(/\/+$/, '');
  let out = '';
  for (const f of packagedFindings(report)) {
    const path = `${fromUtf8(prefix)}${f.path}`;
    switch (f.status) {
      case 'changed':
      case 'wrong-type':
      case 'database-changed':
      case 'metadata-changed':
      case 'written':
        out += `debsums: changed file ${path} (from ${f.package} package)\n`;
        break;
      case 'missing':
        out += `debsums: missing file ${path} (from ${f.package} package)\n`;
        break;
      case 'unreadable':
        out += `debsums: can't open ${f.package} file ${path} (${strerror(f.detail)})\n`;
        break;
      case 'unowned':
      case 'setuid':
      case 'added':
        break;
    }
  }
  return out;
}

const STATUS_WIDTH = 10;

/** How renderText shows a report. */
export interface TextOptions {
  /** ANSI colours (a terminal, no NO_COLOR). */
  readonly colour?: boolean;
  /** Findings on the agent's [ignore] paths: counted apart, listed only with `showIgnored`. */
  readonly ignored?: (f: Finding) => boolean;
  readonly showIgnored?: boolean;
  /** Every missing path, instead of one line for a missing folder and a count of what it held. */
  readonly verbose?: boolean;
  /** Findings only: no summary line. */
  readonly quiet?: boolean;
  /** Packages that --with-deps added to the named ones (named in one line before the summary). */
  readonly dependencies?: readonly string[] | null;
}

/** `1 package`, `2 packages`, with thousands separators. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

/**
 * Missing findings of one package whose path lies under another missing finding of it (a folder
 * that is gone): the folder's line stands for them. Returns, per kept finding, how many it hides.
 */
function collapseMissing(findings: readonly Finding[]): Map<Finding, number> {
  const missing = new Map<string, Finding>();
  for (const f of findings) if (f.status === 'missing') missing.set(`${f.package}\0${f.path}`, f);
  const kept = new Map<Finding, number>();
  for (const f of findings) kept.set(f, 0);
  for (const f of findings) {
    if (f.status !== 'missing') continue;
    // The topmost missing folder above it stands for it.
    let top: Finding | undefined;
    for (let cut = f.path.lastIndexOf('/'); cut > 0; cut = f.path.lastIndexOf('/', cut - 1)) {
      top = missing.get(`${f.package}\0${f.path.slice(0, cut)}`) ?? top;
    }
    if (top === undefined) continue;
    kept.delete(f);
    kept.set(top, (kept.get(top) ?? 0) + 1);
  }
  return kept;
}

/** Text for people: findings grouped by package, then a summary line. */
export function renderText(report: CheckReport, opts: TextOptions = {}): string {
  const colour = opts.colour ?? false;
  const ignored = opts.ignored ?? ((): boolean => false);
  const paint = (code: string, s: string): string => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const statusColour: Record<FindingStatus, string> = { changed: '31', missing: '31', 'wrong-type': '31', unreadable: '33', 'database-changed': '31', 'metadata-changed': '31', written: '33', unowned: '31', setuid: '31', added: '31' };
  const shown = report.findings.filter((f) => opts.showIgnored === true || !ignored(f));
  const lines = opts.verbose === true ? new Map(shown.map((f) => [f, 0])) : collapseMissing(shown);
  let out = '';
  let current: string | null = null;
  for (const [f, hidden] of lines) {
    const group = f.source === 'baseline' ? '(baseline of the persistence points)' : f.package === '' ? '(no package)' : f.package;
    if (group !== current) {
      current = group;
      out += `${out === '' ? '' : '\n'}${paint('1', group)}\n`;
    }
    const flag = `${f.conffile ? ' (conffile)' : ''}${ignored(f) ? ' (ignored: [ignore] paths)' : ''}`;
    out += `  ${paint(statusColour[f.status], f.status.padEnd(STATUS_WIDTH))} ${displayPath(f.path)}${flag}\n`;
    if (f.status === 'changed' && f.expected !== null && f.actual !== null) {
      out += `  ${' '.repeat(STATUS_WIDTH)} expected ${f.expected}, found ${f.actual}\n`;
    }
    // check --signed: the signed value against what dpkg's database says.
    if (f.status === 'metadata-changed') out += `  ${' '.repeat(STATUS_WIDTH)} signed ${f.expected ?? ''}, found ${f.actual ?? ''}\n`;
    if (f.status === 'database-changed' && (f.expected !== null || f.actual !== null)) {
      out += `  ${' '.repeat(STATUS_WIDTH)} signed ${f.expected ?? '(no entry)'}, database ${f.actual ?? '(no entry)'}\n`;
    }
    if (f.detail !== null) out += `  ${' '.repeat(STATUS_WIDTH)} ${displayPath(f.detail)}\n`;
    if (hidden > 0) out += `  ${' '.repeat(STATUS_WIDTH)} and ${plural(hidden, 'more missing path')} beneath it (--verbose lists them)\n`;
  }
  const trust = report.trust;
  if (trust !== undefined) {
    // --quiet keeps what is a finding (forged) and drops what is only unknown (unverified).
    const shownTrust = trust.filter((e) => e.state === 'forged' || (e.state === 'unverified' && opts.quiet !== true));
    if (shownTrust.length > 0) out += `${out === '' ? '' : '\n'}${paint('1', 'trust')}\n`;
    for (const e of shownTrust) {
      const label = e.state === 'forged' ? paint('31', e.state.padEnd(STATUS_WIDTH)) : paint('33', e.state.padEnd(STATUS_WIDTH));
      const why = e.reason === null ? '' : `${REASON_TEXT[e.reason]}: `;
      out += `  ${label} ${e.package} ${e.version}: ${why}${displayPath(e.detail ?? '')}\n`;
    }
  }
  if (opts.quiet === true) return out;
  if (out !== '') out += '\n';
  if (opts.dependencies !== undefined && opts.dependencies !== null) {
    const deps = opts.dependencies;
    out += deps.length === 0 ? '--with-deps added no package\n' : `--with-deps added ${plural(deps.length, 'package')}: ${deps.join(', ')}\n`;
  }
  if (report.unowned) out += treesText(report.unowned, opts.verbose === true);
  out += `${summaryLine(report, ignored)}\n`;
  if (trust !== undefined) out += `${trustLine(trust)}\n`;
  return out;
}

const REASONS: Record<string, string> = { 'app-dir': 'its directory', own: 'only it owns this', config: '[unowned] trees' };

/** What --unowned walked: nothing (and why), or with --verbose each tree and whose it is. */
function treesText(u: UnownedReport, verbose: boolean): string {
  if (u.trees.length === 0) {
    const why: Record<UnownedReport['basis'], string> = {
      named: 'the named packages list no directory under /srv, /var/www or /opt and own no tree of their own',
      scope: 'the scoped packages list no directory under /srv, /var/www or /opt and own no tree of their own, and [unowned] trees names none',
      installed: 'no [scope] packages are configured, no installed package lists a directory under /srv, /var/www or /opt, and [unowned] trees names none',
    };
    return `--unowned walked no tree: ${why[u.basis]}\n`;
  }
  if (!verbose) return '';
  return u.trees.map((t) => `--unowned walked ${displayPath(t.path)} (${t.package === '' ? REASONS['config'] : `${t.package}: ${REASONS[t.reason] ?? t.reason}`})\n`).join('');
}

/** `1.2 s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** How `check --signed` words each reason in text. */
const REASON_TEXT: Record<UnverifiedReason, string> = {
  'bad-signature': 'bad signature',
  'hash-mismatch': 'hash mismatch',
  'bad-deb': 'unreadable .deb',
  expired: 'expired index',
  unsigned: 'unsigned source',
  'deb-not-available': '.deb not available',
  'not-in-index': 'not in any index',
  'local-install': 'local install',
  'no-index': 'no index',
};

/** `summary.trust` of the JSON document. */
export function trustCounts(entries: readonly TrustEntry[]): Record<TrustState, number> {
  const n: Record<TrustState, number> = { signed: 0, forged: 0, unverified: 0 };
  for (const e of entries) n[e.state]++;
  return n;
}

/** `trust: 35 signed, 1 forged, 686 unverified (650 .deb not available, 36 local install)`. */
export function trustLine(entries: readonly TrustEntry[]): string {
  const n = trustCounts(entries);
  const reasons = new Map<UnverifiedReason, number>();
  for (const e of entries) if (e.reason !== null) reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
  const why = [...reasons]
    .sort((a, b) => b[1] - a[1])
    .map(([r, k]) => `${k.toLocaleString('en-US')} ${REASON_TEXT[r]}`)
    .join(', ');
  const counts = `${n.signed.toLocaleString('en-US')} signed, ${n.forged.toLocaleString('en-US')} forged, ${n.unverified.toLocaleString('en-US')} unverified`;
  return `trust: ${counts}${why === '' ? '' : ` (${why})`}`;
}

/**
 * `checked 710 packages, 94,632 paths, 4.5 GB in 3.2 s: 3 changed, 1 missing in 2 packages, 1,287 ignored`
 * (findings on [ignore] paths are counted apart, not in the statuses). --unowned and --setuid add
 * what they walked: `; walked 3 trees, 1,425 entries in 0.2 s; walked 1 filesystem for setuid files, ...`.
 */
export function summaryLine(report: CheckReport, ignored: (f: Finding) => boolean = () => false): string {
  const heads: string[] = [];
  const s = report.summary;
  if (s !== null) heads.push(`checked ${plural(s.packages, 'package')}, ${plural(s.files, 'path')}, ${formatBytes(s.bytes)} in ${seconds(s.durationMs)}`);
  if (report.unowned) {
    const u = report.unowned.summary;
    heads.push(`walked ${plural(u.trees, 'tree')}, ${plural(u.entries, 'entry', 'entries')} in ${seconds(u.durationMs)}`);
  }
  if (report.setuid) {
    const u = report.setuid.summary;
    heads.push(`walked ${plural(u.filesystems.length, 'filesystem')} for setuid files, ${plural(u.entries, 'entry', 'entries')} in ${seconds(u.durationMs)}`);
  }
  if (report.persist) {
    const u = report.persist.summary;
    heads.push(`compared ${plural(u.points.length, 'persistence point')}, ${plural(u.entries, 'entry', 'entries')} with the baseline of ${u.baseline} in ${seconds(u.durationMs)}`);
  }
  const head = heads.join('; ');
  const counted = report.findings.filter((f) => !ignored(f));
  const ignoredCount = report.findings.length - counted.length;
  const tail = ignoredCount === 0 ? '' : `, ${ignoredCount.toLocaleString('en-US')} ignored`;
  if (counted.length === 0) return `${head}: no findings${tail}`;
  const counts = new Map<FindingStatus, number>();
  for (const f of counted) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  const parts = FINDING_STATUSES.filter((k) => counts.has(k)).map((k) => `${(counts.get(k) ?? 0).toLocaleString('en-US')} ${k}`);
  const pkgs = new Set(counted.map((f) => f.package).filter((p) => p !== '')).size;
  const where = pkgs === 0 ? '' : ` in ${plural(pkgs, 'package')}`;
  return `${head}: ${parts.join(', ')}${where}${tail}`;
}
