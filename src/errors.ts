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

/** The errno code of an OS error (`ENOENT`, `EACCES`), or undefined for any other error. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/**
 * An OS error as `CODE: description` (`EACCES: permission denied`), without the path Node repeats
 * after a comma: callers name the file themselves.
 */
export function osErrorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^([A-Z0-9]+): ([^,]+)/.exec(msg);
  return m ? `${m[1]}: ${m[2]}` : `${errnoCode(err) ?? 'EUNKNOWN'}: ${msg}`;
}
