// Runs one offline or restore command (or a systemctl call) without a shell, with a timeout, and says how it went in one line.
import { spawn, type ChildProcess } from 'node:child_process';
import { errnoCode, osErrorText } from '../errors.js';

/** How much of the command's output (stdout and stderr, interleaved) is kept: the end, where errors are. */
const KEEP_OUTPUT_BYTES = 2048;
/** The most characters of output an outcome's detail carries (after escaping). */
const DETAIL_OUTPUT_CHARS = 500;
/** After the command itself exited, wait this long for its output pipes to close (a child it left may hold them). */
const DRAIN_MS = 500;
/** The default wait between SIGTERM and SIGKILL after a timeout. */
export const DEFAULT_KILL_GRACE_MS = 5000;

/** How to run one command. */
export interface RunOptions {
  /** SIGTERM after this long, SIGKILL `killGraceMs` later. */
  readonly timeoutMs: number;
  readonly killGraceMs?: number;
  /** The environment (and the PATH argv[0] is looked up in); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** How a command ended: `ok` only for exit 0 within the timeout; `detail` is one line for an outcome. */
export interface RunResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Runs argv[0] with the rest as arguments: no shell, stdin from /dev/null, working directory `/`, in
 * a process group of its own so that a timeout stops the command's children too. Never rejects:
 * a command that cannot be started, fails or times out is a result with `ok` false.
 */
export function runCommand(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const program = argv[0];
  if (program === undefined || program === '') return Promise.resolve({ ok: false, detail: 'cannot run an empty command' });
  const env = opts.env ?? process.env;
  const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(program, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: '/', detached: true, shell: false });
    } catch (err) {
      // Invalid arguments (a NUL byte) throw synchronously; everything else arrives as 'error'.
      resolve({ ok: false, detail: `cannot run ${escapeText(program)}: ${escapeText(osErrorText(err))}` });
      return;
    }
    const output = new OutputTail(KEEP_OUTPUT_BYTES);
    child.stdout?.on('data', (b: Buffer) => output.push(b));
    child.stderr?.on('data', (b: Buffer) => output.push(b));

    let settled = false;
    let exited = false;
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(result);
    };

    timers.push(
      setTimeout(() => {
        if (exited) return;
        timedOut = true;
        killGroup(child, 'SIGTERM');
        // Only while the command itself has not been reaped: its pid, the group's id, cannot be reused yet.
        timers.push(setTimeout(() => (exited ? undefined : killGroup(child, 'SIGKILL')), graceMs));
      }, opts.timeoutMs),
    );

    child.on('error', (err) => {
      // Only a failed spawn (no pid) ends the run here; signals are sent with process.kill, not child.kill.
      if (child.pid !== undefined) return;
      finish({ ok: false, detail: `cannot run ${escapeText(program)}: ${spawnErrorText(err, program, env)}` });
    });

    let ended: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const report = (): void => {
      if (ended === null) return;
      finish(describeEnd(ended.code, ended.signal, timedOut, opts.timeoutMs, output.text()));
    };
    child.on('exit', (code, signal) => {
      exited = true;
      ended = { code, signal };
      // Output may still be in the pipes; a background child the command left may keep them open for good.
      timers.push(setTimeout(report, DRAIN_MS));
    });
    child.on('close', report);
  });
}

/** One line about how the command ended, with the end of its output on failure. */
function describeEnd(code: number | null, signal: NodeJS.Signals | null, timedOut: boolean, timeoutMs: number, output: string): RunResult {
  const tail = outputDetail(output);
  const withOutput = (s: string): string => (tail === '' ? `${s} (no output)` : `${s}: ${tail}`);
  if (timedOut) {
    const how = signal !== null ? `killed by ${signal} after timeout ${formatMs(timeoutMs)}` : `timed out after ${formatMs(timeoutMs)}; exit ${String(code)} on SIGTERM`;
    return { ok: false, detail: withOutput(how) };
  }
  if (signal !== null) return { ok: false, detail: withOutput(`killed by ${signal}`) };
  if (code === 0) return { ok: true, detail: 'exit 0' };
  return { ok: false, detail: withOutput(`exit ${String(code)}`) };
}

function spawnErrorText(err: unknown, program: string, env: NodeJS.ProcessEnv): string {
  const code = errnoCode(err);
  const where = program.includes('/') ? 'no such file' : `not found in PATH ${escapeText(env['PATH'] ?? '(unset)')}`;
  if (code === 'ENOENT') return `ENOENT (${where})`;
  if (code === 'EACCES') return 'EACCES (permission denied: not executable, or a directory on its path is not searchable)';
  return escapeText(osErrorText(err));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

/** The last `max` bytes written to it. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= this.max) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** The end of a command's output for a detail: trimmed, control characters escaped, at most ~500 characters. */
export function outputDetail(output: string): string {
  const parts = [...escapeParts(output.trim())];
  let len = 0;
  let start = parts.length;
  while (start > 0 && len + (parts[start - 1]?.length ?? 0) <= DETAIL_OUTPUT_CHARS) len += parts[--start]?.length ?? 0;
  const text = parts.slice(start).join('');
  return start > 0 ? `...${text}` : text;
}

/** Text with control characters (C0, DEL, C1, line and paragraph separators) escaped: one line, safe in logs and mail. */
export function escapeText(s: string): string {
  return [...escapeParts(s)].join('');
}

function* escapeParts(s: string): Generator<string> {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\n') yield '\\n';
    else if (ch === '\r') yield '\\r';
    else if (ch === '\t') yield '\\t';
    else if (ch === '\\') yield '\\\\';
    else if (c < 0x20 || c === 0x7f) yield `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029) yield `\\u${c.toString(16).padStart(4, '0')}`;
    else yield ch;
  }
}

/** An argv as one would type it in a shell (for targets and descriptions; nothing runs it through one). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).map(escapeText).join(' ');
}

/** 60000 -> "60 s", 300 -> "300 ms", 1500 -> "1.5 s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
