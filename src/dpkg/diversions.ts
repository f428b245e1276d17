// Parser of dpkg's diversions file: triples of lines (original, divert-to, package) to Diversions.

import { excerpt, normalizeDbPath } from './bytes.js';
import type { DbWarning, Diversion } from './types.js';

/**
 * Parses the text of the diversions file (decoded as latin1): triples of lines, the original path,
 * the path it is diverted to, and the diverting package (`:` for a local diversion, `by: null`).
 * A trailing `\r` is stripped from each line. An incomplete trailing triple, a relative path or a
 * path escaping the root is skipped with a warning naming the file and the triple's first line.
 */
export function parseDiversions(text: string, file: string): { diversions: Diversion[]; warnings: DbWarning[] } {
  const diversions: Diversion[] = [];
  const warnings: DbWarning[] = [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  // The newline that ends the last line leaves one empty string behind; it is not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i += 3) {
    const lineNo = i + 1;
    if (i + 3 > lines.length) {
      const found = lines.length - i;
      warnings.push({
        package: null,
        file,
        line: lineNo,
        message: `incomplete diversion: expected 3 lines (original path, diverted-to path, package), found ${found} at the end of the file; ignoring it`,
      });
      break;
    }
    const from = normalizeDbPath(lines[i] ?? '', false);
    const to = normalizeDbPath(lines[i + 1] ?? '', false);
    const by = lines[i + 2] ?? '';
    if (!from.ok) {
      warnings.push({ package: null, file, line: lineNo, message: `original path: ${from.reason}, found '${excerpt(lines[i] ?? '')}'; ignoring this diversion` });
      continue;
    }
    if (!to.ok) {
      warnings.push({ package: null, file, line: lineNo + 1, message: `diverted-to path: ${to.reason}, found '${excerpt(lines[i + 1] ?? '')}'; ignoring this diversion` });
      continue;
    }
    if (by === '' || /\s/.test(by)) {
      warnings.push({ package: null, file, line: lineNo + 2, message: `expected a package name or ':' (local diversion), found '${excerpt(by)}'; ignoring this diversion` });
      continue;
    }
    diversions.push({ from: from.path, to: to.path, by: by === ':' ? null : by });
  }
  return { diversions, warnings };
}
