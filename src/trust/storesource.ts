// The trust store as the first source of signed records for `check --signed`, before any .deb at hand.
import path from 'node:path';
import { parseMd5sums } from '../dpkg/md5sums.js';
import type { DbWarning } from '../dpkg/types.js';
import { parseConffiles } from './debformat.js';
import type { PackageKey, SignedConffile, SignedRecord, TrustLookup } from './record.js';
import type { TrustStore } from './store.js';
import type { StoredRecord } from './storeformat.js';

/** A source's answer, or null when it has nothing to say (no record): the next source is asked. */
export type MaybeLookup = TrustLookup | null;

/** The signed record a stored `signed` record stands for; null (with why) when its control texts do not parse. */
export function signedRecordOf(r: StoredRecord, shown: string): { record: SignedRecord } | { problem: string } {
  if (r.state !== 'signed' || r.origin === null || r.deb.sha256 === null) return { problem: 'the record is not signed' };
  const key = { name: r.package, version: r.version, arch: r.arch };
  const md5sums = r.md5sums === null ? null : parseMd5sums(r.md5sums, `${shown}:md5sums`, r.package).sums;
  const conffiles: SignedConffile[] = [];
  if (r.conffiles !== null) {
    const parsed = parseConffiles(r.conffiles);
    if (parsed.problems.length > 0) return { problem: `its conffiles: ${parsed.problems[0] ?? ''}` };
    const md5ByPath = new Map<string, string | null>(r.files.map((f) => [f.path, f.md5]));
    for (const d of parsed.entries) conffiles.push({ path: d.path, md5: md5ByPath.get(d.path) ?? null, removeOnUpgrade: d.removeOnUpgrade });
  }
  return {
    record: { key, debSha256: r.deb.sha256, debSize: r.deb.size, md5sums, conffiles, release: r.origin.release, signer: r.origin.signer, files: r.files, scripts: r.scripts },
  };
}

/**
 * Looks packages up in the store: a `signed` record is the signed record (its .deb need not exist
 * any more); an `unverified` one is that reason; a record that cannot be read is a warning and
 * counts as none. `shownDir` is the store's path on the checked system, for messages.
 */
export class StoreSource {
  readonly warnings: DbWarning[] = [];

  constructor(
    private readonly store: TrustStore,
    private readonly shownDir: string,
  ) {}

  lookup(key: PackageKey): MaybeLookup {
    const r = this.store.read(key);
    const file = this.store.fileOf(key);
    const shown = file === null ? this.shownDir : path.posix.join(this.shownDir, path.relative(this.store.dir, file));
    if (!r.ok) {
      this.warnings.push({ package: key.name, file: r.file, line: null, message: `the trust store's record cannot be used (${r.error}); run pkgwatch trust verify, or trust record --installed to record it again` });
      return null;
    }
    if (r.record === null) return null;
    if (r.record.state === 'unverified') {
      return { found: false, reason: r.record.reason ?? 'bad-deb', detail: `recorded unverified at install: ${r.record.detail ?? ''}`, source: shown };
    }
    const s = signedRecordOf(r.record, shown);
    if ('problem' in s) {
      this.warnings.push({ package: key.name, file: file ?? this.shownDir, line: null, message: `the trust store's record cannot be used: ${s.problem}` });
      return null;
    }
    return { found: true, record: s.record, source: shown };
  }
}
