// A one-line progress display on stderr for long runs on a terminal; silent everywhere else.
import type { VerifyProgress } from '../verify/run.js';
import { formatBytes } from '../verify/report.js';

const SHOW_AFTER_MS = 1000;
const REFRESH_MS = 200;

/** Progress on a terminal: appears after one second, redraws five times a second, erases itself. */
export class ProgressLine {
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** Whether a progress line may be shown: stderr is a terminal, not CI, not machine output. */
  static wanted(stream: NodeJS.WriteStream, machineOutput: boolean): boolean {
    return stream.isTTY && !machineOutput && process.env['CI'] === undefined && process.env['TERM'] !== 'dumb';
  }

  update(p: VerifyProgress): void {
    const now = performance.now();
    const elapsed = now - this.started;
    if (elapsed < SHOW_AFTER_MS || now - this.lastDraw < REFRESH_MS) return;
    this.lastDraw = now;
    const rate = p.bytesDone / (elapsed / 1000);
    const fraction = p.filesTotal === 0 ? 1 : p.filesDone / p.filesTotal;
    const left = fraction > 0 ? (elapsed / fraction - elapsed) / 1000 : NaN;
    const line =
      `pkgwatch: ${p.packagesDone}/${p.packagesTotal} packages, ${formatBytes(p.bytesDone)} ` +
      `at ${formatBytes(rate)}/s, ${Number.isFinite(left) ? `${Math.ceil(left)} s left` : 'estimating'}`;
    this.out.write(`\r\x1b[2K${line.slice(0, Math.max(20, (this.out.columns || 80) - 1))}`);
    this.drawn = true;
  }

  /** Erases the line, if one was drawn. */
  done(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
