// What is not an intrusion though no .list names it: files dpkg's helpers and triggers generate
// (py3compile, update-alternatives, caches), and the operator's `[unowned] allow` globs.
import { compileIgnore, globSource } from '../config/ignore.js';
import type { AlternativeGroup } from '../dpkg/alternatives.js';
import type { BytePath } from '../dpkg/types.js';
import type { FileKind } from '../verify/finding.js';
import type { OwnershipIndex } from './ownership.js';
import { parentPath } from '../dpkg/bytes.js';

/** The operator's allow globs, compiled. */
export interface AllowRules {
  /** The entry matches an allow glob. */
  readonly allows: (p: BytePath) => boolean;
  /**
   * The directory is named by the part before a trailing `/**` of an allow glob: it and everything
   * below it are allowed, and the walk does not go in.
   */
  readonly allowsTree: (p: BytePath) => boolean;
}

/** Compiles `[unowned] allow` (absolute globs, as `[ignore] paths` takes them). */
export function compileAllow(globs: readonly string[]): AllowRules {
  const trees = globs.filter((g) => g.endsWith('/**')).map((g) => g.slice(0, -3));
  const treeRe = trees.length === 0 ? null : new RegExp(`^(?:${trees.map((t) => (t === '' ? '' : globSource(t))).join('|')})$`);
  return { allows: compileIgnore(globs), allowsTree: (p) => treeRe !== null && treeRe.test(p) };
}

/** Built-in rules for files a stock Debian system generates, each with the program that writes it. */
interface GlobRule {
  readonly glob: string;
  readonly by: string;
  /** Only entries of this kind (a directory a postinst makes is judged entry by entry below it). */
  readonly kind?: FileKind;
}

/** The directories base-files' postinst makes under /usr/local, and the `man` link to `share/man`. */
const USR_LOCAL_DIRS = ['bin', 'etc', 'games', 'include', 'lib', 'sbin', 'share', 'share/man', 'src'];

const DEPMOD_FILES = ['alias', 'alias.bin', 'builtin.alias.bin', 'builtin.bin', 'dep', 'dep.bin', 'devname', 'softdep', 'symbols', 'symbols.bin', 'weakdep'];

/**
 * Caches and indexes that triggers and maintainer scripts write next to packaged files. Each
 * names exact file names, so an intruder's file elsewhere in the same directory is still found.
 * (Fonts' and icons' caches, GTK/GIO module caches, MIME and desktop databases, install-info's
 * `dir`, the locale archive, depmod's indexes, nginx's default page, the empty directories
 * postinsts make under /usr/local.)
 */
export const GENERATED_GLOBS: readonly GlobRule[] = [
  { glob: '/usr/share/icons/*/icon-theme.cache', by: 'gtk-update-icon-cache' },
  { glob: '/usr/lib/*/gtk-2.0/*/immodules.cache', by: 'gtk-query-immodules-2.0' },
  { glob: '/usr/lib/*/gtk-3.0/*/immodules.cache', by: 'gtk-query-immodules-3.0' },
  { glob: '/usr/lib/*/gdk-pixbuf-2.0/*/loaders.cache', by: 'gdk-pixbuf-query-loaders' },
  { glob: '/usr/lib/*/gio/modules/giomodule.cache', by: 'gio-querymodules' },
  { glob: '/usr/share/glib-2.0/schemas/gschemas.compiled', by: 'glib-compile-schemas' },
  { glob: '/usr/share/applications/mimeinfo.cache', by: 'update-desktop-database' },
  { glob: '/usr/share/info/dir', by: 'install-info' },
  { glob: '/usr/share/info/dir.old', by: 'install-info' },
  { glob: '/usr/lib/locale/locale-archive', by: 'localedef (locale-gen)' },
  { glob: '/usr/share/fonts/**/fonts.dir', by: 'mkfontdir' },
  { glob: '/usr/share/fonts/**/fonts.scale', by: 'mkfontscale' },
  { glob: '/usr/share/fonts/**/encodings.dir', by: 'mkfontdir' },
  { glob: '/usr/share/fonts/**/.uuid', by: 'fc-cache' },
  ...['/usr/lib/modules', '/lib/modules'].flatMap((d) => DEPMOD_FILES.map((f) => ({ glob: `${d}/*/modules.${f}`, by: 'depmod' }))),
  { glob: '/var/www/html', by: "a web server's postinst (nginx-common's makes it)", kind: 'directory' },
  { glob: '/var/www/html/index.nginx-debian.html', by: "nginx-common's postinst", kind: 'file' },
  ...USR_LOCAL_DIRS.map((d): GlobRule => ({ glob: `/usr/local/${d}`, by: "base-files' postinst", kind: 'directory' })),
  { glob: '/usr/local/man', by: "base-files' postinst", kind: 'symlink' },
  { glob: '/usr/local/lib/python3*', by: "python3.X's postinst", kind: 'directory' },
  { glob: '/usr/local/lib/python3*/dist-packages', by: "python3.X's postinst", kind: 'directory' },
  { glob: '/usr/local/share/ca-certificates', by: "ca-certificates' postinst", kind: 'directory' },
  { glob: '/usr/local/share/fonts', by: "fontconfig-config's postinst", kind: 'directory' },
  { glob: '/usr/local/share/sgml', by: "sgml-base's postinst", kind: 'directory' },
  { glob: '/usr/local/share/sgml/*', by: "sgml-base's postinst", kind: 'directory' },
  { glob: '/usr/local/share/xml', by: "xml-core's postinst", kind: 'directory' },
  { glob: '/usr/local/share/xml/*', by: "xml-core's postinst", kind: 'directory' },
];

