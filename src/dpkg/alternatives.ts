// Parser of update-alternatives' administrative files (`<admindir>/alternatives/NAME`): the links
// it manages and the targets each may point to.

import { normalizeDbPath } from './bytes.js';
import type { BytePath, DbWarning } from './types.js';

/** One alternative group: its master and slave links and, for each, the targets it may point to. */
export interface AlternativeGroup {
  readonly name: string;
  /**
   * Every symlink update-alternatives manages for this group, with the one target it gives it:
   * the master and slave links point to `<altdir>/NAME`, and `<altdir>/NAME` points to one of the
   * choices (so its entry lists every choice).
   */
  readonly links: ReadonlyMap<BytePath, readonly BytePath[]>;
}

/**
 * Parses one administrative file (decoded as latin1). `name` is the file's name (the master name);
 * `altdir` is where the `NAME` symlinks live on the checked system (`/etc/alternatives`). The file
 * is: status, master link, pairs of slave name and slave link up to an empty line, then per choice
 * its path, priority and one line per slave (empty when the choice has no such slave), up to an
 * empty line. A file cut short gives what was read and a warning; never throws.
 */
export function parseAlternative(text: string, name: string, file: string, altdir: BytePath): { group: AlternativeGroup; warnings: DbWarning[] } {
  const lines = text.split('\n');
  const warnings: DbWarning[] = [];
  const links = new Map<BytePath, BytePath[]>();
  const add = (link: BytePath, target: BytePath): void => {
    const list = links.get(link);
    if (list === undefined) links.set(link, [target]);
    else if (!list.includes(target)) list.push(target);
  };
  const abs = (raw: string | undefined): BytePath | null => {
    if (raw === undefined || raw === '') return null;
    const n = normalizeDbPath(raw, false);
    return n.ok ? n.path : null;
  };
  const group = { name, links };
  const master = abs(lines[1]);
  if (master === null) {
    warnings.push({ package: null, file, line: 2, message: 'expected the master link (an absolute path); ignoring this alternative' });
    return { group, warnings };
  }
  const altLink = (n: string): BytePath => `${altdir}/${n}`;
  add(master, altLink(name));
  const slaves: string[] = [];
  let i = 2;
  for (; i + 1 < lines.length && lines[i] !== ''; i += 2) {
    const slaveName = lines[i] ?? '';
    const slaveLink = abs(lines[i + 1]);
    slaves.push(slaveName);
    if (slaveLink !== null && !slaveName.includes('/')) add(slaveLink, altLink(slaveName));
  }
  if (lines[i] !== '') {
    warnings.push({ package: null, file, line: i + 1, message: 'the list of slave links does not end with an empty line; the file is cut short' });
    return { group, warnings };
  }
  i++;
  // Choices: path, priority, one value per slave.
  while (i < lines.length && lines[i] !== '') {
    const choice = abs(lines[i]);
    if (choice !== null) add(altLink(name), choice);
    for (let s = 0; s < slaves.length; s++) {
      const value = abs(lines[i + 2 + s]);
      const slaveName = slaves[s] ?? '';
      if (value !== null && !slaveName.includes('/')) add(altLink(slaveName), value);
    }
    i += 2 + slaves.length;
  }
  return { group, warnings };
}
