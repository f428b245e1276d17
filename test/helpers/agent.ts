// Runs the real `pkgwatch agent` as a process on a fixture system and reads its JSON log lines, for
// the agent's end-to-end tests; also holds dpkg's lock the way dpkg does (fcntl, from another process).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'smol-toml';
import { FULL_CHECK_NICE_ENV } from '../../src/agent/fullcheck.js';
import { CLI } from './cli.js';
import { FixtureRoot, md5 } from './fixture.js';

/** The agent's config file as TOML keys (all optional); `root` and `state_dir` are filled in by startAgent. */
export interface AgentToml {
  root?: string;
  state_dir?: string;
  scope?: { packages?: string[]; with_dependencies?: boolean };
  schedule?: { scoped?: string; full?: string; splay?: string; full_max_mb_per_s?: number; dpkg_max_run?: string };
  watch?: { enabled?: boolean; alert_writes?: boolean };
  ignore?: { paths?: string[] };
  alerts?: {
    reminder?: string;
    max_age?: string;
    retry_min?: string;
    retry_max?: string;
    host?: string;
    email?: { to?: string[]; from?: string; smtp?: string; sendmail?: boolean; batch?: string; timeout?: string };
    webhook?: { url?: string; secret?: string; headers?: Record<string, string>; timeout?: string };
    alertmanager?: { url?: string | string[]; allow_plaintext?: boolean; resend?: string; timeout?: string };
    heartbeat?: { url?: string; method?: 'POST' | 'GET'; every?: string; grace?: string; timeout?: string };
  };
  offline?: {
    enabled?: boolean;
    on?: string[];
    conffiles?: boolean;
    confirm_delay?: string;
    flag_file?: string;
    stop_units?: string[];
    command?: string[];
    restore_command?: string[];
    command_timeout?: string;
    actions_by?: 'auto' | 'agent' | 'helper';
  };
  metrics?: { listen?: string; textfile?: string };
  persist?: { enabled?: boolean; paths?: string[]; add?: string[]; allow?: string[] };
}

/** A schedule that in practice never fires during a test (midnight, January 1st). */
export const YEARLY = '0 0 1 1 *';
/** Every two seconds (node-cron's six-field form, seconds first). */
export const EVERY_2S = '*/2 * * * * *';

/** One line of `--log-format json`: `time`, `priority`, `kind` and the event's fields. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly kind: string };

/** A finding as the agent carries it in alerts and status: check's JSON finding (plus database-changed). */
export interface AgentFinding {
  readonly package: string;
  readonly path: string;
  readonly status: string;
  readonly conffile: boolean;
  readonly expected: string | null;
  readonly actual: string | null;
  readonly detail: string | null;
  /** `baseline` for the persistence points' findings. */
  readonly source?: string;
}

export type AlertKind = 'findings.opened' | 'findings.resolved' | 'findings.reminder' | 'file.written' | 'site.offline' | 'site.online' | 'baseline.updated' | 'test';

/** An `alert` log line. */
export interface AlertLine extends LogLine {
  readonly kind: 'alert';
  readonly event: {
    readonly kind: AlertKind;
    readonly id: string;
    readonly host: string;
    readonly time: string;
    readonly findings: readonly AgentFinding[];
    readonly offline: { readonly active: boolean; readonly since: string | null; readonly reason: string | null };
    readonly baseline?: { readonly by: string; readonly paths: readonly string[]; readonly packages?: readonly string[] };
  };
}

/** A `run.finished` log line. */
export interface RunFinishedLine extends LogLine {
  readonly kind: 'run.finished';
  readonly schedule: string;
  readonly outcome: string;
  readonly findings: number;
}

/** A log line found by waitFor, and its position in the log (to wait for later lines from there). */
export interface Found<T extends LogLine> {
  readonly line: T;
  readonly index: number;
}

/** Predicate: a line of this kind. */
export function isKind(kind: string): (l: LogLine) => boolean {
  return (l) => l.kind === kind;
}

