// The real agent on a fixture system with [metrics] on: /metrics scraped over HTTP and the
// node_exporter textfile both pass `promtool check metrics`, and the findings metric follows a
// tampered file up and back down when it is repaired.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readStatus } from '../../src/agent/statusfile.js';
import { agentFixture, agentTempDir, APP_CONTENT, APP_FILE, EVERY_2S, isAlert, isKind, isRunFinished, startAgent, YEARLY } from '../helpers/agent.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { waitUntil } from '../helpers/receivers.js';

/** One sample's value in an exposition text, or null when the series is absent. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

const CHANGED = 'pkgwatch_open_findings{status="changed"}';

test('metrics: scraped and textfile output pass promtool; open findings follow a tamper and its repair', async (t) => {
  const { fx } = agentFixture(t);
  const textfile = path.join(agentTempDir(t, 'pkgwatch-textfile-'), 'pkgwatch.prom');
  const agent = await startAgent({
    t,
    fx,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: EVERY_2S, full: YEARLY },
      watch: { enabled: false },
      metrics: { listen: '127.0.0.1:0', textfile },
    },
  });
  const [listening] = agent.find(isKind('metrics.listening'));
  assert.ok(listening !== undefined, `no metrics.listening line\n${agent.transcript()}`);
  assert.equal(listening['address'], '127.0.0.1');
  const base = `http://127.0.0.1:${String(listening['port'])}`;
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const promOk = (what: string, text: string): void => {
    const r = promtoolCheckMetrics(text);
    assert.equal(r.code, 0, `promtool check metrics on the ${what}: ${r.out}\n${text}`);
  };

  const first = await agent.waitFor('the start-up run', isRunFinished('scoped', 'clean'));
  await waitUntil('status.json after the first run', () => readStatus(agent.stateDir)?.lastRuns.scoped !== undefined);
  const clean = await scrape();
  promOk('scrape', clean);
  assert.equal(sample(clean, CHANGED), 0);
  assert.equal(sample(clean, 'pkgwatch_last_run_outcome{schedule="scoped",outcome="clean"}'), 1);
  assert.ok((sample(clean, 'pkgwatch_runs_total{schedule="scoped",outcome="clean"}') ?? 0) >= 1);
  assert.ok((sample(clean, 'pkgwatch_last_run_files{schedule="scoped"}') ?? 0) >= 3, 'app and libapp files');
  assert.match(clean, /^pkgwatch_build_info\{version="[^"]+"\} 1$/m);
  assert.ok((sample(clean, 'pkgwatch_process_resident_memory_bytes') ?? 0) > 0);
  assert.equal(sample(clean, 'pkgwatch_site_offline'), 0);
  assert.equal(sample(clean, 'pkgwatch_dpkg_running'), 0);

  // The textfile: readable by node_exporter's user, and the same kind of content.
  assert.equal(statSync(textfile).mode & 0o777, 0o644);
  promOk('textfile', readFileSync(textfile, 'utf8'));

  // Only GET /metrics is served.
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics/../status.json`)).status, 404);
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal(post.status, 405);

  fx.write(APP_FILE, 'tampered\n');
  const opened = await agent.waitFor('findings.opened', isAlert('findings.opened'), { from: first.index });
  // The metrics are updated just before status.json is written: once it shows the finding, so do they.
  await waitUntil('status.json with the finding', () => readStatus(agent.stateDir)?.findings.length === 1);
  const open = await scrape();
  promOk('scrape with a finding', open);
  assert.equal(sample(open, CHANGED), 1);
  assert.equal(sample(open, 'pkgwatch_open_findings_by_package{package="app"}'), 1);
  const tf = readFileSync(textfile, 'utf8');
  promOk('textfile with a finding', tf);
  assert.equal(sample(tf, CHANGED), 1);

  fx.write(APP_FILE, APP_CONTENT);
  await agent.waitFor('findings.resolved', isAlert('findings.resolved'), { from: opened.index });
  await waitUntil('status.json without findings', () => readStatus(agent.stateDir)?.findings.length === 0);
  const repaired = await scrape();
  promOk('scrape after the repair', repaired);
  assert.equal(sample(repaired, CHANGED), 0);
  assert.equal(sample(repaired, 'pkgwatch_open_findings_by_package{package="app"}'), null, 'no series for a package without findings');
  assert.ok((sample(repaired, 'pkgwatch_runs_total{schedule="scoped",outcome="findings"}') ?? 0) >= 1);
  assert.equal(sample(readFileSync(textfile, 'utf8'), CHANGED), 0);

  await agent.stop();
  await assert.rejects(fetch(`${base}/metrics`), 'the endpoint closes with the agent');
});

test('metrics: a port in use is logged and the agent runs on; off by default', async (t) => {
  const { fx } = agentFixture(t);
  const one = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false }, metrics: { listen: '127.0.0.1:0' } } });
  const [listening] = one.find(isKind('metrics.listening'));
  const addr = `127.0.0.1:${String(listening?.['port'])}`;
  const two = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false }, metrics: { listen: addr } } });
  const [failed] = two.find(isKind('metrics.failed'));
  assert.equal(failed?.['target'], `listen ${addr}`);
  assert.match(String(failed?.['error']), /EADDRINUSE/);
  const off = await startAgent({ t, fx, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } } });
  assert.deepEqual(off.find((l) => l.kind.startsWith('metrics.')), []);
  await Promise.all([one.stop(), two.stop(), off.stop()]);
});
