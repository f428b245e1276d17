// Runs Prometheus' own tool (Debian package prometheus) on what pkgwatch produces: a real parser.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** `promtool ARGS` with `input` on stdin: exit code and everything it printed. */
export function promtool(args: readonly string[], input = ''): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.error, undefined, `promtool did not run (Debian package prometheus): ${String(r.error)}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `promtool check metrics` on `text` (the exposition format, with its lint for names and help). */
export function promtoolCheckMetrics(text: string): { code: number | null; out: string } {
  return promtool(['check', 'metrics'], text);
}
