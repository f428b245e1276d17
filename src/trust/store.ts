// The trust store on disk ([trust] store): root-owned records of each .deb as installed, written atomically, read back strictly.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseJson, record, str, strOrNull } from '../decode.js';
import { errnoCode } from '../errors.js';
import { SafeDir } from '../safedir.js';
import type { PackageKey } from './record.js';
import { decodeRecord, encodeRecord, recordName, type StoredRecord } from './storeformat.js';

/** The default `[trust] store`. */
export const DEFAULT_STORE = '/var/lib/pkgwatch-trust';
/** Largest record read back (a package of ~200,000 files). */
const MAX_RECORD = 64 << 20;
/** Largest kept Release (Debian's InRelease is ~150 KB). */
const MAX_RELEASE = 64 << 20;

/** The signed Release bytes a record refers to by SHA-256. */
export interface StoredRelease {
  readonly bytes: Buffer;
  readonly detached: Buffer | null;
}

/** What reading one record gave: the record, none, or why it cannot be used. */
export type ReadResult = { readonly ok: true; readonly record: StoredRecord | null } | { readonly ok: false; readonly file: string; readonly error: string };

/**
 * The store: `records/NAME_VERSION_ARCH.json` and `releases/SHA256.json`. Written only by root:
 * opened for writing, the folder must belong to root and be writable by no one else (else it is
 * refused: someone else could rewrite it). Every name is opened through a held folder descriptor,
 * never through a link, and written under a unique temp name then renamed (SafeDir).
 */
export class TrustStore {
  private constructor(
    readonly dir: string,
    private readonly records: SafeDir | null,
    private readonly releases: SafeDir | null,
  ) {}

  /** Opens the store for reading; a store that does not exist yet is empty. */
  static openRead(dir: string): TrustStore {
    let top: SafeDir;
    try {
      top = SafeDir.open(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return new TrustStore(dir, null, null);
      throw err;
    }
    try {
      return new TrustStore(dir, top.dir('records', false), top.dir('releases', false));
    } finally {
      top.close();
    }
  }

  /** Opens the store for writing (as root), creating it with mode 0755 when missing. Throws a message for people. */
  static openWrite(dir: string): TrustStore {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const top = SafeDir.open(dir);
    try {
      const st = fs.lstatSync(dir);
      const uid = process.getuid?.() ?? 0;
      if (st.uid !== uid || (st.mode & 0o022) !== 0) {
        throw new Error(`${dir} belongs to uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}: the trust store must belong to root and be writable by no one else (chown root:root ${dir}; chmod 755 ${dir})`);
      }
      const sub = (name: string): SafeDir => top.dir(name, true, 0o755) as SafeDir;
      return new TrustStore(dir, sub('records'), sub('releases'));
    } finally {
      top.close();
    }
  }

  /** The record of `key`, null when there is none, or why it cannot be read (a link, too large, malformed). */
  read(key: PackageKey): ReadResult {
    const name = recordName(key);
    if (name === null || this.records === null) return { ok: true, record: null };
    const file = this.records.show(name);
    try {
      const text = this.records.readText(name, MAX_RECORD);
      return { ok: true, record: text === null ? null : decodeRecord(text, key) };
    } catch (err) {
      return { ok: false, file, error: (err as Error).message };
    }
  }

  /** The file a record of `key` is kept in (for messages); null for an invalid key. */
  fileOf(key: PackageKey): string | null {
    const name = recordName(key);
    return name === null ? null : path.join(this.dir, 'records', name);
  }

  /** Every record's file name (`NAME_VERSION_ARCH.json`). */
  names(): string[] {
    return this.records === null ? [] : this.records.names().filter((n) => n.endsWith('.json'));
  }

  /** Writes a record atomically (mode 0644: the agent reads it). */
  write(r: StoredRecord): string {
    const name = recordName({ name: r.package, version: r.version, arch: r.arch });
    if (name === null || this.records === null) throw new Error(`internal error: ${r.package} ${r.version} (${r.arch}) cannot be stored`);
    this.records.writeAtomic(name, encodeRecord(r), 0o644);
    return this.records.show(name);
  }

  /** Keeps signed Release bytes under their SHA-256 (once); returns the hash. */
  keepRelease(rel: StoredRelease): string {
    const sha = createHash('sha256').update(rel.bytes).digest('hex');
    if (this.releases === null) throw new Error('internal error: the store is not open for writing');
    const name = `${sha}.json`;
    if (this.releaseOf(sha) === null) {
      const doc = { bytes: rel.bytes.toString('base64'), detached: rel.detached === null ? null : rel.detached.toString('base64') };
      this.releases.writeAtomic(name, `${JSON.stringify(doc)}\n`, 0o644);
    }
    return sha;
  }

  /** The Release kept under `sha`, null when missing or when its bytes do not hash to its name. */
  releaseOf(sha: string): StoredRelease | null {
    if (!/^[0-9a-f]{64}$/.test(sha) || this.releases === null) return null;
    let text: string | null;
    try {
      text = this.releases.readText(`${sha}.json`, MAX_RELEASE * 2);
    } catch {
      return null;
    }
    if (text === null) return null;
    try {
      const rel = parseJson(text, (v) => {
        const o = record(v, 'release', ['bytes', 'detached']);
        const d = strOrNull(o['detached'], 'release.detached');
        return { bytes: Buffer.from(str(o['bytes'], 'release.bytes'), 'base64'), detached: d === null ? null : Buffer.from(d, 'base64') };
      });
      return createHash('sha256').update(rel.bytes).digest('hex') === sha ? rel : null;
    } catch {
      return null;
    }
  }

  close(): void {
    this.records?.close();
    this.releases?.close();
  }
}

