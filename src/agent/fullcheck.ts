// The weekly full check: `pkgwatch check` in a child process at the lowest CPU and I/O priority,
// throttled, so it never competes with the site it protects.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findingFields, type FindingJson } from '../verify/report.js';

/** What a full check found, as `check --format json` reports it. */
export interface FullCheckResult {
  readonly findings: FindingJson[];
  readonly summary: { packages: number; files: number; bytes: number; durationMs: number };
  readonly exitCode: number;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * Test-only: `PKGWATCH_FULL_CHECK_NICE=0` in the agent's environment runs the full check without
 * nice and ionice, so that tests on a busy machine wait for the check, not for idle CPU (README,
 * "Tests"). Any other value, or none, keeps the lowest priority.
 */
export const FULL_CHECK_NICE_ENV = 'PKGWATCH_FULL_CHECK_NICE';

/** argv of the child: nice and ionice where present (they are in every Debian base system). */
export function fullCheckCommand(root: string, maxBytesPerSecond: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const check = [process.execPath, CLI, 'check', '--format', 'json', '--root', root, '--jobs', '1'];
  if (maxBytesPerSecond > 0) check.push('--max-mb-per-s', String(maxBytesPerSecond / 1_000_000));
  if (env[FULL_CHECK_NICE_ENV] === '0') return check;
  const prefix: string[] = [];
  if (existsSync('/usr/bin/nice')) prefix.push('/usr/bin/nice', '-n', '19');
  // -t: a sandbox that refuses ioprio_set must not fail the check; it then runs at normal I/O priority.
  if (existsSync('/usr/bin/ionice')) prefix.push('/usr/bin/ionice', '-c', '3', '-t');
  return [...prefix, ...check];
}

/** Runs the full check; rejects when the child fails (exit 2, a signal, unparsable output). */
export function runFullCheck(root: string, maxBytesPerSecond: number, signal: AbortSignal): Promise<FullCheckResult> {
  const [cmd, ...args] = fullCheckCommand(root, maxBytesPerSecond);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'], signal, env: { ...process.env, CI: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, sig) => {
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code === null || code === 2) {
        reject(new Error(`full check ${code === null ? `killed by ${sig ?? 'a signal'}` : 'failed'}${stderr === '' ? '' : `: ${stderr.split('\n').slice(-3).join(' / ')}`}`));
        return;
      }
      try {
        const doc = JSON.parse(Buffer.concat(out).toString('utf8')) as Omit<FullCheckResult, 'exitCode'>;
        // Only the documented finding fields: `check` adds its own (e.g. `ignored`) for people.
        const findings = doc.findings.map(findingFields);
        resolve({ findings, summary: doc.summary, exitCode: code });
      } catch (e) {
        reject(new Error(`full check printed no JSON document (${e instanceof Error ? e.message : String(e)})`));
      }
    });
  });
}
