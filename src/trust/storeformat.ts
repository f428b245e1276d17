// The trust store's record format: what was recorded of one .deb at install time, its file name, and a strict decoder. Pure.
import { array, count, fail, oneOf, parseJson, record, str, strOrNull, time } from '../decode.js';
import type { TarType } from './tar.js';
import type { PackageKey, UnverifiedReason } from './record.js';

/** The record format's version; a record of another version is refused (re-record it). */
export const STORE_FORMAT = 1;

/** One entry of data.tar as recorded: what dpkg will unpack. */
export interface StoredFile {
  /** Absolute path, bytes as a latin1 string. */
  readonly path: string;
  readonly type: TarType;
  /** Permission bits with setuid/setgid/sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Owner names as the archive stores them ('' when none): dpkg maps them to ids on the installed system. */
  readonly user: string;
  readonly group: string;
  readonly size: number;
  /** Content hashes of regular files (and hardlinks to one), else null. */
  readonly sha256: string | null;
  readonly md5: string | null;
  /** Symlink or hardlink target, else ''. */
  readonly link: string;
}

/** Where a signed record came from: the verified Release and the index stanza that named the .deb. */
export interface StoredOrigin {
  /** The InRelease (or Release) apt had, as a path on the system. */
  readonly release: string;
  /** SHA-256 of the signed Release bytes, the name they are kept under in the store's `releases/`. */
  readonly releaseSha256: string;
  readonly suite: string | null;
  readonly codename: string | null;
  /** The Release's `Date`, ISO, or null. */
  readonly date: string | null;
  /** Fingerprint of the key whose signature verified. */
  readonly signer: string;
  /** The Packages index file and the stanza's fields that vouch for the .deb. */
  readonly index: string;
  readonly stanza: string;
}

/** What the store keeps for one package version and architecture. */
export interface StoredRecord {
  readonly format: typeof STORE_FORMAT;
  readonly package: string;
  readonly version: string;
  readonly arch: string;
  /** `signed`: the .deb's whole-file SHA256 matched a verified index; `unverified`: see reason. */
  readonly state: 'signed' | 'unverified';
  readonly reason: UnverifiedReason | null;
  readonly detail: string | null;
  readonly recordedAt: string;
  /** The .deb: its path when recorded, and its SHA256 and size (null sha256: it could not be read). */
  readonly deb: { readonly path: string; readonly sha256: string | null; readonly size: number };
  readonly origin: StoredOrigin | null;
  /** The control archive's md5sums and conffiles (latin1 text), null when absent or unread. */
  readonly md5sums: string | null;
  readonly conffiles: string | null;
  /** SHA-256 of each other control file (maintainer scripts, triggers, templates), by name. */
  readonly scripts: Readonly<Record<string, string>>;
  /** data.tar's entries; empty when data.tar was not read (unverified .debs are not decompressed). */
  readonly files: readonly StoredFile[];
}

const NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;
const VERSION_RE = /^[A-Za-z0-9.+~:-]+$/;
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const TYPES: readonly TarType[] = ['file', 'hardlink', 'symlink', 'chardev', 'blockdev', 'directory', 'fifo', 'other'];
const REASONS: readonly UnverifiedReason[] = ['bad-signature', 'hash-mismatch', 'bad-deb', 'expired', 'unsigned', 'deb-not-available', 'not-in-index', 'local-install', 'no-index'];

/**
 * The record's file name: `NAME_VERSION_ARCH.json` with `:` (epochs) as `%3a`, as apt names
 * .debs. Null for a key that is not a valid package name, version and architecture, so no name
 * from a hostile .deb or hook line can make a path.
 */
export function recordName(key: PackageKey): string | null {
  if (!NAME_RE.test(key.name) || !VERSION_RE.test(key.version) || !ARCH_RE.test(key.arch)) return null;
  return `${key.name}_${key.version.replaceAll(':', '%3a')}_${key.arch}.json`;
}

function hash(v: unknown, at: string, re: RegExp): string {
  const s = str(v, at);
  if (!re.test(s)) fail(at, re === HEX64 ? '64 lowercase hex digits' : '32 lowercase hex digits', s);
  return s;
}

function hashOrNull(v: unknown, at: string, re: RegExp): string | null {
  return v === null ? null : hash(v, at, re);
}

function matching(v: unknown, at: string, re: RegExp, what: string): string {
  const s = str(v, at);
  if (!re.test(s)) fail(at, what, s);
  return s;
}

