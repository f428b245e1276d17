// Renders a batch of alert events as one plain-text email (subject and body) that reads well on a phone.
import type { FindingJson } from '../verify/report.js';
import type { ActionOutcome, AlertEvent, AlertKind } from './sink.js';
import { agentLines, agentNews, agentRestore, agentTitle, type AgentNews } from './agenttext.js';
import { iso, plural, safeText, WIDTH, wrap } from './text.js';

export { safeText } from './text.js';

/** What renderEmail needs beyond the events. */
export interface EmailContext {
  /** The host name the alerts are about. */
  readonly host: string;
  /** `[offline] enabled`: when false, a message says so where it says the site stayed online. */
  readonly offlineEnabled: boolean;
}

/** One rendered message: a one-line subject without control characters, and a plain-text body. */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
}

/** The most findings one message lists; the rest are counted and `pkgwatch status` shows them. */
export const MAX_LISTED_FINDINGS = 1000;

const MAX_SUBJECT = 120;
const SUBJECT_PACKAGES = 3;

/**
 * One message for a batch of events, in order. The subject leads with the most important news
 * (opened findings, then the site going offline, the agent in trouble, reminders, resolved findings,
 * the site coming back, the agent started or a check working again, a test) and mentions the rest
 * briefly; the body lists every finding (up to MAX_LISTED_FINDINGS),
 * what pkgwatch did about the site, and how to restore.
 */
export function renderEmail(events: readonly AlertEvent[], ctx: EmailContext): RenderedEmail {
  const host = safeText(ctx.host);
  const summary = summarize(events);
  const subject = capSubject(safeText(`[pkgwatch] ${ctx.host}: ${summary}`));
  const lines: string[] = [...wrap(`pkgwatch on ${host}: ${safeText(summary)}`, '', '  '), ''];
  lines.push(...renderEvents(events, host));
  lines.push(...heading('What pkgwatch did'), ...renderDid(events, ctx), '');
  lines.push(...heading('To restore'), ...renderRestore(events, host), '');
  lines.push(...renderFooter(events, host));
  return { subject, text: lines.join('\n') + '\n' };
}

// ---- subject ----

function findingsOf(events: readonly AlertEvent[], kind: AlertKind): FindingJson[] {
  return events.filter((e) => e.kind === kind).flatMap((e) => e.findings);
}

function pathKey(f: FindingJson): string {
  return `${f.package}\0${f.path}`;
}

/**
 * The findings of one kind across a batch, one per package and path: its latest state. A path
 * reported twice in one batch (written again, or read half-written and then whole) is one file.
 */
function latestOf(events: readonly AlertEvent[], kind: AlertKind): FindingJson[] {
  const latest = new Map<string, FindingJson>();
  for (const f of findingsOf(events, kind)) {
    latest.delete(pathKey(f));
    latest.set(pathKey(f), f);
  }
  return [...latest.values()];
}

function packagesOf(findings: readonly FindingJson[]): string[] {
  return [...new Set(findings.map((f) => f.package))];
}

/** `a, b, c and 4 more` */
function packageList(findings: readonly FindingJson[]): string {
  const pkgs = packagesOf(findings);
  const shown = pkgs.slice(0, SUBJECT_PACKAGES).join(', ');
  return pkgs.length > SUBJECT_PACKAGES ? `${shown} and ${pkgs.length - SUBJECT_PACKAGES} more` : shown;
}

/** `3 files changed`, `1 file missing`, or `4 new findings` when the statuses differ. */
function describeOpened(findings: readonly FindingJson[]): string {
  const n = findings.length;
  if (findings.every((f) => f.status === 'changed')) return `${plural(n, 'file')} changed`;
  if (findings.every((f) => f.status === 'missing')) return `${plural(n, 'file')} missing`;
  return `${n} new ${n === 1 ? 'finding' : 'findings'}`;
}

function lastSiteEvent(events: readonly AlertEvent[]): AlertEvent | undefined {
  return events.findLast((e) => e.kind === 'site.offline' || e.kind === 'site.online');
}

function failedSteps(e: AlertEvent): number {
  return (e.actions ?? []).filter((a) => !a.ok).length;
}

