// Finds the line where each key of a TOML document is defined (smol-toml gives no positions).

/** Maps a key path (`['schedule', 'splay']`) to the 1-based line that defines it, or undefined. */
export type KeyLocator = (path: readonly string[]) => number | undefined;

const BARE_END = new Set([' ', '\t', '\r', '\n', '.', '=', ']', '}', ',', '#']);
const VALUE_END = new Set([',', ']', '}', '\n', '#']);

function id(path: readonly string[]): string {
  return path.join('\0');
}

/**
 * Scans a TOML document (one smol-toml accepted) tracking `[table]` and `[[array]]` headers,
 * `key = ` lines, dotted keys and the keys of inline tables, and records the line where each key
 * path first appears. Strings (also multi-line ones), arrays and comments are skipped, so text in
 * them is never taken for a key. A path that was not recorded resolves to its nearest recorded
 * ancestor (e.g. a table created implicitly).
 */
export function locateKeys(text: string): KeyLocator {
  const lines = new Map<string, number>();
  const s = text;
  let pos = 0;
  let line = 1;

  const record = (path: readonly string[], at: number): void => {
    for (let n = 1; n <= path.length; n++) {
      const k = id(path.slice(0, n));
      if (!lines.has(k)) lines.set(k, at);
    }
  };

  // Advances over `n` chars, counting newlines.
  const advance = (n: number): void => {
    for (let i = 0; i < n && pos < s.length; i++) {
      if (s[pos] === '\n') line++;
      pos++;
    }
  };

  const skipSpaces = (): void => {
    while (s[pos] === ' ' || s[pos] === '\t' || s[pos] === '\r') pos++;
  };

  // Spaces, newlines and comments (between statements and inside arrays and inline tables).
  const skipBlank = (): void => {
    for (;;) {
      skipSpaces();
      if (s[pos] === '#') {
        while (pos < s.length && s[pos] !== '\n') pos++;
      } else if (s[pos] === '\n') {
        advance(1);
      } else {
        return;
      }
    }
  };

  // A string starting at pos; returns its raw content (escapes decoded as far as JSON can).
  const readString = (): string => {
    const q = s[pos] ?? '"';
    const multi = s.startsWith(q.repeat(3), pos);
    const delim = multi ? q.repeat(3) : q;
    advance(delim.length);
    const start = pos;
    while (pos < s.length) {
      if (q === '"' && s[pos] === '\\') {
        advance(2);
        continue;
      }
      if (s.startsWith(delim, pos)) {
        const raw = s.slice(start, pos);
        advance(delim.length);
        // A multi-line string may end in up to two more quotes, which belong to its content.
        if (multi) for (let i = 0; i < 2 && s[pos] === q; i++) advance(1);
        if (q === "'") return raw;
        try {
          return JSON.parse(`"${raw}"`) as string;
        } catch {
          return raw;
        }
      }
      if (!multi && s[pos] === '\n') break;
      advance(1);
    }
    return s.slice(start, pos);
  };

  const readKeyPath = (): string[] => {
    const path: string[] = [];
    for (;;) {
      skipSpaces();
      const c = s[pos];
      if (c === '"' || c === "'") {
        path.push(readString());
      } else {
        const start = pos;
        while (pos < s.length && !BARE_END.has(s[pos] ?? '')) pos++;
        if (pos === start) return path;
        path.push(s.slice(start, pos));
      }
      skipSpaces();
      if (s[pos] !== '.') return path;
      pos++;
    }
  };

  // Skips one value; records the keys of inline tables under `path` (null inside arrays).
  const skipValue = (path: readonly string[] | null): void => {
    skipSpaces();
    const c = s[pos];
    if (c === '"' || c === "'") {
      readString();
    } else if (c === '[') {
      advance(1);
      for (;;) {
        skipBlank();
        if (pos >= s.length) return;
        if (s[pos] === ']') {
          advance(1);
          return;
        }
        const before = pos;
        skipValue(null);
        skipBlank();
        if (s[pos] === ',') advance(1);
        else if (pos === before) advance(1);
      }
    } else if (c === '{') {
      advance(1);
      for (;;) {
        skipBlank();
        if (pos >= s.length) return;
        if (s[pos] === '}') {
          advance(1);
          return;
        }
        const before = pos;
        const at = line;
        const keys = readKeyPath();
        skipSpaces();
        if (s[pos] === '=') advance(1);
        const sub = path === null ? null : [...path, ...keys];
        if (sub !== null && keys.length > 0) record(sub, at);
        skipValue(sub);
        skipBlank();
        if (s[pos] === ',') advance(1);
        else if (pos === before) advance(1);
      }
    } else {
      while (pos < s.length && !VALUE_END.has(s[pos] ?? '')) pos++;
    }
  };

  let table: string[] = [];
  while (pos < s.length) {
    skipBlank();
    if (pos >= s.length) break;
    const at = line;
    const before = pos;
    if (s[pos] === '[') {
      const array = s[pos + 1] === '[';
      advance(array ? 2 : 1);
      table = readKeyPath();
      skipSpaces();
      advance(array ? 2 : 1);
      record(table, at);
    } else {
      const keys = readKeyPath();
      skipSpaces();
      if (s[pos] === '=') {
        advance(1);
        const full = [...table, ...keys];
        if (keys.length > 0) record(full, at);
        skipValue(full);
      }
    }
    // Whatever is left of the line is a comment (or something smol-toml would have rejected).
    while (pos < s.length && s[pos] !== '\n') pos++;
    if (pos === before) advance(1);
  }

  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const at = lines.get(id(path.slice(0, n)));
      if (at !== undefined) return at;
    }
    return undefined;
  };
}
