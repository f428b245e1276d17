// `pkgwatch trust record|status|verify`: filling the trust store from apt's hook or its cache, and reading it back.
import path from 'node:path';
import { loadDatabase } from '../dpkg/loader.js';
import { AptChain } from './aptchain.js';
import { readDebControl } from './deb.js';
import type { HookInput } from './apthook.js';
import type { PackageKey, UnverifiedReason } from './record.js';
import { recordDeb, type Recorded } from './recorder.js';
import { TrustStore } from './store.js';
import { encodeRecord, type StoredRecord } from './storeformat.js';

/** Where records come from and go. */
export interface TrustRunOptions {
  /** The system apt installs into (host path). */
  readonly root: string;
  /** `[trust] store`, a path on that system. */
  readonly store: string;
  readonly debPaths: readonly string[];
  readonly keyrings: readonly string[];
  readonly now: Date;
  /** One line for the operator (stderr under apt, which the journal keeps for apt's unit runs). */
  readonly log: (line: string) => void;
}

/** How many records a run wrote, by state, and how many .debs it could not record at all. */
export interface RecordSummary {
  signed: number;
  unverified: number;
  failed: number;
  skipped: number;
}

function keyText(k: PackageKey): string {
  return `${k.name} ${k.version} (${k.arch})`;
}

/** Writes one record (and the Release bytes it refers to). */
function store(st: TrustStore, rec: Recorded): string {
  let record = rec.record;
  if (rec.release !== null && record.origin !== null) {
    const sha = st.keepRelease({ bytes: rec.release.bytes, detached: rec.release.detached });
    record = { ...record, origin: { ...record.origin, releaseSha256: sha } };
  }
  return st.write(record);
}

function logRecorded(opts: TrustRunOptions, rec: StoredRecord, file: string): void {
  const k = { name: rec.package, version: rec.version, arch: rec.arch };
  if (rec.state === 'signed') opts.log(`recorded ${keyText(k)}: signed by ${rec.origin?.signer ?? '?'} (${rec.origin?.release ?? '?'}), ${rec.files.length} entries, in ${file}`);
  else opts.log(`recorded ${keyText(k)}: unverified (${rec.reason ?? '?'}): ${rec.detail ?? ''}`);
}

/**
 * Records every .deb apt is about to unpack, as the hook's input lists them. Each problem is a
 * log line and the rest goes on; nothing here throws for one bad .deb or line.
 */
export async function recordFromHook(input: HookInput, opts: TrustRunOptions): Promise<RecordSummary> {
  const sum: RecordSummary = { signed: 0, unverified: 0, failed: 0, skipped: 0 };
  for (const p of input.problems) opts.log(`apt's hook input: ${p}`);
  const jobs: { key: PackageKey; file: string }[] = [];
  for (const i of input.installs) {
    if (i.arch !== null && i.name !== '') {
      jobs.push({ key: { name: i.name.replace(/:.*$/, ''), version: i.version, arch: i.arch }, file: i.file });
      continue;
    }
    // Protocol versions 1 and 2 do not name the architecture: the .deb's control says it (checked again when it is read whole).
    try {
      const c = await readDebControl(i.file);
      jobs.push({ key: { name: c.package, version: c.version, arch: c.architecture }, file: i.file });
    } catch (err) {
      sum.failed++;
      opts.log(`${i.file}: not recorded: ${(err as Error).message}`);
    }
  }
  if (jobs.length === 0) return sum;
  const st = TrustStore.openWrite(path.join(opts.root, opts.store));
  try {
    const chain = await AptChain.open({ root: opts.root, debPaths: opts.debPaths, keyrings: opts.keyrings, names: new Set(jobs.map((j) => j.key.name)), now: opts.now, concurrency: 2 });
    try {
      for (const j of jobs) {
        try {
          const rec = await recordDeb(chain, j.key, { host: j.file, shown: j.file }, opts.now, { onePass: true });
          const had = st.read(j.key);
          const kept = had.ok ? had.record : null;
          // A .deb that cannot be read, or the very .deb already recorded signed, does not undo that record.
          if (rec.record.state === 'unverified' && kept?.state === 'signed' && (rec.record.deb.sha256 === null || rec.record.deb.sha256 === kept.deb.sha256)) {
            opts.log(`${keyText(j.key)}: kept its signed record; ${j.file} could not be verified now (${rec.record.reason ?? '?'}: ${rec.record.detail ?? ''})`);
            sum.skipped++;
            continue;
          }
          logRecorded(opts, rec.record, store(st, rec));
          sum[rec.record.state]++;
        } catch (err) {
          sum.failed++;
          opts.log(`${keyText(j.key)} from ${j.file}: not recorded: ${(err as Error).message}`);
        }
      }
    } finally {
      await chain.close();
    }
  } finally {
    st.close();
  }
  return sum;
}

