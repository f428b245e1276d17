// The email sink against a real SMTP server (smtp-server on 127.0.0.1) and a stand-in sendmail script.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { EmailSink, type EmailSinkOptions } from '../../src/alerts/email.js';
import { timedWhenReady, uniqueSleep, until, waitNoProcessWith } from '../helpers/wait.js';
import { ONLINE, type AlertEvent } from '../../src/alerts/sink.js';
import type { FindingJson } from '../../src/verify/report.js';

const MD5_A = '0123456789abcdef0123456789abcdef';
const MD5_B = 'fedcba9876543210fedcba9876543210';

const FINDINGS: FindingJson[] = [
  { package: 'libfoo', path: '/usr/lib/libfoo.so.1', status: 'changed', conffile: false, expected: MD5_A, actual: MD5_B, detail: null },
  { package: 'myapp', path: '/etc/myapp/app.conf', status: 'changed', conffile: true, expected: MD5_B, actual: MD5_A, detail: null },
  { package: 'myapp', path: '/usr/share/myapp/app.py', status: 'wrong-type', conffile: false, expected: MD5_A, actual: 'symlink', detail: 'points to /tmp/x' },
];

const OPENED: AlertEvent = {
  kind: 'findings.opened',
  id: '11111111-1111-4111-8111-111111111111',
  host: 'web1.example.com',
  time: '2024-01-31T12:00:00.000Z',
  findings: FINDINGS,
  offline: ONLINE,
};

const OFFLINE: AlertEvent = {
  kind: 'site.offline',
  id: '22222222-2222-4222-8222-222222222222',
  host: 'web1.example.com',
  time: '2024-01-31T12:00:03.000Z',
  findings: FINDINGS,
  offline: { active: true, since: '2024-01-31T12:00:03.000Z', reason: '3 findings in libfoo, myapp' },
  actions: [
    { action: 'flag_file', target: '/var/lib/pkgwatch/maintenance.on', ok: true, detail: 'created' },
    { action: 'stop_unit', target: 'php-fpm.service', ok: false, detail: 'exit 1: Access denied' },
  ],
};

interface Received {
  readonly from: string;
  readonly to: string[];
  readonly user: string | undefined;
  readonly raw: string;
}

