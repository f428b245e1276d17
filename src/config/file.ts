// Where the agent's configuration lives by default; apart from load.ts so --help needs no TOML parser.

/** The main config file when `--config` is not given; its drop-ins are in `conf.d/` beside it. */
export const DEFAULT_CONFIG_FILE = '/etc/pkgwatch/pkgwatch.toml';
