// Reads pkgwatch.toml and its conf.d/*.toml, validates every file fully and returns the frozen config.
import { constants, type Stats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { PkgwatchError } from '../errors.js';
import { DEFAULT_CONFIG_FILE } from './file.js';
import { combinationProblems } from './combine.js';
import { locateKeys, type KeyLocator } from './locate.js';
import { CONFIG_KEYS, type ResolvedConfig } from './schema.js';
import { deepFreeze, formatProblem, mergeTables, resolvePartial, sortProblems, validateDocument, type ConfigProblem } from './validate.js';

export { DEFAULT_CONFIG_FILE } from './file.js';

/** The configuration does not load: every problem found, sorted by file and line (the message lists them one per line). */
export class ConfigError extends PkgwatchError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('config', problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Where command-line overrides are said to come from in a ConfigProblem. */
export const COMMAND_LINE = 'command line';

/** What `loadConfig` reads and what the command line overrides. */
export interface LoadConfigOptions {
  /** The main file (`--config FILE`); it must exist. Default: DEFAULT_CONFIG_FILE, which may be absent. */
  file?: string | undefined;
  /** Values from the command line, applied over the files; relative paths are resolved from the cwd. */
  overrides?: { root?: string | undefined; stateDir?: string | undefined } | undefined;
}

function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return `cannot be read (${code}: permission denied); run as root or make it readable`;
    case 'ENOTDIR':
      return 'cannot be read (ENOTDIR: a part of the path is not a directory)';
    default:
      return `cannot be read (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}

/**
 * Why root must not use a file or folder: [offline] command runs as root from the configuration, so
 * whoever can change it can run anything as root. Null when it is root's and only root can write it.
 */
function notRootsOnly(st: Pick<Stats, 'uid' | 'mode'>, file: string, what: 'file' | 'directory'): string | null {
  const why = `pkgwatch runs as root, and [offline] command runs as root from the configuration, so whoever can change this ${what} can run commands as root`;
  if (st.uid !== 0) return `is owned by uid ${st.uid}, not root; ${why}: chown root ${file}${st.mode & 0o022 ? ` and chmod go-w ${file}` : ''}`;
  if (st.mode & 0o022) return `is writable by ${st.mode & 0o020 ? (st.mode & 0o002 ? 'group and others' : 'its group') : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); ${why}: chmod go-w ${file}`;
  return null;
}

const asRoot = (): boolean => process.getuid?.() === 0;

/**
 * Reads one config file; null when it is absent and `ifMissing` is null, else a problem if missing,
 * unreadable or not a file, or (running as root) not root's alone: checked on the descriptor that
 * is read, so the file cannot be swapped between the check and the read.
 */
async function readConfigFile(file: string, ifMissing: string | null): Promise<{ text: string } | { problem: ConfigProblem } | null> {
  const fail = (message: string): { problem: ConfigProblem } => ({ problem: { file, line: undefined, message } });
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO would block the open and the read; fstat below refuses it.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return ifMissing === null ? null : fail(ifMissing);
    if (code === 'ENXIO') return fail('is not a regular file, expected a TOML file');
    return fail(describeIoError(err));
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) return fail('is a directory, expected a TOML file');
    if (!st.isFile()) return fail('is not a regular file, expected a TOML file');
    const unsafe = asRoot() ? notRootsOnly(st, file, 'file') : null;
    if (unsafe !== null) return fail(unsafe);
    const bytes = await handle.readFile();
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
    } catch {
      return fail('is not valid UTF-8 (TOML files must be UTF-8)');
    }
  } catch (err) {
    return fail(describeIoError(err));
  } finally {
    await handle.close();
  }
}

/** C-locale (byte) order, as `ls` and shell globs sort with LC_ALL=C. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The `*.toml` files of a conf.d directory (no dotfiles, as a shell glob), in C-locale order. */
async function listDropIns(dir: string): Promise<{ files: string[]; problem?: ConfigProblem }> {
  try {
    if (asRoot()) {
      // Whoever can write conf.d can add a drop-in (or rename root's files around).
      const unsafe = notRootsOnly(await stat(dir), dir, 'directory');
      if (unsafe !== null) return { files: [], problem: { file: dir, line: undefined, message: unsafe } };
    }
    const names = await readdir(dir);
    const files = names.filter((n) => n.endsWith('.toml') && !n.startsWith('.')).sort(byteOrder);
    return { files: files.map((n) => path.join(dir, n)) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { files: [] };
    const message = code === 'ENOTDIR' ? 'is not a directory (drop-in files go in a conf.d directory)' : describeIoError(err);
    return { files: [], problem: { file: dir, line: undefined, message } };
  }
}

function parseToml(text: string, file: string): { doc: TomlTable } | { problem: ConfigProblem } {
  try {
    return { doc: parse(text, { integersAsBigInt: true }) };
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const first = err.message.split('\n')[0] ?? err.message;
    const message = `TOML syntax error: ${first.replace(/^Invalid TOML document: /, '')}`;
    return { problem: { file, line: err.line, column: err.column, message } };
  }
}

function applyOverrides(doc: TomlTable, overrides: LoadConfigOptions['overrides']): { doc: TomlTable; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let values: TomlTable = Object.create(null) as TomlTable;
  for (const [field, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) continue;
    const spec = CONFIG_KEYS.find((k) => k.field === field);
    if (spec === undefined) continue;
    if (value === '') {
      problems.push({ file: COMMAND_LINE, line: undefined, key: spec.key, message: 'is empty; expected a path' });
      continue;
    }
    const abs = path.resolve(value);
    const r = spec.parse(abs);
    if (!r.ok) {
      problems.push({ file: COMMAND_LINE, line: undefined, key: spec.key, message: r.problem });
      continue;
    }
    // The override as a one-key document, nested along the key's path, merged like a file.
    let one: TomlTable[string] = abs;
    for (const part of [...spec.path].reverse()) one = { [part]: one };
    values = mergeTables(values, one as TomlTable);
  }
  return { doc: mergeTables(doc, values), problems };
}

/** A problem between keys is blamed on the last file that set the key named (it won the merge). */
function blame(key: string, message: string, docs: readonly TomlTable[], sources: readonly string[], locators: readonly KeyLocator[], main: string): ConfigProblem {
  const keyPath = key.split('.');
  for (let i = docs.length - 1; i >= 0; i--) {
    if (hasKey(docs[i], keyPath)) return { file: sources[i] ?? main, line: locators[i]?.(keyPath), key, message };
  }
  return { file: sources.at(-1) ?? main, line: undefined, key, message: `${message} (the default)` };
}

function hasKey(doc: TomlTable | undefined, keyPath: readonly string[]): boolean {
  let cur: unknown = doc;
  for (const part of keyPath) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, part)) return false;
    cur = (cur as Record<string, unknown>)[part];
  }
  return true;
}

/**
 * Loads the configuration: the main file (default /etc/pkgwatch/pkgwatch.toml, which may be
 * absent), then `conf.d/*.toml` beside it in C-locale name order, later files winning key by key
 * (arrays are replaced), then `overrides`. Every file is validated in full before anything is
 * used, and the checks between keys run on every value that checked on its own (when every file
 * could be read and parsed); all problems are reported together in one ConfigError (a PkgwatchError
 * of kind 'config'), sorted by file in reading order and line, one per line as `FILE:LINE: ...`.
 * The result is deep-frozen.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  return loadConfigFiles({ main: opts.file ?? DEFAULT_CONFIG_FILE, required: opts.file !== undefined, overrides: opts.overrides });
}

/**
 * loadConfig with the main file and whether it must exist spelled out (the default file may be
 * absent, a file named with `--config` may not); tests use it for an absent main file.
 */
export async function loadConfigFiles(opts: {
  main: string;
  required: boolean;
  overrides?: LoadConfigOptions['overrides'];
}): Promise<ResolvedConfig> {
  const explicit = opts.required;
  const main = path.resolve(opts.main);
  const problems: ConfigProblem[] = [];
  const docs: TomlTable[] = [];
  const sources: string[] = [];
  const locators: KeyLocator[] = [];
  /** A file could not be read or parsed: its keys are unknown. */
  let unreadable = false;

  const load = async (file: string, ifMissing: string | null): Promise<void> => {
    const read = await readConfigFile(file, ifMissing);
    if (read === null) return;
    if ('problem' in read) {
      problems.push(read.problem);
      unreadable = true;
      return;
    }
    const parsed = parseToml(read.text, file);
    if ('problem' in parsed) {
      problems.push(parsed.problem);
      unreadable = true;
      return;
    }
    const locate = locateKeys(read.text);
    problems.push(...validateDocument(parsed.doc, file, locate));
    docs.push(parsed.doc);
    locators.push(locate);
    sources.push(file);
  };

  await load(main, explicit ? 'no such file (the config file named on the command line must exist)' : null);
  const dropIns = await listDropIns(path.join(path.dirname(main), 'conf.d'));
  if (dropIns.problem !== undefined) {
    problems.push(dropIns.problem);
    unreadable = true;
  }
  for (const file of dropIns.files) await load(file, 'no such file (a dangling symlink?)');

  const merged = docs.reduce(mergeTables, Object.create(null) as TomlTable);
  const withOverrides = applyOverrides(merged, opts.overrides);
  problems.push(...withOverrides.problems);
  const resolved = resolvePartial(withOverrides.doc, sources);
  // Keys that disagree, among the values that checked; without a file that did not parse, they could
  // blame a key whose partner is in that file.
  if (!unreadable) {
    for (const p of combinationProblems(resolved.config)) {
      if (p.reads.some((k) => resolved.invalid.has(k))) continue;
      problems.push(blame(p.key, p.message, docs, sources, locators, main));
    }
  }
  if (problems.length > 0) throw new ConfigError(sortProblems(problems, [main, path.join(path.dirname(main), 'conf.d'), ...dropIns.files, COMMAND_LINE]));
  return deepFreeze(resolved.config);
}