interface Smtp {
  readonly port: number;
  readonly received: Received[];
  /** While set, RCPT TO is answered with this code. */
  failWith: number | null;
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 without TLS; with `login`, it checks the credentials when a client logs in. */
async function smtpServer(t: TestContext, login?: { user: string; pass: string }): Promise<Smtp> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const state: { failWith: number | null } = { failWith: null };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (login !== undefined && auth.username === login.user && auth.password === login.pass) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, cb) {
      if (state.failWith === null) cb();
      else cb(Object.assign(new Error('4.3.0 Mailbox busy, try again later'), { responseCode: state.failWith }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope;
        received.push({
          from: env.mailFrom === false ? '' : env.mailFrom.address,
          to: env.rcptTo.map((a) => a.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(resolve)));
  const address = server.server.address();
  assert.ok(address !== null && typeof address === 'object');
  const smtp: Smtp = {
    port: address.port,
    received,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    async waitFor(n) {
      while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
  return smtp;
}

function options(over: Partial<EmailSinkOptions>): EmailSinkOptions {
  return {
    to: ['ops@example.com'],
    from: '',
    smtp: '',
    allowPlaintext: false,
    sendmail: false,
    batchMs: 10_000,
    timeoutMs: 10_000,
    host: 'web1.example.com',
    offlineEnabled: true,
    ...over,
  };
}

function sinkFor(t: TestContext, over: Partial<EmailSinkOptions>): EmailSink {
  const sink = new EmailSink(options(over));
  t.after(() => sink.close());
  return sink;
}

/** The message split into unfolded headers (name lowercased) and its body, decoded from its transfer encoding. */
function parse(raw: string): { headers: [string, string][]; header(name: string): string | undefined; body: string } {
  const crlf = raw.replace(/\r?\n/g, '\r\n');
  const split = crlf.indexOf('\r\n\r\n');
  const head = crlf.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = head.split('\r\n').map((l): [string, string] => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
  });
  const header = (name: string): string | undefined => headers.find(([n]) => n === name)?.[1];
  const encoded = crlf.slice(split + 4);
  let body: string;
  const cte = header('content-transfer-encoding');
  if (cte === 'quoted-printable') {
    const qp = encoded.replace(/=\r\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < qp.length; i++) {
      const hex = qp.slice(i + 1, i + 3);
      if (qp[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else bytes.push(qp.charCodeAt(i));
    }
    body = Buffer.from(bytes).toString('utf8');
  } else if (cte === 'base64') {
    body = Buffer.from(encoded, 'base64').toString('utf8');
  } else {
    body = encoded;
  }
  return { headers, header, body: body.replace(/\r\n/g, '\n') };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pkgwatch-email-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

test('a batch of two events is one message with the findings, the offline steps and how to restore', async (t) => {
  const smtp = await smtpServer(t);
  const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${smtp.port}` });
  assert.equal(sink.name, 'email');
  assert.equal(sink.maxBatch, 1000);
  assert.equal(sink.gatherMs, 10_000);
  await sink.send([OPENED, OFFLINE]);
  await smtp.waitFor(1);
  assert.equal(smtp.received.length, 1);
  const got = smtp.received[0];
  assert.ok(got !== undefined);
  assert.equal(got.from, 'pkgwatch@web1.example.com');
  assert.deepEqual(got.to, ['ops@example.com']);
  const msg = parse(got.raw);
  assert.equal(msg.header('from'), 'pkgwatch@web1.example.com');
  assert.equal(msg.header('to'), 'ops@example.com');
  assert.equal(msg.header('subject'), '[pkgwatch] web1.example.com: 3 new findings in libfoo, myapp (site OFFLINE, 1 step FAILED)');
  assert.equal(msg.header('message-id'), `<${OPENED.id}.2@pkgwatch>`);
  assert.equal(msg.header('x-pkgwatch-event-ids'), `${OPENED.id}, ${OFFLINE.id}`);
  assert.equal(msg.header('auto-submitted'), 'auto-generated');
  assert.match(msg.header('content-type') ?? '', /^text\/plain; charset=utf-8/);
  for (const f of FINDINGS) {
    assert.ok(msg.body.includes(`path:     ${f.path}`), f.path);
    assert.ok(msg.body.includes(`expected: ${f.expected ?? ''}`));
    assert.ok(msg.body.includes(`actual:   ${f.actual ?? ''}`));
  }
  assert.ok(msg.body.includes('== What pkgwatch did =='));
  // Lines are wrapped for phones; compare this sentence with the breaks taken out.
  assert.ok(msg.body.replace(/\n/g, ' ').includes('The site was taken OFFLINE at 2024-01-31T12:00:03.000Z because 3 findings in libfoo, myapp.'));
  assert.ok(msg.body.includes('- ok: flag_file /var/lib/pkgwatch/maintenance.on'));
  assert.ok(msg.body.includes('- FAILED: stop_unit php-fpm.service'));
  assert.ok(msg.body.includes('== To restore =='));
  assert.ok(msg.body.includes('apt-get install --reinstall libfoo myapp'));
  assert.ok(msg.body.includes('pkgwatch online'));
  assert.ok(msg.body.includes(`id ${OFFLINE.id}`));
});

test('logs in with user:pass from the URL, and uses the configured sender', async (t) => {
  const smtp = await smtpServer(t, { user: 'alerts@example.com', pass: 'p@ss word' });
  const sink = sinkFor(t, { smtp: `smtp://alerts%40example.com:p%40ss%20word@127.0.0.1:${smtp.port}`, from: 'pkgwatch@example.com', to: ['a@example.com', 'b@example.com'] });
  await sink.send([OPENED]);
  await smtp.waitFor(1);
  assert.equal(smtp.received[0]?.user, 'alerts@example.com');
  assert.equal(smtp.received[0]?.from, 'pkgwatch@example.com');
  assert.deepEqual(smtp.received[0]?.to, ['a@example.com', 'b@example.com']);
  const bad = sinkFor(t, { smtp: `smtp://alerts%40example.com:wrong-secret@127.0.0.1:${smtp.port}` });
  await assert.rejects(bad.send([OPENED]), (err: Error) => {
    assert.match(err.message, /^SMTP 535 5\.7\.8 Authentication failed \(127\.0\.0\.1:\d+, after AUTH\): check user:pass in \[alerts\.email\] smtp$/);
    assert.ok(!err.message.includes('wrong-secret'));
    return true;
  });
});

test('a 4xx answer rejects with the code and without the password; the same sink sends once the server accepts', async (t) => {
  const smtp = await smtpServer(t, { user: 'alerts', pass: 'hunter2-secret' });
  const sink = sinkFor(t, { smtp: `smtp://alerts:hunter2-secret@127.0.0.1:${smtp.port}` });
  smtp.failWith = 451;
  await assert.rejects(sink.send([OPENED, OFFLINE]), (err: Error) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /^SMTP 451 4\.3\.0 Mailbox busy, try again later \(127\.0\.0\.1:\d+, after RCPT\)$/);
    assert.ok(!err.message.includes('hunter2'));
    return true;
  });
  assert.equal(smtp.received.length, 0);
  smtp.failWith = null;
  await sink.send([OPENED, OFFLINE]);
  await smtp.waitFor(1);
  assert.equal(smtp.received.length, 1);
  // The retry of the same batch has the Message-ID the first attempt had.
  assert.equal(parse(smtp.received[0]?.raw ?? '').header('message-id'), `<${OPENED.id}.2@pkgwatch>`);
});

test('a port nobody listens on rejects with ECONNREFUSED', async (t) => {
  const port = await freePort();
  const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${port}` });
  await assert.rejects(sink.send([OPENED]), { message: `cannot connect to 127.0.0.1:${port}: ECONNREFUSED` });
});

/** A TCP server on 127.0.0.1 that is not an SMTP server: `onConnection` decides what it says. */
async function rawServer(t: TestContext, onConnection: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** The message a send rejected with. */
async function rejection(sending: Promise<void>): Promise<string> {
  return sending.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}

test('a server that accepts the connection but never answers times out', async (t) => {
  await timedWhenReady(t, 1000, async (timeoutMs) => {
    const port = await rawServer(t, () => undefined);
    const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${port}`, timeoutMs });
    const message = await rejection(sink.send([OPENED]));
    // Another timer wins only when this process stalls for seconds: before the connection (connect
    // timer) or between connecting and the greeting timer (the overall timer).
    const stalled = [`connecting to`, `talking to`].map((doing) => `timed out after ${timeoutMs / 1000} s ${doing} 127.0.0.1:${port}`);
    if (stalled.includes(message)) return { ready: false, result: null };
    assert.equal(message, `timed out after ${timeoutMs / 1000} s waiting for an answer from 127.0.0.1:${port}`);
    return { ready: true, result: null };
  });
});

test('a server that answers too slowly to ever finish is cut off by the overall timer', async (t) => {
  await timedWhenReady(t, 1000, async (timeoutMs) => {
    // Greets, then answers EHLO one byte at a time, never idle long enough for nodemailer's own timeouts.
    const port = await rawServer(t, (s) => {
      s.write('220 slow.example ESMTP\r\n');
      s.once('data', () => {
        const timer = setInterval(() => s.write('2'), 100);
        s.on('close', () => clearInterval(timer));
      });
    });
    const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${port}`, timeoutMs });
    const message = await rejection(sink.send([OPENED]));
    // Another timer wins only when this process stalls for the whole timeout: before the connection
    // (connect timer), or between two bytes (idle timer).
    const stalled = [`connecting to`, `waiting for an answer from`].map((doing) => `timed out after ${timeoutMs / 1000} s ${doing} 127.0.0.1:${port}`);
    if (stalled.includes(message)) return { ready: false, result: null };
    assert.equal(message, `timed out after ${timeoutMs / 1000} s talking to 127.0.0.1:${port}`);
    return { ready: true, result: null };
  });
});

test('close() stops a send in flight', async (t) => {
  const port = await rawServer(t, () => undefined);
  const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${port}`, timeoutMs: 60_000 });
  const sending = sink.send([OPENED]);
  await sink.close();
  await assert.rejects(sending, { message: `stopped talking to 127.0.0.1:${port}: the email sink was closed` });
});

test('package names and paths cannot add headers', async (t) => {
  const smtp = await smtpServer(t);
  const sink = sinkFor(t, { smtp: `smtp://127.0.0.1:${smtp.port}` });
  const evil: AlertEvent = {
    ...OPENED,
    findings: [{ package: 'evil\r\nBcc: x@evil.example', path: '/x\r\nBcc: y@evil.example\r\n\r\nfake body', status: 'missing', conffile: false, expected: MD5_A, actual: null, detail: '\nBcc: z@evil.example' }],
  };
  await sink.send([evil]);
  await smtp.waitFor(1);
  const got = smtp.received[0];
  assert.ok(got !== undefined);
  assert.deepEqual(got.to, ['ops@example.com']);
  const msg = parse(got.raw);
  assert.deepEqual(msg.headers.filter(([n]) => n === 'bcc' || n === 'cc'), []);
  assert.equal(msg.header('subject'), '[pkgwatch] web1.example.com: 1 file missing in evil\\x0d\\x0aBcc: x@evil.example');
  assert.ok(msg.body.includes('path:     /x\\x0d\\x0aBcc: y@evil.example\\x0d\\x0a\\x0d\\x0afake body'));
  assert.ok(!/^Bcc:/m.test(msg.body));
});

/** A stand-in for the MTA: a shell script that does what a sendmail binary would, or fails like one. */
function sendmailScript(dir: string, body: string): string {
  const file = path.join(dir, 'sendmail');
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test('sendmail: the message goes to the binary on stdin, with -i -f <from> and the recipients', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'message');
  const args = path.join(dir, 'args');
  // Stands in for /usr/sbin/sendmail: writes what the MTA would queue.
  const script = sendmailScript(dir, `printf '%s\\n' "$@" > '${args}'\ncat > '${out}'`);
  const sink = sinkFor(t, { sendmail: true, sendmailPath: script });
  await sink.send([OPENED, OFFLINE]);
  assert.deepEqual(readFileSync(args, 'utf8').split('\n'), ['-i', '-f', 'pkgwatch@web1.example.com', 'ops@example.com', '']);
  const msg = parse(readFileSync(out, 'utf8'));
  assert.match(msg.header('subject') ?? '', /^\[pkgwatch\] web1\.example\.com: 3 new findings/);
  assert.ok(msg.body.includes('path:     /usr/lib/libfoo.so.1'));
});

