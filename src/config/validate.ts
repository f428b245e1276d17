// Checks parsed TOML documents against the key table, merges them and builds the ResolvedConfig.
import type { TomlTable, TomlValue } from 'smol-toml';
import type { KeyLocator } from './locate.js';
import { CONFIG_KEYS, CONFIG_TABLES, type KeySpec, type ResolvedConfig } from './schema.js';
import { isTable, tomlTypeName } from './values.js';

/** One thing wrong with the configuration, at a file and (when known) a line. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number | undefined;
  readonly column?: number | undefined;
  /** The key the problem is about, dotted as in TOML (`alerts.webhook.secret`); absent for a whole file. */
  readonly key?: string | undefined;
  /** What is wrong and what to do, without file, line or key. */
  readonly message: string;
}

/** `FILE:LINE: key 'KEY': message` (or `FILE:LINE:COLUMN:`, or `FILE:` without a line, no key for a whole file). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}${p.column === undefined ? '' : `:${p.column}`}`;
  return `${where}: ${p.key === undefined ? '' : `key '${p.key}': `}${p.message}`;
}

/**
 * Problems in the order an operator fixes them: by file in the order the files are read (`files`;
 * others after them, by name), then by line (a problem with the whole file first), then column.
 */
export function sortProblems(problems: readonly ConfigProblem[], files: readonly string[]): ConfigProblem[] {
  const rank = (f: string): number => {
    const i = files.indexOf(f);
    return i < 0 ? files.length : i;
  };
  return [...problems].sort(
    (a, b) =>
      rank(a.file) - rank(b.file) ||
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

const pathId = (path: readonly string[]): string => path.join('\0');
const KEY_BY_PATH = new Map<string, KeySpec>(CONFIG_KEYS.map((k) => [pathId(k.path), k]));
const TABLE_PATHS = new Set(CONFIG_TABLES.map((t) => pathId(t.path)));

/** Every valid name (key or table), with its path. */
const NAMES: readonly (readonly string[])[] = [...CONFIG_TABLES.map((t) => t.path), ...CONFIG_KEYS.map((k) => k.path)];

/** A key path as written in TOML: segments that are not bare keys are quoted. */
export function displayKey(path: readonly string[]): string {
  return path.map((p) => (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p))).join('.');
}

/** Optimal string alignment distance: edits, with a swap of neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = d[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(v);
    }
    d.push(row);
  }
  return d[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/** Case and `-`/`_` do not count as typos: `Root`, `state-dir` and `stateDir` all find `state_dir`. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The valid key nearest to an unknown one: among the names valid in the same table, the closest
 * by edit distance if it is close (at most a third of the length, at least 1); otherwise a name
 * of the same spelling in another table (a key written under the wrong header).
 */
export function suggestKey(path: readonly string[]): readonly string[] | undefined {
  const parent = pathId(path.slice(0, -1));
  const name = fold(path[path.length - 1] ?? '');
  let best: readonly string[] | undefined;
  let bestDistance = Infinity;
  for (const cand of NAMES) {
    if (pathId(cand.slice(0, -1)) !== parent) continue;
    const c = fold(cand[cand.length - 1] ?? '');
    const dist = editDistance(name, c);
    if (dist < bestDistance && dist <= Math.max(1, Math.floor(Math.max(name.length, c.length) / 3))) {
      best = cand;
      bestDistance = dist;
    }
  }
  if (best !== undefined) return best;
  return NAMES.find((cand) => fold(cand[cand.length - 1] ?? '') === name);
}

function unknownKeyMessage(path: readonly string[]): string {
  const hint = suggestKey(path);
  let msg = 'unknown key';
  if (hint === undefined) return msg;
  msg += `; did you mean '${displayKey(hint)}'?`;
  // `root = ...` after `[schedule]` is `schedule.root`: say why the key moved.
  if (hint.length < path.length && path.length > 1) msg += ' (a key after a [table] header belongs to that table; move it above the first header)';
  return msg;
}

/**
 * Every problem in one parsed document: unknown keys (with the nearest valid key), tables that are
 * not tables, and values their key's checker rejects. Lines come from `locate`.
 */
export function validateDocument(doc: TomlTable, file: string, locate: KeyLocator): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: readonly string[], message: string): void => {
    problems.push({ file, line: locate(path), key: displayKey(path), message });
  };
  const walk = (table: TomlTable, prefix: readonly string[]): void => {
    for (const [name, value] of Object.entries(table)) {
      const path = [...prefix, name];
      const spec = KEY_BY_PATH.get(pathId(path));
      if (spec !== undefined) {
        const r = spec.parse(value);
        if (!r.ok) add(path, `${r.problem}; example: ${spec.example}`);
      } else if (TABLE_PATHS.has(pathId(path))) {
        if (isTable(value)) walk(value, path);
        else add(path, `expected a table, found ${tomlTypeName(value)}; example: [${displayKey(path)}]`);
      } else {
        add(path, unknownKeyMessage(path));
      }
    }
  };
  walk(doc, []);
  // Report in file order; the walk visits keys in the order smol-toml created them.
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** `over` on top of `base`: tables merge key by key, anything else (arrays too) is replaced. */
export function mergeTables(base: TomlTable, over: TomlTable): TomlTable {
  const out: TomlTable = Object.create(null) as TomlTable;
  for (const [k, v] of Object.entries(base)) out[k] = v;
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isTable(prev) && isTable(v) ? mergeTables(prev, v) : v;
  }
  return out;
}

/** The value at `path`: absent, or `blocked` when a table on the way is not a table (reported already). */
function lookup(doc: TomlTable, path: readonly string[]): { value: TomlValue | undefined; blocked: boolean } {
  let cur: TomlValue | undefined = doc;
  for (const part of path) {
    if (cur === undefined) return { value: undefined, blocked: false };
    if (!isTable(cur)) return { value: undefined, blocked: true };
    cur = Object.hasOwn(cur, part) ? cur[part] : undefined;
  }
  return { value: cur, blocked: false };
}

function setField(obj: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (typeof next === 'object' && next !== null) cur = next as Record<string, unknown>;
    else cur = cur[part] = {};
  }
  cur[parts[parts.length - 1] ?? ''] = value;
}

/**
 * Builds the ResolvedConfig (not yet frozen) from a merged document: each key from the document or
 * its default. A value that does not check (validation reported it) takes its default and its key
 * is listed in `invalid`, so the checks between keys can still run on the others and leave out what
 * involves these.
 */
export function resolvePartial(doc: TomlTable, sources: readonly string[]): { config: ResolvedConfig; invalid: ReadonlySet<string> } {
  const out: Record<string, unknown> = {};
  const invalid = new Set<string>();
  for (const spec of CONFIG_KEYS) {
    const found = lookup(doc, spec.path);
    let r = spec.parse(found.value ?? spec.default);
    if (found.blocked || !r.ok) {
      invalid.add(spec.key);
      r = spec.parse(spec.default);
    }
    if (!r.ok) throw new Error(`the default of config key '${spec.key}' does not validate: ${r.problem}`);
    setField(out, spec.field, r.value);
  }
  out['sources'] = [...sources];
  return { config: out as unknown as ResolvedConfig, invalid };
}

/** Freezes an object and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
