// Parser of dpkg's statoverride file: `user group mode path` lines to overrides, bad lines to warnings.

import { excerpt, normalizeDbPath } from './bytes.js';
import type { BytePath, DbWarning } from './types.js';

/** One `dpkg-statoverride` entry: the owner and mode dpkg gives a path instead of the package's. */
export interface StatOverride {
  readonly path: BytePath;
  /** A user name, or `#UID` as dpkg-statoverride writes a number. */
  readonly user: string;
  /** A group name, or `#GID`. */
  readonly group: string;
  /** Permission bits with setuid, setgid and sticky (`4754` is 0o4754). */
  readonly mode: number;
  readonly line: number;
}

/**
 * Parses the text of `<admindir>/statoverride` (decoded as latin1): one `user group mode path` per
 * line, the path being the rest of the line after the third space (as dpkg reads it). A line with
 * fewer fields, a mode that is not octal or a relative path is skipped with a warning naming the
 * file and line. Never throws.
 */
export function parseStatOverride(text: string, file: string): { overrides: StatOverride[]; warnings: DbWarning[] } {
  const overrides: StatOverride[] = [];
  const warnings: DbWarning[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const m = /^(\S+) (\S+) (\S+) (.+)$/.exec(line);
    const bad = (why: string): void => {
      warnings.push({ package: null, file, line: i + 1, message: `${why}, found '${excerpt(line)}'; ignoring this override` });
    };
    if (m === null) {
      bad("expected 'user group mode path'");
      continue;
    }
    const [, user = '', group = '', modeText = '', rawPath = ''] = m;
    if (!/^[0-7]{1,5}$/.test(modeText) || Number.parseInt(modeText, 8) > 0o7777) {
      bad(`the mode '${excerpt(modeText)}' is not an octal mode from 0 to 7777`);
      continue;
    }
    const norm = normalizeDbPath(rawPath, false);
    if (!norm.ok) {
      bad(norm.reason);
      continue;
    }
    overrides.push({ path: norm.path, user, group, mode: Number.parseInt(modeText, 8), line: i + 1 });
  }
  return { overrides, warnings };
}
