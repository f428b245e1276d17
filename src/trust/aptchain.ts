// The apt chain as a source of signed records: a .deb at hand, its index entry, the index's signed Release.
import { parseMd5sums } from '../dpkg/md5sums.js';
import type { DbWarning } from '../dpkg/types.js';
import { readDeb, type DebRead } from './deb.js';
import { DebDirs, APT_CACHE, type DebFile } from './debdirs.js';
import { parseConffiles } from './debformat.js';
import { loadIndexes, LISTS_DIR, type IndexFile, type Indexes } from './indexes.js';
import { Keyrings } from './keyrings.js';
import type { IndexEntry } from './packages.js';
import { strongerFailure, type PackageKey, type SignedConffile, type TrustLookup, type TrustSession } from './record.js';

type Failure = Extract<TrustLookup, { found: false }>;

/** A stanza of a Packages index whose chain verified. */
export interface VerifiedStanza {
  readonly entry: IndexEntry;
  readonly index: IndexFile;
}

export interface AptChainOptions {
  /** The checked system (host path). */
  readonly root: string;
  /** `[trust] deb_paths`: directories searched before apt's cache, as paths on the checked system. */
  readonly debPaths: readonly string[];
  /** `[trust] keyrings`: added to apt's default keys for sources without Signed-By. */
  readonly keyrings: readonly string[];
  /** The package names that will be looked up (only their index stanzas are kept). */
  readonly names: ReadonlySet<string>;
  /** The time Valid-Until is compared with. */
  readonly now: Date;
  /** .debs read at once (each may run a decompressor). */
  readonly concurrency: number;
}

/** A tiny semaphore: at most `n` holders. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = Math.max(1, n);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free++;
    }
  }
}

/**
 * Looks for a .deb of the exact installed version in `[trust] deb_paths`, then apt's cache, and
 * accepts it only when the whole file's SHA256 and size equal a stanza of a Packages index whose
 * own hash is in a Release that gpgv verified with the right keys and that has not expired.
 */
export class AptChain implements TrustSession {
  private constructor(
    private readonly indexes: Indexes,
    private readonly debs: DebDirs,
    private readonly keyrings: Keyrings,
    private readonly slots: Slots,
    private readonly byKey: ReadonlyMap<string, { entry: IndexEntry; index: IndexFile }[]>,
  ) {}

  static async open(opts: AptChainOptions): Promise<AptChain> {
    const keyrings = await Keyrings.create(opts.root, opts.keyrings);
    try {
      const indexes = await loadIndexes({ root: opts.root, wanted: opts.names, keyrings, now: opts.now });
      const byKey = new Map<string, { entry: IndexEntry; index: IndexFile }[]>();
      for (const index of indexes.files) {
        for (const entry of index.entries) {
          const k = keyText({ name: entry.package, version: entry.version, arch: entry.architecture });
          const list = byKey.get(k) ?? [];
          list.push({ entry, index });
          byKey.set(k, list);
        }
      }
      const debs = new DebDirs(opts.root, [...opts.debPaths, APT_CACHE]);
      return new AptChain(indexes, debs, keyrings, new Slots(opts.concurrency), byKey);
    } catch (err) {
      await keyrings.close();
      throw err;
    }
  }

  /** Problems met in sources, lists and .debs that did not stop anything. */
  get warnings(): readonly DbWarning[] {
    const dirs = this.debs.notes.map((message): DbWarning => ({ package: null, file: message.file, line: null, message: message.message }));
    return [...this.indexes.warnings, ...dirs];
  }

  async close(): Promise<void> {
    await this.keyrings.close();
  }

  /**
   * The stanzas of `key` in indexes whose signed Release verified (and whose own hash is right), or
   * the strongest reason there are none.
   */
  verifiedStanzas(key: PackageKey): { ok: true; stanzas: VerifiedStanza[] } | { ok: false; failure: Failure } {
    const stanzas = this.byKey.get(keyText(key)) ?? [];
    if (stanzas.length === 0) {
      if (this.indexes.files.length === 0) {
        return { ok: false, failure: fail('no-index', `no Packages index in ${LISTS_DIR} for the sources in /etc/apt/sources.list(.d) (run apt update)`, null) };
      }
      if (this.indexes.names.has(key.name)) {
        return { ok: false, failure: fail('not-in-index', `the indexes list ${key.name}, but not version ${key.version} for ${key.arch} (superseded, or installed from elsewhere)`, null) };
      }
      return { ok: false, failure: fail('local-install', `no index lists ${key.name}: installed from a local .deb, or from a source no longer configured`, null) };
    }
    const good = stanzas.filter((s) => s.index.state.ok);
    if (good.length > 0) return { ok: true, stanzas: good };
    let worst: Failure | null = null;
    for (const s of stanzas) {
      const st = s.index.state;
      if (st.ok) continue;
      // The file at fault: the index whose hash is wrong, else the Release that did not verify.
      const f = fail(st.reason, st.detail, st.reason === 'hash-mismatch' ? s.index.file : s.index.release);
      worst = worst === null ? f : strongerFailure(worst, f);
    }
    return { ok: false, failure: worst as Failure };
  }

