// Reads the dpkg database from a root: status, diversions, dpkg.cfg filters and per-package info files.

import { readFile as readFileCb } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

import { databaseError, errnoCode, osErrorText } from '../errors.js';
import { parseDiversions } from './diversions.js';
import { parseDpkgCfg } from './dpkgcfg.js';
import { parseList } from './list.js';
import { parseMd5sums } from './md5sums.js';
import { parseStatus } from './status.js';
import type { BytePath, Database, DbWarning, Diversion, PackageFiles, PackageRecord, PathFilter } from './types.js';
import { mapLimit } from '../concurrency.js';

/** Node's `process.arch` to Debian architecture names, for when the database does not say. */
const NODE_TO_DEBIAN_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: 'i386',
  arm: 'armhf',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Names dpkg reads from dpkg.cfg.d (run-parts style); backup files of dpkg and ucf are left out. */
const CFG_NAME_RE = /^[A-Za-z0-9_.-]+$/;
const CFG_SKIP_SUFFIXES = ['.dpkg-old', '.dpkg-new', '.dpkg-dist', '.dpkg-tmp', '.ucf-old', '.ucf-new', '.ucf-dist'];

/** `CODE: description` without Node's repetition of the path (the caller names the file). */
function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Reads a whole file as a byte string (latin1: one char per byte). The callback API is used because
 * it is about twice as fast as fs/promises' readFile for the ~1,400 small info files of a machine.
 */
function readBytes(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    readFileCb(file, 'latin1', (err, data) => {
      if (err === null) resolve(data);
      else reject(err);
    });
  });
}

/** Reads a file as a byte string, or null when it does not exist; other errors are thrown. */
async function readBytesIfExists(file: string): Promise<string | null> {
  try {
    return await readBytes(file);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/**
 * Follows symlinks at the last component of a config file inside the root (an absolute target
 * restarts at the root, never at the host's `/`). Null when it is missing or not a regular file.
 */
async function followInRoot(root: string, file: string): Promise<string | null> {
  let cur = file;
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = await lstat(cur);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    if (st.isFile()) return cur;
    if (!st.isSymbolicLink()) return null;
    const target = await readlink(cur);
    const joined = target.startsWith('/') ? path.join(root, target) : path.join(path.dirname(cur), target);
    // As under chroot: `..` never climbs above the root ('/../etc' normalises to '/etc').
    cur = path.join(root, path.posix.normalize(`/${path.relative(root, joined)}`));
  }
  throw Object.assign(new Error('ELOOP: too many levels of symbolic links'), { code: 'ELOOP' });
}

/** Reads dpkg.cfg and dpkg.cfg.d/* under the root, in the order dpkg reads them. */
async function loadPathFilters(root: string, warnings: DbWarning[]): Promise<PathFilter[]> {
  const etc = path.join(root, 'etc/dpkg');
  const main = path.join(etc, 'dpkg.cfg');
  const files: string[] = [];
  const dir = path.join(etc, 'dpkg.cfg.d');
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (!isMissing(err)) {
      warnings.push({ package: null, file: dir, line: null, message: `cannot list the directory (${osErrorText(err)}); its path-exclude rules are not applied` });
    }
  }
  names = names.filter((n) => CFG_NAME_RE.test(n) && !CFG_SKIP_SUFFIXES.some((s) => n.endsWith(s)));
  // C-locale order: the names are ASCII, so UTF-16 code unit order is byte order.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of names) files.push(path.join(dir, n));
  // dpkg reads dpkg.cfg.d/* first and dpkg.cfg last; the last matching rule wins, so order matters.
  files.push(main);

  const filters: PathFilter[] = [];
  for (const file of files) {
    let text: string | null;
    try {
      const real = await followInRoot(root, file);
      if (real === null) continue;
      text = await readBytesIfExists(real);
    } catch (err) {
      if (isMissing(err)) continue;
      warnings.push({ package: null, file, line: null, message: `cannot read the file (${osErrorText(err)}); its path-exclude rules are not applied` });
      continue;
    }
    if (text === null) continue;
    const parsed = parseDpkgCfg(text, file);
    filters.push(...parsed.filters);
    warnings.push(...parsed.warnings);
  }
  return filters;
}