/** The part of update-alternatives' database the rules need: each managed link and its allowed targets. */
export type AlternativeLinks = ReadonlyMap<BytePath, readonly BytePath[]>;

/** Merges the groups' links, each at the path a walk meets it. */
export function alternativeLinks(groups: readonly AlternativeGroup[], canonical: (p: BytePath) => BytePath = (p) => p): AlternativeLinks {
  const out = new Map<BytePath, BytePath[]>();
  for (const g of groups) {
    for (const [link, targets] of g.links) {
      const key = canonical(link);
      const list = out.get(key);
      if (list === undefined) out.set(key, [...targets]);
      else for (const t of targets) if (!list.includes(t)) list.push(t);
    }
  }
  return out;
}

/** What the generated-file rules need to know of an entry. */
export interface RuleEntry {
  readonly path: BytePath;
  readonly kind: FileKind;
  /** A symlink's target. */
  readonly target?: BytePath | undefined;
}

/** What the generated-file rules decide: null, or who generated the entry (for tests and `--verbose` reasons). */
export type Generated = string | null;

const PYC_RE = /^(.+)\.cpython-3\d+(?:\.opt-[12])?\.pyc$/;
const DPKG_SIBLING_RE = /^(.+)\.(?:dpkg-(?:old|dist|new|tmp|bak|remove)|ucf-(?:old|new|dist))$/;
const UPDATE_MIME = '/usr/share/mime/';

/**
 * The generated-file rules, compiled once per run. Pure: decides from the path, the kind, a
 * symlink's target and the ownership index.
 */
export class GeneratedRules {
  private readonly globs: { re: RegExp; by: string; kind: FileKind | undefined }[];

  constructor(
    private readonly index: OwnershipIndex,
    private readonly alternatives: AlternativeLinks,
  ) {
    this.globs = GENERATED_GLOBS.map((r) => ({ re: new RegExp(`^${globSource(r.glob)}$`), by: r.by, kind: r.kind }));
  }

  /** Who generated the entry, or null when nothing on a stock system accounts for it. */
  generatedBy(e: RuleEntry): Generated {
    const p = e.path;
    const slash = p.lastIndexOf('/');
    const dir = slash <= 0 ? '/' : p.slice(0, slash);
    const name = p.slice(slash + 1);
    // py3compile: __pycache__ beside packaged directories, and in it byte code of packaged .py files.
    if (name === '__pycache__' && e.kind === 'directory' && this.index.has(dir)) return 'py3compile';
    if (e.kind === 'file' && dir.endsWith('/__pycache__')) {
      const m = PYC_RE.exec(name);
      if (m !== null && this.index.has(`${parentPath(dir)}/${m[1] ?? ''}.py`)) return 'py3compile';
    }
    // update-alternatives: the links it manages, pointing where it points them.
    if (e.kind === 'symlink' && e.target !== undefined && (this.alternatives.get(p)?.includes(e.target) ?? false)) return 'update-alternatives';
    // dpkg and ucf keep the old or the new version of a conffile beside it.
    const sibling = DPKG_SIBLING_RE.exec(p);
    if (sibling !== null && e.kind === 'file' && this.index.isConffile(sibling[1] ?? '')) return 'dpkg (conffile handling)';
    if (p.startsWith(UPDATE_MIME) && !p.startsWith(`${UPDATE_MIME}packages`) && this.index.has(`${UPDATE_MIME}packages`)) return 'update-mime-database';
    for (const g of this.globs) if ((g.kind === undefined || g.kind === e.kind) && g.re.test(p)) return g.by;
    return null;
  }

  /** The target update-alternatives gives a link it manages, for the detail of a link it does not explain. */
  alternativeTargets(p: BytePath): readonly BytePath[] | undefined {
    return this.alternatives.get(p);
  }
}
