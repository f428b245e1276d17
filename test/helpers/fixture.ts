// Builds fake Debian systems (files plus a byte-exact dpkg database) in temp dirs for tests that run the real CLI.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { runCli, type CliOptions, type CliResult } from './cli.js';

/** A path on the fixture system: a string is UTF-8 text, a Buffer is raw bytes (for non-UTF-8 names). */
export type SysPath = string | Buffer;

/** A regular file a package ships. */
export interface FixtureFile {
  readonly path: SysPath;
  readonly content: string | Buffer;
  /** The md5 written to md5sums instead of the real one (a file dpkg thinks is different). */
  readonly md5?: string;
  /** Leave the file out of the md5sums file (it is still written and listed). */
  readonly noMd5?: boolean;
}

/** Flags of a `Conffiles:` entry; `newconffile` replaces the hash. */
export type ConffileFlag = 'obsolete' | 'remove-on-upgrade' | 'newconffile';

/** A conffile: recorded in the status `Conffiles:` field, listed in .list, not in md5sums. */
export interface FixtureConffile {
  readonly path: SysPath;
  /** File content; `null` = the file is not written (an obsolete conffile the admin deleted). */
  readonly content: string | Buffer | null;
  readonly md5?: string;
  readonly flags?: readonly ConffileFlag[];
  /** Listed in the package's .list (default true). */
  readonly inList?: boolean;
}

/** A symlink a package ships (listed, never hashed). */
export interface FixtureSymlink {
  readonly path: SysPath;
  readonly target: SysPath;
}

/** One installed (or not) package of the fixture. */
export interface FixturePackage {
  readonly name: string;
  /** `Architecture:`, default `amd64`. */
  readonly arch?: string;
  readonly multiArch?: 'same' | 'foreign' | 'allowed';
  readonly version?: string;
  /** `Status:`, default `install ok installed`. */
  readonly status?: string;
  readonly depends?: string;
  readonly preDepends?: string;
  readonly provides?: string;
  readonly files?: readonly FixtureFile[];
  /** Directories the package owns beyond the parents of its files (created and listed). */
  readonly dirs?: readonly SysPath[];
  readonly symlinks?: readonly FixtureSymlink[];
  readonly conffiles?: readonly FixtureConffile[];
  /** `false`: no md5sums file; a string or Buffer: written as is (`''` for an empty file). */
  readonly md5sums?: false | string | Buffer;
  /** `false`: no .list file; an array: exactly these lines (no `/.`, no parents added). */
  readonly list?: false | readonly SysPath[];
  /** Write files to disk (default true); false for packages whose files are already there. */
  readonly writeFiles?: boolean;
}

interface Diversion {
  readonly from: Buffer;
  readonly to: Buffer;
  readonly by: string;
}

/** Bytes of a path or content. */
export function bytes(p: string | Buffer): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** Lowercase hex md5 of content, as md5sum(1) prints it. */
export function md5(content: string | Buffer): string {
  return createHash('md5').update(bytes(content)).digest('hex');
}

const NL = Buffer.from('\n');

function withoutLeadingSlash(p: Buffer): Buffer {
  let i = 0;
  while (i < p.length && p[i] === 0x2f) i++;
  return p.subarray(i);
}

/** The path with exactly one leading `/`. */
function absPath(p: SysPath): Buffer {
  return Buffer.concat([Buffer.from('/'), withoutLeadingSlash(bytes(p))]);
}

/** `/a/b/c` -> [`/a`, `/a/b`] */
function parentsOf(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 1; i < p.length; i++) if (p[i] === 0x2f) out.push(p.subarray(0, i));
  return out;
}

/** The dpkg info base name: `name:arch` for Multi-Arch: same packages when info/format is 1. */
function infoBase(pkg: FixturePackage, format1: boolean): string {
  return format1 && pkg.multiArch === 'same' ? `${pkg.name}:${pkg.arch ?? 'amd64'}` : pkg.name;
}

/**
 * A fake system root in a fresh temp dir. `addPackage` writes the package's files and its info files
 * immediately; the status and diversions files are rewritten on every change, so the fixture is a
 * consistent dpkg database at all times. Call `cleanup()` when done.
 */
