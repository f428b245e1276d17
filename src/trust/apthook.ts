// apt's DPkg::Pre-Install-Pkgs protocol, version 3: the config dump and one line per package action. Pure.

/** One package apt is about to unpack from a .deb. */
export interface HookInstall {
  readonly name: string;
  readonly version: string;
  /** The new version's architecture (from version 3 of the protocol; null in version 2). */
  readonly arch: string | null;
  /** The .deb's absolute path. */
  readonly file: string;
}

/** What the hook was told. */
export interface HookInput {
  readonly version: number | null;
  /** apt's configuration as `key=value` lines (only the last value of a key is kept). */
  readonly config: ReadonlyMap<string, string>;
  readonly installs: readonly HookInstall[];
  /** Lines that could not be read, with their number, for the log. */
  readonly problems: readonly string[];
}

/**
 * Parses what apt writes to a `DPkg::Pre-Install-Pkgs` hook whose `DPkg::Tools::Options::CMD::Version`
 * is 2 or 3 (apt-pkg/deb/dpkgpm.cc): `VERSION N`, apt's configuration as `key=value` lines, a blank
 * line, then one line per action. Version 3: `NAME OLDVER OLDARCH OLDMA OP NEWVER NEWARCH NEWMA WHAT`,
 * with `- - none` for a missing version and WHAT the .deb's path, `**CONFIGURE**` or `**REMOVE**`;
 * version 2: `NAME OLDVER OP NEWVER WHAT`. Version 1 (no header) is .deb paths, one a line. Only
 * unpacks from a .deb are kept; a line of any other shape is a problem, never an exception.
 */
export function parseHookInput(text: string): HookInput {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const config = new Map<string, string>();
  const installs: HookInstall[] = [];
  const problems: string[] = [];
  let i = 0;
  let version: number | null = null;
  const head = /^VERSION (\d+)$/.exec(lines[0] ?? '');
  if (head !== null) {
    version = Number(head[1]);
    for (i = 1; i < lines.length && lines[i] !== ''; i++) {
      const l = lines[i] as string;
      const eq = l.indexOf('=');
      if (eq <= 0) problems.push(`line ${i + 1}: not a 'key=value' configuration line: ${shown(l)}`);
      else config.set(l.slice(0, eq), l.slice(eq + 1));
    }
    i++;
  }
  for (; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.trim() === '') continue;
    const at = `line ${i + 1}`;
    if (version === null) {
      if (l.startsWith('/')) installs.push({ name: '', version: '', arch: null, file: l });
      else problems.push(`${at}: not a .deb path: ${shown(l)}`);
      continue;
    }
    const f = l.split(' ');
    const width = version >= 3 ? 9 : 5;
    if (f.length < width || f.slice(0, width - 1).some((x) => x === '')) {
      problems.push(`${at}: expected ${width} fields (protocol version ${version}): ${shown(l)}`);
      continue;
    }
    const what = f.slice(width - 1).join(' ');
    if (what === '**CONFIGURE**' || what === '**REMOVE**') continue;
    const [name, newVersion, newArch] = version >= 3 ? [f[0], f[5], f[6]] : [f[0], f[3], null];
    if (!what.startsWith('/') || newVersion === '-' || name === undefined || newVersion === undefined) {
      problems.push(`${at}: not an unpack from a .deb: ${shown(l)}`);
      continue;
    }
    installs.push({ name, version: newVersion, arch: newArch ?? null, file: what });
  }
  return { version, config, installs, problems };
}

function shown(l: string): string {
  return JSON.stringify(l.length > 200 ? `${l.slice(0, 200)}…` : l);
}

/** The system apt works on: its `Dir` setting (`/` unless apt was run with `-o Dir=...`). */
export function aptRoot(config: ReadonlyMap<string, string>): string {
  const dir = config.get('Dir') ?? '/';
  return dir.startsWith('/') ? dir : '/';
}