/** Predicate: an alert of this kind (any kind when omitted). */
export function isAlert(kind?: AlertKind): (l: LogLine) => l is AlertLine {
  return (l): l is AlertLine => l.kind === 'alert' && (kind === undefined || (l as AlertLine).event.kind === kind);
}

/** Predicate: a finished run of this schedule, with this outcome when given. */
export function isRunFinished(schedule: string, outcome?: string): (l: LogLine) => l is RunFinishedLine {
  return (l): l is RunFinishedLine =>
    l.kind === 'run.finished' && (l as RunFinishedLine).schedule === schedule && (outcome === undefined || (l as RunFinishedLine).outcome === outcome);
}

/**
 * How long waitFor (and stop) waits: only a safety net against a hang, never a limit a slow or
 * busy machine should reach; a test waits for the line it means.
 */
export const WAIT_MS = 180_000;

interface Waiter {
  readonly pred: (l: LogLine) => boolean;
  readonly from: number;
  readonly resolve: (f: Found<LogLine>) => void;
  readonly reject: (e: Error) => void;
}

/** A running agent process (see startAgent). */
export class AgentProcess {
  /** Every stdout line that parsed as JSON, in order. */
  readonly lines: LogLine[] = [];
  /** stdout lines that were not JSON (the JSON log format promises there are none). */
  readonly junk: string[] = [];
  readonly configFile: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code and signal when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrText = '';
  private stdoutRest = '';
  private exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly waiters = new Set<Waiter>();

