// Snapshots of dpkg's record of the scoped packages (md5sums, .list, .conffiles, maintainer scripts,
// Conffiles, their stanza; diversions and statoverride), so a rewrite while no dpkg runs, the
// tampering debsums cannot see, shows as "database-changed".
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { displayPath, pathOnSystem } from '../dpkg/bytes.js';
import { packageId } from '../dpkg/loader.js';
import { parseMd5sums } from '../dpkg/md5sums.js';
import { parseStatus } from '../dpkg/status.js';
import type { BytePath, Conffile, Database, PackageRecord } from '../dpkg/types.js';
import type { DbEntryJson, FindingJson } from '../verify/report.js';
import { osErrorText } from '../errors.js';
import { ADMIN_FILES, adminChange, adminFromJson, adminToJson, snapshotAdmin, type AdminFileName, type AdminFileState } from './dbadmin.js';

/** The info files of a package followed besides md5sums and .list: what dpkg runs, and its conffile list. */
export const INFO_EXTRAS: readonly string[] = ['conffiles', 'preinst', 'postinst', 'prerm', 'postrm', 'config', 'triggers'];

/** The `package` of a finding on `diversions` or `statoverride`, which belong to no one package. */
export const ADMIN_PACKAGE = 'dpkg';

/** One database file as a snapshot saw it. */
export interface DbFileState {
  /** Host path of the file that was read (or, when none exists, the one dpkg would write). */
  readonly file: string;
  /** sha256 (hex) of its bytes; null when it does not exist or cannot be read. */
  readonly sha256: string | null;
  /** Why it exists but could not be read (`EACCES: permission denied`), else null. */
  readonly error: string | null;
}

/** dpkg's record of one package at one moment. */
export interface PackageDbState {
  /** The package id (`name`, or `name:arch` for Multi-Arch: same), as `packageId` gives it. */
  readonly package: string;
  readonly md5sums: DbFileState;
  /**
   * The md5sums entries (path to md5) behind `md5sums.sha256`, to name the entries a rewrite
   * changed. Kept in memory only (not in the agent's state file): absent for a baseline taken
   * by an earlier run of the agent whose md5sums has not been seen with that content since.
   */
  readonly md5sumsEntries?: ReadonlyMap<BytePath, string>;
  readonly list: DbFileState;
  /** Its other info files (INFO_EXTRAS) by extension; a file that does not exist has sha256 null. */
  readonly info: ReadonlyMap<string, DbFileState>;
  /** `want flag state version` of its stanza in `status`; null when the stanza is gone. */
  readonly record: string | null;
  /** Its Conffiles entries: path to `md5|newconffile [obsolete] [remove-on-upgrade]`. */
  readonly conffiles: ReadonlyMap<BytePath, string>;
  /** sha256 of the entries as `path value` lines, sorted by path (bytes as in the status file). */
  readonly conffilesSha256: string;
}

/** dpkg's record of a set of packages, taken by `snapshotPackages`. */
export interface DbSnapshot {
  readonly takenAt: string;
  /** Host path of `status`, read afresh for every snapshot. */
  readonly statusFile: string;
  /** Why `status` could not be read, else null (then `record` and `conffiles` say nothing). */
  readonly statusError: string | null;
  /** By package id, in the order the packages were given. */
  readonly packages: ReadonlyMap<string, PackageDbState>;
  /** `<admindir>/diversions` and `statoverride`; empty in a baseline from an older state. */
  readonly admin: ReadonlyMap<AdminFileName, AdminFileState>;
}

/** One difference between two snapshots. */
export interface DbChange {
  readonly package: string;
  /** Host path of the database file that changed. */
  readonly file: string;
  /**
   * `md5sums`, `list`, `conffiles` (the Conffiles field in `status`), or `package` (the package's
   * stanza in `status` vanished or its want/flag/state/version changed), `info` (one of INFO_EXTRAS),
   * or `diversions` / `statoverride` (package ADMIN_PACKAGE).
   */
  readonly what: 'md5sums' | 'list' | 'conffiles' | 'package' | 'info' | AdminFileName;
  readonly detail: string;
  /** md5sums: each entry rewritten, added or removed, by path, when both contents are known. */
  readonly entries?: readonly DbEntryChange[];
}

/** One md5sums entry that changed: the md5 before (null: added) and after (null: removed). */
export interface DbEntryChange {
  readonly path: BytePath;
  readonly before: string | null;
  readonly after: string | null;
}

/** A database-changed finding names at most this many entries (and counts the rest): a mail stays readable. */
export const MAX_ENTRIES = 50;

