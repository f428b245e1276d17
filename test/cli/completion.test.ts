// `pkgwatch completion`: a bash completion script that, sourced into a real bash, completes commands and options.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, runCli, runProcess } from '../helpers/cli.js';

/** What bash's completion function offers for the words typed so far (the last one being completed). */
async function complete(script: string, words: readonly string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
  const program = [
    // The script calls `pkgwatch`: here that is the built CLI.
    `pkgwatch() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }`,
    `source ${JSON.stringify(script)}`,
    `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}`,
    '_pkgwatch_yargs_completions',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = await runProcess('bash', ['-c', program]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

test('pkgwatch completion prints a bash script that completes commands and a command\'s options', async (t) => {
  const r = await runCli(['completion']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^complete .* pkgwatch$/m);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-completion-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'pkgwatch');
  writeFileSync(script, r.stdout);

  assert.deepEqual(await complete(script, ['pkgwatch', 'ch']), ['check']);
  assert.deepEqual(await complete(script, ['pkgwatch', 'co']), ['config', 'completion']);
  const options = await complete(script, ['pkgwatch', 'check', '--for']);
  assert.deepEqual(options, ['--format']);
});
