// Parser of dpkg.cfg files for path-exclude/path-include rules, and the last-match-wins test.

import { excerpt } from './bytes.js';
import { compileGlob } from './fnmatch.js';
import type { BytePath, DbWarning, PathFilter } from './types.js';

/**
 * Parses the text of a dpkg.cfg file (decoded as latin1) for `path-exclude=GLOB`,
 * `path-exclude GLOB` and the same for `path-include`, with an optional leading `--`. Comments,
 * blank lines and every other dpkg option are ignored silently. A rule without a glob is warned about.
 */
export function parseDpkgCfg(text: string, file: string): { filters: PathFilter[]; warnings: DbWarning[] } {
  const filters: PathFilter[] = [];
  const warnings: DbWarning[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('--')) line = line.slice(2);
    // Like dpkg: the option name ends at '=' or whitespace; the rest, trimmed, is the value.
    const m = /^([^=\s]+)(?:\s*=\s*|\s+)?([\s\S]*)$/.exec(line);
    const opt = m?.[1] ?? '';
    if (opt !== 'path-exclude' && opt !== 'path-include') continue;
    let value = (m?.[2] ?? '').trim();
    // dpkg strips one pair of matching quotes around a value.
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) {
      value = value.slice(1, -1);
    }
    if (value === '') {
      warnings.push({ package: null, file, line: i + 1, message: `expected '${opt}=GLOB', found '${excerpt(line)}' without a glob; ignoring it` });
      continue;
    }
    filters.push({ kind: opt === 'path-exclude' ? 'exclude' : 'include', glob: value, file, line: i + 1 });
  }
  return { filters, warnings };
}

/** Compiled globs, shared by every call: a database has a handful of rules checked on every path. */
const globCache = new Map<string, RegExp>();

function compiled(glob: BytePath): RegExp {
  let re = globCache.get(glob);
  if (re === undefined) {
    re = compileGlob(glob);
    globCache.set(glob, re);
  }
  return re;
}

/**
 * Whether dpkg would have left `path` out when unpacking: the last rule whose glob matches the path
 * decides (exclude: excluded, include: not excluded); a path no rule matches is not excluded.
 */
export function isPathExcluded(path: BytePath, filters: readonly PathFilter[]): boolean {
  for (let i = filters.length - 1; i >= 0; i--) {
    const f = filters[i];
    if (f !== undefined && compiled(f.glob).test(path)) return f.kind === 'exclude';
  }
  return false;
}