test('sendmail: a non-zero exit rejects, and a permission problem mentions NoNewPrivileges', async (t) => {
  const dir = tempDir(t);
  const tempfail = sinkFor(t, { sendmail: true, sendmailPath: sendmailScript(dir, 'cat > /dev/null\nexit 75') });
  await assert.rejects(tempfail.send([OPENED]), (err: Error) => {
    assert.equal(err.message, `${path.join(dir, 'sendmail')} exited with code 75 (EX_TEMPFAIL: temporary failure)`);
    return true;
  });
  const postdrop = sendmailScript(
    tempDir(t),
    "cat > /dev/null\necho 'postdrop: warning: mail_queue_enter: create file maildrop/4711: Permission denied' >&2\nexit 75",
  );
  const denied = sinkFor(t, { sendmail: true, sendmailPath: postdrop });
  await assert.rejects(denied.send([OPENED]), (err: Error) => {
    assert.match(err.message, /exited with code 75 .*: postdrop: warning: mail_queue_enter: create file maildrop\/4711: Permission denied; /);
    assert.match(err.message, /NoNewPrivileges/);
    return true;
  });
});

test('sendmail: a missing binary rejects and says so', async (t) => {
  const missing = path.join(tempDir(t), 'no-such-sendmail');
  assert.equal(existsSync(missing), false);
  const sink = sinkFor(t, { sendmail: true, sendmailPath: missing });
  await assert.rejects(sink.send([OPENED]), { message: `cannot run ${missing}: not found (ENOENT); install an MTA or set [alerts.email] smtp` });
});