  /** The .debs at hand that claim to be `key` ([trust] deb_paths, then apt's cache), in search order. */
  candidates(key: PackageKey): Promise<DebFile[]> {
    return this.debs.candidates(key);
  }

  async lookup(key: PackageKey): Promise<TrustLookup> {
    const what = `${key.name} ${key.version} (${key.arch})`;
    const verified = this.verifiedStanzas(key);
    if (!verified.ok) return verified.failure;
    const good = verified.stanzas;
    let failure: Failure | null = null;
    for (const file of await this.debs.candidates(key)) {
      const r = await this.slots.run(() => readVerified(file, good));
      const outcome = judge(key, file, r, good);
      if (outcome.found) return outcome;
      failure = failure === null ? outcome : strongerFailure(failure, outcome);
    }
    if (failure !== null) return failure;
    const where = this.debs.dirs.join(', ');
    const listed = good[0]?.entry.filename ?? '';
    return fail('deb-not-available', `no .deb of ${what} in ${where}; the signed index lists it as ${listed}`, null);
  }
}

/**
 * Reads a candidate; data.tar (needed for conffile hashes) is decompressed only from a .deb whose
 * whole-file hash already matched a verified stanza, in a second pass that must hash the same
 * again: a hostile file in a cache directory never reaches a decompressor beyond its small
 * control archive.
 */
export async function readVerified(file: DebFile, good: readonly { entry: IndexEntry }[], allData = false): Promise<DebRead> {
  const first = await readDeb(file.host, () => false);
  const conffiles = first.contents?.conffiles ?? null;
  const matches = good.some((s) => s.entry.sha256 === first.sha256 && s.entry.size === first.size);
  if (!matches || (!allData && (conffiles === null || conffiles.trim() === ''))) return first;
  const second = await readDeb(file.host, () => true);
  if (second.sha256 === first.sha256) return second;
  return { ...second, contents: null, error: 'the file changed while it was read' };
}

function keyText(k: PackageKey): string {
  return `${k.name}\0${k.version}\0${k.arch}`;
}

export function fail(reason: Failure['reason'], detail: string, source: string | null): Failure {
  return { found: false, reason, detail, source };
}

/** Decides one candidate .deb against the verified stanzas; builds the record when it matches. */
export function judge(key: PackageKey, file: DebFile, r: DebRead, good: readonly { entry: IndexEntry; index: IndexFile }[]): TrustLookup {
  if (r.sha256 === null) return fail('bad-deb', `${file.shown}: ${r.error ?? 'cannot be read'}`, file.shown);
  const match = good.find((s) => s.entry.sha256 === r.sha256 && s.entry.size === r.size);
  if (match === undefined) {
    const s = good[0] as { entry: IndexEntry; index: IndexFile };
    const said = `SHA256 ${r.sha256}, size ${r.size}; the signed index ${s.index.file} says SHA256 ${s.entry.sha256}, size ${s.entry.size}`;
    if (r.error !== null) return fail('bad-deb', `${file.shown} does not parse (${r.error}), and it is not the signed .deb: ${said}`, file.shown);
    return fail('hash-mismatch', `${file.shown} is not the signed .deb: ${said}`, file.shown);
  }
  if (r.error !== null || r.contents === null) return fail('bad-deb', `${file.shown} is the signed .deb, but it cannot be read: ${r.error ?? 'no contents'}`, file.shown);
  const c = r.contents;
  const ctl = c.control;
  if (ctl.package !== key.name || ctl.version !== key.version || ctl.architecture !== key.arch) {
    return fail('bad-deb', `${file.shown}: its control says ${ctl.package} ${ctl.version} (${ctl.architecture})`, file.shown);
  }
  const id = key.name;
  const md5sums = c.md5sums === null ? null : parseMd5sums(c.md5sums, `${file.shown}:control.tar/md5sums`, id).sums;
  const conffiles: SignedConffile[] = [];
  if (c.conffiles !== null) {
    const parsed = parseConffiles(c.conffiles);
    if (parsed.problems.length > 0) return fail('bad-deb', `${file.shown}: ${parsed.problems[0] ?? ''}`, file.shown);
    const md5ByPath = new Map<string, string | null>();
    for (const e of c.data ?? []) md5ByPath.set(e.path, e.md5);
    for (const d of parsed.entries) conffiles.push({ path: d.path, md5: md5ByPath.get(d.path) ?? null, removeOnUpgrade: d.removeOnUpgrade });
  }
  const state = match.index.state as { ok: true; signer: string };
  return {
    found: true,
    source: file.shown,
    record: { key, debSha256: r.sha256, debSize: r.size, md5sums, conffiles, release: match.index.release, signer: state.signer },
  };
}