/** The subject without its `[pkgwatch] host: ` prefix: the main news, the site's state, then the rest. */
function summarize(events: readonly AlertEvent[]): string {
  const opened = latestOf(events, 'findings.opened');
  const reminder = latestOf(events, 'findings.reminder');
  const resolved = latestOf(events, 'findings.resolved');
  const written = latestOf(events, 'file.written');
  const site = lastSiteEvent(events);
  const hasTest = events.some((e) => e.kind === 'test');
  const accepted = events.findLast((e) => e.kind === 'baseline.accepted');
  const wentOffline = site?.kind === 'site.offline' ? site : undefined;
  const cameOnline = site?.kind === 'site.online';
  const failed = wentOffline === undefined ? 0 : failedSteps(wentOffline);
  const trouble = agentNews(events, true);
  const good = agentNews(events, false);
  const offlineTag = failed > 0 ? `site OFFLINE, ${plural(failed, 'step')} FAILED` : 'site OFFLINE';

  let main: string;
  let lead: AgentNews | undefined;
  const extras: string[] = [];
  if (opened.length > 0) {
    main = `${describeOpened(opened)} in ${packageList(opened)}`;
    if (wentOffline !== undefined) main += ` (${offlineTag})`;
  } else if (wentOffline !== undefined) {
    main = `site taken OFFLINE${failed > 0 ? ` (${plural(failed, 'step')} FAILED)` : ''}`;
    if (wentOffline.findings.length > 0) main += `: ${plural(wentOffline.findings.length, 'finding')} in ${packageList(wentOffline.findings)}`;
  } else if (trouble[0] !== undefined) {
    main = trouble[0].full;
    lead = trouble[0];
  } else if (reminder.length > 0) {
    main = `reminder: ${plural(reminder.length, 'finding')} still open in ${packageList(reminder)}`;
  } else if (resolved.length > 0) {
    main = `${plural(resolved.length, 'finding')} resolved in ${packageList(resolved)}`;
  } else if (written.length > 0) {
    main = `${plural(written.length, 'file')} written outside dpkg in ${packageList(written)}`;
  } else if (cameOnline) {
    main = 'site back online';
  } else if (accepted !== undefined) {
    main = `baseline of the persistence points accepted by ${accepted.baseline?.by ?? 'unknown'}: ${plural(accepted.findings.length, 'change')}`;
  } else if (good[0] !== undefined) {
    main = good[0].full;
    lead = good[0];
  } else if (hasTest) {
    main = 'test alert';
  } else {
    main = 'nothing to report';
  }
  const aboutFindings = opened.length > 0 || reminder.length > 0 || resolved.length > 0;
  if (site === undefined && aboutFindings && events.at(-1)?.offline.active === true) main += ' (site still offline)';
  const agentLeads = lead !== undefined;
  if ((opened.length > 0 || agentLeads) && reminder.length > 0) extras.push(`${reminder.length} still open`);
  if ((opened.length > 0 || wentOffline !== undefined || reminder.length > 0 || agentLeads) && resolved.length > 0) extras.push(`${resolved.length} resolved`);
  for (const n of [...trouble, ...good]) if (n !== lead) extras.push(n.brief);
  if (written.length > 0 && !main.includes('written outside dpkg')) extras.push(`${written.length} written`);
  if (cameOnline && !main.startsWith('site back online')) extras.push('site back online');
  if (hasTest && main !== 'test alert') extras.push('test alert');
  return [main, ...extras].join('; ');
}

function capSubject(s: string): string {
  const chars = Array.from(s);
  return chars.length <= MAX_SUBJECT ? s : `${chars.slice(0, MAX_SUBJECT - 3).join('')}...`;
}

// ---- body ----

function heading(title: string): string[] {
  return [`== ${title} ==`];
}

/** The heading of an event that lists `n` findings. */
function eventTitle(e: AlertEvent, n: number): string {
  switch (e.kind) {
    case 'findings.opened':
      return `${n} new ${n === 1 ? 'finding' : 'findings'}`;
    case 'findings.resolved':
      return `${plural(n, 'finding')} resolved`;
    case 'findings.reminder':
      return `Reminder: ${plural(n, 'finding')} still open`;
    case 'file.written':
      return `${plural(n, 'file')} written while no dpkg was running`;
    case 'site.offline':
      return 'Site taken offline';
    case 'site.online':
      return 'Site back online';
    case 'baseline.accepted':
      return `Baseline accepted by ${safeText(e.baseline?.by ?? 'unknown')}: ${plural(n, 'change')} recorded`;
    case 'baseline.updated':
      return `Baseline updated after a dpkg run: ${plural(n, 'change')} recorded`;
    case 'test':
      return 'Test alert';
    case 'agent.started':
    case 'agent.stopping':
    case 'run.failed':
    case 'run.recovered':
    case 'watch.degraded':
    case 'coverage.degraded':
    case 'coverage.restored':
    case 'alerts.dropped':
      return agentTitle(e);
  }
}

function findingKey(f: FindingJson): string {
  return `${f.package}\0${f.path}\0${f.status}`;
}

