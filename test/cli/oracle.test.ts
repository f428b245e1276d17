// Oracle tests: the machine's own dpkg database checked by dpkg --verify, debsums -s and pkgwatch; every difference needs a named, checked reason.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Stats } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI, runCli, runProcess, type CliResult } from '../helpers/cli.js';

/** A path as dpkg stores it: bytes, one char per byte (latin1). */
type Bytes = string;

const ROOT = '/';
const ADMINDIR = '/var/lib/dpkg';
/**
 * A safety net, not a budget: a whole-host debsums pass takes about 3 minutes on a quiet 2-core
 * machine and many times that under load. A slow machine makes these tests slower, never red.
 */
const RUN_TIMEOUT_MS = 45 * 60_000;
/** node:test's limit for one whole-host comparison: the same kind of safety net. */
const TEST_TIMEOUT_MS = 90 * 60_000;
/**
 * The whole-host debsums pass runs only with this set (npm run test:oracle, which .ci/run runs
 * too): it is the suite's longest test by far. The default run compares debsums on a stable
 * sample of the host's packages instead (stableSample).
 */
const HOST_DEBSUMS = process.env['PKGWATCH_ORACLE'] === 'host';
/** English error texts and byte-order sorting from the oracles. */
const ORACLE_ENV = { LC_ALL: 'C', LANG: 'C' };
/** On a real system most failures are plain changed or missing files both tools must agree on. */
const MIN_COMMON_SHARE = 0.5;

// ---------------------------------------------------------------------------------------------
// An independent reading of the dpkg database: small on purpose, and sharing no code with src/.

interface OracleConffile {
  readonly hash: string;
  readonly obsolete: boolean;
}

interface OraclePackage {
  /** binary:Package: `name`, or `name:arch` for Multi-Arch: same. */
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly list: ReadonlySet<Bytes> | null;
  readonly sums: ReadonlyMap<Bytes, string> | null;
  readonly conffiles: ReadonlyMap<Bytes, OracleConffile>;
}

interface OracleDiversion {
  readonly from: Bytes;
  readonly to: Bytes;
  /** The diverting package, or null for a local diversion. */
  readonly by: string | null;
}

interface OracleFilter {
  readonly exclude: boolean;
  readonly re: RegExp;
}

interface OracleDb {
  readonly root: string;
  readonly packages: ReadonlyMap<string, OraclePackage>;
  readonly diversions: readonly OracleDiversion[];
  readonly filters: readonly OracleFilter[];
  /** Path -> ids of the packages whose .list has it. */
  readonly listOwners: ReadonlyMap<Bytes, readonly string[]>;
  /** Path -> ids of the packages whose md5sums has it. */
  readonly sumOwners: ReadonlyMap<Bytes, readonly string[]>;
}

