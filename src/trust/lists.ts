// apt's names for downloaded index files in /var/lib/apt/lists: which files belong to which source.
import { compressionOf, type Compression } from './decompress.js';
import type { SourceEntry } from './sources.js';

/** Characters apt's QuoteString escapes in list file names, besides controls, space and non-ASCII. */
const QUOTED = new Set('\\|{}[]<>"^~_=!@#$%^&*'.split(''));

/**
 * apt's URItoFileName: the URI without scheme, user and password, with unsafe bytes as `%xx`
 * (lowercase hex) and every `/` as `_`. `http://deb.debian.org/debian/dists/bookworm/InRelease`
 * becomes `deb.debian.org_debian_dists_bookworm_InRelease`; `file:/srv/repo/` becomes `_srv_repo_`.
 */
export function uriToFileName(uri: string): string {
  let rest = uri;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (scheme !== null) rest = rest.slice(scheme[0].length);
  let host = '';
  if (rest.startsWith('//')) {
    rest = rest.slice(2);
    const slash = rest.indexOf('/');
    host = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = host.lastIndexOf('@');
    if (at >= 0) host = host.slice(at + 1);
  }
  const path = rest === '' || rest.startsWith('/') ? rest : `/${rest}`;
  return quoteForList(host + path);
}

/** apt's QuoteString for list names, then `/` as `_` (for URI text and for path fragments like `main/binary-`). */
function quoteForList(text: string): string {
  let out = '';
  for (const ch of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (QUOTED.has(c) || ch <= 0x20 || ch >= 0x7f || c === '%') out += `%${ch.toString(16).padStart(2, '0')}`;
    else out += c === '/' ? '_' : c;
  }
  return out;
}

/** The directory URI of a source's Release files: `URI/dists/SUITE/`, or `URI/SUITE` for a flat repository. */
export function releaseDirUri(e: SourceEntry): string {
  // apt keeps a flat suite as written: `deb URI ./` gives list names with `_._`.
  if (e.suite.endsWith('/')) return `${e.uri}${e.suite}`;
  return `${e.uri}dists/${e.suite}/`;
}

/** List-file name prefix shared by a source's InRelease, Release and Packages files. */
export function listsPrefix(e: SourceEntry): string {
  return uriToFileName(releaseDirUri(e));
}

/** A downloaded Packages index and the path its Release lists it under. */
export interface PackagesListFile {
  /** File name in the lists directory. */
  readonly name: string;
  /** `main/binary-amd64/Packages` (always the uncompressed name). */
  readonly releasePath: string;
  readonly compression: Compression;
  readonly arch: string;
}

const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The Packages files of source `e` among the lists directory's `names`, for every architecture
 * apt downloaded. Stored names may carry apt's own compression (`.lz4` on Debian images), which the
 * repository never published: callers hash the decompressed content against the plain entry.
 */
export function packagesFilesOf(e: SourceEntry, names: readonly string[]): PackagesListFile[] {
  const prefix = listsPrefix(e);
  const out: PackagesListFile[] = [];
  const flat = e.suite.endsWith('/');
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (flat) {
      const compression = compressionOf(rest, 'Packages');
      if (compression !== null) out.push({ name, releasePath: 'Packages', compression, arch: '' });
      continue;
    }
    for (const comp of e.components) {
      const head = quoteForList(`${comp}/binary-`);
      if (!rest.startsWith(head)) continue;
      const tail = rest.slice(head.length);
      const m = /^([^_]+)_(Packages.*)$/.exec(tail);
      if (m === null || !ARCH_RE.test(m[1] as string)) continue;
      const compression = compressionOf(m[2] as string, 'Packages');
      if (compression === null) continue;
      out.push({ name, releasePath: `${comp}/binary-${m[1] as string}/Packages`, compression, arch: m[1] as string });
    }
  }
  return out;
}