test('sendmail: a binary that hangs is killed after the timeout', async (t) => {
  const dir = tempDir(t);
  const seconds = uniqueSleep();
  await timedWhenReady(t, 1000, async (timeoutMs) => {
    // `started` says the script ran before the timeout fired; earlier, the kill only stops sh starting up.
    const started = path.join(dir, `started-${timeoutMs}`);
    const script = sendmailScript(dir, `: > '${started}'\nexec sleep ${seconds}`);
    const sink = sinkFor(t, { sendmail: true, sendmailPath: script, timeoutMs });
    assert.equal(await rejection(sink.send([OPENED])), `timed out after ${timeoutMs / 1000} s waiting for ${script}`);
    await waitNoProcessWith(script, seconds);
    return { ready: existsSync(started), result: null };
  });
});

test('sendmail: close() kills a binary that is still running', async (t) => {
  const dir = tempDir(t);
  const seconds = uniqueSleep();
  const started = path.join(dir, 'started');
  const script = sendmailScript(dir, `: > '${started}'\nexec sleep ${seconds}`);
  // A timeout far beyond the wait for the script: only close() stops it.
  const sink = sinkFor(t, { sendmail: true, sendmailPath: script, timeoutMs: 3_600_000 });
  const sending = sink.send([OPENED]);
  await until(() => existsSync(started), 'the stand-in sendmail to start');
  await sink.close();
  await assert.rejects(sending, { message: `stopped waiting for ${script}: the email sink was closed` });
  await waitNoProcessWith(script, seconds);
});

test('no transport configured rejects with what to set; close is idempotent and later sends reject', async (t) => {
  const none = sinkFor(t, {});
  await assert.rejects(none.send([OPENED]), { message: 'email alerts have no way out: set [alerts.email] smtp = "smtp://host:587" or sendmail = true' });
  await none.close();
  await none.close();
  await assert.rejects(none.send([OPENED]), { message: 'the email sink is closed' });
});
