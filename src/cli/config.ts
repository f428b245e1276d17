// `pkgwatch config check` and `pkgwatch config show`: validate the agent's configuration, or print it resolved.
import path from 'node:path';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { configJson, redactSecrets, renderConfigToml } from '../config/render.js';
import type { ResolvedConfig } from '../config/schema.js';
import { usageError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';
import type { ConfigArgs, ConfigCheckArgs, ConfigShowArgs } from './options.js';

/** One problem as `config check --json` prints it (line and key are null when not known). */
export interface ConfigProblemJson {
  file: string;
  line: number | null;
  key: string | null;
  message: string;
}

function load(args: ConfigArgs): Promise<ResolvedConfig> {
  if (args.config === '') throw usageError('--config needs a file, got an empty string');
  return loadConfig({ file: args.config });
}

/** The line `config check` prints for a valid configuration. */
export function configOkMessage(cfg: ResolvedConfig, file: string | undefined): string {
  if (cfg.sources.length > 0) return `pkgwatch: config OK (files: ${cfg.sources.join(', ')})\n`;
  const main = path.resolve(file ?? DEFAULT_CONFIG_FILE);
  const dropIns = path.join(path.dirname(main), 'conf.d', '*.toml');
  return `pkgwatch: config OK (files: none; neither ${main} nor ${dropIns} exists, so every key has its default)\n`;
}

/**
 * `pkgwatch config check [--json]`: 0 when the configuration is valid. Otherwise, in text, throws the
 * ConfigError (main prints every problem on stderr and exits 2); with --json, prints the problems
 * as JSON on stdout and returns 2 itself.
 */
export async function runConfigCheck(args: ConfigCheckArgs): Promise<ExitCode> {
  if (!args.json) {
    const cfg = await load(args);
    await write(configOkMessage(cfg, args.config));
    return EXIT.ok;
  }
  try {
    const cfg = await load(args);
    await write(`${JSON.stringify({ ok: true, files: [...cfg.sources], errors: [] }, null, 2)}\n`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const errors: ConfigProblemJson[] = err.problems.map((p) => ({ file: p.file, line: p.line ?? null, key: p.key ?? null, message: p.message }));
    await write(`${JSON.stringify({ ok: false, errors }, null, 2)}\n`);
    return EXIT.error;
  }
}

/** `pkgwatch config show [--json] [--show-secrets]`: prints the resolved configuration, secrets hidden unless asked for. */
export async function runConfigShow(args: ConfigShowArgs): Promise<ExitCode> {
  const loaded = await load(args);
  const cfg = args.showSecrets ? loaded : redactSecrets(loaded);
  await write(args.json ? configJson(cfg) : renderConfigToml(cfg));
  return EXIT.ok;
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
