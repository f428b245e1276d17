// Config directories for the config tests: real files in a temp dir, removed when the test ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { PkgwatchError } from '../../src/errors.js';

/** A temp dir holding `pkgwatch.toml` and `conf.d/`. */
export class ConfigDir {
  readonly dir = fs.mkdtempSync(`${os.tmpdir()}/pkgwatch-`);
  readonly main = path.join(this.dir, 'pkgwatch.toml');
  readonly confd = path.join(this.dir, 'conf.d');

  /** Writes `pkgwatch.toml`; returns its path. */
  writeMain(text: string): string {
    fs.writeFileSync(this.main, text);
    return this.main;
  }

  /** Writes `conf.d/NAME`; returns its path. */
  writeDropIn(name: string, text: string | Buffer): string {
    fs.mkdirSync(this.confd, { recursive: true });
    const file = path.join(this.confd, name);
    fs.writeFileSync(file, text);
    return file;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function configDir(t: TestContext): ConfigDir {
  const d = new ConfigDir();
  t.after(() => d.cleanup());
  return d;
}

/** Asserts that `p` rejects with a 'config' PkgwatchError whose message is exactly `lines`. */
export async function assertConfigError(p: Promise<unknown>, lines: readonly string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PkgwatchError, String(err));
    assert.equal(err.kind, 'config');
    assert.deepEqual(err.message.split('\n'), lines);
    return true;
  });
}