function renderFinding(f: FindingJson): string[] {
  const lines = [
    `* ${safeText(f.package)}`,
    `  path:     ${safeText(f.path)}`,
    `  status:   ${safeText(f.status)}${f.conffile ? ' (conffile)' : ''}`,
    `  expected: ${f.expected === null ? '(none)' : safeText(f.expected)}`,
    `  actual:   ${f.actual === null ? '(none)' : safeText(f.actual)}`,
  ];
  if (f.detail !== null) lines.push(...wrap(safeText(f.detail), '  detail:   ', '            '));
  // A rewritten md5sums: each entry it changed, the md5 recorded before and now.
  for (const e of f.entries ?? []) {
    lines.push(...wrap(safeText(e.path), '  entry:    ', '            '));
    lines.push(`            was ${e.expected === null ? '(no entry: added)' : safeText(e.expected)}`);
    lines.push(`            now ${e.actual === null ? '(no entry: removed)' : safeText(e.actual)}`);
  }
  if ((f.entriesOmitted ?? 0) > 0) lines.push(`  entry:    and ${f.entriesOmitted ?? 0} more`);
  return lines;
}

/** An earlier state of a path opened again later in the same batch, shown with its latest state. */
interface EarlierState {
  readonly time: string;
  readonly finding: FindingJson;
}

function renderEarlier(states: readonly EarlierState[]): string[] {
  return states.flatMap(({ time, finding: f }) =>
    wrap(`${safeText(f.status)}, actual ${f.actual === null ? '(none)' : safeText(f.actual)}, at ${iso(time)}`, '  earlier:  ', '            '),
  );
}

/**
 * Each event under its heading, with its findings; findings beyond MAX_LISTED_FINDINGS are counted.
 * A path opened again by a later event of the batch is listed once, under the later event, with
 * its earlier states.
 */
function renderEvents(events: readonly AlertEvent[], host: string): string[] {
  const out: string[] = [];
  const listed = new Set<string>();
  const lastOpened = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.kind === 'findings.opened') for (const f of e.findings) lastOpened.set(pathKey(f), i);
  });
  const earlier = new Map<string, EarlierState[]>();
  let budget = MAX_LISTED_FINDINGS;
  events.forEach((e, i) => {
    let findings = e.findings;
    let later = 0;
    if (e.kind === 'findings.opened') {
      findings = findings.filter((f) => {
        if ((lastOpened.get(pathKey(f)) ?? i) <= i) return true;
        earlier.set(pathKey(f), [...(earlier.get(pathKey(f)) ?? []), { time: e.time, finding: f }]);
        later++;
        return false;
      });
    }
    out.push(...heading(`${eventTitle(e, findings.length)} at ${iso(e.time)}`));
    if (later > 0) out.push(`(${plural(later, 'file')} changed again later in this batch: listed further down)`);
    if (e.kind === 'site.offline') {
      // The findings that took the site offline usually came in this batch already.
      findings = findings.filter((f) => !listed.has(findingKey(f)));
      if (e.findings.length > 0 && findings.length === 0) out.push('Because of the findings above.');
      else if (findings.length === e.findings.length) out.push('Because of:');
      else if (findings.length > 0) out.push('Because of the findings above and:');
    }
    if (e.kind === 'site.online') out.push('See "What pkgwatch did" below.');
    out.push(...agentLines(e));
    const shown = findings.slice(0, budget);
    for (const f of shown) {
      out.push('', ...renderFinding(f));
      if (e.kind === 'findings.opened') out.push(...renderEarlier(earlier.get(pathKey(f)) ?? []));
      listed.add(findingKey(f));
    }
    budget -= shown.length;
    if (shown.length < findings.length) out.push('', `... and ${findings.length - shown.length} more: run \`pkgwatch status\` on ${host}`);
    out.push('');
  });
  return out;
}

function renderActions(actions: readonly ActionOutcome[] | undefined): string[] {
  if (actions === undefined || actions.length === 0) return ['(no steps were reported)'];
  const out: string[] = [];
  for (const a of actions) {
    out.push(...wrap(`- ${a.ok ? 'ok' : 'FAILED'}: ${a.action} ${safeText(a.target)}`, '', '    '));
    if (a.detail !== '') out.push(...wrap(safeText(a.detail), '    ', '    '));
  }
  const failed = actions.filter((a) => !a.ok).length;
  if (failed > 0) out.push(...wrap(`${failed} of ${plural(actions.length, 'step')} FAILED: check the site by hand.`, '', ''));
  return out;
}

