// The signed record of one installed package version, and the interface every source of records implements.
import type { BytePath, DbWarning, Md5Sums } from '../dpkg/types.js';
import type { StoredFile } from './storeformat.js';

/** An installed package instance, as dpkg's status names it. */
export interface PackageKey {
  readonly name: string;
  readonly version: string;
  /** `amd64`, `all`, ... */
  readonly arch: string;
}

/** A conffile the .deb declares, with the md5 of its content in data.tar. */
export interface SignedConffile {
  readonly path: BytePath;
  /** md5 of the file in data.tar; null when data.tar has no regular file there. */
  readonly md5: string | null;
  /** Declared `remove-on-upgrade`: not shipped, never compared. */
  readonly removeOnUpgrade: boolean;
}

/** What a verified .deb says a package version installs: the reference dpkg's database is held to. */
export interface SignedRecord {
  readonly key: PackageKey;
  /** SHA256 and size of the whole .deb, as the signed index lists them. */
  readonly debSha256: string;
  readonly debSize: number;
  /** The control archive's md5sums; null when the .deb ships none. */
  readonly md5sums: Md5Sums | null;
  readonly conffiles: readonly SignedConffile[];
  /** The InRelease (or Release) that vouched for the index, as a path on the checked system. */
  readonly release: string;
  /** Fingerprint of the key whose signature verified. */
  readonly signer: string;
  /** Every entry of data.tar with its mode, owner and SHA-256, when the trust store recorded them. */
  readonly files?: readonly StoredFile[];
  /** SHA-256 of each maintainer script in the control archive, when the trust store recorded them. */
  readonly scripts?: Readonly<Record<string, string>>;
}

/**
 * Why no signed record could be had. In order of what they say about the system: a chain that
 * broke (bad signature, hash mismatch) is reported before a .deb that is merely not at hand.
 */
export type UnverifiedReason =
  | 'bad-signature'
  | 'hash-mismatch'
  | 'bad-deb'
  | 'expired'
  | 'unsigned'
  | 'deb-not-available'
  | 'not-in-index'
  | 'local-install'
  | 'no-index';

/** A source's answer for one package. */
export type TrustLookup =
  | { readonly found: true; readonly record: SignedRecord; readonly source: string }
  | { readonly found: false; readonly reason: UnverifiedReason; readonly detail: string; readonly source: string | null };

/**
 * A place signed records come from: apt's chain today (.debs in `[trust] deb_paths` and apt's
 * cache, verified against apt's lists); the trust store recorded at install time goes first later.
 */
export interface RecordSource {
  /** null: nothing to say about this package (the trust store has no record), ask the next source. */
  lookup(key: PackageKey): Promise<TrustLookup | null>;
}

const RANK: readonly UnverifiedReason[] = ['bad-signature', 'hash-mismatch', 'bad-deb', 'expired', 'unsigned', 'deb-not-available', 'not-in-index', 'local-install', 'no-index'];

/** The failure that says more about the system (see UnverifiedReason). */
export function strongerFailure<T extends { reason: UnverifiedReason }>(a: T, b: T): T {
  return RANK.indexOf(b.reason) < RANK.indexOf(a.reason) ? b : a;
}

/** Asks each source in order; the first record wins, else the strongest reason any source gave. */
export function firstRecord(sources: readonly RecordSource[]): { lookup(key: PackageKey): Promise<TrustLookup> } {
  return {
    async lookup(key: PackageKey): Promise<TrustLookup> {
      let failure: Extract<TrustLookup, { found: false }> | null = null;
      for (const s of sources) {
        const r = await s.lookup(key);
        if (r === null) continue;
        if (r.found) return r;
        failure = failure === null ? r : strongerFailure(failure, r);
      }
      return failure ?? { found: false, reason: 'no-index', detail: 'no source of signed records is configured', source: null };
    },
  };
}

/** A source opened for one run: its warnings, and `close` to release what it holds (temp keyrings). */
export interface TrustSession {
  lookup(key: PackageKey): Promise<TrustLookup>;
  readonly warnings: readonly DbWarning[];
  close(): Promise<void>;
}

/** Opens the sources of signed records for the packages a run will check. */
export type OpenTrust = (keys: readonly PackageKey[]) => Promise<TrustSession>;
