// Commands shown to operators to copy into a shell: each word quoted only where the shell needs it.

/** Characters a POSIX shell takes literally in an unquoted word. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for sh: as is when plain, else in single quotes (a `'` inside becomes `'\''`). */
export function shellWord(word: string): string {
  if (PLAIN.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line for sh: `shellWord` of each word, joined by spaces. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}