/** Files read at once: enough to overlap I/O, far below the open-file limit. */
const CONCURRENCY = 16;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Hashes the first candidate that exists, as the loader reads the first one that exists; `bytes` is what was read. */
async function hashFirst(candidates: readonly string[]): Promise<DbFileState & { bytes?: Buffer }> {
  for (const file of candidates) {
    try {
      const bytes = await readFile(file);
      return { file, sha256: sha256(bytes), error: null, bytes };
    } catch (err) {
      if (isMissing(err)) continue;
      return { file, sha256: null, error: osErrorText(err) };
    }
  }
  return { file: candidates[0] ?? '', sha256: null, error: null };
}

/** The entries of an md5sums file's bytes (bad lines are left out: the verifier warns of them). */
function md5sumsEntries(bytes: Buffer, file: string, pkg: string): Map<BytePath, string> {
  return parseMd5sums(bytes.toString('latin1'), file, pkg).sums;
}

async function infoFormat(db: Database): Promise<number> {
  if (db.infoFormat !== undefined) return db.infoFormat;
  try {
    const n = Number.parseInt((await readFile(path.join(db.admindir, 'info', 'format'), 'latin1')).trim(), 10);
    return Number.isNaN(n) ? 0 : n;
  } catch {
    return 0;
  }
}

/** Info file base names in the loader's order: `NAME:ARCH` first for Multi-Arch: same under info/format 1. */
function infoBases(pkg: PackageRecord, format: number): string[] {
  const bases = [pkg.name];
  if (pkg.multiArch === 'same' && pkg.arch !== '') {
    const qualified = `${pkg.name}:${pkg.arch}`;
    if (format >= 1) bases.unshift(qualified);
    else bases.push(qualified);
  }
  return bases;
}

/** sha256 of Conffiles entries as `path value` lines, sorted (bytes as in the status file). */
function conffilesDigest(conffiles: ReadonlyMap<BytePath, string>): string {
  const lines = [...conffiles].map(([p, v]) => `${p} ${v}`).sort();
  return sha256(Buffer.from(lines.join('\n'), 'latin1'));
}

function conffileValue(c: Conffile): string {
  return `${c.md5 ?? 'newconffile'}${c.obsolete ? ' obsolete' : ''}${c.removeOnUpgrade ? ' remove-on-upgrade' : ''}`;
}

/**
 * Takes a snapshot of dpkg's record of `pkgs`: the sha256 of each one's `.md5sums` and `.list`,
 * and its stanza and Conffiles as `status` holds them NOW (status is re-read, so a `db` loaded
 * earlier still gives a current snapshot). Never throws for one unreadable file: it is recorded.
 */
export async function snapshotPackages(db: Database, pkgs: readonly PackageRecord[]): Promise<DbSnapshot> {
  const takenAt = new Date().toISOString();
  const statusFile = path.join(db.admindir, 'status');
  const info = path.join(db.admindir, 'info');
  const [format, admin, status] = await Promise.all([
    infoFormat(db),
    snapshotAdmin(db.admindir),
    readFile(statusFile, 'latin1').then(
      (text) => ({ records: parseStatus(text, statusFile).packages, error: null }),
      (err: unknown) => ({ records: [] as PackageRecord[], error: osErrorText(err) }),
    ),
  ]);
  const current = new Map<string, PackageRecord>();
  for (const r of status.records) if (!current.has(packageId(r))) current.set(packageId(r), r);

  const states = new Array<PackageDbState>(pkgs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pkgs.length) {
      const i = next++;
      const pkg = pkgs[i];
      if (pkg === undefined) continue;
      const id = packageId(pkg);
      const bases = infoBases(pkg, format);
      const [md5Read, listRead, ...extras] = await Promise.all(
        ['md5sums', 'list', ...INFO_EXTRAS].map((ext) => hashFirst(bases.map((b) => path.join(info, `${b}.${ext}`)))),
      );
      if (md5Read === undefined || listRead === undefined) continue;
      const { bytes, ...md5sums } = md5Read;
      const list: DbFileState = { file: listRead.file, sha256: listRead.sha256, error: listRead.error };
      const infoFiles = new Map(
        INFO_EXTRAS.map((ext, k): [string, DbFileState] => {
          const e = extras[k];
          return [ext, e === undefined ? { file: '', sha256: null, error: null } : { file: e.file, sha256: e.sha256, error: e.error }];
        }),
      );
      const rec = current.get(id);
      const conffiles = new Map((rec?.conffiles ?? []).map((c) => [c.path, conffileValue(c)]));
      states[i] = {
        package: id,
        md5sums,
        ...(bytes === undefined ? {} : { md5sumsEntries: md5sumsEntries(bytes, md5sums.file, id) }),
        list,
        info: infoFiles,
        record: rec === undefined ? null : `${rec.want} ${rec.flag} ${rec.state} ${rec.version}`,
        conffiles,
        conffilesSha256: conffilesDigest(conffiles),
      };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(CONCURRENCY, pkgs.length)) }, worker));
  const packages = new Map<string, PackageDbState>();
  for (const s of states) if (s !== undefined) packages.set(s.package, s);
  return { takenAt, statusFile, statusError: status.error, packages, admin };
}

