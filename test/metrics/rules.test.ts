// The shipped Prometheus alerting rules: valid for promtool, and each rule has a unit test in
// pkgwatch.rules.test.yml that promtool runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/cli.js';
import { promtool } from '../helpers/promtool.js';

const DIR = `${REPO_ROOT}systemd/prometheus/`;

test('promtool check rules accepts the shipped rules', () => {
  const r = promtool(['check', 'rules', `${DIR}pkgwatch.rules.yml`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('promtool test rules: every rule has a test, and all pass', () => {
  const rules = [...readFileSync(`${DIR}pkgwatch.rules.yml`, 'utf8').matchAll(/^\s+- alert: (\S+)$/gm)].map((m) => m[1]);
  const tested = new Set([...readFileSync(`${DIR}pkgwatch.rules.test.yml`, 'utf8').matchAll(/^\s+alertname: (\S+)$/gm)].map((m) => m[1]));
  assert.ok(rules.length >= 6, `rules found: ${rules.join(', ')}`);
  assert.deepEqual(
    rules.filter((r) => !tested.has(r)),
    [],
    'rules without a test',
  );
  const r = promtool(['test', 'rules', `${DIR}pkgwatch.rules.test.yml`]);
  assert.equal(r.code, 0, r.out);
});
