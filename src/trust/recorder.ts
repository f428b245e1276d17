// Builds the trust store's record of one .deb: verified against apt's signed indexes, or unverified with the reason.
import type { AptChain, VerifiedStanza } from './aptchain.js';
import { judge, readVerified } from './aptchain.js';
import { readDeb, type DebContents, type DebRead } from './deb.js';
import type { DebFile } from './debdirs.js';
import type { SignedRelease } from './indexes.js';
import type { PackageKey, UnverifiedReason } from './record.js';
import { STORE_FORMAT, type StoredFile, type StoredRecord } from './storeformat.js';

/** A record to store, and the signed Release bytes it refers to (to keep in `releases/`). */
export interface Recorded {
  readonly record: StoredRecord;
  readonly release: SignedRelease | null;
}

/** The stanza's fields that vouch for the .deb, as text (the store keeps them with the record). */
function stanzaText(s: VerifiedStanza): string {
  const e = s.entry;
  return `Package: ${e.package}\nVersion: ${e.version}\nArchitecture: ${e.architecture}\nFilename: ${e.filename}\nSize: ${e.size}\nSHA256: ${e.sha256}\n`;
}

function filesOf(c: DebContents): StoredFile[] {
  return (c.data ?? []).map((e) => ({
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    user: e.uname,
    group: e.gname,
    size: e.size,
    sha256: e.sha256,
    md5: e.md5,
    link: e.linkname,
  }));
}

/**
 * Reads `file` as the .deb of `key` and decides: `signed` when its whole-file SHA256 and size match
 * a stanza of an index whose signed Release verified (then data.tar is read in a second pass that
 * must hash the same, unless `onePass`: apt's hook), and every entry is recorded; else `unverified` with the reason, keeping
 * what its control archive says (data.tar of an unverified .deb is not decompressed). Never throws
 * for a bad .deb: that is a reason.
 */
export async function recordDeb(chain: AptChain, key: PackageKey, file: DebFile, recordedAt: Date, opts: { onePass?: boolean } = {}): Promise<Recorded> {
  const verified = chain.verifiedStanzas(key);
  let read: DebRead;
  let reason: UnverifiedReason | null = null;
  let detail: string | null = null;
  let match: VerifiedStanza | undefined;
  if (!verified.ok) {
    read = await readDeb(file.host, () => false);
    reason = verified.failure.reason;
    detail = verified.failure.detail;
  } else {
    // apt's hook: dpkg unpacks this very file next, so reading its data archive in the same pass
    // (before its hash is known to match) exposes nothing more; elsewhere, hash first.
    read = opts.onePass === true ? await readDeb(file.host, () => true) : await readVerified(file, verified.stanzas, true);
    const judged = judge(key, file, read, verified.stanzas);
    if (judged.found) match = verified.stanzas.find((s) => s.entry.sha256 === read.sha256 && s.entry.size === read.size);
    else {
      reason = judged.reason;
      detail = judged.detail;
    }
  }
  let c = read.contents;
  if (c !== null && (c.control.package !== key.name || c.control.version !== key.version || c.control.architecture !== key.arch)) {
    if (reason === null) {
      reason = 'bad-deb';
      detail = `${file.shown}: its control says ${c.control.package} ${c.control.version} (${c.control.architecture})`;
    }
    c = null;
  }
  if (read.sha256 === null && reason === null) {
    reason = 'bad-deb';
    detail = `${file.shown}: ${read.error ?? 'cannot be read'}`;
  }
  const signed = reason === null && match !== undefined && match.index.state.ok && match.index.signed !== null && c !== null;
  const base = {
    format: STORE_FORMAT,
    package: key.name,
    version: key.version,
    arch: key.arch,
    recordedAt: recordedAt.toISOString(),
    deb: { path: file.shown, sha256: read.sha256, size: read.size },
    md5sums: c?.md5sums ?? null,
    conffiles: c?.conffiles ?? null,
    scripts: c?.scripts ?? {},
  } as const;
  if (!signed || match === undefined || c === null || match.index.signed === null || !match.index.state.ok) {
    return {
      record: { ...base, state: 'unverified', reason: reason ?? 'bad-deb', detail: detail ?? `${file.shown}: could not be verified`, origin: null, files: [] },
      release: null,
    };
  }
  const rel = match.index.signed;
  return {
    record: {
      ...base,
      state: 'signed',
      reason: null,
      detail: null,
      origin: {
        release: match.index.release,
        // Filled in by the caller once the bytes are kept (the store names them by their hash).
        releaseSha256: '',
        suite: rel.suite,
        codename: rel.codename,
        date: rel.date === null ? null : rel.date.toISOString(),
        signer: match.index.state.signer,
        index: match.index.file,
        stanza: stanzaText(match),
      },
      files: filesOf(c),
    },
    release: rel,
  };
}