/** The installed packages of a root's dpkg database. */
async function installedKeys(root: string, admindir: string | undefined): Promise<PackageKey[]> {
  const db = await loadDatabase({ root, ...(admindir === undefined ? {} : { admindir }) });
  return db.packages.filter((p) => p.state === 'installed' && p.arch !== '').map((p) => ({ name: p.name, version: p.version, arch: p.arch }));
}

/**
 * Back-fills the store for what is installed now from the .debs at hand (`[trust] deb_paths`, apt's
 * cache). A package that already has a record, or whose .deb is not at hand, is left as it is.
 */
export async function recordInstalled(opts: TrustRunOptions, admindir: string | undefined): Promise<RecordSummary> {
  const sum: RecordSummary = { signed: 0, unverified: 0, failed: 0, skipped: 0 };
  const keys = await installedKeys(opts.root, admindir);
  const st = TrustStore.openWrite(path.join(opts.root, opts.store));
  try {
    const todo = keys.filter((k) => {
      const r = st.read(k);
      return !(r.ok && r.record !== null);
    });
    sum.skipped = keys.length - todo.length;
    const chain = await AptChain.open({ root: opts.root, debPaths: opts.debPaths, keyrings: opts.keyrings, names: new Set(todo.map((k) => k.name)), now: opts.now, concurrency: 2 });
    try {
      for (const k of todo) {
        const files = await chain.candidates(k);
        let best: Recorded | null = null;
        for (const f of files) {
          const rec = await recordDeb(chain, k, f, opts.now);
          best = rec;
          if (rec.record.state === 'signed') break;
        }
        if (best === null) continue;
        logRecorded(opts, best.record, store(st, best));
        sum[best.record.state]++;
      }
    } finally {
      await chain.close();
    }
  } finally {
    st.close();
  }
  return sum;
}

/** One installed package against the store. */
export interface StatusEntry {
  readonly package: string;
  readonly version: string;
  readonly arch: string;
  /** `none`: no record; `unreadable`: a record that cannot be used (detail says why). */
  readonly state: 'signed' | 'unverified' | 'none' | 'unreadable';
  readonly reason: UnverifiedReason | null;
  readonly detail: string | null;
}

/** Every installed package's state in the store. */
export async function trustStatus(root: string, admindir: string | undefined, storeDir: string): Promise<StatusEntry[]> {
  const keys = await installedKeys(root, admindir);
  const st = TrustStore.openRead(path.join(root, storeDir));
  try {
    return keys.map((k): StatusEntry => {
      const base = { package: k.name, version: k.version, arch: k.arch };
      const r = st.read(k);
      if (!r.ok) return { ...base, state: 'unreadable', reason: null, detail: `${r.file}: ${r.error}` };
      if (r.record === null) return { ...base, state: 'none', reason: null, detail: null };
      return { ...base, state: r.record.state, reason: r.record.reason, detail: r.record.detail };
    });
  } finally {
    st.close();
  }
}