async function loadDiversions(admindir: string, warnings: DbWarning[]): Promise<Diversion[]> {
  const file = path.join(admindir, 'diversions');
  let text: string | null;
  try {
    text = await readBytesIfExists(file);
  } catch (err) {
    warnings.push({
      package: null,
      file,
      line: null,
      message: `cannot read the diversions file (${osErrorText(err)}); diverted files will be checked at their original paths and may be reported wrongly`,
    });
    return [];
  }
  if (text === null) return [];
  const parsed = parseDiversions(text, file);
  warnings.push(...parsed.warnings);
  return parsed.diversions;
}

/** First line of `<admindir>/arch` (dpkg lists the native architecture first), or null. */
async function archFromFile(admindir: string, warnings: DbWarning[]): Promise<string | null> {
  const file = path.join(admindir, 'arch');
  try {
    const text = await readBytesIfExists(file);
    const first = text?.split('\n', 1)[0]?.trim() ?? '';
    return first === '' ? null : first;
  } catch (err) {
    warnings.push({ package: null, file, line: null, message: `cannot read the file (${osErrorText(err)}); guessing the native architecture` });
    return null;
  }
}

/** The `info/format` of an admindir: 1 when multiarch info names (`PKG:ARCH.*`) are in use, else 0. */
async function readInfoFormat(admindir: string): Promise<number> {
  try {
    const text = await readBytesIfExists(path.join(admindir, 'info', 'format'));
    const n = Number.parseInt(text?.trim() ?? '', 10);
    return Number.isNaN(n) ? 0 : n;
  } catch {
    return 0;
  }
}

/**
 * Loads the dpkg database of `root` (a host path, `/` for this machine). `admindir` defaults to
 * `<root>/var/lib/dpkg`; when given it is a host path, like dpkg's --admindir. Throws a
 * `database` PkgwatchError when the status file cannot be read; every other problem (bad lines,
 * unreadable dpkg.cfg.d files, a bad diversions file) is collected in `warnings`.
 */
export async function loadDatabase(opts: { root: string; admindir?: string }): Promise<Database> {
  // Absolute, so every file named in a warning is an absolute host path.
  const root = path.resolve(opts.root === '' ? '/' : opts.root);
  const admindir = path.resolve(opts.admindir ?? path.join(root, 'var/lib/dpkg'));
  const statusFile = path.join(admindir, 'status');
  const warnings: DbWarning[] = [];

  let statusText: string;
  try {
    statusText = await readBytes(statusFile);
  } catch (err) {
    throw databaseError(
      `cannot read the dpkg status file ${statusFile}: ${osErrorText(err)}; check --root/--admindir (the status file is at <admindir>/status, admindir defaults to <root>/var/lib/dpkg)`,
      err,
    );
  }

  const [diversions, pathFilters, infoFormat] = await Promise.all([
    loadDiversions(admindir, warnings),
    loadPathFilters(root, warnings),
    readInfoFormat(admindir),
  ]);
  const status = parseStatus(statusText, statusFile);
  warnings.unshift(...status.warnings);

  const dpkgPkg = status.packages.find((p) => p.name === 'dpkg' && p.state === 'installed' && p.arch !== '' && p.arch !== 'all');
  const nativeArch =
    dpkgPkg?.arch ?? (await archFromFile(admindir, warnings)) ?? NODE_TO_DEBIAN_ARCH[process.arch] ?? process.arch;

  return {
    root,
    admindir,
    nativeArch,
    packages: status.packages,
    diversions,
    pathFilters,
    warnings,
    infoFormat,
  };
}

/** The package's id as dpkg-query's `binary:Package` shows it: `name:arch` for Multi-Arch: same, else `name`. */
export function packageId(pkg: PackageRecord): string {
  return pkg.multiArch === 'same' && pkg.arch !== '' ? `${pkg.name}:${pkg.arch}` : pkg.name;
}

/** info/format per admindir, for Database objects that were not made by loadDatabase. */
const infoFormatCache = new Map<string, Promise<number>>();