function short(h: string): string {
  return `${h.slice(0, 12)}…`;
}

/** What happened to one database file between two snapshots, or null when nothing did. */
function fileChange(a: DbFileState, b: DbFileState): string | null {
  if (a.sha256 === b.sha256 && a.error === b.error && a.file === b.file) return null;
  if (b.error !== null) return a.error === null ? `it can no longer be read (${b.error})` : null;
  if (a.error !== null) return b.sha256 === null ? 'it was unreadable and is now gone' : 'it was unreadable and can now be read';
  if (a.sha256 === null) return 'it appeared';
  if (b.sha256 === null) return 'it was removed';
  if (a.file !== b.file) return `dpkg's record is now read from ${b.file} instead of ${a.file}`;
  return `its content changed (sha256 ${short(a.sha256)} -> ${short(b.sha256)})`;
}

function conffilesChange(before: ReadonlyMap<BytePath, string>, after: ReadonlyMap<BytePath, string>): string {
  const parts: string[] = [];
  for (const [p, v] of before) {
    const now = after.get(p);
    if (now === undefined) parts.push(`${displayPath(p)} removed (was ${v})`);
    else if (now !== v) parts.push(`${displayPath(p)}: ${v} -> ${now}`);
  }
  for (const [p, v] of after) if (!before.has(p)) parts.push(`${displayPath(p)} added (${v})`);
  const shown = parts.slice(0, 3).join('; ');
  return parts.length > 3 ? `${shown}; and ${parts.length - 3} more` : shown;
}

/**
 * The md5sums entries that differ between two states of a package, in the order of the file
 * after (removed entries last, in the order before); null when either side's entries are not
 * known. A file that is gone or unreadable now has no entries: every one is removed.
 */
function entryChanges(a: PackageDbState, b: PackageDbState): DbEntryChange[] | null {
  const before = a.md5sums.sha256 === null && a.md5sums.error === null ? new Map<BytePath, string>() : a.md5sumsEntries;
  const after = b.md5sums.sha256 === null ? new Map<BytePath, string>() : b.md5sumsEntries;
  if (before === undefined || after === undefined || (b.md5sums.error !== null && a.md5sums.error !== null)) return null;
  const out: DbEntryChange[] = [];
  for (const [p, md5] of after) {
    const old = before.get(p) ?? null;
    if (old !== md5) out.push({ path: p, before: old, after: md5 });
  }
  for (const [p, md5] of before) if (!after.has(p)) out.push({ path: p, before: md5, after: null });
  return out;
}

/**
 * The differences between two snapshots of the same packages, in package order. Packages in only
 * one of them are not compared (the scope changed, which is the caller's business). Pure.
 */
export function compareSnapshots(before: DbSnapshot, after: DbSnapshot): DbChange[] {
  const out: DbChange[] = [];
  for (const name of ADMIN_FILES) {
    const a = before.admin.get(name);
    const b = after.admin.get(name);
    const change = a === undefined || b === undefined ? null : adminChange(name, a, b);
    if (change !== null) out.push({ package: ADMIN_PACKAGE, ...change });
  }
  for (const [id, a] of before.packages) {
    const b = after.packages.get(id);
    if (b === undefined) continue;
    const md5 = fileChange(a.md5sums, b.md5sums);
    if (md5 !== null) {
      const entries = entryChanges(a, b);
      out.push({ package: id, file: b.md5sums.file, what: 'md5sums', detail: md5, ...(entries === null ? {} : { entries }) });
    }
    const list = fileChange(a.list, b.list);
    if (list !== null) out.push({ package: id, file: b.list.file, what: 'list', detail: list });
    for (const [ext, was] of a.info) {
      const now = b.info.get(ext);
      const change = now === undefined ? null : fileChange(was, now);
      if (change !== null && now !== undefined) out.push({ package: id, file: now.file, what: 'info', detail: change });
    }
    if (after.statusError !== null) {
      if (before.statusError === null) {
        out.push({ package: id, file: after.statusFile, what: 'conffiles', detail: `the status file can no longer be read (${after.statusError})` });
      }
      continue;
    }
    if (before.statusError !== null) continue; // nothing to compare with
    if (a.record !== b.record) {
      const detail = b.record === null ? `its stanza is gone from the status file (was ${a.record ?? '?'})` : a.record === null ? `its stanza reappeared (${b.record})` : `${a.record} -> ${b.record}`;
      out.push({ package: id, file: after.statusFile, what: 'package', detail });
    }
    if (a.conffilesSha256 !== b.conffilesSha256 && b.record !== null) {
      out.push({ package: id, file: after.statusFile, what: 'conffiles', detail: conffilesChange(a.conffiles, b.conffiles) });
    }
  }
  return out;
}

