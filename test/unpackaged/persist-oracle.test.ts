// The real machine as an oracle: a baseline recorded now, compared at once, reports nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

test('baseline init into a temp state dir, then check --persist on this machine: no findings', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-persist-oracle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'pkgwatch.toml');
  writeFileSync(config, `state_dir = ${JSON.stringify(path.join(dir, 'state'))}\n`);
  const init = await runCli(['baseline', 'init', '--config', config]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /^recorded \d+ entries below 28 persistence points/);
  const check = await runCli(['check', '--persist', '--no-verify', '--format', 'json', '--config', config]);
  const json = JSON.parse(check.stdout) as { findings: unknown[]; summary: { persist: { points: string[]; entries: number } } };
  assert.deepEqual(json.findings, []);
  assert.equal(check.code, 0, check.stderr);
  assert.ok(json.summary.persist.points.includes('/etc/cron.d'));
  assert.ok(json.summary.persist.points.includes('/root/.ssh/authorized_keys'));
});