function decodeFile(v: unknown, at: string): StoredFile {
  const a = array(v, at);
  if (a.length !== 11) fail(at, 'an array of 11 fields', v);
  const mode = count(a[2], `${at}[2]`);
  if (mode > 0o7777) fail(`${at}[2]`, 'a mode of at most 07777', mode);
  const p = str(a[0], `${at}[0]`);
  if (!p.startsWith('/') || p.includes('\0')) fail(`${at}[0]`, 'an absolute path', p);
  return {
    path: p,
    type: oneOf(a[1], `${at}[1]`, TYPES),
    mode,
    uid: count(a[3], `${at}[3]`),
    gid: count(a[4], `${at}[4]`),
    user: str(a[5], `${at}[5]`),
    group: str(a[6], `${at}[6]`),
    size: count(a[7], `${at}[7]`),
    sha256: hashOrNull(a[8], `${at}[8]`, HEX64),
    md5: hashOrNull(a[9], `${at}[9]`, HEX32),
    link: str(a[10], `${at}[10]`),
  };
}

function decodeOrigin(v: unknown, at: string): StoredOrigin | null {
  if (v === null) return null;
  const o = record(v, at, ['release', 'releaseSha256', 'suite', 'codename', 'date', 'signer', 'index', 'stanza']);
  const date = o['date'] === null ? null : time(o['date'], `${at}.date`);
  return {
    release: str(o['release'], `${at}.release`),
    releaseSha256: hash(o['releaseSha256'], `${at}.releaseSha256`, HEX64),
    suite: strOrNull(o['suite'], `${at}.suite`),
    codename: strOrNull(o['codename'], `${at}.codename`),
    date,
    signer: matching(o['signer'], `${at}.signer`, /^[0-9A-F]{16,40}$/, 'a key fingerprint'),
    index: str(o['index'], `${at}.index`),
    stanza: str(o['stanza'], `${at}.stanza`),
  };
}

/** Decodes a record read back from the store; throws ShapeError naming the field. `key` is what its file name says. */
export function decodeRecord(text: string, key: PackageKey): StoredRecord {
  return parseJson(text, (v) => {
    const o = record(v, 'record', ['format', 'package', 'version', 'arch', 'state', 'reason', 'detail', 'recordedAt', 'deb', 'origin', 'md5sums', 'conffiles', 'scripts', 'files']);
    if (o['format'] !== STORE_FORMAT) fail('record.format', String(STORE_FORMAT), o['format']);
    const out: StoredRecord = {
      format: STORE_FORMAT,
      package: matching(o['package'], 'record.package', NAME_RE, 'a package name'),
      version: matching(o['version'], 'record.version', VERSION_RE, 'a version'),
      arch: matching(o['arch'], 'record.arch', ARCH_RE, 'an architecture'),
      state: oneOf(o['state'], 'record.state', ['signed', 'unverified'] as const),
      reason: o['reason'] === null ? null : oneOf(o['reason'], 'record.reason', REASONS),
      detail: strOrNull(o['detail'], 'record.detail'),
      recordedAt: time(o['recordedAt'], 'record.recordedAt'),
      deb: (() => {
        const d = record(o['deb'], 'record.deb', ['path', 'sha256', 'size']);
        return { path: str(d['path'], 'record.deb.path'), sha256: hashOrNull(d['sha256'], 'record.deb.sha256', HEX64), size: count(d['size'], 'record.deb.size') };
      })(),
      origin: decodeOrigin(o['origin'], 'record.origin'),
      md5sums: strOrNull(o['md5sums'], 'record.md5sums'),
      conffiles: strOrNull(o['conffiles'], 'record.conffiles'),
      scripts: (() => {
        const s = record(o['scripts'], 'record.scripts', [], Object.keys((o['scripts'] as object | null) ?? {}));
        const out: Record<string, string> = {};
        for (const [k, h] of Object.entries(s)) {
          if (!/^[A-Za-z0-9_.+-]{1,64}$/.test(k)) fail('record.scripts', 'control file names', k);
          out[k] = hash(h, `record.scripts.${k}`, HEX64);
        }
        return out;
      })(),
      files: array(o['files'], 'record.files').map((f, i) => decodeFile(f, `record.files[${i}]`)),
    };
    if (out.package !== key.name || out.version !== key.version || out.arch !== key.arch) {
      fail('record', `the record of ${key.name} ${key.version} (${key.arch}), as its file name says`, `${out.package} ${out.version} (${out.arch})`);
    }
    if ((out.state === 'signed') !== (out.reason === null) || (out.state === 'signed' && (out.origin === null || out.deb.sha256 === null))) {
      fail('record.state', 'signed with an origin and no reason, or unverified with a reason', out.state);
    }
    return out;
  });
}

/** The record as the store writes it: one line per file entry keeps diffs of records readable. */
export function encodeRecord(r: StoredRecord): string {
  const { files, ...head } = r;
  const rows = files.map((f) => JSON.stringify([f.path, f.type, f.mode, f.uid, f.gid, f.user, f.group, f.size, f.sha256, f.md5, f.link]));
  const top = JSON.stringify({ ...head, files: [] }, null, 1);
  return `${top.slice(0, top.lastIndexOf('"files": []'))}"files": [\n${rows.join(',\n')}\n]\n}\n`;
}
