// Reads the admindir files that say what dpkg's tools did outside the packages: statoverride and
// update-alternatives' links.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { errnoCode, osErrorText } from '../errors.js';
import { parseAlternative, type AlternativeGroup } from './alternatives.js';
import { parseStatOverride, type StatOverride } from './statoverride.js';
import type { DbWarning } from './types.js';

/** Where update-alternatives keeps its `NAME` symlinks, on the checked system (its --altdir default). */
export const ALTDIR = '/etc/alternatives';

function missing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `<admindir>/statoverride`; a missing file is no overrides, an unreadable one a warning. */
export async function loadStatOverrides(admindir: string, warnings: DbWarning[]): Promise<StatOverride[]> {
  const file = path.join(admindir, 'statoverride');
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (err) {
    if (!missing(err)) warnings.push({ package: null, file, line: null, message: `cannot read the file (${osErrorText(err)}); setuid files are checked without dpkg-statoverride's entries` });
    return [];
  }
  const parsed = parseStatOverride(text, file);
  warnings.push(...parsed.warnings);
  return parsed.overrides;
}

/** Every group of `<admindir>/alternatives/`; a missing directory is none, an unreadable file a warning. */
export async function loadAlternatives(admindir: string, warnings: DbWarning[]): Promise<AlternativeGroup[]> {
  const dir = path.join(admindir, 'alternatives');
  let names: Buffer[];
  try {
    names = await readdir(dir, { encoding: 'buffer' });
  } catch (err) {
    if (!missing(err)) warnings.push({ package: null, file: dir, line: null, message: `cannot list the directory (${osErrorText(err)}); links update-alternatives made will be reported as unowned` });
    return [];
  }
  const groups: AlternativeGroup[] = [];
  for (const raw of names.sort((a, b) => Buffer.compare(a, b))) {
    const name = raw.toString('latin1');
    if (name.startsWith('.')) continue;
    const file = path.join(dir, raw.toString('utf8'));
    let text: string;
    try {
      text = await readFile(Buffer.concat([Buffer.from(`${dir}/`), raw]), 'latin1');
    } catch (err) {
      if (errnoCode(err) === 'EISDIR' || missing(err)) continue;
      warnings.push({ package: null, file, line: null, message: `cannot read the file (${osErrorText(err)}); its links will be reported as unowned` });
      continue;
    }
    const parsed = parseAlternative(text, name, file, ALTDIR);
    warnings.push(...parsed.warnings);
    groups.push(parsed.group);
  }
  return groups;
}
