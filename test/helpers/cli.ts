// Spawns the built pkgwatch CLI as a real process and captures what it prints and its exit code.
import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, from build/test/helpers/ or test/helpers/. */
export const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/build/') ? '../../../' : '../../', import.meta.url));
/** The CLI entry that `npx pkgwatch` runs. */
export const CLI = `${REPO_ROOT}dist/cli/main.js`;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout as bytes decoded latin1 (one char per byte), for byte-exact comparisons. */
  readonly stdoutBytes: string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the process after this many ms (a hang is a failure, not a stuck suite). */
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Written to the process's stdin (which is otherwise closed). */
  readonly input?: string;
}

/** Runs `node dist/cli/main.js ...args` and resolves when it exits. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], opts);
}

/** Runs any program the same way (for dpkg --verify and debsums as oracles). */
export function runProcess(cmd: string, args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const so: SpawnOptions = {
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...opts.env },
  };
  if (opts.uid !== undefined) so.uid = opts.uid;
  if (opts.gid !== undefined) so.gid = opts.gid;
  if (opts.cwd !== undefined) so.cwd = opts.cwd;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], so);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({
        code,
        signal,
        stdoutBytes: stdout.toString('latin1'),
        stdout: stdout.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
