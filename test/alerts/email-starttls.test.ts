// smtp:// requires TLS: a real SMTP server on 127.0.0.1 that offers no STARTTLS (what a proxy that
// strips it leaves) gets neither the login nor the message, and the outbox keeps the alert pending.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { EmailSink, smtpRequiresTls, type EmailSinkOptions } from '../../src/alerts/email.js';
import { Outbox, type OutboxEvent } from '../../src/alerts/outbox.js';
import { alert, tempDir } from './outboxkit.js';

const PASSWORD = 'never-in-plain-text';

interface PlainSmtp {
  readonly port: number;
  /** Users that logged in (AUTH reached the server). */
  readonly logins: string[];
  readonly messages: string[];
}

/** A real SMTP server on 127.0.0.1 that does not offer STARTTLS but takes AUTH and mail in plain text. */
async function plainSmtp(t: TestContext): Promise<PlainSmtp> {
  const logins: string[] = [];
  const messages: string[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      logins.push(auth.username ?? '');
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks).toString('utf8'));
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(resolve)));
  const address = server.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, logins, messages };
}

/**
 * An email sink for the server. `requireTls` is what a host that is not loopback gets (the server
 * here must listen on 127.0.0.1, which is exempt), with or without allow_plaintext.
 */
function sinkFor(t: TestContext, port: number, allowPlaintext: boolean): EmailSink {
  const opts: EmailSinkOptions = {
    to: ['ops@example.com'],
    from: '',
    smtp: `smtp://alerts:${PASSWORD}@127.0.0.1:${port}`,
    allowPlaintext,
    sendmail: false,
    batchMs: 0,
    timeoutMs: 10_000,
    host: 'web1.example.com',
    offlineEnabled: true,
    requireTls: smtpRequiresTls('smtp://alerts:x@mail.example.com:587', allowPlaintext),
  };
  const sink = new EmailSink(opts);
  t.after(() => sink.close());
  return sink;
}

test('TLS is required for smtp:// unless the host is loopback or allow_plaintext is set; smtps:// is TLS anyway', () => {
  assert.equal(smtpRequiresTls('smtp://mail.example.com:587', false), true);
  assert.equal(smtpRequiresTls('smtp://u:p@192.0.2.25', false), true);
  assert.equal(smtpRequiresTls('smtp://mail.example.com:587', true), false);
  assert.equal(smtpRequiresTls('smtps://mail.example.com', false), false);
  for (const local of ['smtp://127.0.0.1:25', 'smtp://localhost', 'smtp://[::1]:25', 'smtp://127.0.0.53']) assert.equal(smtpRequiresTls(local, false), false, local);
});

test('a server without STARTTLS: the send fails and says why, and neither the login nor the message reached it', async (t) => {
  const smtp = await plainSmtp(t);
  const sink = sinkFor(t, smtp.port, false);
  const err = await sink.send([alert()]).then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e as Error,
  );
  assert.match(
    err.message,
    new RegExp(
      `^127\\.0\\.0\\.1:${smtp.port} does not offer STARTTLS \\(it answered "5\\d\\d [^"]+"\\), and TLS is required for smtp:// to a host that is not loopback; ` +
        'nothing was sent: turn on TLS at the server, use smtps://, or set \\[alerts\\.email\\] allow_plaintext = true if the network to it is trusted$',
    ),
  );
  assert.ok(!err.message.includes(PASSWORD));
  assert.deepEqual(smtp.logins, []);
  assert.deepEqual(smtp.messages, []);
});

test('through the outbox: not delivered, kept pending with the error; with allow_plaintext the same alert goes through', async (t) => {
  const smtp = await plainSmtp(t);
  const events: OutboxEvent[] = [];
  let seen: (() => void) | null = null;
  /** Resolves once `cond` holds, looking again at every outbox event; fails after a minute. */
  const waitFor = async (what: string, cond: () => boolean): Promise<void> => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      seen?.();
    }, 60_000);
    try {
      while (!cond()) {
        assert.ok(!late, `waited a minute for ${what}: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => (seen = resolve));
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const outbox = await Outbox.open({
    dir: tempDir(t),
    sinks: [sinkFor(t, smtp.port, false)],
    maxAgeMs: 86_400_000,
    retryMinMs: 60_000,
    retryMaxMs: 60_000,
    log: (e) => {
      events.push(e);
      seen?.();
    },
  });
  t.after(() => outbox.close());
  outbox.start();
  const event = alert();
  outbox.enqueue(event);
  await waitFor('the failed attempt', () => events.some((e) => e.kind === 'alert.failed'));
  assert.ok(!events.some((e) => e.kind === 'alert.delivered'));
  const [status] = outbox.status();
  assert.equal(status?.pending, 1);
  assert.match(status?.lastError ?? '', /does not offer STARTTLS/);
  assert.equal(smtp.messages.length, 0);

  outbox.setSinks([sinkFor(t, smtp.port, true)]);
  await waitFor('the delivery', () => events.some((e) => e.kind === 'alert.delivered'));
  assert.equal(outbox.status()[0]?.pending, 0);
  assert.deepEqual(smtp.logins, ['alerts']);
  assert.equal(smtp.messages.length, 1);
  assert.ok(smtp.messages[0]?.includes(event.id));
});
