// Holds dpkg's record of a package to its signed .deb: differences are database-changed findings, and
// the package's files are then checked against the signed hashes. Pure: no I/O.
import path from 'node:path';
import { pathOnSystem } from '../dpkg/bytes.js';
import { packageId } from '../dpkg/loader.js';
import type { BytePath, Conffile, Database, PackageFiles, PackageRecord } from '../dpkg/types.js';
import type { PackageKey, TrustLookup, UnverifiedReason } from '../trust/record.js';
import type { StoredFile } from '../trust/storeformat.js';
import type { Finding } from './finding.js';

/** Where a package stands against its signed .deb. */
export type TrustState = 'signed' | 'forged' | 'unverified';

/** One package's line in `check --signed`'s trust report. */
export interface TrustEntry {
  /** The package id (`name`, or `name:arch` for Multi-Arch: same). */
  readonly package: string;
  readonly version: string;
  readonly state: TrustState;
  /** The .deb the record came from (a path on the checked system), or what was found instead; null when nothing was. */
  readonly source: string | null;
  /** Why the package is unverified; null when signed or forged. */
  readonly reason: UnverifiedReason | null;
  /** For people: what differs (forged) or what went wrong (unverified); null when signed. */
  readonly detail: string | null;
}

/** The result of holding one package to its signed record. */
export interface Reconciled {
  /** The package with its Conffiles hashes replaced by the signed ones (unchanged when unverified). */
  readonly pkg: PackageRecord;
  /** Its info files with md5sums replaced by the signed ones (unchanged when unverified). */
  readonly files: PackageFiles;
  /** `database-changed` findings on the md5sums file and on `status`. */
  readonly findings: readonly Finding[];
  readonly entry: TrustEntry;
}

/** The key a package is looked up by. */
export function keyOf(pkg: PackageRecord): PackageKey {
  return { name: pkg.name, version: pkg.version, arch: pkg.arch };
}

/**
 * Compares the database's md5sums lines and Conffiles hashes with the signed record. Each line
 * that differs, is missing, or is extra is one `database-changed` finding (expected = signed,
 * actual = database); the package's files are then to be verified against the signed values, so a
 * tampered file hidden by a rewritten line is reported `changed` as well. A `newconffile` entry
 * (no hash recorded yet) and conffiles flagged obsolete or remove-on-upgrade are not compared.
 */
export function reconcile(db: Database, pkg: PackageRecord, files: PackageFiles, lookup: TrustLookup): Reconciled {
  const id = packageId(pkg);
  if (!lookup.found) {
    return { pkg, files, findings: [], entry: { package: id, version: pkg.version, state: 'unverified', source: lookup.source, reason: lookup.reason, detail: lookup.detail } };
  }
  const rec = lookup.record;
  const from = `the signed .deb (${lookup.source})`;
  const findings: Finding[] = [];
  const finding = (file: BytePath, expected: string | null, actual: string | null, detail: string): void => {
    findings.push({ package: id, path: file, status: 'database-changed', conffile: false, expected, actual, detail });
  };

  // md5sums: only when dpkg's file could be read (an unreadable one is already its own finding).
  let sumsDiffer = 0;
  if (files.md5sumsError === null) {
    const sumsFile = pathOnSystem(db.root, files.md5sumsFile);
    const signed = rec.md5sums ?? new Map<BytePath, string>();
    const local = files.md5sums ?? new Map<BytePath, string>();
    for (const [p, md5] of signed) {
      const have = local.get(p);
      if (have === md5) continue;
      sumsDiffer++;
      finding(sumsFile, md5, have ?? null, have === undefined ? `no line for ${p}, which ${from} lists` : `the line for ${p} differs from ${from}`);
    }
    for (const [p, md5] of local) {
      if (signed.has(p)) continue;
      sumsDiffer++;
      finding(sumsFile, null, md5, `a line for ${p}, which ${from} does not list`);
    }
  }

  // Conffiles: the hashes dpkg recorded in status against those of the files in data.tar.
  const statusFile = pathOnSystem(db.root, path.join(db.admindir, 'status'));
  const local = new Map<BytePath, Conffile>(pkg.conffiles.map((c) => [c.path, c]));
  const shipped = rec.conffiles.filter((c) => !c.removeOnUpgrade);
  const declared = new Set(rec.conffiles.map((c) => c.path));
  let confDiffer = 0;
  for (const c of shipped) {
    const have = local.get(c.path);
    if (have === undefined) {
      confDiffer++;
      finding(statusFile, c.md5, null, `Conffiles has no entry for ${c.path}, which ${from} declares`);
    } else if (have.md5 !== null && c.md5 !== null && have.md5 !== c.md5 && !have.obsolete) {
      confDiffer++;
      finding(statusFile, c.md5, have.md5, `the Conffiles hash of ${c.path} differs from ${from}`);
    }
  }
  for (const c of pkg.conffiles) {
    if (declared.has(c.path) || c.obsolete || c.removeOnUpgrade) continue;
    confDiffer++;
    finding(statusFile, null, c.md5, `Conffiles lists ${c.path}, which ${from} does not declare`);
  }

  // The files are verified against what was signed from here on.
  const signedConf = new Map(shipped.map((c) => [c.path, c.md5]));
  const conffiles: Conffile[] = pkg.conffiles.map((c) => {
    const md5 = signedConf.get(c.path);
    return md5 === undefined || md5 === null || c.obsolete ? c : { ...c, md5 };
  });
  for (const c of shipped) {
    if (!local.has(c.path) && c.md5 !== null) conffiles.push({ path: c.path, md5: c.md5, obsolete: false, removeOnUpgrade: false });
  }
  const forged = findings.length > 0;
  const parts: string[] = [];
  if (sumsDiffer > 0) parts.push(`${sumsDiffer} md5sums line${sumsDiffer === 1 ? '' : 's'}`);
  if (confDiffer > 0) parts.push(`${confDiffer} Conffiles entr${confDiffer === 1 ? 'y' : 'ies'}`);
  return {
    pkg: { ...pkg, conffiles },
    files: { ...files, md5sums: rec.md5sums },
    findings,
    entry: {
      package: id,
      version: pkg.version,
      state: forged ? 'forged' : 'signed',
      source: lookup.source,
      reason: null,
      detail: forged ? `dpkg's database differs from ${from}: ${parts.join(' and ')}; its files were checked against the signed hashes` : null,
    },
  };
}

/**
 * `--sha256`: the package's md5sums and conffile hashes replaced by the SHA-256 the trust store
 * recorded for the same paths in data.tar; a path the record has no SHA-256 for keeps its md5.
 */
export function withSha256(pkg: PackageRecord, files: PackageFiles, signed: readonly StoredFile[]): { pkg: PackageRecord; files: PackageFiles } {
  const sha = new Map<BytePath, string>();
  for (const f of signed) if (f.sha256 !== null) sha.set(f.path, f.sha256);
  const md5sums = files.md5sums === null ? null : new Map([...files.md5sums].map(([p, m]) => [p, sha.get(p) ?? m]));
  const conffiles = pkg.conffiles.map((c) => (c.md5 === null ? c : { ...c, md5: sha.get(c.path) ?? c.md5 }));
  return { pkg: { ...pkg, conffiles }, files: { ...files, md5sums } };
}
