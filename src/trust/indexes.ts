// Loads apt's view of the repositories from a root: sources, signed Release files, and the Packages indexes they vouch for.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { mapLimit } from '../concurrency.js';
import type { DbWarning } from '../dpkg/types.js';
import { errnoCode, osErrorText } from '../errors.js';
import { createDecoder } from './decompress.js';
import { runGpgv } from './gpgv.js';
import type { Keyrings } from './keyrings.js';
import { listsPrefix, packagesFilesOf, type PackagesListFile } from './lists.js';
import { PackagesReader, type IndexEntry } from './packages.js';
import { clearsignedShapeProblem, expiryProblem, parseRelease, type Release } from './release.js';
import type { UnverifiedReason } from './record.js';
import { resolveInRoot } from './rootpath.js';
import { openRegular, readCapped, readChunks } from './safeio.js';
import { parseSourcesDeb822, parseSourcesList, type SourceEntry } from './sources.js';

/** Whether an index may vouch for .debs, and if not, why. */
export type IndexState =
  | { readonly ok: true; readonly signer: string }
  | { readonly ok: false; readonly reason: Extract<UnverifiedReason, 'bad-signature' | 'expired' | 'hash-mismatch' | 'unsigned'>; readonly detail: string };

/** One downloaded Packages index with the entries of the wanted packages. */
export interface IndexFile {
  /** The list file, as a path on the checked system. */
  readonly file: string;
  /** The InRelease or Release that should vouch for it, as a path on the checked system. */
  readonly release: string;
  readonly state: IndexState;
  readonly entries: readonly IndexEntry[];
  /** The signed bytes that verified (InRelease, or Release with its detached Release.gpg); null when none did. */
  readonly signed: SignedRelease | null;
}

/** The Release file as gpgv verified it, kept so the trust store can keep the exact bytes. */
export interface SignedRelease {
  /** InRelease, or Release (then `detached` is Release.gpg). */
  readonly bytes: Buffer;
  readonly detached: Buffer | null;
  readonly suite: string | null;
  readonly codename: string | null;
  readonly date: Date | null;
}

/** Everything the lists say about the wanted packages. */
export interface Indexes {
  readonly files: readonly IndexFile[];
  /** Every package name any index lists. */
  readonly names: ReadonlySet<string>;
  readonly warnings: readonly DbWarning[];
}

export const LISTS_DIR = '/var/lib/apt/lists';
const MAX_RELEASE = 64 << 20;
/** Decompressed Packages indexes above this are refused (Debian's largest is ~60 MB). */
const MAX_INDEX = 2 * 2 ** 30;
const SOURCE_NAME_RE = /^[A-Za-z0-9_.-]+\.(list|sources)$/;

interface LoadOptions {
  readonly root: string;
  readonly wanted: ReadonlySet<string>;
  readonly keyrings: Keyrings;
  readonly now: Date;
}

/** Reads every source file under the root, in apt's order: sources.list, then sources.list.d by name. */
async function loadSources(root: string, warnings: DbWarning[]): Promise<SourceEntry[]> {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  try {
    const names = (await readdir(await resolveInRoot(root, dir))).filter((n) => SOURCE_NAME_RE.test(n)).sort();
    files.push(...names.map((n) => `${dir}/${n}`));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warnings.push({ package: null, file: path.join(root, dir), line: null, message: `cannot list it (${osErrorText(err)}); its sources are not used` });
  }
  const entries: SourceEntry[] = [];
  for (const f of files) {
    const host = await resolveInRoot(root, f);
    let bytes: Buffer | null;
    try {
      bytes = await readCapped(host, 16 << 20);
    } catch (err) {
      warnings.push({ package: null, file: host, line: null, message: `cannot read it (${(err as Error).message}); its sources are not used` });
      continue;
    }
    if (bytes === null) continue;
    const parsed = f.endsWith('.sources') ? parseSourcesDeb822(bytes.toString('latin1'), host) : parseSourcesList(bytes.toString('latin1'), host);
    entries.push(...parsed.entries);
    for (const p of parsed.problems) warnings.push({ package: null, file: p.file, line: p.line, message: `${p.message}; this source is not used` });
  }
  return entries;
}

