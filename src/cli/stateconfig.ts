// The agent's configuration as the commands that read or write its state see it (--state-dir applied).
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';

/** The configuration with `--state-dir` applied. */
export function loadStateConfig(args: { config: string | undefined; stateDir: string | undefined }): Promise<ResolvedConfig> {
  return loadConfig({ file: args.config, overrides: args.stateDir === undefined ? {} : { stateDir: args.stateDir } });
}