/** `state version` of a record (`want flag state version`): what changes when dpkg installs, upgrades or removes. */
function stateAndVersion(record: string | null): string | null {
  return record === null ? null : record.split(' ').slice(2).join(' ');
}

/** The md5 part of a Conffiles value (`md5 [obsolete] [remove-on-upgrade]`); null for `newconffile`. */
function conffileMd5(value: string): string | null {
  const md5 = value.split(' ')[0] ?? '';
  return md5 === 'newconffile' ? null : md5;
}

/**
 * Conffiles as dpkg records them now, except that an entry whose hash changed keeps the accepted
 * hash: flags (`obsolete`), entries added or dropped are bookkeeping dpkg does for other packages
 * too (a conffile taken over), a new hash at the same version and state is not.
 */
function keepConffileHashes(before: ReadonlyMap<BytePath, string>, now: ReadonlyMap<BytePath, string>): Map<BytePath, string> {
  const out = new Map<BytePath, string>();
  for (const [p, v] of now) {
    const old = before.get(p);
    const a = old === undefined ? null : conffileMd5(old);
    const b = conffileMd5(v);
    out.set(p, old !== undefined && a !== null && b !== null && a !== b ? old : v);
  }
  return out;
}

/** Options of advanceBaseline. */
export interface AdvanceOptions {
  /**
   * Accept new content for packages whose state or version changed: after a dpkg run, and at
   * start-up (what changed while the agent was down). False on a reload, where nothing dpkg did is
   * pending: only packages new to the scope are taken as they are.
   */
  readonly acceptUpgrades: boolean;
}

/**
 * The baseline after dpkg may have run (or at start-up, or on a reload). Packages new to the scope
 * are taken as they are `now`. A package whose state or version changed (an install, upgrade,
 * removal) is taken as it is now when `acceptUpgrades`. Every other package keeps its accepted
 * md5sums, .list and Conffiles hashes, whoever wrote the new ones: dpkg never rewrites them without
 * a change of version or state, and a process that holds dpkg's lock (or plants the hook's marker)
 * is not dpkg. Its `want` and `flag` (`apt-mark hold`) are taken as they are now. So a forged
 * md5sums stays a finding, even one written while dpkg ran or while the agent was down. Packages
 * not in `now` leave the baseline.
 */
export function advanceBaseline(old: DbSnapshot | null, now: DbSnapshot, opts: AdvanceOptions): DbSnapshot {
  if (old === null) return now;
  // dpkg-divert and dpkg-statoverride take dpkg's lock: their changes are accepted with a dpkg run's.
  const admin = new Map(now.admin);
  if (!opts.acceptUpgrades) for (const [name, s] of old.admin) admin.set(name, s);
  const packages = new Map<string, PackageDbState>();
  for (const [id, fresh] of now.packages) {
    const before = old.packages.get(id);
    if (before === undefined || now.statusError !== null || old.statusError !== null) {
      packages.set(id, fresh);
      continue;
    }
    const upgraded = stateAndVersion(before.record) !== stateAndVersion(fresh.record);
    if (upgraded && opts.acceptUpgrades) {
      packages.set(id, fresh);
      continue;
    }
    const conffiles = upgraded ? new Map(before.conffiles) : keepConffileHashes(before.conffiles, fresh.conffiles);
    // Info files the baseline has not seen yet (a state from an older pkgwatch) are taken as they are.
    const info = new Map(fresh.info);
    for (const [ext, was] of before.info) {
      const f = fresh.info.get(ext);
      if (f !== undefined) info.set(ext, { ...was, file: f.file });
    }
    packages.set(id, {
      package: id,
      md5sums: { ...before.md5sums, file: fresh.md5sums.file },
      // The entries of the accepted content: from memory, or from a fresh read of that same content.
      ...withEntries(before.md5sumsEntries ?? (fresh.md5sums.sha256 === before.md5sums.sha256 ? fresh.md5sumsEntries : undefined)),
      list: { ...before.list, file: fresh.list.file },
      info,
      // Only a change of want or flag is taken from the record; a version or state change without
      // acceptUpgrades stays a finding.
      record: upgraded || fresh.record === null ? before.record : fresh.record,
      conffiles,
      conffilesSha256: conffilesDigest(conffiles),
    });
  }
  return { takenAt: now.takenAt, statusFile: now.statusFile, statusError: now.statusError, packages, admin };
}

