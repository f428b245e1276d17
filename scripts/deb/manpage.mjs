// Writes the help2man include file for pkgwatch(8): a COMMANDS section with every command's own
// --help, verbatim, found by walking the "Commands:" lists of --help; help2man itself turns the
// top-level --help and --version into the rest. So the man page says what --help says, once.
// Usage: node scripts/deb/manpage.mjs PKGWATCH > pkgwatch.h2m   (PKGWATCH: a program running the CLI)
import { execFileSync } from 'node:child_process';

const [program] = process.argv.slice(2);
if (program === undefined) {
  process.stderr.write('usage: manpage.mjs PKGWATCH\n');
  process.exit(2);
}

function help(args) {
  return execFileSync(program, [...args, '--help'], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' } });
}

/** The subcommands a --help lists under "Commands:", as argument arrays. */
function subcommands(text, parent) {
  const out = [];
  let inList = false;
  for (const line of text.split('\n')) {
    if (line === 'Commands:') inList = true;
    else if (line.trim() === '') inList = false;
    else if (inList) {
      const words = line.trim().split(/\s+/);
      const name = words[parent.length + 1];
      if (words[0] === 'pkgwatch' && name !== undefined && !name.startsWith('<') && !name.startsWith('[')) out.push([...parent, name]);
    }
  }
  return out;
}

/** Text for roff no-fill mode: backslashes escaped, lines starting with . or ' protected. */
function roff(text) {
  return text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

const sections = [];
const queue = subcommands(help([]), []);
while (queue.length > 0) {
  const args = queue.shift();
  const text = help(args).trimEnd();
  const nested = subcommands(text, args);
  if (nested.length > 0) {
    queue.unshift(...nested);
    continue;
  }
  // `pkgwatch completion --help` prints the completion script itself, not a help text.
  if (!text.startsWith(`pkgwatch ${args.join(' ')}`)) continue;
  sections.push(`.SS "pkgwatch ${args.join(' ')}"\n.nf\n${roff(text)}\n.fi`);
}

process.stdout.write(
  [
    '[COMMANDS]',
    "Each command's own --help:",
    ...sections,
    '[FILES]',
    '.TP\n.I /etc/pkgwatch/pkgwatch.toml\nthe configuration, every key commented out at its default; drop-ins in',
    '.I /etc/pkgwatch/conf.d/*.toml',
    '.TP\n.I /var/lib/pkgwatch\nthe agent\'s state, the dpkg hook\'s marker, the maintenance flag',
    '.TP\n.I /etc/dpkg/dpkg.cfg.d/pkgwatch\nthe dpkg hook: pkgwatch notify dpkg-start|dpkg-end around every dpkg run',
    '.TP\n.I /usr/share/pkgwatch/nginx-maintenance.conf\nthe nginx snippet that answers 503 while the site is offline',
    '[SEE ALSO]',
    '.BR dpkg (1),',
    '.BR debsums (1),',
    '.BR systemd.service (5).',
    'The full manual, with the configuration keys, alert formats and exit codes, is',
    '.IR /usr/share/doc/pkgwatch/README.md.gz .',
    '',
  ].join('\n'),
);
