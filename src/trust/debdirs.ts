// Finds the .debs of a package version in `[trust] deb_paths` and apt's cache, identified by their control files.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, osErrorText } from '../errors.js';
import { readDebControl } from './deb.js';
import { debNameHint, type DebControl } from './debformat.js';
import type { PackageKey } from './record.js';
import { resolveInRoot } from './rootpath.js';

/** A .deb file: where it is on the host, and how to name it to people (a path on the checked system). */
export interface DebFile {
  readonly host: string;
  readonly shown: string;
}


export const APT_CACHE = '/var/cache/apt/archives';

interface Listed {
  readonly file: DebFile;
  readonly hint: DebControl | null;
}

/**
 * The .deb files of some directories (paths on the checked system, searched in order), indexed
 * by the apt-style name hint `name_version_arch.deb`. A file named for the wanted version is a
 * candidate (the caller reads it whole and its control must agree); a file named for another
 * version of the package, or not named that way at all, is one when its control file says so. So a
 * renamed .deb is still found, and no file is taken on its name alone.
 */
export class DebDirs {
  private listing: Promise<Listed[]> | null = null;
  private readonly controls = new Map<string, Promise<DebControl>>();
  /** Directories that could not be listed and .debs whose control could not be read (host path, why). */
  readonly notes: { file: string; message: string }[] = [];

  constructor(
    private readonly root: string,
    readonly dirs: readonly string[],
  ) {}

  /** The .debs that claim to be `key`, in search order. */
  async candidates(key: PackageKey): Promise<DebFile[]> {
    const listed = await (this.listing ??= this.list());
    const matches: DebFile[] = [];
    for (const l of listed) {
      const h = l.hint;
      if (h !== null && h.package !== key.name) continue;
      // A name that claims this very version is read whole anyway, and readDeb's control decides.
      if (h !== null && h.version === key.version && h.architecture === key.arch) {
        matches.push(l.file);
        continue;
      }
      let control: DebControl;
      try {
        control = await this.control(l.file.host);
      } catch {
        continue; // noted once, in `notes`
      }
      if (control.package === key.name && control.version === key.version && control.architecture === key.arch) matches.push(l.file);
    }
    return matches;
  }

  private control(host: string): Promise<DebControl> {
    let p = this.controls.get(host);
    if (p === undefined) {
      p = readDebControl(host);
      p.catch((err: unknown) => this.notes.push({ file: host, message: `cannot read its control file (${(err as Error).message}); it is not used` }));
      this.controls.set(host, p);
    }
    return p;
  }

  private async list(): Promise<Listed[]> {
    const out: Listed[] = [];
    for (const dir of this.dirs) {
      let entries;
      const host = await resolveInRoot(this.root, dir);
      try {
        entries = await readdir(host, { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') this.notes.push({ file: host, message: `cannot list it (${osErrorText(err)}); its .debs are not used` });
        continue;
      }
      // Regular files only: a symlink in a cache directory is not followed.
      const names = entries
        .filter((e) => e.isFile() && e.name.endsWith('.deb'))
        .map((e) => e.name)
        .sort();
      for (const n of names) out.push({ file: { host: path.join(host, n), shown: path.posix.join(dir, n) }, hint: debNameHint(n) });
    }
    return out;
  }
}