function infoFormatOf(db: Database): Promise<number> {
  if (db.infoFormat !== undefined) return Promise.resolve(db.infoFormat);
  let p = infoFormatCache.get(db.admindir);
  if (p === undefined) {
    p = readInfoFormat(db.admindir);
    infoFormatCache.set(db.admindir, p);
  }
  return p;
}

/**
 * Reads one info file, trying each candidate name in turn. Returns the text (null when no candidate
 * exists) and the file that was read, or the preferred name when none exists.
 */
async function readInfoFile(candidates: readonly string[]): Promise<{ text: string | null; file: string; error: string | null }> {
  for (const file of candidates) {
    try {
      return { text: await readBytes(file), file, error: null };
    } catch (err) {
      if (isMissing(err)) continue;
      return { text: null, file, error: osErrorText(err) };
    }
  }
  return { text: null, file: candidates[0] ?? '', error: null };
}

/** The info file base names of a package, the preferred one first. */
async function infoBases(db: Database, pkg: PackageRecord): Promise<string[]> {
  const bases = [pkg.name];
  if (pkg.multiArch === 'same' && pkg.arch !== '') {
    const qualified = `${pkg.name}:${pkg.arch}`;
    if ((await infoFormatOf(db)) >= 1) bases.unshift(qualified);
    else bases.push(qualified);
  }
  return bases;
}

/**
 * Loads only a package's `.list` (what owns which path, without the md5sums): the paths (null when
 * there is no .list), the file, and why it could not be read (null when it could).
 */
export async function loadPackageList(db: Database, pkg: PackageRecord): Promise<{ list: BytePath[] | null; listFile: string; listError: string | null; warnings: DbWarning[] }> {
  const info = path.join(db.admindir, 'info');
  const list = await readInfoFile((await infoBases(db, pkg)).map((b) => path.join(info, `${b}.list`)));
  if (list.text === null) return { list: null, listFile: list.file, listError: list.error, warnings: [] };
  const parsed = parseList(list.text, list.file, packageId(pkg));
  return { list: parsed.paths, listFile: list.file, listError: null, warnings: parsed.warnings };
}

/**
 * Loads a package's `.md5sums` and `.list` from `<admindir>/info`. Multi-Arch: same packages use
 * `NAME:ARCH.*` when info/format is 1; both spellings are tried, preferred one first. A missing
 * file gives null (the verifier decides what that means); an unreadable one gives null and the
 * error in `md5sumsError` / `listError`, which the verifier reports as an unreadable file.
 */
export async function loadPackageFiles(db: Database, pkg: PackageRecord): Promise<PackageFiles> {
  const id = packageId(pkg);
  const info = path.join(db.admindir, 'info');
  const bases = await infoBases(db, pkg);
  const warnings: DbWarning[] = [];
  const [md5, list] = await Promise.all([
    readInfoFile(bases.map((b) => path.join(info, `${b}.md5sums`))),
    readInfoFile(bases.map((b) => path.join(info, `${b}.list`))),
  ]);
  let md5sums: PackageFiles['md5sums'] = null;
  if (md5.text !== null) {
    const parsed = parseMd5sums(md5.text, md5.file, id);
    md5sums = parsed.sums;
    warnings.push(...parsed.warnings);
  }
  let paths: PackageFiles['list'] = null;
  if (list.text !== null) {
    const parsed = parseList(list.text, list.file, id);
    paths = parsed.paths;
    warnings.push(...parsed.warnings);
  }
  return { md5sums, md5sumsFile: md5.file, md5sumsError: md5.error, list: paths, listFile: list.file, listError: list.error, warnings };
}

/**
 * Loads the info files of many packages, at most `concurrency` packages at a time (each reads two
 * files; 32 keeps the disk busy without running into the open-file limit). Results are in the
 * order of `pkgs`.
 */
export async function loadAllPackageFiles(db: Database, pkgs: readonly PackageRecord[], concurrency = 32): Promise<PackageFiles[]> {
  return mapLimit(pkgs, concurrency, (pkg) => loadPackageFiles(db, pkg));
}
