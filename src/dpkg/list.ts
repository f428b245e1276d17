// Parser of a package's info/*.list file: one owned absolute path per line, bad lines to warnings.

import { excerpt, normalizeDbPath } from './bytes.js';
import type { BytePath, DbWarning } from './types.js';

/**
 * Parses the text of a .list file (decoded as latin1). `/.` becomes `/`, repeated and trailing `/`
 * are dropped, a trailing `\r` is stripped and empty lines are skipped. A relative path, a `..`
 * component or a NUL byte is skipped with a warning naming the package, the file and the line.
 * A repeated path is kept once, silently (dpkg writes none; they change nothing). Never throws.
 */
export function parseList(text: string, file: string, pkg: string): { paths: BytePath[]; warnings: DbWarning[] } {
  const paths: BytePath[] = [];
  const warnings: DbWarning[] = [];
  const seen = new Set<BytePath>();
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const next = end + 1;
    if (end > pos && text.charCodeAt(end - 1) === 0x0d) end--;
    const line = text.slice(pos, end);
    pos = next;
    lineNo++;
    if (line === '') continue;
    const norm = normalizeDbPath(line, false);
    if (!norm.ok) {
      warnings.push({ package: pkg, file, line: lineNo, message: `${norm.reason}, found '${excerpt(line)}'; skipping it` });
      continue;
    }
    if (seen.has(norm.path)) continue;
    seen.add(norm.path);
    paths.push(norm.path);
  }
  return { paths, warnings };
}
