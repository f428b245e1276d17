// dpkg's admindir-wide records that redirect or re-own files, `diversions` and `statoverride`: their
// snapshot and what changed, so an intruder's `dpkg-divert` outside a dpkg run is a finding.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { displayPath } from '../dpkg/bytes.js';
import { parseDiversions } from '../dpkg/diversions.js';
import { parseStatOverride } from '../dpkg/statoverride.js';
import { osErrorText } from '../errors.js';

/** The admindir files this module follows. */
export type AdminFileName = 'diversions' | 'statoverride';
export const ADMIN_FILES: readonly AdminFileName[] = ['diversions', 'statoverride'];

/** One admindir file as a snapshot saw it. */
export interface AdminFileState {
  /** Host path of the file. */
  readonly file: string;
  /** sha256 (hex) of its bytes; null when it does not exist or cannot be read. */
  readonly sha256: string | null;
  /** Why it exists but could not be read, else null. */
  readonly error: string | null;
  /** Its entries, one readable line each (`/usr/bin/x -> /usr/bin/x.real by local`), sorted. */
  readonly entries: readonly string[];
}

/** One change of an admindir file between two snapshots. */
export interface AdminChange {
  readonly what: AdminFileName;
  readonly file: string;
  readonly detail: string;
}

function entriesOf(name: AdminFileName, text: string, file: string): string[] {
  if (name === 'diversions') {
    return parseDiversions(text, file)
      .diversions.map((d) => `${displayPath(d.from)} -> ${displayPath(d.to)} by ${d.by ?? 'local'}`)
      .sort();
  }
  return parseStatOverride(text, file)
    .overrides.map((o) => `${displayPath(o.path)} ${o.user}:${o.group} ${o.mode.toString(8).padStart(4, '0')}`)
    .sort();
}

/** Reads `<admindir>/diversions` and `<admindir>/statoverride` now. Never throws. */
export async function snapshotAdmin(admindir: string): Promise<Map<AdminFileName, AdminFileState>> {
  const out = new Map<AdminFileName, AdminFileState>();
  await Promise.all(
    ADMIN_FILES.map(async (name) => {
      const file = path.join(admindir, name);
      try {
        const bytes = await readFile(file);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        out.set(name, { file, sha256, error: null, entries: entriesOf(name, bytes.toString('latin1'), file) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const missing = code === 'ENOENT' || code === 'ENOTDIR';
        out.set(name, { file, sha256: null, error: missing ? null : osErrorText(err), entries: [] });
      }
    }),
  );
  return out;
}

const SINGULAR: Record<AdminFileName, string> = { diversions: 'diversion', statoverride: 'stat override' };

/** What changed in one admindir file, or null when nothing did. Pure. */
export function adminChange(name: AdminFileName, a: AdminFileState, b: AdminFileState): AdminChange | null {
  if (a.sha256 === b.sha256 && a.error === b.error) return null;
  let detail: string;
  if (b.error !== null) {
    if (a.error !== null) return null;
    detail = `it can no longer be read (${b.error})`;
  } else {
    const before = new Set(a.entries);
    const after = new Set(b.entries);
    const parts = [
      ...b.entries.filter((e) => !before.has(e)).map((e) => `${SINGULAR[name]} added: ${e}`),
      ...a.entries.filter((e) => !after.has(e)).map((e) => `${SINGULAR[name]} removed: ${e}`),
    ];
    const shown = parts.slice(0, 3).join('; ');
    detail = parts.length === 0 ? 'its content changed, its entries did not' : parts.length > 3 ? `${shown}; and ${parts.length - 3} more` : shown;
  }
  return { what: name, file: b.file, detail };
}

/** Admin file states as JSON-safe data (for the agent's state). */
export function adminToJson(m: ReadonlyMap<AdminFileName, AdminFileState>): unknown {
  return [...m].map(([name, s]) => ({ name, ...s, entries: [...s.entries] }));
}

/** The inverse of adminToJson; an empty map for anything else (an older state: taken afresh). */
export function adminFromJson(v: unknown): Map<AdminFileName, AdminFileState> {
  const out = new Map<AdminFileName, AdminFileState>();
  if (!Array.isArray(v)) return out;
  const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';
  for (const item of v as unknown[]) {
    const o = item as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null) continue;
    const name = o['name'];
    if (name !== 'diversions' && name !== 'statoverride') continue;
    const entries = o['entries'];
    if (typeof o['file'] !== 'string' || !strOrNull(o['sha256']) || !strOrNull(o['error']) || !Array.isArray(entries)) continue;
    if (!entries.every((e): e is string => typeof e === 'string')) continue;
    out.set(name, { file: o['file'], sha256: o['sha256'], error: o['error'], entries });
  }
  return out;
}
