// The agent's two schedules: node-cron ticks, a random splay before each run, coalescing of
// ticks that come while a run is already pending, and catch-up of a full check missed while down.
import { createTask, schedule, type ScheduledTask } from 'node-cron';

/** The scheduled kinds of run. */
export type ScheduleName = 'scoped' | 'full';

export interface SchedulerOptions {
  /** Cron expression per schedule; null disables it (no scope: no scoped runs). */
  readonly expressions: Readonly<Record<ScheduleName, string | null>>;
  /** Each scheduled run starts after a random delay up to this, so a fleet does not check at once. */
  readonly splayMs: number;
  /** Called when a run is due (after the splay). */
  readonly onDue: (name: ScheduleName) => void;
  readonly random?: () => number;
}

/** Drives the schedules; `stop` is idempotent. */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly splays = new Map<ScheduleName, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {}

  start(): void {
    for (const name of ['scoped', 'full'] as const) {
      const expr = this.opts.expressions[name];
      if (expr === null) continue;
      this.tasks.push(schedule(expr, () => this.tick(name), { name: `pkgwatch-${name}` }));
    }
  }

  /** Time until the next tick of a schedule, or null when it is disabled. */
  nextRun(name: ScheduleName): Date | null {
    const t = this.tasks.find((x) => x.name === `pkgwatch-${name}`);
    return t?.getNextRun() ?? null;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.splays.values()) clearTimeout(t);
    this.splays.clear();
    // destroy() returns a promise in some node-cron versions and nothing in others.
    for (const t of this.tasks) await Promise.resolve(t.destroy());
  }

  private tick(name: ScheduleName): void {
    if (this.stopped || this.splays.has(name)) return; // a run is already on its way: coalesce
    const delay = Math.floor((this.opts.random ?? Math.random)() * this.opts.splayMs);
    this.splays.set(
      name,
      setTimeout(() => {
        this.splays.delete(name);
        if (!this.stopped) this.opts.onDue(name);
      }, delay),
    );
  }
}

/** Steps searched for a missed due time before it is assumed (months of a per-second schedule). */
const MAX_STEPS = 2_000_000;

/**
 * Whether `expr` was due at some time in (since, now]: a run the agent missed while it was down
 * or the machine slept (node-cron skips missed runs on its own).
 */
export async function missedSince(expr: string, since: Date, now: Date): Promise<boolean> {
  const task = createTask(expr, () => undefined);
  try {
    const withSeconds = expr.trim().split(/\s+/).length === 6;
    const step = withSeconds ? 1000 : 60_000;
    // First candidate after `since`, on a whole second or minute.
    let t = Math.floor(since.getTime() / step) * step + step;
    for (let n = 0; t <= now.getTime(); n++, t += step) {
      if (n >= MAX_STEPS) return true;
      if (task.match(new Date(t))) return true;
    }
    return false;
  } finally {
    await task.destroy();
  }
}