async function readBytesOrNull(file: string): Promise<Bytes | null> {
  try {
    return (await readFile(file)).toString('latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function normalisePath(p: Bytes): Bytes {
  const rel = p.startsWith('./') ? p.slice(1) : p;
  return rel.startsWith('/') ? rel : `/${rel}`;
}

function parseStanza(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let current: string | null = null;
  for (const line of text.split('\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && current !== null) {
      fields.set(current, `${fields.get(current) ?? ''}\n${line}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon);
    fields.set(current, line.slice(colon + 1).trim());
  }
  return fields;
}

/** fnmatch(3) without FNM_PATHNAME or FNM_PERIOD, as dpkg matches path-exclude globs. */
function globToRegExp(glob: Bytes): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob.charAt(++i));
    else if (c === '[') {
      const end = glob.indexOf(']', glob[i + 1] === '!' || glob[i + 1] === '^' ? i + 3 : i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
}

async function loadFilters(root: string): Promise<OracleFilter[]> {
  // dpkg reads dpkg.cfg.d/* (sorted) first and dpkg.cfg last (strace of dpkg 1.21 on Debian 12).
  const etc = join(root, 'etc/dpkg');
  let names: string[] = [];
  try {
    names = (await readdir(join(etc, 'dpkg.cfg.d'))).filter((n) => /^[A-Za-z0-9_.-]+$/.test(n)).sort();
  } catch {
    // no directory: no rules from it
  }
  const files = [...names.map((n) => join(etc, 'dpkg.cfg.d', n)), join(etc, 'dpkg.cfg')];
  const out: OracleFilter[] = [];
  for (const f of files) {
    const text = await readBytesOrNull(f).catch(() => null);
    if (text === null) continue;
    for (const raw of text.split('\n')) {
      const m = /^\s*(?:--)?path-(exclude|include)(?:\s*=\s*|\s+)(\S.*?)\s*$/.exec(raw);
      if (m?.[1] !== undefined && m[2] !== undefined) out.push({ exclude: m[1] === 'exclude', re: globToRegExp(m[2]) });
    }
  }
  return out;
}

function isExcluded(db: OracleDb, path: Bytes): boolean {
  for (let i = db.filters.length - 1; i >= 0; i--) {
    const f = db.filters[i];
    if (f?.re.test(path) === true) return f.exclude;
  }
  return false;
}

function addOwner(index: Map<Bytes, string[]>, path: Bytes, id: string): void {
  const owners = index.get(path);
  if (owners === undefined) index.set(path, [id]);
  else owners.push(id);
}

/** Reads status, the info files of every package not in state not-installed, diversions and filters. */
async function loadOracleDb(root: string, admindir: string): Promise<OracleDb> {
  const status = await readFile(join(admindir, 'status'), 'latin1');
  const packages = new Map<string, OraclePackage>();
  const listOwners = new Map<Bytes, string[]>();
  const sumOwners = new Map<Bytes, string[]>();
  const stanzas = status.split(/\n\s*\n/).map(parseStanza);
  await Promise.all(
    stanzas.map(async (f) => {
      const name = f.get('Package');
      const state = f.get('Status')?.split(/\s+/)[2];
      if (name === undefined || state === undefined || state === 'not-installed') return;
      const arch = f.get('Architecture') ?? 'all';
      const id = f.get('Multi-Arch') === 'same' ? `${name}:${arch}` : name;
      const info = join(admindir, 'info');
      let listText = await readBytesOrNull(join(info, `${name}:${arch}.list`));
      let base = `${name}:${arch}`;
      if (listText === null) {
        listText = await readBytesOrNull(join(info, `${name}.list`));
        base = name;
      }
      const sumsText = await readBytesOrNull(join(info, `${base}.md5sums`));
      const list = listText === null ? null : new Set(listText.split('\n').filter((l) => l !== ''));
      let sums: Map<Bytes, string> | null = null;
      if (sumsText !== null) {
        sums = new Map();
        for (const line of sumsText.split('\n')) {
          const m = /^([0-9a-f]{32}) [ *](.+)$/.exec(line);
          if (m?.[1] !== undefined && m[2] !== undefined) sums.set(normalisePath(m[2]), m[1]);
        }
      }
      const conffiles = new Map<Bytes, OracleConffile>();
      for (const line of (f.get('Conffiles') ?? '').split('\n')) {
        const words = line.trim().split(/\s+/);
        const [path, hash, ...flags] = words;
        if (path === undefined || hash === undefined || !path.startsWith('/')) continue;
        conffiles.set(path, { hash, obsolete: flags.includes('obsolete') || flags.includes('remove-on-upgrade') });
      }
      packages.set(id, { id, name, state, list, sums, conffiles });
      for (const p of list ?? []) addOwner(listOwners, p, id);
      for (const p of sums?.keys() ?? []) addOwner(sumOwners, p, id);
    }),
  );
  const diversions: OracleDiversion[] = [];
  const lines = ((await readBytesOrNull(join(admindir, 'diversions'))) ?? '').split('\n');
  for (let i = 0; i + 2 < lines.length; i += 3) {
    const [from, to, by] = [lines[i], lines[i + 1], lines[i + 2]];
    if (from !== undefined && to !== undefined && by !== undefined) diversions.push({ from, to, by: by === ':' ? null : by });
  }
  return { root, packages, diversions, filters: await loadFilters(root), listOwners, sumOwners };
}

// ---------------------------------------------------------------------------------------------
// An independent look at one path now.

/** What is on disk at a path, judged against one expected hash (null: existence only). */
type Verdict = 'ok' | 'changed' | 'missing' | 'wrong-type' | 'unreadable';

function hostPath(root: string, p: Bytes): Buffer {
  const prefix = root.replace(/\/+$/, '');
  return Buffer.concat([Buffer.from(prefix, 'utf8'), Buffer.from(p, 'latin1')]);
}

function md5File(file: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

async function probe(root: string, p: Bytes, md5: string | null): Promise<Verdict> {
  const file = hostPath(root, p);
  let st: Stats;
  try {
    st = await lstat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable';
  }
  if (md5 === null) return 'ok';
  if (!st.isFile()) return 'wrong-type';
  try {
    return (await md5File(file)) === md5 ? 'ok' : 'changed';
  } catch {
    return 'unreadable';
  }
}

/**
 * Whether `p` changed after `since`: its own ctime, or, when it is gone, the ctime of the nearest
 * folder above it that still exists (removing an entry changes its folder). A file tampered with
 * before the comparison started keeps its older ctime, so this explains nothing it should not.
 */
async function changedSince(root: string, p: Bytes, since: number): Promise<boolean> {
  for (let q = p; q !== '/' && q !== ''; q = q.slice(0, Math.max(q.lastIndexOf('/'), 1))) {
    try {
      return (await lstat(hostPath(root, q))).ctimeMs >= since;
    } catch {
      // gone: look at the folder that held it
    }
  }
  return false;
}

async function isRegularFile(root: string, p: Bytes): Promise<boolean | null> {
  try {
    return (await lstat(hostPath(root, p))).isFile();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Output lines of the three tools, and the reasons pkgwatch may differ (shared/dpkg-semantics.md).

/** One failure line of an oracle or of pkgwatch. `token` is the kind: a dpkg column or a debsums word. */
interface Line {
  readonly key: string;
  readonly token: string;
  readonly path: Bytes;
  /** The package named on the line (debsums), or null (dpkg --verify names none). */
  readonly pkg: string | null;
  readonly conffile: boolean;
}

const REASONS = {
  diverted: 'diverted path: pkgwatch checks the divert-to file against the diverted package\'s hash, the oracle does not',
  notInList: 'md5sums entry not in the package\'s .list (Replaces takeover): pkgwatch ignores it, the oracle does not',
  obsoleteConffile: 'obsolete or remove-on-upgrade conffile: its absence is not a finding',
  pathExcluded: 'path-exclude\'d in dpkg.cfg and absent: never unpacked, not a finding',
  newconffile: 'conffile without a recorded hash (newconffile): dpkg --verify compares against the word',
  wrongType: 'not a regular file where one belongs: pkgwatch reports the swap, the oracle hashes through it',
  globalTable: 'several packages have an md5sums entry for the path: dpkg --verify keeps one global table and uses the wrong one',
  notInstalled: 'package not in state installed: pkgwatch checks installed packages only',
  existenceOnly: 'a .list path without an md5sums entry (directory, symlink): debsums checks md5sums entries only',
  sharedPath: 'path in several packages\' .list: debsums keeps a changed file only when dpkg-query -S names its package alone',
  changedDuringRun: 'the path (or the folder that held it) changed after the comparison started: the live machine moved between the two passes',
} as const;
type Reason = keyof typeof REASONS;

/** What the pkgwatch run printed for a path (and package, where the format names one). */
type PwTokens = (path: Bytes, pkg: string | null) => ReadonlySet<string>;

interface Comparison {
  readonly db: OracleDb;
  readonly conffiles: boolean;
  /** The token pkgwatch prints for a verdict in this format. */
  readonly tokenOf: (v: Exclude<Verdict, 'ok'>) => string;
  readonly pw: PwTokens;
  /** When the first of the two passes started (ms since the epoch). */
  readonly since: number;
}

function installed(db: OracleDb, id: string): OraclePackage | undefined {
  const p = db.packages.get(id);
  return p?.state === 'installed' ? p : undefined;
}

/** The hash pkgwatch must check `path` of `pkg` against, or null for existence only. */
function expectedHash(pkg: OraclePackage, path: Bytes): string | null {
  const cf = pkg.conffiles.get(path);
  if (cf !== undefined) return /^[0-9a-f]{32}$/.test(cf.hash) ? cf.hash : null;
  return pkg.sums?.get(path) ?? null;
}

function divertedAway(db: OracleDb, pkg: OraclePackage, path: Bytes): OracleDiversion | undefined {
  return db.diversions.find((d) => d.from === path && d.by !== pkg.name);
}

/** Whether what pkgwatch printed for `token` at (path, pkg) matches an independent look now. */
function agrees(c: Comparison, verdict: Verdict, path: Bytes, pkg: string | null): boolean {
  const printed = c.pw(path, pkg);
  return verdict === 'ok' ? printed.size === 0 : printed.has(c.tokenOf(verdict));
}

/**
 * pkgwatch's verdict on every installed owner of `path` (a path in their .list, not diverted away,
 * not a skipped conffile) agrees with an independent look now. This is what makes a reason "checked".
 */
async function ownersAgree(c: Comparison, path: Bytes, perPackage: boolean): Promise<boolean> {
  let checked = 0;
  for (const id of c.db.listOwners.get(path) ?? []) {
    const pkg = installed(c.db, id);
    if (pkg === undefined || divertedAway(c.db, pkg, path) !== undefined) continue;
    const cf = pkg.conffiles.get(path);
    if (cf !== undefined && (!c.conffiles || cf.obsolete)) continue;
    const verdict = await probe(c.db.root, path, expectedHash(pkg, path));
    if (!agrees(c, verdict, path, perPackage ? pkg.id : null)) return false;
    checked++;
  }
  return checked > 0 || c.pw(path, null).size === 0;
}

/** Reason (a): the line is about a diverted path, and pkgwatch's verdict on the divert-to file is right. */
async function divertedChecked(c: Comparison, path: Bytes, perPackage: boolean): Promise<boolean> {
  const ds = c.db.diversions.filter((d) => d.from === path || d.to === path);
  if (ds.length === 0) return false;
  for (const d of ds) {
    for (const id of c.db.listOwners.get(d.from) ?? []) {
      const pkg = installed(c.db, id);
      if (pkg === undefined || pkg.name === d.by) continue;
      const cf = pkg.conffiles.get(d.from);
      if (cf !== undefined && (!c.conffiles || cf.obsolete)) continue;
      const verdict = await probe(c.db.root, d.to, expectedHash(pkg, d.from));
      if (!agrees(c, verdict, d.to, perPackage ? pkg.id : null)) return false;
    }
  }
  return true;
}

/**
 * Both oracles miss a tampered diverted file, so agreeing with them proves nothing there: every
 * divert-to file is looked at independently and pkgwatch's verdict on it must match. Returns the
 * diversions where it does not.
 */
async function diversionsMisjudged(c: Comparison, perPackage: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const d of c.db.diversions) {
    if (!(await divertedChecked(c, d.to, perPackage))) out.push(`${d.from} -> ${d.to} (by ${d.by ?? 'local'})`);
  }
  return out;
}

function someoneHasEntryNotInList(db: OracleDb, path: Bytes): boolean {
  return (db.sumOwners.get(path) ?? []).some((id) => db.packages.get(id)?.list?.has(path) === false);
}

function ownersOf(db: OracleDb, path: Bytes): string[] {
  return [...new Set([...(db.listOwners.get(path) ?? []), ...(db.sumOwners.get(path) ?? [])])];
}

/** Why dpkg --verify printed a line pkgwatch did not, or null. */
async function explainDpkgOnly(c: Comparison, line: Line): Promise<Reason | null> {
  const { db } = c;
  if (await divertedChecked(c, line.path, false)) return 'diverted';
  const owners = ownersOf(db, line.path);
  if (owners.length > 0 && owners.every((id) => db.packages.get(id)?.state !== 'installed')) return 'notInstalled';
  if (line.token === 'missing  ' && (await probe(db.root, line.path, null)) === 'missing') {
    const confs = owners.map((id) => installed(db, id)?.conffiles.get(line.path)).filter((x) => x !== undefined);
    if (line.conffile && confs.length > 0 && confs.every((cf) => cf.obsolete)) return 'obsoleteConffile';
    if (isExcluded(db, line.path)) return 'pathExcluded';
  }
  if (line.conffile && line.token === '??5??????') {
    const confs = owners.map((id) => installed(db, id)?.conffiles.get(line.path)).filter((x) => x !== undefined);
    if (confs.some((cf) => cf.hash === 'newconffile' && !cf.obsolete) && (await ownersAgree(c, line.path, false))) return 'newconffile';
  }
  if (line.token !== 'missing  ' && c.pw(line.path, null).has('?M5??????') && (await isRegularFile(db.root, line.path)) === false) {
    return 'wrongType';
  }
  if (someoneHasEntryNotInList(db, line.path) && (await ownersAgree(c, line.path, false))) return 'notInList';
  return null;
}

/** Why pkgwatch printed a dpkg-format line dpkg --verify did not, or null. */
async function explainPwOnlyDpkg(c: Comparison, line: Line): Promise<Reason | null> {
  const { db } = c;
  if (await divertedChecked(c, line.path, false)) return 'diverted';
  if (line.token === '?M5??????' && (await isRegularFile(db.root, line.path)) === false) return 'wrongType';
  if ((db.sumOwners.get(line.path)?.length ?? 0) > 0 && (await ownersAgree(c, line.path, false))) {
    const sums = db.sumOwners.get(line.path) ?? [];
    if (sums.length > 1 || someoneHasEntryNotInList(db, line.path)) return 'globalTable';
  }
  return null;
}

/** Why debsums -s printed a line pkgwatch did not, or null. */
async function explainDebsumsOnly(c: Comparison, line: Line): Promise<Reason | null> {
  const { db } = c;
  if (await divertedChecked(c, line.path, true)) return 'diverted';
  const pkg = line.pkg === null ? undefined : db.packages.get(line.pkg);
  if (pkg === undefined) return null;
  if (pkg.state !== 'installed') return 'notInstalled';
  if (pkg.sums?.has(line.path) === true && pkg.list?.has(line.path) === false) return 'notInList';
  if (line.token === 'not-regular' && c.pw(line.path, pkg.id).has('changed') && (await isRegularFile(db.root, line.path)) === false) {
    return 'wrongType';
  }
  if (line.token === 'missing' && isExcluded(db, line.path) && (await probe(db.root, line.path, null)) === 'missing') return 'pathExcluded';
  return null;
}

/** Why pkgwatch printed a debsums-format line debsums -s did not, or null. */
async function explainPwOnlyDebsums(c: Comparison, line: Line): Promise<Reason | null> {
  const { db } = c;
  if (await divertedChecked(c, line.path, true)) return 'diverted';
  const pkg = line.pkg === null ? undefined : installed(db, line.pkg);
  if (pkg === undefined) return null;
  if (line.token === 'missing' && pkg.list?.has(line.path) === true && pkg.sums?.has(line.path) !== true) {
    if ((await probe(db.root, line.path, null)) === 'missing') return 'existenceOnly';
  }
  if (line.token === 'changed' && (await isRegularFile(db.root, line.path)) === false) return 'wrongType';
  if (line.token === 'changed' && (db.listOwners.get(line.path)?.length ?? 0) > 1 && (await ownersAgree(c, line.path, true))) {
    return 'sharedPath';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Parsing the two formats.

const DPKG_COLUMNS: Record<Exclude<Verdict, 'ok'>, string> = {
  changed: '??5??????',
  missing: 'missing  ',
  'wrong-type': '?M5??????',
  unreadable: '?????????',
};

/** `%.9s %c %s` lines of dpkg --verify (bytes); a ` (strerror)` tail follows unreadable paths. */
function parseDpkgLines(out: Bytes): { lines: Line[]; junk: string[] } {
  const lines: Line[] = [];
  const junk: string[] = [];
  for (const raw of out.split('\n')) {
    if (raw === '') continue;
    const m = /^(.{9}) ([c ]) (\/.*)$/.exec(raw);
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) {
      junk.push(raw);
      continue;
    }
    const path = m[1] === '?????????' ? m[3].replace(/ \([^()]*\)$/, '') : m[3];
    lines.push({ key: raw, token: m[1], path, pkg: null, conffile: m[2] === 'c' });
  }
  return { lines, junk };
}

/** `debsums: changed|missing file PATH (from PKG package)` and friends; PATH loses the root prefix. */
function parseDebsumsLines(out: Bytes, root: string): { lines: Line[]; junk: string[] } {
  const prefix = Buffer.from(root.replace(/\/+$/, ''), 'utf8').toString('latin1');
  const strip = (p: Bytes): Bytes => (prefix !== '' && p.startsWith(`${prefix}/`) ? p.slice(prefix.length) : p);
  const lines: Line[] = [];
  const junk: string[] = [];
  for (const raw of out.split('\n')) {
    if (raw === '') continue;
    let m = /^debsums: (changed|missing) file (\/.*) \(from (\S+) package\)$/.exec(raw);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
      const path = strip(m[2]);
      lines.push({ key: `${m[1]} ${path} ${m[3]}`, token: m[1], path, pkg: m[3], conffile: false });
      continue;
    }
    m = /^debsums: can't check (\S+) file (\/.*) \(not a regular file\)$/.exec(raw);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const path = strip(m[2]);
      lines.push({ key: `not-regular ${path} ${m[1]}`, token: 'not-regular', path, pkg: m[1], conffile: false });
      continue;
    }
    m = /^debsums: can't open (\S+) file (\/.*) \(([^()]*)\)$/.exec(raw);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const path = strip(m[2]);
      lines.push({ key: `can't-open ${path} ${m[1]}`, token: "can't-open", path, pkg: m[1], conffile: false });
      continue;
    }
    junk.push(raw);
  }
  return { lines, junk };
}

function tokenIndex(lines: readonly Line[]): PwTokens {
  const byPath = new Map<Bytes, Line[]>();
  for (const l of lines) {
    const list = byPath.get(l.path);
    if (list === undefined) byPath.set(l.path, [l]);
    else list.push(l);
  }
  return (path, pkg) => new Set((byPath.get(path) ?? []).filter((l) => pkg === null || l.pkg === pkg).map((l) => l.token));
}

// ---------------------------------------------------------------------------------------------
// The comparison itself.

interface Outcome {
  readonly common: number;
  readonly explained: Map<Reason, string[]>;
  readonly unexplained: string[];
}

async function compare(
  c: Comparison,
  oracle: readonly Line[],
  ours: readonly Line[],
  explainOracleOnly: (c: Comparison, l: Line) => Promise<Reason | null>,
  explainOursOnly: (c: Comparison, l: Line) => Promise<Reason | null>,
  oracleName: string,
): Promise<Outcome> {
  const oracleKeys = new Set(oracle.map((l) => l.key));
  const ourKeys = new Set(ours.map((l) => l.key));
  const explained = new Map<Reason, string[]>();
  const unexplained: string[] = [];
  const note = async (l: Line, side: string, reason: Reason | null): Promise<void> => {
    const shown = JSON.stringify(Buffer.from(l.key, 'latin1').toString('utf8'));
    if (reason === null && (await changedSince(c.db.root, l.path, c.since))) reason = 'changedDuringRun';
    if (reason === null) {
      const pkg = c.db.packages.get(l.pkg ?? c.db.listOwners.get(l.path)?.[0] ?? '');
      const now = await probe(c.db.root, l.path, pkg === undefined ? null : expectedHash(pkg, l.path));
      unexplained.push(`${side} only: ${shown} (owners: ${ownersOf(c.db, l.path).join(', ') || 'none'}; on disk now: ${now})`);
    } else {
      const list = explained.get(reason) ?? [];
      list.push(`${side} only: ${shown}`);
      explained.set(reason, list);
    }
  };
  for (const l of oracle) if (!ourKeys.has(l.key)) await note(l, oracleName, await explainOracleOnly(c, l));
  for (const l of ours) if (!oracleKeys.has(l.key)) await note(l, 'pkgwatch', await explainOursOnly(c, l));
  const common = [...oracleKeys].filter((k) => ourKeys.has(k)).length;
  return { common, explained, unexplained };
}

function report(t: TestContext, name: string, o: Outcome, oracleCount: number, ourCount: number): void {
  t.diagnostic(`${name}: ${oracleCount} oracle lines, ${ourCount} pkgwatch lines, ${o.common} in common`);
  for (const [reason, lines] of o.explained) {
    t.diagnostic(`  explained (${reason}: ${REASONS[reason]}): ${lines.length}, e.g. ${lines.slice(0, 3).join(' | ')}`);
  }
  for (const u of o.unexplained.slice(0, 50)) t.diagnostic(`  UNEXPLAINED ${u}`);
}

/** No unexplained line, and (on a real system) at least half of the oracle's lines are pkgwatch's too. */
function assertOutcome(name: string, o: Outcome, oracleCount: number, minCommonShare: number): void {
  assert.deepEqual(o.unexplained, [], `${name}: ${o.unexplained.length} difference(s) without a checked reason:\n${o.unexplained.slice(0, 50).join('\n')}`);
  if (oracleCount > 0) {
    assert.ok(o.common >= oracleCount * minCommonShare, `${name}: only ${o.common} of the oracle's ${oracleCount} lines are also pkgwatch's`);
  }
}

/**
 * The lines both printed come in the same order: pkgwatch's dpkg and debsums formats print in
 * their tool's order, so `diff` against the tool shows only the explained differences.
 */
function assertSameOrder(name: string, oracle: readonly Line[], ours: readonly Line[]): void {
  const firsts = (lines: readonly Line[], keep: ReadonlySet<string>): string[] => [...new Set(lines.map((l) => l.key))].filter((k) => keep.has(k));
  const oracleKeys = new Set(oracle.map((l) => l.key));
  const ourKeys = new Set(ours.map((l) => l.key));
  const a = firsts(oracle, ourKeys);
  const b = firsts(ours, oracleKeys);
  const at = a.findIndex((k, i) => b[i] !== k);
  const shown = (k: string | undefined): string => (k === undefined ? '(none)' : JSON.stringify(Buffer.from(k, 'latin1').toString('utf8')));
  assert.ok(at < 0, `${name}: the common lines come in another order: line ${at + 1} of them is ${shown(a[at])} there, ${shown(b[at])} in pkgwatch's output`);
}

/** pkgwatch's exit code must say what its own output says: 1 findings, 3 only unreadable, 0 none. */
function assertExitMatches(r: CliResult, lines: readonly Line[], unreadableToken: string): void {
  const findings = lines.some((l) => l.token !== unreadableToken);
  const unreadable = lines.some((l) => l.token === unreadableToken);
  const want = findings ? 1 : unreadable ? 3 : 0;
  assert.equal(r.code, want, `pkgwatch exited ${String(r.code)} (signal ${String(r.signal)}) for ${lines.length} lines; stderr:\n${r.stderr.slice(0, 2000)}`);
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Skips outside CI when a tool is absent; in CI an absent tool is a failure. */
function needTools(t: TestContext, ...cmds: string[]): boolean {
  const absent = cmds.filter((c) => !onPath(c));
  if (!existsSync(join(ADMINDIR, 'status'))) absent.push(`a dpkg database at ${ADMINDIR}`);
  if (absent.length === 0) return true;
  const why = `needs ${absent.join(' and ')} (not installed)`;
  if (process.env['CI'] !== undefined) assert.fail(`CI must run the oracle tests, but this machine ${why}`);
  t.skip(why);
  return false;
}

interface Run {
  readonly oracle: readonly Line[];
  readonly ours: readonly Line[];
  readonly outcomes: readonly Outcome[];
}

/** Runs dpkg --verify and pkgwatch --format dpkg on one root and explains every difference. */
async function runDpkgComparison(t: TestContext, root: string, minCommonShare: number): Promise<Run> {
  const rootArgs = root === '/' ? [] : [`--root=${root}`];
  // ctime has a coarser clock than Date.now(): start a little early.
  const since = Date.now() - 1000;
  // One after the other, so the two see the same machine as nearly as can be.
  const dpkg = await runProcess('dpkg', [...rootArgs, '--verify'], { env: ORACLE_ENV, timeoutMs: RUN_TIMEOUT_MS });
  const pw = await runCli(['check', '--root', root, '--format', 'dpkg'], { env: ORACLE_ENV, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(dpkg.signal, null, 'dpkg --verify was killed (timeout?)');
  assert.equal(dpkg.code, 0, `dpkg --verify failed (it aborts its whole run on some damage, e.g. a directory where a file belongs):\n${dpkg.stderr.slice(0, 2000)}`);
  if (dpkg.stderr !== '') t.diagnostic(`dpkg --verify stderr: ${dpkg.stderr.slice(0, 500)}`);
  if (pw.stderr !== '') t.diagnostic(`pkgwatch stderr: ${pw.stderr.slice(0, 500)}`);

  const oracle = parseDpkgLines(dpkg.stdoutBytes);
  const ours = parseDpkgLines(pw.stdoutBytes);
  assert.deepEqual(ours.junk, [], 'pkgwatch printed lines that are not in dpkg --verify\'s format');
  assert.deepEqual(oracle.junk, [], 'dpkg --verify printed lines this test does not understand');
  assertExitMatches(pw, ours.lines, DPKG_COLUMNS.unreadable);

  const db = await loadOracleDb(root, join(root, 'var/lib/dpkg'));
  const c: Comparison = { db, conffiles: true, tokenOf: (v) => DPKG_COLUMNS[v], pw: tokenIndex(ours.lines), since };
  const o = await compare(c, oracle.lines, ours.lines, explainDpkgOnly, explainPwOnlyDpkg, 'dpkg --verify');
  report(t, 'dpkg --verify', o, oracle.lines.length, ours.lines.length);
  assertOutcome('dpkg --verify', o, oracle.lines.length, minCommonShare);
  assertSameOrder('dpkg --verify', oracle.lines, ours.lines);
  t.diagnostic(`${db.diversions.length} diversion(s) checked independently`);
  assert.deepEqual(await diversionsMisjudged(c, false), [], 'pkgwatch\'s verdict on these divert-to files differs from an independent look');
  return { oracle: oracle.lines, ours: ours.lines, outcomes: [o] };
}

/**
 * Runs debsums -s and pkgwatch --format debsums --no-conffiles on one root (on the named packages
 * only, when given) and explains every difference.
 */
async function runDebsumsComparison(t: TestContext, root: string, minCommonShare: number, packages: readonly string[] = []): Promise<Run> {
  const rootArgs = root === '/' ? [] : [`--root=${root}`];
  const since = Date.now() - 1000;
  // debsums -s writes its lines to stderr; merge them into stdout to keep the path bytes intact.
  const ds = await runProcess('sh', ['-c', 'exec debsums -s "$@" 2>&1', 'debsums', ...rootArgs, ...packages], { env: ORACLE_ENV, timeoutMs: RUN_TIMEOUT_MS });
  const pw = await runCli(['check', '--root', root, '--format', 'debsums', '--no-conffiles', ...packages], { env: ORACLE_ENV, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(ds.signal, null, 'debsums was killed (timeout?)');
  assert.ok(ds.code !== null && (ds.code & ~2) === 0, `debsums exited ${String(ds.code)} (an error, not just changed files):\n${ds.stdout.slice(0, 2000)}`);
  if (pw.stderr !== '') t.diagnostic(`pkgwatch stderr: ${pw.stderr.slice(0, 500)}`);

  const oracle = parseDebsumsLines(ds.stdoutBytes, root);
  const ours = parseDebsumsLines(pw.stdoutBytes, root);
  assert.deepEqual(ours.junk, [], 'pkgwatch printed lines that are not in debsums\' format');
  if (oracle.junk.length > 0) t.diagnostic(`debsums also said: ${oracle.junk.slice(0, 10).join(' | ')}`);
  assertExitMatches(pw, ours.lines, "can't-open");

  const db = await loadOracleDb(root, join(root, 'var/lib/dpkg'));
  const c: Comparison = {
    db,
    conffiles: false,
    tokenOf: (v) => (v === 'missing' ? 'missing' : v === 'unreadable' ? "can't-open" : 'changed'),
    pw: tokenIndex(ours.lines),
    since,
  };
  // Changed files: the heart of the comparison.
  const changedOracle = oracle.lines.filter((l) => l.token !== 'missing');
  const changedOurs = ours.lines.filter((l) => l.token !== 'missing');
  const changed = await compare(c, changedOracle, changedOurs, explainDebsumsOnly, explainPwOnlyDebsums, 'debsums');
  report(t, 'debsums changed', changed, changedOracle.length, changedOurs.length);
  assertOutcome('debsums changed files', changed, changedOracle.length, minCommonShare);
  // Missing files: debsums checks md5sums entries only, so pkgwatch's extra .list paths need their reason.
  const missingOracle = oracle.lines.filter((l) => l.token === 'missing');
  const missingOurs = ours.lines.filter((l) => l.token === 'missing');
  const missing = await compare(c, missingOracle, missingOurs, explainDebsumsOnly, explainPwOnlyDebsums, 'debsums');
  report(t, 'debsums missing', missing, missingOracle.length, missingOurs.length);
  assertOutcome('debsums missing files', missing, missingOracle.length, minCommonShare);
  assertSameOrder('debsums', oracle.lines, ours.lines);
  assert.deepEqual(await diversionsMisjudged(c, true), [], 'pkgwatch\'s verdict on these divert-to files differs from an independent look');

  // Exit status: debsums sets bit 2 for changed or missing files exactly when pkgwatch exits 1,
  // unless one side's lines are all explained differences.
  const dsFound = ((ds.code ?? 0) & 2) !== 0;
  const pwFound = pw.code === 1;
  if (changed.common + missing.common > 0 || (oracle.lines.length === 0 && ours.lines.length === 0)) {
    assert.equal(pwFound, dsFound, `debsums exited ${String(ds.code)}, pkgwatch ${String(pw.code)}`);
  } else {
    t.diagnostic(`exit codes differ only through explained lines: debsums ${String(ds.code)}, pkgwatch ${String(pw.code)}`);
  }
  return { oracle: oracle.lines, ours: ours.lines, outcomes: [changed, missing] };
}

void test('pkgwatch --format dpkg agrees with dpkg --verify on this machine, differences only for documented reasons', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!needTools(t, 'dpkg')) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  await runDpkgComparison(t, ROOT, MIN_COMMON_SHARE);
});

/**
 * A stable sample of the installed packages: every SAMPLE_EVERY-th by name, every package that
 * takes part in a diversion (where the tools differ most), and every package that owns a path
 * `dpkg --verify` reports (so the sample holds real findings whenever the machine has any; the
 * choice rests on the other oracle, not on pkgwatch). The same machine gives the same sample.
 */
const SAMPLE_EVERY = 12;

async function stableSample(): Promise<string[]> {
  const db = await loadOracleDb(ROOT, ADMINDIR);
  const names = [...db.packages.values()].filter((p) => p.state === 'installed' && !p.id.includes(':')).map((p) => p.name).sort();
  const wanted = new Set<string>();
  for (const d of db.diversions) {
    if (d.by !== null) wanted.add(d.by);
    for (const id of db.listOwners.get(d.from) ?? []) wanted.add(id);
  }
  const dpkg = await runProcess('dpkg', ['--verify'], { env: ORACLE_ENV, timeoutMs: RUN_TIMEOUT_MS });
  for (const l of parseDpkgLines(dpkg.stdoutBytes).lines) for (const id of db.listOwners.get(l.path) ?? []) wanted.add(id);
  return names.filter((n, i) => i % SAMPLE_EVERY === 0 || wanted.has(n));
}

void test('pkgwatch --format debsums --no-conffiles agrees with debsums -s on a stable sample of this machine\'s packages', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!needTools(t, 'debsums')) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const sample = await stableSample();
  assert.ok(sample.length > 0, 'no installed package to sample');
  t.diagnostic(`${sample.length} packages sampled (every ${SAMPLE_EVERY}th by name, those in diversions, those dpkg --verify reports)`);
  // No share of common lines is required of a sample: it may well hold no changed file at all.
  await runDebsumsComparison(t, ROOT, 0, sample);
});

void test(
  'pkgwatch --format debsums --no-conffiles agrees with debsums -s on this whole machine, differences only for documented reasons',
  { timeout: TEST_TIMEOUT_MS, skip: HOST_DEBSUMS ? false : 'the whole-host debsums pass runs in npm run test:oracle' },
  async (t) => {
    if (!needTools(t, 'debsums')) return;
    assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
    await runDebsumsComparison(t, ROOT, MIN_COMMON_SHARE);
  },
);

// ---------------------------------------------------------------------------------------------
// A built root where each documented divergence happens once: proves the reasons above are not dead
// code, against the real dpkg --verify and debsums (dpkg 1.21 and debsums 3.0.2 on Debian 12).

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function stanza(name: string, extra: string[] = []): string {
  return [`Package: ${name}`, 'Status: install ok installed', 'Priority: optional', 'Maintainer: Test <test@example.org>', 'Architecture: all', 'Version: 1', ...extra, `Description: ${name}`, ''].join('\n');
}

/** Writes the root; returns it. Every path it holds is named in the expectations of the test below. */
async function buildDivergentRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pkgwatch-oracle-'));
  const put = async (p: string, text: string): Promise<void> => {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), text);
  };
  const info = (f: string, lines: string[]): Promise<void> => put(`var/lib/dpkg/info/${f}`, lines.map((l) => `${l}\n`).join(''));
  await mkdir(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  await put('var/lib/dpkg/info/format', '1\n');
  await put('etc/dpkg/dpkg.cfg.d/excludes', 'path-exclude=/usr/share/doc/*\n');
  await put('var/lib/dpkg/status', [
    stanza('alpha', ['Conffiles:', ` /etc/alpha.conf ${md5('conf')}`, ` /etc/alpha-old.conf ${md5('old')} obsolete`, ' /etc/alpha-new.conf newconffile']),
    stanza('beta'),
    stanza('gamma', ['Replaces: beta']),
    stanza('delta'),
    stanza('epsilon'),
  ].join('\n'));
  // alpha: one file of each fate, an absent directory, a path-excluded doc, three kinds of conffile.
  await mkdir(join(root, 'usr/share/doc'), { recursive: true });
  await put('usr/share/alpha/ok', 'ok');
  await put('usr/share/alpha/changed', 'tampered');
  await put('usr/share/alpha/swapped.copy', 'same');
  await symlink('swapped.copy', join(root, 'usr/share/alpha/swapped'));
  await put('etc/alpha.conf', 'conf');
  await put('etc/alpha-new.conf', 'new');
  await info('alpha.list', ['/.', '/etc', '/etc/alpha.conf', '/etc/alpha-old.conf', '/etc/alpha-new.conf', '/usr', '/usr/share', '/usr/share/alpha',
    '/usr/share/alpha/ok', '/usr/share/alpha/changed', '/usr/share/alpha/gone', '/usr/share/alpha/gonedir', '/usr/share/alpha/swapped',
    '/usr/share/doc', '/usr/share/doc/alpha', '/usr/share/doc/alpha/README']);
  await info('alpha.md5sums', [`${md5('ok')}  usr/share/alpha/ok`, `${md5('orig')}  usr/share/alpha/changed`, `${md5('gone')}  usr/share/alpha/gone`,
    `${md5('same')}  usr/share/alpha/swapped`, `${md5('readme')}  usr/share/doc/alpha/README`]);
  // beta's md5sums still names a file gamma took over (Replaces) and ships without a hash.
  await put('usr/share/beta/taken', 'gamma-content');
  await put('usr/share/beta/gamma-own', 'gamma-own');
  await info('beta.list', ['/.', '/usr', '/usr/share', '/usr/share/beta']);
  await info('beta.md5sums', [`${md5('beta-content')}  usr/share/beta/taken`]);
  await info('gamma.list', ['/.', '/usr', '/usr/share', '/usr/share/beta', '/usr/share/beta/taken', '/usr/share/beta/gamma-own']);
  await info('gamma.md5sums', [`${md5('gamma-own')}  usr/share/beta/gamma-own`]);
  // delta's two programs are diverted by epsilon: one tampered, one gone.
  await put('usr/bin/tool', 'epsilon');
  await put('usr/bin/tool.delta', 'delta-tampered');
  await info('delta.list', ['/.', '/usr', '/usr/bin', '/usr/bin/tool', '/usr/bin/other']);
  await info('delta.md5sums', [`${md5('delta')}  usr/bin/tool`, `${md5('other')}  usr/bin/other`]);
  await info('epsilon.list', ['/.', '/usr', '/usr/bin', '/usr/bin/tool']);
  await info('epsilon.md5sums', [`${md5('epsilon')}  usr/bin/tool`]);
  await put('var/lib/dpkg/diversions', ['/usr/bin/tool', '/usr/bin/tool.delta', 'epsilon', '/usr/bin/other', '/usr/bin/other.delta', 'epsilon', ''].join('\n'));
  return root;
}

function reasonsOf(run: Run): Set<Reason> {
  return new Set(run.outcomes.flatMap((o) => [...o.explained.keys()]));
}

void test('on a built root, every documented divergence from dpkg --verify and debsums is recognised and checked', { timeout: 120_000 }, async (t) => {
  if (!needTools(t, 'dpkg', 'debsums')) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const root = await buildDivergentRoot();
  t.after(() => rm(root, { recursive: true, force: true }));

  // The built root is all divergence by design: no share of common lines is required.
  const dpkg = await runDpkgComparison(t, root, 0);
  assert.deepEqual(dpkg.ours.map((l) => l.key).sort(), [
    '??5??????   /usr/bin/tool.delta',
    '??5??????   /usr/share/alpha/changed',
    '?M5??????   /usr/share/alpha/swapped',
    'missing     /usr/bin/other.delta',
    'missing     /usr/share/alpha/gone',
    'missing     /usr/share/alpha/gonedir',
  ]);
  const dpkgReasons = reasonsOf(dpkg);
  for (const r of ['diverted', 'notInList', 'obsoleteConffile', 'pathExcluded', 'newconffile', 'wrongType'] as const) {
    assert.ok(dpkgReasons.has(r), `expected dpkg --verify to differ from pkgwatch for reason '${r}' on the built root (${REASONS[r]}); it did not`);
  }

  const ds = await runDebsumsComparison(t, root, 0);
  assert.deepEqual(ds.ours.map((l) => l.key).sort(), [
    'changed /usr/bin/tool.delta delta',
    'changed /usr/share/alpha/changed alpha',
    'changed /usr/share/alpha/swapped alpha',
    'missing /usr/bin/other.delta delta',
    'missing /usr/share/alpha/gone alpha',
    'missing /usr/share/alpha/gonedir alpha',
  ]);
  const dsReasons = reasonsOf(ds);
  for (const r of ['diverted', 'wrongType', 'existenceOnly'] as const) {
    assert.ok(dsReasons.has(r), `expected debsums to differ from pkgwatch for reason '${r}' on the built root (${REASONS[r]}); it did not`);
  }
});