  /**
   * `command` replaces `node dist/cli/main.js agent --config FILE --log-format json EXTRA...` (the
   * installed package's agent, started as its unit would start it); it must log JSON lines too.
   */
  constructor(configFile: string, stateDir: string, extraArgs: readonly string[], command?: readonly [string, ...string[]]) {
    this.configFile = configFile;
    this.stateDir = stateDir;
    // The full check without nice/ionice (test-only switch, README "Tests"): at nice 19 on a busy
    // machine it waits for idle CPU, and a test would wait with it.
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', [FULL_CHECK_NICE_ENV]: '0' };
    // Never talk to a systemd the test runner itself may be running under.
    for (const k of ['JOURNAL_STREAM', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[k];
    const [cmd, ...args] = command ?? [process.execPath, CLI, 'agent', '--config', configFile, '--log-format', 'json', ...extraArgs];
    this.child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (s: string) => this.onStdout(s));
    this.child.stderr?.on('data', (s: string) => {
      this.stderrText += s;
    });
    this.exit = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        if (this.stdoutRest !== '') this.onLine(this.stdoutRest);
        this.stdoutRest = '';
        this.exitedWith = { code, signal };
        for (const w of this.waiters) w.reject(new Error(`the agent exited (code ${String(code)}, signal ${String(signal)}) before the line came\n${this.transcript()}`));
        this.waiters.clear();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get exited(): boolean {
    return this.exitedWith !== null;
  }

  /** The number of lines so far: pass it as `from` to wait only for lines logged after now. */
  mark(): number {
    return this.lines.length;
  }

  /** The lines matching `pred`, from index `from` on. */
  find<T extends LogLine>(pred: ((l: LogLine) => l is T) | ((l: LogLine) => boolean), from = 0): T[] {
    return this.lines.slice(from).filter(pred) as T[];
  }

  /** The alert lines (of one kind when given), from index `from` on. */
  alerts(kind?: AlertKind, from = 0): AlertLine[] {
    return this.find(isAlert(kind), from);
  }

  /**
   * Resolves with the first line at index `from` or later that matches `pred`, as soon as it is
   * logged; rejects (with the log so far) after `timeoutMs` or when the agent exits first.
   */
  waitFor<T extends LogLine = LogLine>(
    what: string,
    pred: ((l: LogLine) => l is T) | ((l: LogLine) => boolean),
    opts: { from?: number; timeoutMs?: number } = {},
  ): Promise<Found<T>> {
    const from = opts.from ?? 0;
    const i = this.lines.findIndex((l, n) => n >= from && pred(l));
    const hit = this.lines[i];
    if (i >= 0 && hit !== undefined) return Promise.resolve({ line: hit as T, index: i });
    if (this.exitedWith !== null) return Promise.reject(new Error(`waiting for ${what}: the agent has exited\n${this.transcript()}`));
    const timeoutMs = opts.timeoutMs ?? WAIT_MS;
    return new Promise<Found<T>>((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        from,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f as Found<T>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new Error(`waiting for ${what}: ${e.message}`));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`waiting for ${what}: not logged within ${timeoutMs} ms\n${this.transcript()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Sends SIGHUP (reload the config). */
  hup(): void {
    this.child.kill('SIGHUP');
  }

  /**
   * SIGTERM, waits for the exit and asserts the agent stopped cleanly (exit 0, no stderr). An agent
   * still running after WAIT_MS is killed (-9) and fails the test, so a hang does not stall the suite.
   */
  async stop(): Promise<void> {
    if (this.exitedWith === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), WAIT_MS);
    const r = await this.exit;
    clearTimeout(timer);
    assert.deepEqual(r, { code: 0, signal: null }, `the agent did not exit 0 on SIGTERM (SIGKILL means it still ran after ${WAIT_MS} ms)\n${this.transcript()}`);
    assert.equal(this.stderrText, '', 'the agent wrote to stderr');
  }

  /** kill -9: the agent gets no chance to save anything; resolves when it is gone. */
  async kill9(): Promise<void> {
    if (this.exitedWith === null) this.child.kill('SIGKILL');
    await this.exit;
  }

  /** The log so far (last lines) and stderr, for failure messages. */
  transcript(last = 40): string {
    const shown = this.lines.slice(-last).map((l) => JSON.stringify(l));
    const skipped = this.lines.length - shown.length;
    return [
      `--- agent log (${this.lines.length} lines${skipped > 0 ? `, first ${skipped} not shown` : ''}):`,
      ...shown,
      ...(this.junk.length > 0 ? ['--- stdout lines that are not JSON:', ...this.junk] : []),
      `--- stderr:`,
      this.stderrText,
    ].join('\n');
  }

  private onStdout(s: string): void {
    const parts = (this.stdoutRest + s).split('\n');
    this.stdoutRest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p);
  }

  private onLine(text: string): void {
    if (text === '') return;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.junk.push(text);
      return;
    }
    if (typeof v !== 'object' || v === null || typeof (v as { kind?: unknown }).kind !== 'string') {
      this.junk.push(text);
      return;
    }
    const line = v as LogLine;
    const index = this.lines.push(line) - 1;
    for (const w of [...this.waiters]) {
      if (index >= w.from && w.pred(line)) {
        this.waiters.delete(w);
        w.resolve({ line, index });
      }
    }
  }
}

/** Agents started per test, so every cleanup hook of the test can make sure they are gone first. */
const running = new WeakMap<TestContext, Set<AgentProcess>>();

/** kill -9 every agent the test started and still runs (a failed test must not leave one behind). */
async function killAll(t: TestContext): Promise<void> {
  await Promise.all([...(running.get(t) ?? [])].map((a) => a.kill9()));
}

/** A temp dir removed when the test ends, after every agent of the test has been killed. */
export function agentTempDir(t: TestContext, prefix = 'pkgwatch-agent-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(async () => {
    await killAll(t);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** What the agent tests work on: a fixture system, a state directory, both removed at the end. */
export interface AgentFixture {
  readonly fx: FixtureRoot;
  readonly stateDir: string;
}

/** The scoped package's file the tests tamper with, and its content as installed. */
export const APP_FILE = '/usr/lib/app/main.py';
export const APP_CONTENT = 'print("hello from app 1.0")\n';
/** A second file of the scoped package, never touched. */
export const APP_OTHER = '/usr/lib/app/util.py';
/** A file of the dependency `libapp` (in scope through with_dependencies). */
export const LIB_FILE = '/usr/lib/libapp/lib.py';
/** A file of `other`, a package outside the scope. */
export const OTHER_FILE = '/usr/share/other/data.txt';
export const OTHER_CONTENT = 'other data\n';

/**
 * A fixture system with `app` (depends on `libapp`) and `other` (not in scope), and a state dir.
 * Removed when the test ends, after the test's agents are killed.
 */
export function agentFixture(t: TestContext): AgentFixture {
  const fx = new FixtureRoot();
  t.after(async () => {
    await killAll(t);
    fx.cleanup();
  });
  fx.addPackage({ name: 'libapp', files: [{ path: LIB_FILE, content: 'LIB = 1\n' }] });
  fx.addPackage({
    name: 'app',
    depends: 'libapp',
    files: [
      { path: APP_FILE, content: APP_CONTENT },
      { path: APP_OTHER, content: 'def util(): pass\n' },
    ],
  });
  fx.addPackage({ name: 'other', files: [{ path: OTHER_FILE, content: OTHER_CONTENT }] });
  return { fx, stateDir: path.join(agentTempDir(t), 'state') };
}

/** The md5sums text dpkg would write for `app` with main.py's content `mainContent`. */
export function appMd5sums(mainContent: string): string {
  return `${md5(mainContent)}  ${APP_FILE.slice(1)}\n${md5('def util(): pass\n')}  ${APP_OTHER.slice(1)}\n`;
}

export interface StartAgentOptions {
  readonly t: TestContext;
  readonly fx: FixtureRoot;
  readonly config: AgentToml;
  /** state_dir (default: a new temp dir). */
  readonly stateDir?: string;
  /** More arguments for `pkgwatch agent`. */
  readonly args?: readonly string[];
}

/**
 * Writes the config (root = the fixture, state_dir, splay 0 unless the config says otherwise) as
 * `pkgwatch.toml` in a fresh temp dir and starts `pkgwatch agent --config FILE --log-format json`.
 * Resolves once the agent logged `agent.ready`. The agent is killed when the test ends.
 */
export async function startAgent(opts: StartAgentOptions): Promise<AgentProcess> {
  const { t, fx } = opts;
  const stateDir = opts.stateDir ?? path.join(agentTempDir(t), 'state');
  const config: AgentToml = {
    root: fx.root,
    state_dir: stateDir,
    ...opts.config,
    schedule: { splay: '0', ...opts.config.schedule },
  };
  const configFile = path.join(agentTempDir(t, 'pkgwatch-config-'), 'pkgwatch.toml');
  writeFileSync(configFile, stringify(config));
  const agent = new AgentProcess(configFile, stateDir, opts.args ?? []);
  let set = running.get(t);
  if (set === undefined) running.set(t, (set = new Set()));
  set.add(agent);
  t.after(() => agent.kill9());
  await agent.waitFor('agent.ready', isKind('agent.ready'));
  return agent;
}

/** A process holding a write lock (fcntl, as dpkg takes it) on a file until released. */
export interface LockHolder {
  readonly pid: number;
  /** Closes the holder's stdin: it exits and the kernel drops the lock. Resolves when it has exited. */
  release(): Promise<void>;
}

const LOCKER = 'import fcntl,sys,time; f=open(sys.argv[1],"w"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); sys.stdin.read()';

/** Starts python3 holding an exclusive lockf lock on `file` (created if missing); resolves once it holds it. */
export async function holdLock(t: TestContext, file: string): Promise<LockHolder> {
  const child = spawn('python3', ['-c', LOCKER, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  t.after(async () => {
    child.stdin.destroy();
    await exited;
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the lock holder did not take the lock in ${WAIT_MS} ms: ${err}`)), WAIT_MS);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      if (out.includes('locked\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the lock holder exited (${String(code)}) before taking the lock: ${err}`));
    });
  });
  return {
    pid: child.pid ?? -1,
    release: async (): Promise<void> => {
      child.stdin.end();
      await exited;
    },
  };
}
