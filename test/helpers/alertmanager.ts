// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1 for the tests: temp
// config and storage, clustering off, its v2 API read back with fetch; a free port to start it on later.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { waitUntil } from './receivers.js';

/** One alert as `GET /api/v2/alerts` returns it (gettableAlert). */
export interface AmAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly updatedAt: string;
  readonly status: { readonly state: string };
}

export interface RunningAlertmanager {
  readonly url: string;
  /** The active alerts it holds now (resolved and expired ones are not listed by its API). */
  alerts(): Promise<AmAlert[]>;
}

/** A port nothing listens on right now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Every alert goes to a receiver with no integrations: the tests read the API, nothing is notified.
const CONFIG = 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n';

/** Starts Alertmanager on 127.0.0.1:`port`; resolves once /-/ready answers 200. Killed when the test ends. */
export async function startAlertmanager(t: TestContext, port: number): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-am-'));
  const config = path.join(dir, 'alertmanager.yml');
  writeFileSync(config, CONFIG);
  const child = spawn(
    'prometheus-alertmanager',
    [`--config.file=${config}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let exited: string | null = null;
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-20_000);
  });
  const gone = new Promise<void>((resolve) => child.on('close', (code, signal) => {
    exited = `code ${String(code)}, signal ${String(signal)}`;
    resolve();
  }));
  child.on('error', (err) => {
    exited = `not started (Debian package prometheus-alertmanager): ${err.message}`;
  });
  t.after(async () => {
    if (exited === null) child.kill('SIGKILL');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  let ready = false;
  const poll = async (): Promise<void> => {
    while (!ready && exited === null) {
      try {
        ready = (await fetch(`${url}/-/ready`)).status === 200;
      } catch {
        // not listening yet
      }
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
  };
  const polling = poll();
  await waitUntil('Alertmanager ready', () => ready || exited !== null);
  await polling;
  assert.equal(exited, null, `Alertmanager exited (${String(exited)}):\n${stderr}`);
  return {
    url,
    alerts: async () => {
      const res = await fetch(`${url}/api/v2/alerts`);
      assert.equal(res.status, 200, `GET /api/v2/alerts: ${res.status}`);
      return (await res.json()) as AmAlert[];
    },
  };
}
