// Parser of dpkg's status file: RFC 822-style stanzas to PackageRecords, bad lines to warnings.

import { excerpt, normalizeDbPath } from './bytes.js';
import type { Conffile, DbWarning, PackageRecord, PackageState, Relation, RelationList, SelectionState } from './types.js';

const WANTS: ReadonlySet<string> = new Set<SelectionState>(['unknown', 'install', 'hold', 'deinstall', 'purge']);
const FLAGS: ReadonlySet<string> = new Set(['ok', 'reinstreq']);
const STATES: ReadonlySet<string> = new Set<PackageState>([
  'not-installed',
  'config-files',
  'half-installed',
  'unpacked',
  'half-configured',
  'triggers-awaited',
  'triggers-pending',
  'installed',
]);
const MULTI_ARCH: ReadonlySet<string> = new Set(['no', 'same', 'foreign', 'allowed']);

/** dpkg's rule for package names: alphanumeric first, then alphanumerics and `-+._`. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
/** dpkg's rule for architecture names: alphanumeric first, then alphanumerics and `-`. */
const ARCH_RE = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** One alternative of a relation field; `[arch restrictions]` and `<build profiles>` are ignored. */
const RELATION_RE =
  /^([^\s:(<[\]>,|]+)(?::([^\s(<[\]>,|]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s()]+)\s*\))?\s*(?:\[[^\]]*\]\s*)?(?:<[^>]*>\s*)*$/;
const HEX32_RE = /^[0-9a-fA-F]{32}$/;

/** Fields this parser keeps; every other field is skipped without storing it. */
type KeptField = 'package' | 'status' | 'architecture' | 'multi-arch' | 'version' | 'depends' | 'pre-depends' | 'provides' | 'conffiles';
const KEPT: ReadonlySet<string> = new Set<KeptField>([
  'package',
  'status',
  'architecture',
  'multi-arch',
  'version',
  'depends',
  'pre-depends',
  'provides',
  'conffiles',
]);
/** The usual spelling of each kept field, to skip toLowerCase on nearly every line. */
const CANONICAL: ReadonlyMap<string, string> = new Map(
  ['Package', 'Status', 'Architecture', 'Multi-Arch', 'Version', 'Depends', 'Pre-Depends', 'Provides', 'Conffiles'].map((f) => [f, f.toLowerCase()]),
);

interface FieldValue {
  /** Value on the field's first line, trimmed. */
  readonly first: string;
  readonly line: number;
  /** Continuation lines with their line numbers (only kept for fields this parser reads). */
  readonly more: { text: string; line: number }[];
}

interface Ctx {
  readonly file: string;
  readonly warnings: DbWarning[];
}

