// The offline actions (flag file, systemd units, a command) behind one interface and one table, and the two runs over them: offline and back online.
import type { ActionOutcome } from '../alerts/sink.js';
import type { ResolvedConfig } from '../config/schema.js';
import { formatArgv, formatMs, runCommand, type RunOptions } from './command.js';
import { createFlagFile, removeFlagFile } from './flagfile.js';

/** An offline action, as `only` names it. */
export type ActionName = 'flag_file' | 'stop_units' | 'command';

/** The part of `[offline]` the actions read (a whole `ResolvedConfig['offline']` will do). */
export type OfflineConfig = Pick<ResolvedConfig['offline'], 'flagFile' | 'stopUnits' | 'command' | 'restoreCommand' | 'commandTimeoutMs'>;

/** What the actions need besides the config. */
export interface RespondContext {
  /** ISO 8601 time the site went offline (the flag file is empty: the offline record keeps it). */
  readonly since: string;
  /** Why (kept by the offline record and the alert, not written into the flag file). */
  readonly reason: string;
  /** The systemctl program: a path or a name looked up in PATH; default `systemctl`. */
  readonly systemctl?: string;
  /** The environment commands and systemctl run with (and PATH to find them); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** After a timeout's SIGTERM, wait this long before SIGKILL; default 5 s. */
  readonly killGraceMs?: number;
}

/** One kind of step: what it does to take the site offline, and what undoes it. */
interface OfflineAction {
  readonly name: ActionName;
  /** The outcome's `action` for each direction (also used when the step fails unexpectedly). */
  readonly downStep: ActionOutcome['action'];
  readonly upStep: ActionOutcome['action'];
  /** Whether the config gives it anything to do, in either direction. */
  configured(cfg: OfflineConfig): boolean;
  /** One line per step, each way, for `config show`, the README and messages. */
  describe(cfg: OfflineConfig): { readonly down: readonly string[]; readonly up: readonly string[] };
  /** Takes the site offline: one outcome per step; never rejects. */
  down(cfg: OfflineConfig, ctx: RespondContext): Promise<ActionOutcome[]>;
  /** Undoes `down`: one outcome per step; never rejects. */
  up(cfg: OfflineConfig, ctx: RespondContext): Promise<ActionOutcome[]>;
}

function runOptions(cfg: OfflineConfig, ctx: RespondContext): RunOptions {
  return {
    timeoutMs: cfg.commandTimeoutMs,
    ...(ctx.env !== undefined && { env: ctx.env }),
    ...(ctx.killGraceMs !== undefined && { killGraceMs: ctx.killGraceMs }),
  };
}

const flagFile: OfflineAction = {
  name: 'flag_file',
  downStep: 'flag_file',
  upStep: 'remove_flag_file',
  configured: (cfg) => cfg.flagFile !== '',
  describe: (cfg) => ({
    down: [`create the flag file ${cfg.flagFile} (the web server answers 503 while it exists)`],
    up: [`remove the flag file ${cfg.flagFile}`],
  }),
  down: (cfg) => Promise.resolve([{ action: 'flag_file', target: cfg.flagFile, ...createFlagFile(cfg.flagFile) }]),
  up: (cfg) => Promise.resolve([{ action: 'remove_flag_file', target: cfg.flagFile, ...removeFlagFile(cfg.flagFile) }]),
};

async function systemctl(verb: 'stop' | 'start', units: readonly string[], cfg: OfflineConfig, ctx: RespondContext): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  // One at a time, in order: the config lists them in the order they should stop.
  for (const unit of units) {
    const r = await runCommand([ctx.systemctl ?? 'systemctl', verb, '--', unit], runOptions(cfg, ctx));
    outcomes.push({ action: verb === 'stop' ? 'stop_unit' : 'start_unit', target: unit, ok: r.ok, detail: r.ok ? (verb === 'stop' ? 'stopped' : 'started') : r.detail });
  }
  return outcomes;
}