function withEntries(entries: ReadonlyMap<BytePath, string> | undefined): { md5sumsEntries?: ReadonlyMap<BytePath, string> } {
  return entries === undefined ? {} : { md5sumsEntries: entries };
}

/** A snapshot as JSON-safe data, to keep the baseline in the agent's state across restarts (without the md5sums entries). */
export function snapshotToJson(s: DbSnapshot): unknown {
  return {
    takenAt: s.takenAt,
    statusFile: s.statusFile,
    statusError: s.statusError,
    packages: [...s.packages.values()].map(({ md5sumsEntries: _entries, ...p }) => ({ ...p, conffiles: [...p.conffiles], info: [...p.info] })),
    admin: adminToJson(s.admin),
  };
}

/** The inverse of snapshotToJson; null when `v` is not a snapshot (the caller starts afresh). */
export function snapshotFromJson(v: unknown): DbSnapshot | null {
  const str = (x: unknown): x is string => typeof x === 'string';
  const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';
  const file = (x: unknown): x is DbFileState => {
    const o = x as Record<string, unknown> | null;
    return typeof o === 'object' && o !== null && str(o['file']) && strOrNull(o['sha256']) && strOrNull(o['error']);
  };
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !str(o['takenAt']) || !str(o['statusFile']) || !strOrNull(o['statusError'])) return null;
  const list = o['packages'];
  if (!Array.isArray(list)) return null;
  const packages = new Map<string, PackageDbState>();
  for (const item of list as unknown[]) {
    const p = item as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || !str(p['package']) || !file(p['md5sums']) || !file(p['list'])) return null;
    if (!strOrNull(p['record']) || !str(p['conffilesSha256']) || !Array.isArray(p['conffiles'])) return null;
    const conffiles = new Map<BytePath, string>();
    for (const e of p['conffiles'] as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2 || !str(e[0]) || !str(e[1])) return null;
      conffiles.set(e[0], e[1]);
    }
    // A state written before info files were followed has none: they are taken afresh.
    const info = new Map<string, DbFileState>();
    if (Array.isArray(p['info'])) {
      for (const e of p['info'] as unknown[]) {
        if (!Array.isArray(e) || e.length !== 2 || !str(e[0]) || !file(e[1])) return null;
        info.set(e[0], e[1]);
      }
    }
    packages.set(p['package'], {
      package: p['package'],
      md5sums: p['md5sums'],
      list: p['list'],
      info,
      record: p['record'],
      conffiles,
      conffilesSha256: p['conffilesSha256'],
    });
  }
  return { takenAt: o['takenAt'], statusFile: o['statusFile'], statusError: o['statusError'], packages, admin: adminFromJson(o['admin']) };
}

/** Changes dpkg did not make, as `database-changed` findings on the database files (paths on the checked system). */
export function databaseFindings(root: string, changes: readonly DbChange[]): FindingJson[] {
  return changes.map((c) => {
    const f: FindingJson = {
      package: c.package,
      path: displayPath(pathOnSystem(root, c.file)),
      status: 'database-changed',
      conffile: false,
      expected: null,
      actual: null,
      detail: `${c.what === 'info' ? path.basename(c.file) : c.what} changed while no dpkg was running: ${c.detail}${entriesText(c)}`,
    };
    if (c.entries !== undefined) {
      f.entries = c.entries.slice(0, MAX_ENTRIES).map((e): DbEntryJson => ({ path: displayPath(e.path), expected: e.before, actual: e.after }));
      f.entriesOmitted = Math.max(0, c.entries.length - MAX_ENTRIES);
    }
    return f;
  });
}

/** `; 2 entries changed: /usr/bin/app` …: how many entries, and the first few paths. */
function entriesText(c: DbChange): string {
  if (c.what !== 'md5sums') return '';
  if (c.entries === undefined) return "; which entries changed is not known (the accepted md5sums was recorded by an earlier run of the agent)";
  if (c.entries.length === 0) return '; no entry changed (only the layout of the file)';
  const shown = c.entries.slice(0, 3).map((e) => displayPath(e.path)).join(', ');
  const n = c.entries.length;
  return `; ${n} ${n === 1 ? 'entry' : 'entries'} changed: ${shown}${n > 3 ? `, and ${n - 3} more` : ''}`;
}
