// The exit-code table, published in README.md; src/cli/main.ts is the only place that exits.

/** Exit codes of every pkgwatch command. */
export const EXIT = {
  /** Nothing found (warnings alone still exit 0). */
  ok: 0,
  /** Integrity findings: changed, missing or wrong-type files. */
  findings: 1,
  /** Error: usage, unknown package, unreadable dpkg database or config. */
  error: 2,
  /** Incomplete: some files could not be read, nothing else was found. */
  incomplete: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
