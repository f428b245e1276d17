// The keyrings apt would use for a source, copied (dearmored where needed) into a private dir for gpgv.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, osErrorText } from '../errors.js';
import { dearmorKeys, isArmored } from './armor.js';
import { readCapped } from './safeio.js';
import { resolveInRoot } from './rootpath.js';
import type { SignedBy } from './sources.js';

/** Keyring files are small; Debian's whole archive keyring is ~100 KB. */
const MAX_KEYRING = 16 << 20;

/** apt's rule for the names it reads from trusted.gpg.d. */
const TRUSTED_PART_RE = /^[A-Za-z0-9_.-]+\.(?:gpg|asc)$/;

/** The keyrings for one source, ready for gpgv. */
export interface KeyringChoice {
  /** Binary keyring files in the private dir. */
  readonly files: readonly string[];
  /** Keyrings that could not be used, with why (shown when no signature verifies). */
  readonly problems: readonly string[];
  /** Signed-By fingerprints: the signer must be one of them (empty: any key of the keyrings). */
  readonly fingerprints: readonly string[];
  /** What was used, for messages: `Signed-By /usr/share/keyrings/x.gpg` or `apt's trusted keys`. */
  readonly description: string;
}

/**
 * Owns a private temp dir (mkdtemp, 0700) holding binary copies of every keyring read, so gpgv
 * never opens a path inside the checked system and `.asc` keyrings work (gpgv reads only binary
 * ones). `close()` removes it.
 */
export class Keyrings {
  private readonly cache = new Map<string, Promise<string>>();
  private serial = 0;
  private defaults: Promise<KeyringChoice> | null = null;

  private constructor(
    readonly workDir: string,
    private readonly root: string,
    private readonly extra: readonly string[],
  ) {}

  /** `extra`: `[trust] keyrings`, paths on the checked system, added to apt's default set. */
  static async create(root: string, extra: readonly string[]): Promise<Keyrings> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pkgwatch-gpgv-'));
    return new Keyrings(dir, root, extra);
  }

  /** The keyrings for a source: its Signed-By, or else apt's trusted.gpg(.d) plus `[trust] keyrings`. */
  async forSource(signedBy: SignedBy | null): Promise<KeyringChoice> {
    if (signedBy === null || (signedBy.keyrings.length === 0 && signedBy.inline.length === 0)) {
      const d = await (this.defaults ??= this.defaultSet());
      return signedBy === null ? d : { ...d, fingerprints: signedBy.fingerprints, description: `${d.description}, signer ${signedBy.fingerprints.join(' or ')}` };
    }
    const files: string[] = [];
    const problems: string[] = [];
    for (const k of signedBy.keyrings) await this.add(k, files, problems);
    for (const armored of signedBy.inline) {
      try {
        files.push(await this.writeArmored(armored, 'the inline Signed-By key'));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const what = [...signedBy.keyrings, ...signedBy.inline.map(() => 'an inline key')];
    return { files, problems, fingerprints: signedBy.fingerprints, description: `Signed-By ${what.join(', ')}` };
  }

  async close(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }

  private async defaultSet(): Promise<KeyringChoice> {
    const files: string[] = [];
    const problems: string[] = [];
    const partsDir = '/etc/apt/trusted.gpg.d';
    let names: string[] = [];
    try {
      names = (await readdir(await resolveInRoot(this.root, partsDir))).filter((n) => TRUSTED_PART_RE.test(n)).sort();
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') problems.push(`${partsDir}: ${osErrorText(err)}`);
    }
    for (const k of ['/etc/apt/trusted.gpg', ...names.map((n) => `${partsDir}/${n}`), ...this.extra]) {
      await this.add(k, files, problems, k === '/etc/apt/trusted.gpg');
    }
    return { files, problems, fingerprints: [], description: "apt's trusted keys (/etc/apt/trusted.gpg, trusted.gpg.d)" + (this.extra.length > 0 ? ' and [trust] keyrings' : '') };
  }

  private async add(systemPath: string, files: string[], problems: string[], optional = false): Promise<void> {
    let p = this.cache.get(systemPath);
    if (p === undefined) {
      p = this.load(systemPath);
      this.cache.set(systemPath, p);
    }
    try {
      files.push(await p);
    } catch (err) {
      if (optional && errnoCode(err) === 'ENOENT') return;
      problems.push(`keyring ${systemPath}: ${(err as Error).message}`);
    }
  }

  private async load(systemPath: string): Promise<string> {
    if (!path.isAbsolute(systemPath)) throw new Error('not an absolute path');
    const bytes = await readCapped(await resolveInRoot(this.root, systemPath), MAX_KEYRING);
    if (bytes === null) throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    if (bytes.length === 0) throw new Error('the file is empty');
    const text = bytes.subarray(0, 200).toString('latin1');
    if (isArmored(text)) return this.writeArmored(bytes.toString('latin1'), systemPath);
    return this.write(bytes);
  }

  private async writeArmored(text: string, what: string): Promise<string> {
    const r = dearmorKeys(text);
    if (!r.ok) throw new Error(`${what}: ${r.message}`);
    return this.write(r.keys);
  }

  private async write(bytes: Buffer): Promise<string> {
    const file = path.join(this.workDir, `keyring-${++this.serial}.gpg`);
    await writeFile(file, bytes, { flag: 'wx', mode: 0o600 });
    return file;
  }
}