/** Verifies one suite's Release: signature (with the source's keyrings), shape, parse, Valid-Until. */
async function verifyRelease(
  opts: LoadOptions,
  entry: SourceEntry,
  listsHost: string,
  names: ReadonlySet<string>,
): Promise<{ file: string; state: IndexState; release: Release | null; signed?: SignedRelease }> {
  const prefix = listsPrefix(entry);
  const inRelease = `${prefix}InRelease`;
  const shown = (n: string): string => path.posix.join(LISTS_DIR, n);
  const fail = (reason: Extract<IndexState, { ok: false }>['reason'], file: string, detail: string): { file: string; state: IndexState; release: null } => ({
    file: shown(file),
    state: { ok: false, reason, detail: `${shown(file)}: ${detail}` },
    release: null,
  });
  let signature: Buffer | null;
  let data: Buffer | undefined;
  let file = inRelease;
  try {
    if (names.has(inRelease)) {
      signature = await readCapped(path.join(listsHost, inRelease), MAX_RELEASE);
      const shape = signature === null ? null : clearsignedShapeProblem(signature.toString('latin1'));
      if (shape !== null) return fail('bad-signature', file, `not a valid clearsigned file: ${shape}`);
    } else if (names.has(`${prefix}Release`)) {
      file = `${prefix}Release`;
      if (!names.has(`${prefix}Release.gpg`)) return fail('unsigned', file, 'the repository is not signed (no InRelease, no Release.gpg)');
      data = (await readCapped(path.join(listsHost, file), MAX_RELEASE)) ?? undefined;
      signature = await readCapped(path.join(listsHost, `${file}.gpg`), 1 << 20);
    } else {
      return fail('unsigned', inRelease, 'missing: apt has no signed Release for this source (run apt update)');
    }
  } catch (err) {
    return fail('bad-signature', file, `cannot read it: ${(err as Error).message}`);
  }
  if (signature === null) return fail('unsigned', file, 'missing (run apt update)');
  const keys = await opts.keyrings.forSource(entry.signedBy);
  if (keys.files.length === 0) return fail('bad-signature', file, `no keyring to verify it with (${keys.description}${keys.problems.length > 0 ? `: ${keys.problems.join('; ')}` : ''})`);
  const r = await runGpgv({ workDir: opts.keyrings.workDir, keyrings: keys.files, signature, ...(data === undefined ? {} : { data }) });
  if (!r.verdict.ok) {
    const why = [...r.verdict.problems, ...keys.problems].join('; ');
    return fail('bad-signature', file, `the signature does not verify with ${keys.description}: ${why}`);
  }
  const signer = r.verdict.signers[0] as string;
  if (keys.fingerprints.length > 0) {
    const allowed = new Set(keys.fingerprints);
    if (![...r.verdict.signers, ...r.verdict.keys].some((k) => allowed.has(k))) {
      return fail('bad-signature', file, `signed by ${r.verdict.signers.join(', ')}, but Signed-By allows only ${keys.fingerprints.join(', ')}`);
    }
  }
  const text = (data ?? r.signedText ?? Buffer.alloc(0)).toString('latin1');
  const parsed = parseRelease(text);
  if (!parsed.ok) return fail('bad-signature', file, `the signed Release is malformed${parsed.line === null ? '' : ` (line ${parsed.line} of the signed text)`}: ${parsed.message}`);
  const expired = expiryProblem(parsed.release, opts.now);
  if (expired !== null) return { ...fail('expired', file, `expired: ${expired}`), release: parsed.release };
  const p = parsed.release;
  const signed: SignedRelease = data === undefined ? { bytes: signature, detached: null, suite: p.suite, codename: p.codename, date: p.date } : { bytes: data, detached: signature, suite: p.suite, codename: p.codename, date: p.date };
  return { file: shown(file), state: { ok: true, signer }, release: parsed.release, signed };
}

