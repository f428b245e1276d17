// Writes debian/copyright (machine-readable, DEP-5) for the package: pkgwatch itself under MIT,
// then one paragraph per npm package staged under usr/lib/pkgwatch/node_modules, with its version,
// the copyright lines of its own license file and that file verbatim.
// Usage: node scripts/deb/copyright.mjs REPO_DIR APP_DIR > copyright
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [repo, app] = process.argv.slice(2);
if (repo === undefined || app === undefined) {
  process.stderr.write('usage: copyright.mjs REPO_DIR APP_DIR (the staged usr/lib/pkgwatch)\n');
  process.exit(2);
}
/** Where APP_DIR is installed, for the Files: patterns. */
const PREFIX = 'usr/lib/pkgwatch';

/** Every package directory below node_modules (scoped and nested ones too), parents first. */
function packages(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.name.startsWith('@')) {
      out.push(...packages(p));
      continue;
    }
    out.push(p, ...packages(path.join(p, 'node_modules')));
  }
  return out;
}

const LICENSE_FILE = /^(licen[cs]e|copying)([-.].*)?$/i;

/** A text as the continuation lines of a DEP-5 field: each line indented, blank lines as " .". */
function field(text) {
  return text
    .replace(/\t/g, '    ')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/^\n+|\n+$/g, '')
    .split('\n')
    .map((l) => (l === '' ? ' .' : ` ${l}`))
    .join('\n');
}

/** The holders named in a license file: its "Copyright ..." lines without the word and the sign. */
function holders(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(copyright\b|\(c\)|©)/i.test(l) && !/copyright (notice|holders?)\b/i.test(l))
    .map((l) => l.replace(/^(copyright\s*)?(\(c\)|©)?\s*/i, '').trim())
    .filter((l) => l !== '');
}

function authorName(pkg) {
  const a = pkg.author;
  if (typeof a === 'string') return a.replace(/\s*[<(].*$/, '');
  return a?.name;
}

const own = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
const ownLicense = readFileSync(path.join(repo, 'LICENSE'), 'utf8');
const out = [
  [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${own.name}`,
    'Comment: A native package. The files below usr/lib/pkgwatch/node_modules are the npm',
    ' packages pkgwatch needs at run time (its production dependencies, at the versions',
    " package-lock.json pins); each has a paragraph below with the license file it ships.",
  ].join('\n'),
  [`Files: *`, `Copyright: ${holders(ownLicense).join('\n ')}`, `License: ${own.license}`, field(ownLicense)].join('\n'),
];
for (const dir of packages(path.join(app, 'node_modules'))) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const files = readdirSync(dir).filter((f) => LICENSE_FILE.test(f)).sort();
  if (files.length === 0) throw new Error(`${dir}: no license file; add its text to scripts/deb/ by hand`);
  const text = files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n\n');
  const who = holders(text);
  const license = typeof pkg.license === 'string' ? pkg.license : 'unknown';
  out.push(
    [
      `Files: ${PREFIX}/${path.relative(app, dir)}/*`,
      `Copyright: ${(who.length > 0 ? who : [authorName(pkg) ?? 'its authors']).join('\n ')}`,
      `License: ${license}`,
      field(text),
      `Comment: ${pkg.name} ${pkg.version}, from npm`,
    ].join('\n'),
  );
}
process.stdout.write(`${out.join('\n\n')}\n`);