export class FixtureRoot {
  /** The root directory (host path) to pass as `--root`. */
  readonly root: string;
  /** The dpkg admindir, `ROOT/var/lib/dpkg`. */
  readonly admindir: string;
  private readonly stanzas: Buffer[] = [];
  private readonly diversions: Diversion[] = [];
  private format1 = false;

  constructor() {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-'));
    this.admindir = path.join(this.root, 'var/lib/dpkg');
    mkdirSync(path.join(this.admindir, 'info'), { recursive: true });
    mkdirSync(path.join(this.admindir, 'updates'), { recursive: true });
    this.writeStatus();
  }

  /** Host path of a path on the fixture system (UTF-8 text). */
  path(p: string): string {
    return path.join(this.root, p);
  }

  /** Host path of a path on the fixture system, as bytes (for non-UTF-8 names). */
  bytePath(p: SysPath): Buffer {
    return Buffer.concat([Buffer.from(this.root, 'utf8'), Buffer.from('/'), withoutLeadingSlash(bytes(p))]);
  }

  /** Host path of `status`. */
  get statusFile(): string {
    return path.join(this.admindir, 'status');
  }

  /** Host path of an info file of a package, e.g. `infoFile('app', 'md5sums')`. */
  infoFile(base: string, ext: 'md5sums' | 'list' | 'conffiles'): string {
    return path.join(this.admindir, 'info', `${base}.${ext}`);
  }

  /**
   * Writes a file on the fixture system, creating its parents. This is the host's fs: it follows
   * symlinks, so never write through a link that points out of the root.
   */
  write(p: SysPath, content: string | Buffer): void {
    const parent = parentsOf(absPath(p)).pop();
    if (parent !== undefined) mkdirSync(this.bytePath(parent), { recursive: true });
    writeFileSync(this.bytePath(p), bytes(content));
  }

  /** Removes a path (file or tree) on the fixture system. */
  remove(p: SysPath): void {
    rmSync(this.bytePath(p), { recursive: true, force: true });
  }

  /** Adds a package: writes its files, `info/NAME.md5sums`, `info/NAME.list` and its status stanza. */
  addPackage(pkg: FixturePackage): void {
    const files = pkg.files ?? [];
    const conffiles = pkg.conffiles ?? [];
    const symlinks = pkg.symlinks ?? [];

    if (pkg.writeFiles !== false) {
      for (const d of pkg.dirs ?? []) mkdirSync(this.bytePath(d), { recursive: true });
      for (const f of files) this.write(f.path, f.content);
      for (const c of conffiles) if (c.content !== null) this.write(c.path, c.content);
      for (const s of symlinks) {
        const parent = parentsOf(absPath(s.path)).pop();
        if (parent !== undefined) mkdirSync(this.bytePath(parent), { recursive: true });
        symlinkSync(bytes(s.target), this.bytePath(s.path));
      }
    }

    const base = infoBase(pkg, this.format1);
    if (pkg.md5sums !== false) {
      let text: Buffer;
      if (pkg.md5sums !== undefined) text = bytes(pkg.md5sums);
      else {
        // Like dpkg-deb: `HASH  path/without/leading/slash`, one per regular file, conffiles left out.
        text = Buffer.concat(
          files
            .filter((f) => f.noMd5 !== true)
            .map((f) => Buffer.concat([Buffer.from(`${f.md5 ?? md5(f.content)}  `), withoutLeadingSlash(bytes(f.path)), NL])),
        );
      }
      writeFileSync(this.infoFile(base, 'md5sums'), text);
    }

    if (pkg.list !== false) {
      let lines: Buffer[];
      if (pkg.list !== undefined) lines = pkg.list.map(bytes);
      else {
        // Like dpkg: `/.`, then every directory and entry, parents before children.
        const owned = [
          ...files.map((f) => absPath(f.path)),
          ...symlinks.map((s) => absPath(s.path)),
          ...conffiles.filter((c) => c.inList !== false).map((c) => absPath(c.path)),
          ...(pkg.dirs ?? []).map(absPath),
        ];
        const all = new Map<string, Buffer>();
        for (const p of owned) {
          for (const parent of parentsOf(p)) all.set(parent.toString('latin1'), parent);
          all.set(p.toString('latin1'), p);
        }
        lines = [Buffer.from('/.'), ...[...all.values()].sort((a, b) => Buffer.compare(a, b))];
      }
      writeFileSync(this.infoFile(base, 'list'), Buffer.concat(lines.flatMap((l) => [l, NL])));
    }

    let stanza = `Package: ${pkg.name}\nStatus: ${pkg.status ?? 'install ok installed'}\nPriority: optional\nSection: misc\n`;
    stanza += `Installed-Size: 1\nMaintainer: Test <test@example.org>\nArchitecture: ${pkg.arch ?? 'amd64'}\n`;
    if (pkg.multiArch !== undefined) stanza += `Multi-Arch: ${pkg.multiArch}\n`;
    stanza += `Version: ${pkg.version ?? '1.0-1'}\n`;
    if (pkg.provides !== undefined) stanza += `Provides: ${pkg.provides}\n`;
    if (pkg.preDepends !== undefined) stanza += `Pre-Depends: ${pkg.preDepends}\n`;
    if (pkg.depends !== undefined) stanza += `Depends: ${pkg.depends}\n`;
    const parts: Buffer[] = [Buffer.from(stanza, 'utf8')];
    if (conffiles.length > 0) {
      parts.push(Buffer.from('Conffiles:\n'));
      for (const c of conffiles) {
        const flags = c.flags ?? [];
        const hash = flags.includes('newconffile') ? 'newconffile' : (c.md5 ?? md5(c.content ?? ''));
        const rest = flags.filter((f) => f !== 'newconffile').map((f) => ` ${f}`).join('');
        parts.push(Buffer.from(' '), absPath(c.path), Buffer.from(` ${hash}${rest}\n`));
      }
    }
    parts.push(Buffer.from(`Description: test package ${pkg.name}\n`));
    this.stanzas.push(Buffer.concat(parts));
    this.writeStatus();
  }

