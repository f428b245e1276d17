// `pkgwatch trust record|status|verify`: options and rendering; the work is in src/trust/recordrun.ts.
import { loadConfig } from '../config/load.js';
import { usageError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';
import type { TrustArgs, TrustRecordArgs as RecordArgs } from './options.js';

/** Hook input larger than this is not read further (apt's config dump is ~20 KB, each package a line). */
const MAX_HOOK_INPUT = 64 << 20;

function log(line: string): void {
  process.stderr.write(`pkgwatch: trust: ${line}\n`);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    n += b.length;
    if (n > MAX_HOOK_INPUT) throw new Error(`the hook's input is larger than ${MAX_HOOK_INPUT} bytes; the rest is not read`);
    parts.push(b);
  }
  return Buffer.concat(parts).toString('latin1');
}

/**
 * As apt's hook it never fails the installation: every error is a log line on stderr and the exit
 * code is 0. `--installed` is an ordinary command (exit 2 on errors).
 */
export async function runRecord(args: RecordArgs): Promise<ExitCode> {
  const { recordFromHook, recordInstalled } = await import('../trust/recordrun.js');
  if (args.installed) {
    const cfg = await loadConfig({ file: args.config });
    const root = args.root ?? '/';
    if (root === '') throw usageError('--root needs a directory, got an empty string');
    const sum = await recordInstalled({ root, store: cfg.trust.store, debPaths: cfg.trust.debPaths, keyrings: cfg.trust.keyrings, now: new Date(), log }, args.admindir);
    const text = `recorded ${sum.signed} signed, ${sum.unverified} unverified; ${sum.skipped} already recorded; the rest had no .deb at hand`;
    process.stdout.write(args.json ? `${JSON.stringify(sum, null, 2)}\n` : `${text}\n`);
    return EXIT.ok;
  }
  const started = process.hrtime.bigint();
  try {
    const { parseHookInput, aptRoot } = await import('../trust/apthook.js');
    const input = parseHookInput(await readStdin());
    const cfg = await loadConfig({ file: args.config });
    const root = args.root ?? aptRoot(input.config);
    const sum = await recordFromHook(input, { root, store: cfg.trust.store, debPaths: cfg.trust.debPaths, keyrings: cfg.trust.keyrings, now: new Date(), log });
    const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
    if (sum.signed + sum.unverified + sum.failed > 0) log(`${sum.signed} signed, ${sum.unverified} unverified, ${sum.failed} not recorded, in ${ms} ms`);
  } catch (err) {
    log(`nothing more recorded: ${err instanceof Error ? err.message : String(err)} (the installation goes on; run pkgwatch trust record --installed afterwards)`);
  }
  return EXIT.ok;
}

export async function runStatus(args: TrustArgs): Promise<ExitCode> {
  const { trustStatus } = await import('../trust/recordrun.js');
  const cfg = await loadConfig({ file: args.config });
  const root = args.root ?? '/';
  const entries = await trustStatus(root, args.admindir, cfg.trust.store);
  const n = { signed: 0, unverified: 0, none: 0, unreadable: 0 };
  const why: Record<string, number> = {};
  for (const e of entries) {
    n[e.state]++;
    if (e.reason !== null) why[e.reason] = (why[e.reason] ?? 0) + 1;
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ store: cfg.trust.store, summary: { ...n, reasons: why }, packages: entries }, null, 2)}\n`);
    return EXIT.ok;
  }
  let out = '';
  for (const e of entries) {
    if (e.state === 'unverified') out += `unverified  ${e.package} ${e.version} (${e.arch}): ${e.reason ?? ''}: ${e.detail ?? ''}\n`;
    if (e.state === 'unreadable') out += `unreadable  ${e.package} ${e.version} (${e.arch}): ${e.detail ?? ''}\n`;
  }
  const reasons = Object.entries(why)
    .map(([r, c]) => `${c} ${r}`)
    .join(', ');
  out += `trust store ${cfg.trust.store}: ${entries.length} installed packages: ${n.signed} signed, ${n.unverified} unverified${reasons === '' ? '' : ` (${reasons})`}, ${n.none} with no record${n.unreadable > 0 ? `, ${n.unreadable} unreadable` : ''}\n`;
  process.stdout.write(out);
  return EXIT.ok;
}

export async function runVerify(args: TrustArgs): Promise<ExitCode> {
  const { trustVerify } = await import('../trust/recordrun.js');
  const cfg = await loadConfig({ file: args.config });
  const root = args.root ?? '/';
  const entries = await trustVerify({ root, store: cfg.trust.store, debPaths: cfg.trust.debPaths, keyrings: cfg.trust.keyrings, now: new Date(), log }, args.admindir);
  const n = { same: 0, differs: 0, 'no-deb': 0 };
  for (const e of entries) n[e.state]++;
  if (args.json) process.stdout.write(`${JSON.stringify({ summary: n, records: entries }, null, 2)}\n`);
  else {
    let out = '';
    for (const e of entries) if (e.state === 'differs') out += `differs  ${e.package} ${e.version} (${e.arch}): ${e.detail ?? ''}\n`;
    out += `${entries.length} records: ${n.same} re-derived the same, ${n.differs} differ, ${n['no-deb']} without a .deb at hand\n`;
    process.stdout.write(out);
  }
  return n.differs > 0 ? EXIT.findings : EXIT.ok;
}
