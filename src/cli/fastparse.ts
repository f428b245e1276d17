// Parses the plain command lines (`check nginx`, `agent --config F`) from the command table without
// yargs, whose import costs more than Node's start and ~14 MB the agent would carry for its life.
// Anything it does not fully understand goes to yargs, which then parses and reports as always.
import type { Argv } from 'yargs';
import { COMMANDS, type Command, type LeafCommand } from './commands.js';

/** What a command's option builder declared: the subset of yargs' option keys this parser honours. */
interface Spec {
  readonly type?: 'string' | 'boolean';
  readonly alias?: string;
  readonly choices?: readonly string[];
  readonly default?: unknown;
  readonly array?: boolean;
}

interface Declared {
  readonly options: Map<string, Spec>;
  readonly positionals: Map<string, Spec>;
}

/** The keys of a spec this parser knows; a spec with any other key is left to yargs. */
const KNOWN_KEYS = new Set(['describe', 'type', 'alias', 'choices', 'default', 'defaultDescription', 'requiresArg', 'array', 'demandOption']);

class Unsupported extends Error {}

/** Runs an option builder against a recorder instead of yargs. */
function declared(leaf: LeafCommand): Declared {
  const d: Declared = { options: new Map(), positionals: new Map() };
  const take = (into: Map<string, Spec>, name: string, spec: Record<string, unknown>): unknown => {
    if (Object.keys(spec).some((k) => !KNOWN_KEYS.has(k))) throw new Unsupported();
    if (spec['type'] !== undefined && spec['type'] !== 'string' && spec['type'] !== 'boolean') throw new Unsupported();
    into.set(name, spec);
    return recorder;
  };
  const recorder: Record<string, unknown> = {
    option: (name: string, spec: Record<string, unknown>) => take(d.options, name, spec),
    positional: (name: string, spec: Record<string, unknown>) => take(d.positionals, name, spec),
    epilog: () => recorder,
  };
  try {
    leaf.options(recorder as unknown as Argv);
  } catch {
    throw new Unsupported(); // it used more of yargs than the recorder has
  }
  return d;
}

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The positionals of a command string: `check [packages..]` -> packages (variadic, optional). */
function positionalsOf(command: string): { name: string; required: boolean; variadic: boolean }[] {
  return command
    .split(' ')
    .slice(1)
    .map((w) => ({ name: w.replace(/^[<[]|(\.\.)?[>\]]$/g, ''), required: w.startsWith('<'), variadic: w.endsWith('..]') || w.endsWith('..>') }));
}

function value(spec: Spec, raw: string): string {
  if (raw === '' || raw.startsWith('-')) throw new Unsupported();
  if (spec.choices !== undefined && !spec.choices.includes(raw)) throw new Unsupported();
  return raw;
}

function parseLeaf(leaf: LeafCommand, argv: readonly string[]): Record<string, unknown> {
  const d = declared(leaf);
  const byFlag = new Map<string, [string, Spec]>();
  for (const [name, spec] of d.options) {
    byFlag.set(`--${name}`, [name, spec]);
    if (spec.alias !== undefined) byFlag.set(`-${spec.alias}`, [name, spec]);
  }
  const args: Record<string, unknown> = {};
  const seen = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('-')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 && a.startsWith('--') ? a.slice(0, eq) : a;
    let hit = byFlag.get(flag);
    let negated = false;
    if (hit === undefined && flag.startsWith('--no-')) {
      hit = byFlag.get(`--${flag.slice(5)}`);
      negated = true;
      if (hit?.[1].type !== 'boolean') throw new Unsupported();
    }
    if (hit === undefined) throw new Unsupported();
    const [name, spec] = hit;
    if (seen.has(name)) throw new Unsupported();
    seen.add(name);
    if (spec.type === 'boolean') {
      // `--flag=x`, and `--flag true` (which yargs reads as the flag's value), are yargs' to parse.
      const next = argv[i + 1];
      if (flag !== a || next === 'true' || next === 'false') throw new Unsupported();
      args[camel(name)] = !negated;
    } else if (spec.type === 'string' || spec.choices !== undefined) {
      args[camel(name)] = value(spec, flag !== a ? a.slice(eq + 1) : (argv[++i] ?? ''));
    } else {
      throw new Unsupported();
    }
  }
  for (const p of positionalsOf(leaf.command)) {
    const spec = d.positionals.get(p.name) ?? {};
    if (spec.type !== 'string' && spec.choices === undefined) throw new Unsupported();
    if (p.variadic) {
      args[camel(p.name)] = rest.splice(0).map((r) => value(spec, r));
    } else {
      const r = rest.shift();
      if (r === undefined) {
        if (p.required) throw new Unsupported();
      } else {
        args[camel(p.name)] = value(spec, r);
      }
    }
  }
  if (rest.length > 0) throw new Unsupported(); // strict: an unknown argument
  for (const [name, spec] of [...d.options, ...d.positionals]) {
    if (!(camel(name) in args) && spec.default !== undefined) args[camel(name)] = spec.default;
  }
  return args;
}

/**
 * The command and its arguments, as yargs would give them to the handler (camel-cased keys), or
 * null when the command line has anything but a command's own plain options and positionals:
 * help, completion, aliases run together, repeated or unknown options, errors. yargs takes those.
 */
export function fastParse(argv: readonly string[], commands: readonly Command[] = COMMANDS): { command: LeafCommand; args: Record<string, unknown> } | null {
  let list = commands;
  let i = 0;
  for (;;) {
    const word = argv[i];
    const c = list.find((x) => x.command.split(' ')[0] === word);
    if (c === undefined) return null;
    i++;
    if ('subcommands' in c) {
      list = c.subcommands;
      continue;
    }
    try {
      return { command: c, args: parseLeaf(c, argv.slice(i)) };
    } catch (err) {
      if (err instanceof Unsupported) return null;
      throw err;
    }
  }
}
