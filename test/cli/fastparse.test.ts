// The parser of plain command lines gives each command the arguments yargs gives it, and hands
// every other command line to yargs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, type Command } from '../../src/cli/commands.js';
import { EXIT } from '../../src/cli/exit.js';
import { fastParse } from '../../src/cli/fastparse.js';
import { commandLine } from '../../src/cli/parse.js';

/** The command table with every command's run replaced by a capture of its arguments. */
function capturing(into: { name: string; args: Record<string, unknown> }[]): Command[] {
  const swap = (cs: readonly Command[]): Command[] =>
    cs.map((c) =>
      'subcommands' in c
        ? { ...c, subcommands: swap(c.subcommands) }
        : {
            ...c,
            run: (args: unknown) => {
              into.push({ name: c.command, args: args as Record<string, unknown> });
              return Promise.resolve(EXIT.ok);
            },
          },
    );
  return swap(COMMANDS);
}

/** What yargs hands the command: its name and the camel-cased keys the fast parser also gives. */
async function viaYargs(argv: readonly string[], keys: readonly string[]): Promise<{ name: string; args: Record<string, unknown> }> {
  const got: { name: string; args: Record<string, unknown> }[] = [];
  await commandLine(argv, () => undefined, capturing(got)).parseAsync();
  const first = got[0];
  assert.ok(first !== undefined, `yargs ran a command for ${argv.join(' ')}`);
  return { name: first.name, args: Object.fromEntries(keys.map((k) => [k, first.args[k]])) };
}

test('plain command lines parse as yargs parses them', async () => {
  const lines = [
    ['check'],
    ['check', 'nginx-common'],
    ['check', 'nginx', 'libc6:amd64', 'python3-*'],
    ['check', '--root', '/srv/r', '--admindir=/srv/db', 'a', '--with-deps', '--no-conffiles', '-j', '3', '--max-mb-per-s', '20'],
    ['check', '-f', 'json', '-q', '-v', '--show-ignored', '--unowned', '--setuid', '--no-verify', '--signed', '--config', '/etc/x.toml'],
    ['check', '--format=debsums', 'a', '--jobs=2'],
    ['agent'],
    ['agent', '--config', '/etc/p.toml', '--root', '/', '--state-dir', '/var/lib/p', '--log-format', 'json'],
    ['status', '--json', '--state-dir', '/s'],
    ['config', 'check', '--config', '/c.toml'],
    ['config', 'show', '--json', '--show-secrets'],
    ['online', '--force'],
    ['alert', 'test', '--json'],
    ['offline-helper', '--config', '/c'],
    ['notify', 'dpkg-start'],
    ['notify', 'dpkg-end', '--state-dir', '/s'],
  ];
  for (const argv of lines) {
    const fast = fastParse(argv);
    assert.ok(fast !== null, `${argv.join(' ')}: parsed without yargs`);
    const keys = Object.keys(fast.args);
    assert.deepEqual({ name: fast.command.command, args: fast.args }, await viaYargs(argv, keys), argv.join(' '));
  }
});

test('anything else is left to yargs: help, completion, errors, repeats, bundled or unknown flags', () => {
  const lines = [
    [],
    ['--help'],
    ['check', '--help'],
    ['check', '--version'],
    ['completion'],
    ['--get-yargs-completions', 'pkgwatch', 'ch'],
    ['chek'],
    ['config'],
    ['alert'],
    ['check', '--root'],
    ['check', '--root', '--quiet'],
    ['check', '--root='],
    ['check', '--root', 'a', '--root', 'b'],
    ['check', '-qv'],
    ['check', '-j4'],
    ['check', '--quiet', 'true'],
    ['check', '--quiet=false'],
    ['check', '--format', 'xml'],
    ['check', '--withDeps'],
    ['check', '--no-root'],
    ['check', '--', 'a'],
    ['check', '--bogus'],
    ['notify'],
    ['notify', 'dpkg-middle'],
    ['notify', 'dpkg-start', 'extra'],
    ['status', 'extra'],
    ['agent', '--log-format', 'xml'],
  ];
  for (const argv of lines) assert.equal(fastParse(argv), null, argv.join(' '));
});