  /** Appends a raw stanza (text without the blank separator line) to the status file. */
  addRawStanza(text: string | Buffer): void {
    const b = bytes(text);
    this.stanzas.push(b[b.length - 1] === 0x0a ? b : Buffer.concat([b, NL]));
    this.writeStatus();
  }

  /**
   * Records a diversion (`by` = package name, or `:` for a local one). With `rename` (default true),
   * moves the file now at `from` to `to`, as `dpkg-divert --rename` does.
   */
  addDiversion(from: SysPath, to: SysPath, by: string, opts: { rename?: boolean } = {}): void {
    this.diversions.push({ from: absPath(from), to: absPath(to), by });
    if (opts.rename !== false) {
      const content = readFileSync(this.bytePath(from));
      rmSync(this.bytePath(from));
      this.write(to, content);
    }
    const text = Buffer.concat(this.diversions.flatMap((d) => [d.from, NL, d.to, NL, Buffer.from(`${d.by}\n`)]));
    writeFileSync(path.join(this.admindir, 'diversions'), text);
  }

  /** Writes `ROOT/etc/dpkg/dpkg.cfg` (name null) or `ROOT/etc/dpkg/dpkg.cfg.d/NAME`. */
  addDpkgCfg(name: string | null, text: string): void {
    const dir = path.join(this.root, 'etc/dpkg', name === null ? '' : 'dpkg.cfg.d');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name ?? 'dpkg.cfg'), text);
  }

  /** Writes `info/format` = 1: Multi-Arch: same packages added afterwards get `NAME:ARCH.*` info files. */
  setFormat1(): void {
    this.format1 = true;
    writeFileSync(path.join(this.admindir, 'info', 'format'), '1\n');
  }

  /** Writes `var/lib/dpkg/arch` (native architecture first), as `dpkg --add-architecture` leaves it. */
  setArchitectures(archs: readonly string[]): void {
    writeFileSync(path.join(this.admindir, 'arch'), archs.map((a) => `${a}\n`).join(''));
  }

  /** 1-based number of the first line of a host file that contains `needle` (bytes compared). */
  lineOf(file: string, needle: string | Buffer): number {
    const lines = splitLines(readFileSync(file));
    const n = bytes(needle);
    const i = lines.findIndex((l) => l.includes(n));
    if (i < 0) throw new Error(`${file} has no line containing ${JSON.stringify(n.toString('latin1'))}`);
    return i + 1;
  }

  /**
   * Makes the whole tree readable (files 0644, directories 0755) for runs as an unprivileged user;
   * mkdtemp makes the root 0700. Symlinks, FIFOs and sockets are left alone.
   */
  openToAll(): void {
    const walk = (dir: Buffer): void => {
      chmodSync(dir, 0o755);
      for (const e of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
        const child = Buffer.concat([dir, Buffer.from('/'), e.name]);
        if (e.isDirectory()) walk(child);
        else if (e.isFile()) chmodSync(child, 0o644);
      }
    };
    walk(Buffer.from(this.root, 'utf8'));
  }

  /** Removes the temp dir; safe to call twice. */
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private writeStatus(): void {
    writeFileSync(this.statusFile, Buffer.concat(this.stanzas.flatMap((s) => [s, NL])));
  }
}