/** One record re-derived from its .deb. */
export interface VerifyEntry {
  readonly package: string;
  readonly version: string;
  readonly arch: string;
  /** `same`: re-derived and equal; `differs`: see detail; `no-deb`: no .deb at hand to re-derive from. */
  readonly state: 'same' | 'differs' | 'no-deb';
  readonly detail: string | null;
}

/** The fields of a record that re-deriving must reproduce (not when or from which path it was recorded). */
function derived(r: StoredRecord): Record<string, string> {
  const { recordedAt, deb, ...rest } = r;
  void recordedAt;
  const body = JSON.parse(encodeRecord({ ...rest, recordedAt: '', deb: { path: '', sha256: deb.sha256, size: deb.size } })) as Record<string, unknown>;
  const origin = body['origin'] as Record<string, unknown> | null;
  if (origin !== null) delete origin['release'];
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, JSON.stringify(v)]));
}

/**
 * Re-derives every record of an installed package whose .deb is at hand and reports each that
 * differs field by field; a record also differs when its kept Release is missing or does not hash
 * to its name.
 */
export async function trustVerify(opts: TrustRunOptions, admindir: string | undefined): Promise<VerifyEntry[]> {
  const keys = await installedKeys(opts.root, admindir);
  const st = TrustStore.openRead(path.join(opts.root, opts.store));
  const out: VerifyEntry[] = [];
  try {
    const recorded: StoredRecord[] = [];
    for (const k of keys) {
      const r = st.read(k);
      if (!r.ok) out.push({ package: k.name, version: k.version, arch: k.arch, state: 'differs', detail: `${r.file}: ${r.error}` });
      else if (r.record !== null) recorded.push(r.record);
    }
    const chain = await AptChain.open({ root: opts.root, debPaths: opts.debPaths, keyrings: opts.keyrings, names: new Set(recorded.map((r) => r.package)), now: opts.now, concurrency: 2 });
    try {
      for (const r of recorded) {
        const key = { name: r.package, version: r.version, arch: r.arch };
        const base = { package: r.package, version: r.version, arch: r.arch };
        if (r.origin !== null && st.releaseOf(r.origin.releaseSha256) === null) {
          out.push({ ...base, state: 'differs', detail: `the signed Release it refers to (${r.origin.releaseSha256}) is missing from the store or does not hash to its name` });
          continue;
        }
        const files = await chain.candidates(key);
        const fresh = files.length === 0 ? null : await recordDeb(chain, key, files[0] as { host: string; shown: string }, opts.now);
        if (fresh === null) {
          out.push({ ...base, state: 'no-deb', detail: null });
          continue;
        }
        if (r.state === 'signed' && fresh.record.state === 'unverified') {
          // The lists may have dropped a superseded version: the .deb itself must still be the one recorded.
          const same = fresh.record.deb.sha256 === r.deb.sha256 && fresh.record.md5sums === r.md5sums && fresh.record.conffiles === r.conffiles;
          out.push({ ...base, state: same ? 'same' : 'differs', detail: same ? null : `${files[0]?.shown ?? ''} has SHA256 ${fresh.record.deb.sha256 ?? '?'}, the record says ${r.deb.sha256 ?? '?'}` });
          continue;
        }
        const a = derived(r);
        const b = derived(fresh.record);
        if (b['origin'] !== 'null') {
          // The Release may have been refreshed since; the .deb and what it holds must not change.
          delete a['origin'];
          delete b['origin'];
        }
        const differ = Object.keys({ ...a, ...b }).filter((f) => a[f] !== b[f]);
        out.push({ ...base, state: differ.length === 0 ? 'same' : 'differs', detail: differ.length === 0 ? null : `re-derived from ${files[0]?.shown ?? ''}, these differ: ${differ.join(', ')}` });
      }
    } finally {
      await chain.close();
    }
  } finally {
    st.close();
  }
  return out;
}
