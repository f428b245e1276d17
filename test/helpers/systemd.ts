// Shared by the tests of what ships in systemd/: finding the systemd tools, and reading unit files.
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { CliResult } from './cli.js';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The program's path, from PATH or the sbin directories a non-root PATH may lack. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The program, or null after skipping the test; in CI (`CI` set) a missing program fails it. */
export function needProgram(t: TestContext, name: string, debianPackage: string): string | null {
  const found = findProgram(name);
  if (found !== null) return found;
  const why = `${name} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`;
  if (process.env['CI'] !== undefined) assert.fail(`CI must check the systemd files, but ${why}`);
  t.skip(why);
  return null;
}

/** A process's exit, stdout and stderr, for assertion messages. */
export function output(r: CliResult): string {
  return `exit ${String(r.code ?? r.signal)}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/**
 * One section's settings of a unit file: key -> values in order. Fails, naming FILE:LINE, on a line
 * that is not a setting and on a trailing comment (systemd has none: `Key=value # why` would put
 * "# why" into the value).
 */
export function unitSection(file: string, section: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let current = '';
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
      const header = /^\[(.+)\]$/.exec(line);
      if (header?.[1] !== undefined) {
        current = header[1];
        return;
      }
      const eq = line.indexOf('=');
      assert.ok(eq > 0, `${file}:${i + 1}: not a setting: ${line}`);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      assert.doesNotMatch(value, /\s#/, `${file}:${i + 1}: a comment must be on its own line`);
      if (current === section) settings.set(key, [...(settings.get(key) ?? []), value]);
    });
  return settings;
}