const stopUnits: OfflineAction = {
  name: 'stop_units',
  downStep: 'stop_unit',
  upStep: 'start_unit',
  configured: (cfg) => cfg.stopUnits.length > 0,
  describe: (cfg) => ({
    down: cfg.stopUnits.map((u) => `systemctl stop ${u}`),
    up: [...cfg.stopUnits].reverse().map((u) => `systemctl start ${u}`),
  }),
  down: (cfg, ctx) => systemctl('stop', cfg.stopUnits, cfg, ctx),
  // Started in reverse: what was stopped first (the front end) comes back last.
  up: (cfg, ctx) => systemctl('start', [...cfg.stopUnits].reverse(), cfg, ctx),
};

async function command(step: 'command' | 'restore_command', argv: readonly string[], cfg: OfflineConfig, ctx: RespondContext): Promise<ActionOutcome[]> {
  if (argv.length === 0) return [];
  const r = await runCommand(argv, runOptions(cfg, ctx));
  return [{ action: step, target: formatArgv(argv), ok: r.ok, detail: r.detail }];
}

const commandAction: OfflineAction = {
  name: 'command',
  downStep: 'command',
  upStep: 'restore_command',
  configured: (cfg) => cfg.command.length > 0 || cfg.restoreCommand.length > 0,
  describe: (cfg) => ({
    down: cfg.command.length > 0 ? [`run ${formatArgv(cfg.command)} (killed after ${formatMs(cfg.commandTimeoutMs)})`] : [],
    up: cfg.restoreCommand.length > 0 ? [`run ${formatArgv(cfg.restoreCommand)} (killed after ${formatMs(cfg.commandTimeoutMs)})`] : [],
  }),
  down: (cfg, ctx) => command('command', cfg.command, cfg, ctx),
  up: (cfg, ctx) => command('restore_command', cfg.restoreCommand, cfg, ctx),
};

/**
 * Every offline action, in the order they take the site offline: the flag first (quickest: the web
 * server stops serving at once), then the units, then the command.
 */
const ACTIONS: readonly OfflineAction[] = Object.freeze([flagFile, stopUnits, commandAction]);

/**
 * The order they bring it back: the units, the restore command, and the flag last, so that the
 * site serves again only once the application is back.
 */
const ONLINE_ORDER: readonly OfflineAction[] = Object.freeze([stopUnits, commandAction, flagFile]);

/** The action names, in the order takeOffline runs them. */
export const ACTION_NAMES: readonly ActionName[] = Object.freeze(ACTIONS.map((a) => a.name));

async function run(actions: readonly OfflineAction[], way: 'down' | 'up', cfg: OfflineConfig, ctx: RespondContext, only?: readonly ActionName[]): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  for (const a of actions) {
    if (only !== undefined && !only.includes(a.name)) continue;
    if (!a.configured(cfg)) continue;
    // Every step runs, whatever happened before it.
    try {
      outcomes.push(...(await a[way](cfg, ctx)));
    } catch (err) {
      outcomes.push({ action: way === 'down' ? a.downStep : a.upStep, target: a.name, ok: false, detail: `internal error: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return outcomes;
}

/**
 * Takes the site offline: creates the flag file, stops each unit in order, runs the command (each
 * only when configured; with `only`, just those actions). Every step runs even when one before it
 * failed, and each gives one outcome. Never rejects.
 */
export function takeOffline(cfg: OfflineConfig, ctx: RespondContext, only?: readonly ActionName[]): Promise<ActionOutcome[]> {
  return run(ACTIONS, 'down', cfg, ctx, only);
}

/**
 * Brings the site back: starts the units in reverse order, runs the restore command, and removes
 * the flag file last, so the site serves again only once the application is back. Every step runs
 * and gives one outcome. Never rejects.
 */
export function bringOnline(cfg: OfflineConfig, ctx: RespondContext, only?: readonly ActionName[]): Promise<ActionOutcome[]> {
  return run(ONLINE_ORDER, 'up', cfg, ctx, only);
}

/**
 * What going offline and coming back would do, one line per configured step in the order they
 * run: `offline: ...` lines, then `online: ...` lines. Empty when nothing is configured.
 */
export function describeActions(cfg: OfflineConfig): string[] {
  const down = ACTIONS.filter((a) => a.configured(cfg)).flatMap((a) => a.describe(cfg).down.map((l) => `offline: ${l}`));
  const up = ONLINE_ORDER.filter((a) => a.configured(cfg)).flatMap((a) => a.describe(cfg).up.map((l) => `online: ${l}`));
  return [...down, ...up];
}
