// The layout of a .deb (member order and names) and its control files: control, conffiles.
import { normalizeDbPath } from '../dpkg/bytes.js';
import type { BytePath } from '../dpkg/types.js';
import { parseDeb822, shorten } from './deb822.js';
import { compressionOf, type Compression } from './decompress.js';

/** Thrown for a .deb whose members are not what dpkg-deb writes and dpkg accepts. */
export class DebError extends Error {
  override readonly name = 'DebError';
}

export type DebRole = 'debian-binary' | 'control' | 'data' | 'ignored';

/**
 * Checks members as they come, in dpkg's order: `debian-binary`, `control.tar[.gz|.xz|.zst]`,
 * `data.tar[.gz|.xz|.zst]`; members whose name starts with `_` are ignored, as dpkg does.
 * bzip2 and lzma data members exist in the wild but not in Debian: they are refused by name.
 */
export class DebLayout {
  private seen: DebRole[] = [];
  controlCompression: Compression | null = null;
  dataCompression: Compression | null = null;

  next(name: string): DebRole {
    const expected: DebRole = this.seen.length === 0 ? 'debian-binary' : this.seen.includes('data') ? 'ignored' : this.seen.includes('control') ? 'data' : 'control';
    if (this.seen.length > 0 && name.startsWith('_')) return 'ignored';
    let role: DebRole;
    if (expected === 'debian-binary') {
      if (name !== 'debian-binary') throw new DebError(`the first member is '${shorten(name)}', not 'debian-binary' (not a Debian package)`);
      role = 'debian-binary';
    } else if (expected === 'control') {
      const c = compressionOf(name, 'control.tar');
      if (c === null || c === 'lz4') throw new DebError(`the second member is '${shorten(name)}', not control.tar[.gz|.xz|.zst]`);
      this.controlCompression = c;
      role = 'control';
    } else if (expected === 'data') {
      const c = compressionOf(name, 'data.tar');
      if (c === null || c === 'lz4') throw new DebError(`the third member is '${shorten(name)}', not data.tar[.gz|.xz|.zst]`);
      this.dataCompression = c;
      role = 'data';
    } else {
      throw new DebError(`an unexpected member '${shorten(name)}' after data.tar`);
    }
    this.seen.push(role);
    return role;
  }

  /** Throws unless control and data were both seen. */
  complete(): void {
    if (!this.seen.includes('control')) throw new DebError('no control.tar member');
    if (!this.seen.includes('data')) throw new DebError('no data.tar member');
  }
}

/** Checks the `debian-binary` member: format 2.x. */
export function debianBinaryProblem(content: Buffer): string | null {
  const text = content.toString('latin1');
  return /^2\.\d+\n/.test(text) ? null : `debian-binary says '${shorten(text.trim())}', not format 2.x`;
}

/** A package's identity from its control file. */
export interface DebControl {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
}

/** Parses `control`: one paragraph with Package, Version and Architecture. */
export function parseDebControl(text: string): { ok: true; control: DebControl } | { ok: false; message: string } {
  const { paragraphs, problems } = parseDeb822(text, { keep: () => false, maxLine: 1 << 20 });
  if (problems[0] !== undefined) return { ok: false, message: `control line ${problems[0].line}: ${problems[0].message}` };
  const p = paragraphs[0];
  if (p === undefined || paragraphs.length !== 1) return { ok: false, message: `control has ${paragraphs.length} paragraphs, not one` };
  const get = (n: string): string => p.fields.get(n)?.value ?? '';
  const control = { package: get('package'), version: get('version'), architecture: get('architecture') };
  const missing = (['package', 'version', 'architecture'] as const).filter((k) => control[k] === '');
  if (missing.length > 0) return { ok: false, message: `control has no ${missing.join(', ')}` };
  return { ok: true, control };
}

/** One line of the control archive's `conffiles`. */
export interface ConffileDecl {
  readonly path: BytePath;
  readonly removeOnUpgrade: boolean;
}

/** Parses `conffiles`: absolute paths, optionally after the flag `remove-on-upgrade` (dpkg 1.20.1+). */
export function parseConffiles(text: string): { entries: ConffileDecl[]; problems: string[] } {
  const entries: ConffileDecl[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/[ \t\r]+$/, '');
    if (line === '') return;
    let removeOnUpgrade = false;
    let p = line;
    if (!p.startsWith('/')) {
      const m = /^(\S+) +(\/.*)$/.exec(p);
      if (m === null || m[1] !== 'remove-on-upgrade') {
        problems.push(`conffiles line ${i + 1}: expected an absolute path, found '${shorten(line)}'`);
        return;
      }
      removeOnUpgrade = true;
      p = m[2] as string;
    }
    const norm = normalizeDbPath(p, false);
    if (!norm.ok) {
      problems.push(`conffiles line ${i + 1}: ${norm.reason}`);
      return;
    }
    entries.push({ path: norm.path, removeOnUpgrade });
  });
  return { entries, problems };
}

/** The apt-style name hint of a .deb file: `name_version_arch.deb` (`:` in versions as `%3a`); null otherwise. */
export function debNameHint(file: string): DebControl | null {
  const m = /^([a-z0-9][a-z0-9+.-]*)_([^_/]+)_([a-z0-9-]+)\.deb$/.exec(file);
  if (m === null) return null;
  return { package: m[1] as string, version: decodeURIComponentSafe(m[2] as string), architecture: m[3] as string };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
