// Typed errors for conditions an operator must act on; only the CLI entry maps them to exit codes.

/** What went wrong, which decides the exit code in one place (src/cli/main.ts). */
export type ErrorKind = 'usage' | 'database' | 'config' | 'internal';

/** An error meant for people: `message` says what was found, where, and what to do. */
export class PkgwatchError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkgwatchError';
    this.kind = kind;
  }
}

/** Bad command line: unknown option, unknown or not-installed package. */
export function usageError(message: string): PkgwatchError {
  return new PkgwatchError('usage', message);
}

/** The dpkg database cannot be read at all (a single bad line is a warning, not this). */
export function databaseError(message: string, cause?: unknown): PkgwatchError {
  return new PkgwatchError('database', message, { cause });
}