/** Streams one Packages list file: hashes it raw and decompressed, and reads the wanted stanzas. */
async function readIndex(
  listsHost: string,
  lf: PackagesListFile,
  wanted: ReadonlySet<string>,
): Promise<{ reader: PackagesReader; raw: { sha256: string; size: number }; plain: { sha256: string; size: number } } | { error: string }> {
  const reader = new PackagesReader((n) => wanted.has(n));
  const rawHash = createHash('sha256');
  const plainHash = createHash('sha256');
  let rawSize = 0;
  let plainSize = 0;
  const decoder = createDecoder(
    lf.compression,
    (c) => {
      plainHash.update(c);
      plainSize += c.length;
      reader.push(c.toString('latin1'));
    },
    MAX_INDEX,
  );
  let opened;
  try {
    opened = await openRegular(path.join(listsHost, lf.name));
  } catch (err) {
    decoder.abort();
    return { error: `cannot open it: ${osErrorText(err)}` };
  }
  try {
    for await (const chunk of readChunks(opened.handle, MAX_INDEX)) {
      rawHash.update(chunk);
      rawSize += chunk.length;
      await decoder.write(chunk);
    }
    await decoder.end();
    reader.end();
  } catch (err) {
    decoder.abort();
    return { error: `cannot read it: ${(err as Error).message}` };
  } finally {
    await opened.handle.close();
  }
  return { reader, raw: { sha256: rawHash.digest('hex'), size: rawSize }, plain: { sha256: plainHash.digest('hex'), size: plainSize } };
}

const EXT: Readonly<Record<string, string>> = { none: '', gz: '.gz', xz: '.xz', zstd: '.zst', lz4: '.lz4' };

/**
 * Reads the root's apt sources and lists: verifies each suite's InRelease (or Release +
 * Release.gpg) with the keyrings apt would use, and each Packages index against it, keeping the
 * stanzas of the `wanted` package names. Indexes that fail keep their entries with the reason, so
 * a package they list can say why it is unverified. Per-file problems are warnings.
 */
export async function loadIndexes(opts: LoadOptions): Promise<Indexes> {
  const warnings: DbWarning[] = [];
  const sources = await loadSources(opts.root, warnings);
  const listsHost = await resolveInRoot(opts.root, LISTS_DIR);
  let listed: string[] = [];
  try {
    listed = (await readdir(listsHost, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warnings.push({ package: null, file: listsHost, line: null, message: `cannot list apt's lists (${osErrorText(err)})` });
  }
  const names = new Set(listed);
  // One Release per list prefix: sources that name the same suite twice share it (apt refuses differing Signed-By).
  const suites = new Map<string, { entry: SourceEntry; files: PackagesListFile[] }>();
  for (const e of sources) {
    const prefix = listsPrefix(e);
    const known = suites.get(prefix);
    const files = packagesFilesOf(e, listed);
    if (known === undefined) suites.set(prefix, { entry: e, files });
    else for (const f of files) if (!known.files.some((k) => k.name === f.name)) known.files.push(f);
  }
  const all: IndexFile[] = [];
  const allNames = new Set<string>();
  await mapLimit([...suites.values()], 2, async ({ entry, files }) => {
    if (files.length === 0) return;
    const rel = await verifyRelease(opts, entry, listsHost, names);
    for (const lf of files) {
      const shown = path.posix.join(LISTS_DIR, lf.name);
      const read = await readIndex(listsHost, lf, opts.wanted);
      if ('error' in read) {
        warnings.push({ package: null, file: path.join(listsHost, lf.name), line: null, message: `${read.error}; this index is not used` });
        continue;
      }
      for (const p of read.reader.problems) {
        warnings.push({ package: null, file: path.join(listsHost, lf.name), line: p.line, message: `${p.message} (line of the decompressed index)` });
      }
      for (const n of read.reader.names) allNames.add(n);
      let state = rel.state;
      if (state.ok && rel.release !== null) {
        const plain = rel.release.sha256.get(lf.releasePath);
        const packed = rel.release.sha256.get(`${lf.releasePath}${EXT[lf.compression] ?? ''}`);
        const plainOk = plain !== undefined && plain.sha256 === read.plain.sha256 && plain.size === read.plain.size;
        const packedOk = lf.compression !== 'none' && packed !== undefined && packed.sha256 === read.raw.sha256 && packed.size === read.raw.size;
        if (!plainOk && !packedOk) {
          const said = plain === undefined ? `${rel.file} does not list ${lf.releasePath}` : `${rel.file} says SHA256 ${plain.sha256}, size ${plain.size}`;
          state = { ok: false, reason: 'hash-mismatch', detail: `${shown}: its content has SHA256 ${read.plain.sha256}, size ${read.plain.size}, but ${said}` };
        }
      }
      all.push({ file: shown, release: rel.file, state, entries: read.reader.entries, signed: state.ok ? (rel.signed ?? null) : null });
    }
  });
  all.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { files: all, names: allNames, warnings };
}