function warn(ctx: Ctx, pkg: string | null, line: number | null, message: string): void {
  ctx.warnings.push({ package: pkg, file: ctx.file, line, message });
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** The whole value of a field: first line and continuation lines joined by spaces. */
function joined(f: FieldValue): string {
  if (f.more.length === 0) return f.first;
  return [f.first, ...f.more.map((m) => m.text)].join(' ');
}

/** Parses a Depends-style field; bad alternatives are warned about and dropped. */
function parseRelations(ctx: Ctx, pkg: string, field: string, f: FieldValue): RelationList {
  const groups: Relation[][] = [];
  for (const groupText of joined(f).split(',')) {
    if (groupText.trim() === '') continue;
    const group: Relation[] = [];
    for (const altText of groupText.split('|')) {
      const alt = altText.trim();
      const m = RELATION_RE.exec(alt);
      if (m === null) {
        warn(ctx, pkg, f.line, `${field}: cannot parse '${excerpt(alt)}'; expected 'name[:arch] [(op version)]'; ignoring it`);
        continue;
      }
      let op: Relation['op'] = null;
      const rawOp = m[3];
      if (rawOp === '<') op = '<=';
      else if (rawOp === '>') op = '>=';
      else if (rawOp === '<<' || rawOp === '<=' || rawOp === '=' || rawOp === '>=' || rawOp === '>>') op = rawOp;
      group.push({ name: m[1] ?? '', arch: m[2] ?? null, op, version: m[4] ?? null });
    }
    if (group.length > 0) groups.push(group);
  }
  return groups;
}

/** Parses the Conffiles field: ` /path md5 [obsolete] [remove-on-upgrade]` per line. */
function parseConffiles(ctx: Ctx, pkg: string, f: FieldValue): Conffile[] {
  const out: Conffile[] = [];
  const entries = f.first === '' ? f.more : [{ text: f.first, line: f.line }, ...f.more];
  for (const { text, line } of entries) {
    const t = text.trim();
    if (t === '') continue;
    // Parse from the end like dpkg: trailing flags, then the hash; the rest (spaces and all) is the path.
    const words = t.split(/[ \t]+/);
    let obsolete = false;
    let removeOnUpgrade = false;
    let end = words.length;
    for (;;) {
      const w = words[end - 1];
      if (w === 'obsolete' && !obsolete) obsolete = true;
      else if (w === 'remove-on-upgrade' && !removeOnUpgrade) removeOnUpgrade = true;
      else break;
      end--;
    }
    const hash = end >= 2 ? (words[end - 1] ?? '') : '';
    let md5: string | null;
    if (hash === 'newconffile') md5 = null;
    else if (HEX32_RE.test(hash)) md5 = hash.toLowerCase();
    else {
      warn(ctx, pkg, line, `Conffiles: expected '/path md5sum [obsolete] [remove-on-upgrade]', found '${excerpt(t)}'; skipping it`);
      continue;
    }
    // The path is everything before the hash word; it may contain spaces, so cut words off the end.
    let rawPath = t;
    for (let k = words.length - 1; k >= end - 1; k--) {
      rawPath = rawPath.slice(0, rawPath.length - (words[k] ?? '').length).replace(/[ \t]+$/, '');
    }
    const norm = normalizeDbPath(rawPath, false);
    if (!norm.ok) {
      warn(ctx, pkg, line, `Conffiles: ${norm.reason}, found '${excerpt(rawPath)}'; skipping it`);
      continue;
    }
    out.push({ path: norm.path, md5, obsolete, removeOnUpgrade });
  }
  return out;
}

/** Turns one stanza's fields into a record, or warns and returns null. */
function buildRecord(ctx: Ctx, fields: Map<string, FieldValue>, startLine: number): PackageRecord | null {
  const pkgField = fields.get('package');
  const name = pkgField?.first ?? '';
  if (pkgField === undefined || name === '') {
    warn(ctx, null, startLine, 'stanza has no Package field; expected "Package: NAME"; skipping the stanza');
    return null;
  }
  if (!NAME_RE.test(name)) {
    warn(ctx, null, pkgField.line, `invalid package name '${excerpt(name)}'; skipping the stanza`);
    return null;
  }
  const statusField = fields.get('status');
  const words = statusField === undefined ? [] : statusField.first.split(/[ \t]+/);
  const [want, flag, state] = words;
  if (
    words.length !== 3 ||
    want === undefined ||
    flag === undefined ||
    state === undefined ||
    !WANTS.has(want) ||
    !FLAGS.has(flag) ||
    !STATES.has(state)
  ) {
    const found = statusField === undefined ? 'no Status field' : `'Status: ${excerpt(statusField.first)}'`;
    warn(ctx, name, statusField?.line ?? startLine, `expected "Status: WANT FLAG STATE" (e.g. "install ok installed"), found ${found}; skipping package ${name}`);
    return null;
  }
  const arch = fields.get('architecture')?.first ?? '';
  if (arch !== '' && !ARCH_RE.test(arch)) {
    warn(ctx, name, fields.get('architecture')?.line ?? startLine, `invalid Architecture '${excerpt(arch)}'; skipping package ${name}`);
    return null;
  }
  let multiArch: PackageRecord['multiArch'] = 'no';
  const maField = fields.get('multi-arch');
  if (maField !== undefined) {
    const v = maField.first.toLowerCase();
    if (v === 'no' || v === 'same' || v === 'foreign' || v === 'allowed') multiArch = v;
    else warn(ctx, name, maField.line, `expected Multi-Arch to be one of ${[...MULTI_ARCH].join(', ')}, found '${excerpt(maField.first)}'; taking 'no'`);
  }
  const id = multiArch === 'same' && arch !== '' ? `${name}:${arch}` : name;
  const dep = fields.get('depends');
  const pre = fields.get('pre-depends');
  const prov = fields.get('provides');
  const conf = fields.get('conffiles');
  return {
    name,
    arch,
    multiArch,
    version: fields.get('version')?.first ?? '',
    want,
    flag,
    state,
    depends: dep === undefined ? [] : parseRelations(ctx, id, 'Depends', dep),
    preDepends: pre === undefined ? [] : parseRelations(ctx, id, 'Pre-Depends', pre),
    provides: prov === undefined ? [] : parseRelations(ctx, id, 'Provides', prov).flatMap((g) => g.map((r) => r.name)),
    conffiles: conf === undefined ? [] : parseConffiles(ctx, id, conf),
    line: startLine,
  };
}

/**
 * Parses the text of a dpkg status file (decoded as latin1). Stanzas without a Package field or a
 * valid three-word Status, and duplicates of a name+arch already seen, are skipped with a warning;
 * bad lines inside a stanza are warned about and the rest of the stanza is used. Never throws.
 */
export function parseStatus(text: string, file: string): { packages: PackageRecord[]; warnings: DbWarning[] } {
  const ctx: Ctx = { file, warnings: [] };
  const packages: PackageRecord[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  let fields = new Map<string, FieldValue>();
  /** Whether the last line was a field (so a continuation line is legal). */
  let inField = false;
  /** The kept field continuation lines belong to, or null when they are not needed. */
  let current: FieldValue | null = null;
  let stanzaLine = 0;

  const finish = (): void => {
    if (stanzaLine === 0) return;
    const rec = buildRecord(ctx, fields, stanzaLine);
    if (rec !== null) {
      const key = `${rec.name}:${rec.arch}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, rec.line);
        packages.push(rec);
      } else {
        warn(ctx, rec.name, rec.line, `duplicate stanza for package ${rec.name} (${rec.arch || 'no architecture'}), first at line ${first}; keeping the first`);
      }
    }
    fields = new Map();
    current = null;
    inField = false;
    stanzaLine = 0;
  };

  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    const lineNo = i + 1;
    if (line.charCodeAt(line.length - 1) === 0x0d) line = line.slice(0, -1);
    const c0 = line.charCodeAt(0);
    if (line === '' || ((c0 === 0x20 || c0 === 0x09 || c0 === 0x0d) && isBlank(line))) {
      finish();
      continue;
    }
    if (stanzaLine === 0) stanzaLine = lineNo;
    if (c0 === 0x20 || c0 === 0x09) {
      if (!inField) {
        warn(ctx, null, lineNo, `continuation line outside any field: '${excerpt(line.trim())}'; ignoring it`);
      } else if (current !== null) {
        current.more.push({ text: line, line: lineNo });
      }
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (name === '' || name.indexOf(' ') >= 0 || name.indexOf('\t') >= 0) {
      warn(ctx, null, lineNo, `expected "Field: value" or a continuation line, found '${excerpt(line)}'; ignoring it`);
      inField = false;
      current = null;
      continue;
    }
    inField = true;
    current = null;
    // Most field names are spelt the usual way; only other spellings pay for toLowerCase.
    const key = CANONICAL.get(name) ?? name.toLowerCase();
    if (!KEPT.has(key)) continue; // the value (a Description, say) is not needed
    if (fields.has(key)) {
      warn(ctx, null, lineNo, `duplicate field ${name} in the stanza starting at line ${stanzaLine}; keeping the first`);
      continue;
    }
    current = { first: line.slice(colon + 1).trim(), line: lineNo, more: [] };
    fields.set(key, current);
  }
  finish();
  return { packages, warnings: ctx.warnings };
}