/** "What pkgwatch did": what happened to the site in this batch, or the state it is in. */
function renderDid(events: readonly AlertEvent[], ctx: EmailContext): string[] {
  const out: string[] = [];
  const siteEvents = events.filter((e) => e.kind === 'site.offline' || e.kind === 'site.online');
  for (const e of siteEvents) {
    if (out.length > 0) out.push('');
    if (e.kind === 'site.offline') {
      const why = e.offline.reason === null ? '.' : ` because ${safeText(e.offline.reason)}.`;
      out.push(...wrap(`The site was taken OFFLINE at ${iso(e.offline.since ?? e.time)}${why}`, '', ''));
      out.push(...wrap('It stays offline until `pkgwatch online`. Steps taken:', '', ''));
    } else {
      const how = e.offline.reason === null ? '.' : `: ${safeText(e.offline.reason)}.`;
      out.push(...wrap(`The site is back online since ${iso(e.time)}${how} Steps taken:`, '', ''));
    }
    out.push(...renderActions(e.actions));
  }
  if (siteEvents.length > 0) return out;
  const last = events.at(-1);
  if (last?.offline.active === true) {
    const why = last.offline.reason === null ? '' : `, because ${safeText(last.offline.reason)}`;
    out.push(...wrap(`The site is still offline, since ${iso(last.offline.since)}${why}.`, '', ''));
    return out;
  }
  out.push('The site was NOT taken offline.');
  if (!ctx.offlineEnabled) out.push('(taking the site offline is disabled: [offline] enabled = false)');
  return out;
}

// A Debian package name (policy 5.6.1), with the `:arch` dpkg-query adds. Anything else came from a
// tampered database and is kept out of command lines a reader may paste into a shell.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/;

/** A command line for pasting, broken with ` \` continuations so it stays within WIDTH. */
function commandLines(words: readonly string[]): string[] {
  const out: string[] = [];
  let line = '    ';
  for (const w of words) {
    if (line.trim() !== '' && line.length + 1 + w.length + 2 > WIDTH) {
      out.push(`${line} \\`);
      line = `      ${w}`;
    } else {
      line += (line.trim() === '' ? '' : ' ') + w;
    }
  }
  out.push(line);
  return out;
}

/** "To restore": reinstall, check, bring the site back; or that there is nothing to do. */
function renderRestore(events: readonly AlertEvent[], host: string): string[] {
  const open = events.filter((e) => e.kind === 'findings.opened' || e.kind === 'findings.reminder' || e.kind === 'site.offline').flatMap((e) => e.findings);
  const site = lastSiteEvent(events);
  const offline = site === undefined ? events.at(-1)?.offline.active === true : site.kind === 'site.offline';
  const out: string[] = [];
  let step = 0;
  if (open.length > 0) {
    const all = packagesOf(open);
    const pkgs = all.filter((p) => PACKAGE_NAME.test(p));
    out.push(...wrap(`${++step}. Find out who changed these files and why: they may be evidence. Keep a copy of them before you restore.`, '', '   '));
    if (pkgs.length > 0) {
      out.push(`${++step}. Reinstall the ${pkgs.length === 1 ? 'package' : 'packages'}:`, ...commandLines(['apt-get', 'install', '--reinstall', ...pkgs]));
      out.push(`${++step}. Check again:`, ...commandLines(['pkgwatch', 'check', ...pkgs]));
    }
    if (pkgs.length < all.length) {
      out.push(...wrap(`   (${plural(all.length - pkgs.length, 'package name')} left out: not a valid Debian name, so the database itself may be tampered with)`, '', '   '));
    }
    if (open.some((f) => f.conffile)) {
      out.push(...wrap('   --reinstall keeps a changed conffile. To get the packaged one back, move it away and add -o Dpkg::Options::=--force-confmiss.', '', '   '));
    }
  }
  for (const text of agentRestore(events, host)) out.push(...wrap(`${++step}. ${text}`, '', '   '));
  if (offline) {
    out.push(`${++step}. Bring the site back online, on ${host}:`, '    pkgwatch online');
    out.push(...wrap('   It refuses while findings are open; --force overrides.', '', '   '));
  }
  if (events.some((e) => e.kind === 'test')) out.push('This is a test sent by `pkgwatch alert test`.');
  if (step === 0 && events.some((e) => e.kind === 'file.written')) {
    out.push(...wrap('If nobody here wrote these files, find out who did: their content may have been swapped and swapped back before it was checked (a PHP opcache keeps what it read).', '', ''));
  } else if (step === 0) out.push('Nothing to do.');
  return out;
}

function renderFooter(events: readonly AlertEvent[], host: string): string[] {
  const out = ['-- ', `pkgwatch on ${host}`];
  for (const e of events) out.push(`${e.kind} at ${iso(e.time)}`, `  id ${safeText(e.id)}`);
  return out;
}
