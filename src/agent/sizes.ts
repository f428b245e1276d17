// The size of each scoped file when it last verified, kept in state_dir/sizes.json: a file whose size
// differs is changed at once, without reading it, so one huge or sparse file cannot stall a check.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import type { BytePath } from '../dpkg/types.js';
import type { KnownSize } from '../verify/run.js';

/** Sizes by the path checked (bytes): what `verify` takes as `sizes`. */
export type SizeRecords = Map<BytePath, KnownSize>;

/** The file in state_dir. Apart from state.json: it is rewritten only when a size changes. */
export const SIZES_FILE = 'sizes.json';

const MD5 = /^[0-9a-f]{32}$/;

/** The records as the file holds them: `{"version":1,"files":[[path, md5, size], ...]}`. */
export function sizesToJson(records: ReadonlyMap<BytePath, KnownSize>): string {
  const files = [...records].map(([p, k]) => [p, k.md5, k.size]);
  return `${JSON.stringify({ version: 1, files })}\n`;
}

/** The inverse of sizesToJson; null when `text` is not a valid sizes file. */
export function sizesFromJson(text: string): SizeRecords | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const o = v as { version?: unknown; files?: unknown } | null;
  if (typeof o !== 'object' || o === null || o.version !== 1 || !Array.isArray(o.files)) return null;
  const out: SizeRecords = new Map();
  for (const e of o.files as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3) return null;
    const [p, md5, size] = e as unknown[];
    if (typeof p !== 'string' || !p.startsWith('/') || typeof md5 !== 'string' || !MD5.test(md5)) return null;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return null;
    out.set(p, { md5, size });
  }
  return out;
}

/**
 * The sizes kept in `stateDir`: none when there is no file yet, none and a warning when it cannot be
 * read or is not valid (every file is then hashed once more, which is what happens without sizes).
 */
export function loadSizes(stateDir: string): { sizes: SizeRecords; warning: string | null } {
  const file = path.join(stateDir, SIZES_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sizes: new Map(), warning: null };
    return { sizes: new Map(), warning: `${file}: cannot be read (${err instanceof Error ? err.message : String(err)}); every scoped file is hashed once more` };
  }
  const sizes = sizesFromJson(text);
  return sizes === null ? { sizes: new Map(), warning: `${file}: not a valid sizes file; every scoped file is hashed once more` } : { sizes, warning: null };
}

/** Writes the sizes atomically; throws (naming the file) when it cannot. */
export function saveSizes(stateDir: string, sizes: ReadonlyMap<BytePath, KnownSize>): void {
  const file = path.join(stateDir, SIZES_FILE);
  try {
    writeFileAtomic(file, sizesToJson(sizes), { mode: 0o600 });
  } catch (err) {
    throw new Error(`cannot save the file sizes to ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Adds the sizes of files that verified in a run; returns whether anything changed. */
export function recordSizes(records: SizeRecords, verified: ReadonlyMap<BytePath, KnownSize> | null): boolean {
  let changed = false;
  for (const [p, k] of verified ?? []) {
    const old = records.get(p);
    if (old !== undefined && old.md5 === k.md5 && old.size === k.size) continue;
    records.set(p, k);
    changed = true;
  }
  return changed;
}

/** Drops the records of paths no longer in the scope; returns whether any was dropped. */
export function pruneSizes(records: SizeRecords, scopePaths: readonly BytePath[]): boolean {
  const keep = new Set(scopePaths);
  let changed = false;
  for (const p of records.keys()) {
    if (keep.has(p)) continue;
    records.delete(p);
    changed = true;
  }
  return changed;
}
