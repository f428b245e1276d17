// `pkgwatch alert test`: sends a `test` event through every configured sink now, past the outbox,
// and says for each whether it was accepted.
import { randomUUID } from 'node:crypto';
import { alertHost } from '../agent/alerting.js';
import { offlineInfo, readOfflineRecord } from '../respond/offlinestate.js';
import { createSinks } from '../alerts/registry.js';
import { ONLINE, type AlertEvent, type OfflineInfo } from '../alerts/sink.js';
import { loadConfig } from '../config/load.js';
import { PkgwatchError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';
import type { AlertTestArgs } from './options.js';

interface SinkResult {
  sink: string;
  accepted: boolean;
  error: string | null;
  durationMs: number;
}

/** Exit 0: every sink accepted the test; 1: at least one did not; 2: no sink is configured (or a config error). */
export async function runAlertTest(args: AlertTestArgs): Promise<ExitCode> {
  const cfg = await loadConfig({ file: args.config });
  const host = alertHost(cfg);
  const sinks = createSinks(cfg, { host });
  if (sinks.length === 0) {
    throw new PkgwatchError('config', 'no alert sink is configured: set [alerts.email] to (with smtp or sendmail), [alerts.webhook] url or [alerts.alertmanager] url');
  }
  let offline: OfflineInfo = ONLINE;
  try {
    offline = offlineInfo(readOfflineRecord(cfg.stateDir));
  } catch {
    // A test alert goes out even when the offline record cannot be read (status reports that).
  }
  const event: AlertEvent = { kind: 'test', id: randomUUID(), host, time: new Date().toISOString(), findings: [], offline };
  const results = await Promise.all(
    sinks.map(async (sink): Promise<SinkResult> => {
      const started = Date.now();
      try {
        await sink.send([event]);
        return { sink: sink.name, accepted: true, error: null, durationMs: Date.now() - started };
      } catch (err) {
        return { sink: sink.name, accepted: false, error: err instanceof Error ? err.message : String(err), durationMs: Date.now() - started };
      } finally {
        await sink.close();
      }
    }),
  );
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ id: event.id, host, results }, null, 2)}\n`);
  } else {
    for (const r of results) {
      process.stdout.write(r.accepted ? `${r.sink}: accepted (${r.durationMs} ms)\n` : `${r.sink}: FAILED: ${r.error ?? 'unknown error'}\n`);
    }
    process.stdout.write(`test alert ${event.id} from ${host}\n`);
  }
  return results.every((r) => r.accepted) ? EXIT.ok : EXIT.findings;
}
