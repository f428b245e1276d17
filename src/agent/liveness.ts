// Whether the agent is alive and doing its job (config in effect, watch intact, scheduled checks on
// time), and the heartbeat that says so to a dead man's switch only while it is.
import { Heartbeat, type HeartbeatCheck } from '../alerts/heartbeat.js';
import type { ResolvedConfig } from '../config/schema.js';
import { livenessProblem } from './health.js';
import type { Logger } from './log.js';
import type { ScheduleName } from './scheduler.js';

/** What the heartbeat's body says when the agent is healthy, besides what liveness tracks itself. */
export interface LivenessFacts {
  readonly host: string;
  readonly openFindings: number;
  readonly offline: boolean;
  /** When the last scoped and full checks finished (ISO 8601), null when none did. */
  readonly lastRuns: { readonly scoped: string | null; readonly full: string | null };
  /** How long the last full check took, null when none finished. */
  readonly lastFullMs: number | null;
  /** The real-time watch is on and degraded. */
  readonly watchDegraded: boolean;
}

/**
 * Tracks the scheduled checks that fell due and have not finished, a full check in progress and a
 * failed reload, and runs the heartbeat (when `[alerts.heartbeat] url` is set) on that basis.
 */
export class Liveness {
  readonly #logger: Logger;
  readonly #version: string;
  readonly #facts: () => LivenessFacts;
  readonly #due: Partial<Record<ScheduleName, number>> = {};
  #fullRunning = false;
  #configProblem: string | null = null;
  #cfg: ResolvedConfig | null = null;
  #heartbeat: Heartbeat | null = null;

  constructor(logger: Logger, version: string, facts: () => LivenessFacts) {
    this.#logger = logger;
    this.#version = version;
    this.#facts = facts;
  }

  /** A scheduled check fell due, after its splay (the first time counts until one finishes). */
  due(schedule: ScheduleName, now = Date.now()): void {
    this.#due[schedule] ??= now;
  }

  /** The schedules are set up anew (reload): what the old ones made due is judged again from their next due time. */
  resetDue(): void {
    delete this.#due.scoped;
    delete this.#due.full;
  }

  /** A scheduled check started (`full`: scoped checks wait behind it). */
  runStarted(schedule: ScheduleName): void {
    if (schedule === 'full') this.#fullRunning = true;
  }

  /** A scheduled check ended, finished or not. */
  runEnded(schedule: ScheduleName): void {
    if (schedule === 'full') this.#fullRunning = false;
  }

  /** A scheduled check that started at `startedMs` finished: what fell due before it started is done. */
  runFinished(schedule: ScheduleName, startedMs: number): void {
    const since = this.#due[schedule];
    if (since !== undefined && since <= startedMs) delete this.#due[schedule];
  }

  /** A reload failed: the agent runs on an older config than the one on disk. */
  configInvalid(message: string): void {
    this.#configProblem = message;
  }

  /** Why the agent is not healthy now, or null. */
  problem(now = Date.now()): string | null {
    const cfg = this.#cfg;
    if (cfg === null) return 'the agent has not started';
    const f = this.#facts();
    return livenessProblem({
      now,
      configProblem: this.#configProblem,
      watchDegraded: f.watchDegraded,
      due: { ...this.#due },
      fullRunning: this.#fullRunning,
      lastFullMs: f.lastFullMs,
      graceMs: cfg.alerts.heartbeat.graceMs,
    });
  }

  /** Starts the heartbeat (the agent is up); again after each reload, with the new config. */
  async start(cfg: ResolvedConfig): Promise<void> {
    this.#cfg = cfg;
    this.#configProblem = null;
    const old = this.#heartbeat;
    this.#heartbeat = null;
    await old?.close();
    if (cfg.alerts.heartbeat.url === '') return;
    this.#heartbeat = new Heartbeat(cfg.alerts.heartbeat, { check: () => this.#check(), log: (e) => this.#logger.log(e), paused: old?.paused ?? false });
    this.#heartbeat.start();
  }

  /** Stops the heartbeat. Idempotent. */
  async close(): Promise<void> {
    const hb = this.#heartbeat;
    this.#heartbeat = null;
    await hb?.close();
  }

  #check(): HeartbeatCheck {
    const now = Date.now();
    const reason = this.problem(now);
    if (reason !== null) return { healthy: false, reason };
    const f = this.#facts();
    return {
      healthy: true,
      state: {
        schema: 1,
        host: f.host,
        version: this.#version,
        time: new Date(now).toISOString(),
        healthy: true,
        openFindings: f.openFindings,
        offline: f.offline,
        lastRuns: f.lastRuns,
      },
    };
  }
}