function splitLines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

/** What lstat found, on unowned and setuid findings of `check --format json`. */
export interface StatJson {
  readonly type: string;
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  readonly user: string | null;
  readonly group: string | null;
  readonly mode: string;
  readonly mtime: string;
  readonly target?: string;
  readonly entries?: number;
}

/** A finding of `check --format json`, as the contract describes it. */
export interface FindingJson {
  readonly package: string;
  readonly path: string;
  readonly status: 'changed' | 'missing' | 'wrong-type' | 'unreadable' | 'unowned' | 'setuid';
  readonly conffile: boolean;
  readonly expected: string | null;
  readonly actual: string | null;
  readonly detail: string | null;
  /** On the config's [ignore] paths (check --config); false without one. */
  readonly ignored: boolean;
  /** Only on unowned and setuid findings. */
  readonly stat?: StatJson;
}

/** A warning of `check --format json`. */
export interface WarningJson {
  readonly package: string | null;
  readonly file: string;
  readonly line: number | null;
  readonly message: string;
}

/** The document `check --format json` prints. */
export interface CheckJson {
  readonly findings: readonly FindingJson[];
  readonly warnings: readonly WarningJson[];
  readonly summary: { readonly packages: number; readonly files: number; readonly bytes: number; readonly durationMs: number };
}

/** A finding without its free-text `detail` (the contract fixes it only for unreadable files). */
export type FindingCore = Omit<FindingJson, 'detail' | 'ignored' | 'stat'>;

/** Drops `detail` (free text), `stat` and `ignored` (checked by checkJson) from findings, to compare the rest. */
export function cores(findings: readonly FindingJson[]): FindingCore[] {
  return findings.map(({ detail: _detail, ignored: _ignored, stat: _stat, ...core }) => core);
}

/** What one `pkgwatch check --format json` run gave: the process result and its parsed stdout. */
export interface CheckRun {
  readonly res: CliResult;
  readonly json: CheckJson;
}

/**
 * Runs `pkgwatch check --root ROOT --format json ...args` and parses stdout. Throws (failing the
 * test with the process output) when stdout is not JSON.
 */
export async function checkJson(fx: FixtureRoot, args: readonly string[], opts: CliOptions = {}): Promise<CheckRun> {
  const res = await runCli(['check', '--root', fx.root, '--format', 'json', ...args], opts);
  let json: CheckJson;
  try {
    json = JSON.parse(res.stdout) as CheckJson;
  } catch {
    throw new Error(`stdout is not JSON (exit ${String(res.code)}, signal ${String(res.signal)}):\n${res.stdout}\nstderr:\n${res.stderr}`);
  }
  for (const f of json.findings) {
    if (typeof f.ignored !== 'boolean') throw new Error(`finding without a boolean "ignored": ${JSON.stringify(f)}`);
  }
  return { res, json };
}

/** CLI options that drop to `nobody` when the tests run as root, so a chmod-000 file really is unreadable. */
export const AS_UNPRIVILEGED: CliOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A fixture root removed when the test ends. */
export function fixture(t: TestContext): FixtureRoot {
  const fx = new FixtureRoot();
  t.after(() => fx.cleanup());
  return fx;
}

/** The expected JSON finding (without detail) for a changed file. */
export function changed(pkg: string, p: string, expected: string | Buffer, actual: string | Buffer, conffile = false): FindingCore {
  return { package: pkg, path: p, status: 'changed', conffile, expected: md5(expected), actual: md5(actual) };
}

/** The expected JSON finding (without detail) for a missing path; `expected` null for existence-only paths. */
export function missing(pkg: string, p: string, expected: string | Buffer | null, conffile = false): FindingCore {
  return { package: pkg, path: p, status: 'missing', conffile, expected: expected === null ? null : md5(expected), actual: null };
}
