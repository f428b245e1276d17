// User and group names of the checked system (its /etc/passwd and /etc/group), for findings.
import { constants } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { joinRoot } from '../dpkg/bytes.js';

/** Id to name, as the checked system's account files say; names are byte strings. */
export interface Accounts {
  readonly users: ReadonlyMap<number, string>;
  readonly groups: ReadonlyMap<number, string>;
  /** Name to id, for dpkg-statoverride's names. */
  readonly userIds: ReadonlyMap<string, number>;
  readonly groupIds: ReadonlyMap<string, number>;
}

/** `name:x:id:...` lines to maps; the first line for an id or a name wins, as getpwuid's would. */
export function parseIdFile(text: string): { byId: Map<number, string>; byName: Map<string, number> } {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const name = f[0] ?? '';
    const id = f[2] ?? '';
    if (name === '' || name.startsWith('+') || name.startsWith('-') || !/^\d{1,10}$/.test(id)) continue;
    const n = Number(id);
    if (!byId.has(n)) byId.set(n, name);
    if (!byName.has(name)) byName.set(name, n);
  }
  return { byId, byName };
}

/** The file's text when it is a regular file (never a FIFO, never through a symlink), else ''. */
async function readOrEmpty(root: string, p: string): Promise<string> {
  const host = joinRoot(root, p);
  try {
    if (!(await lstat(host)).isFile()) return '';
    return await readFile(host, { encoding: 'latin1', flag: constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK });
  } catch {
    return '';
  }
}

/** Reads `<root>/etc/passwd` and `<root>/etc/group`; a file that cannot be read gives no names. */
export async function loadAccounts(root: string): Promise<Accounts> {
  const [passwd, group] = await Promise.all([readOrEmpty(root, '/etc/passwd'), readOrEmpty(root, '/etc/group')]);
  const u = parseIdFile(passwd);
  const g = parseIdFile(group);
  return { users: u.byId, groups: g.byId, userIds: u.byName, groupIds: g.byName };
}

/** No names at all (tests, or a root without account files). */
export const NO_ACCOUNTS: Accounts = { users: new Map(), groups: new Map(), userIds: new Map(), groupIds: new Map() };
