// The email alert sink: one plain-text message per batch of events, over SMTP or through the local sendmail.
import { spawn, type ChildProcess } from 'node:child_process';
import type Nodemailer from 'nodemailer';
import type { NodemailerError, SendMailOptions } from 'nodemailer';
import type { ResolvedConfig } from '../config/schema.js';
import { isLoopbackHost } from '../urls.js';
import { renderEmail, safeText } from './message.js';
import type { AlertEvent, AlertSink } from './sink.js';

/** `[alerts.email]` as resolved from the config. */
export type ResolvedEmail = ResolvedConfig['alerts']['email'];

/** What the email sink needs: its config keys, plus what the message says about the host. */
export interface EmailSinkOptions extends ResolvedEmail {
  /** The host name alerts are about; also the default sender's domain (`pkgwatch@<host>`). */
  readonly host: string;
  /** `[offline] enabled`, so a message can say that taking the site offline is switched off. */
  readonly offlineEnabled: boolean;
  /** The sendmail binary; default `/usr/sbin/sendmail` (tests point it at a stand-in). */
  readonly sendmailPath?: string;
  /**
   * Whether smtp:// must switch to TLS (STARTTLS) before it logs in or sends; default
   * smtpRequiresTls(smtp, allowPlaintext). Tests set it to treat a server on 127.0.0.1 as remote.
   */
  readonly requireTls?: boolean;
}

/** The most events one message carries. */
export const EMAIL_MAX_BATCH = 1000;

// Beyond timeoutMs, the time nodemailer's own (per-step) timeouts get to fire first, so their more
// precise message wins; the outer timer only catches a server that keeps every step just in time.
const TIMER_SLACK_MS = 2000;
// After sendmail fails, how long to wait for the rest of its stderr before composing the message.
const STDERR_WAIT_MS = 1000;
const STDERR_MAX = 2000;

interface SmtpTarget {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** smtp:// only: STARTTLS or nothing (nodemailer's requireTLS). */
  readonly requireTls: boolean;
  readonly user: string;
  readonly pass: string;
}

/** A sendmail process this sink started: kept so a timeout or close() can kill it and errors can quote its stderr. */
interface SendmailChild {
  readonly child: ChildProcess;
  stderr: string;
  readonly closed: Promise<void>;
}

/** One send in flight, so close() or its timer can stop it. */
interface InFlight {
  readonly abort: AbortController;
  readonly children: SendmailChild[];
  /** Why it was stopped, if it was: the error then says so rather than what the stopping caused. */
  stoppedBy: 'timeout' | 'close' | null;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/**
 * Whether an smtp:// server must be talked to over TLS: yes, unless it is on loopback (a local MTA;
 * nobody on the network can strip STARTTLS there) or `allow_plaintext` is set. Without it, someone
 * on the path could remove STARTTLS from the server's answer, read the login and answer 250 to a
 * message that never arrives. smtps:// is TLS from the first byte anyway.
 */
export function smtpRequiresTls(url: string, allowPlaintext: boolean): boolean {
  const u = new URL(url);
  return u.protocol === 'smtp:' && !allowPlaintext && !isLoopbackHost(u.hostname);
}

/** Parses `[alerts.email] smtp` (already validated as an smtp:// or smtps:// URL with a host). */
function smtpTarget(url: string, requireTls: boolean): SmtpTarget {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return {
    host,
    // nodemailer's defaults: submission with STARTTLS, or implicit TLS.
    port: u.port === '' ? (secure ? 465 : 587) : Number(u.port),
    secure,
    requireTls: !secure && requireTls,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
  };
}

/**
 * Sends alert batches as email: one message per batch (up to EMAIL_MAX_BATCH events) over SMTP
 * (`smtp` set; a new connection per message, no pooling; it wins when both are set) or handed to
 * the local sendmail (`sendmail = true`). Each attempt gives up after `timeoutMs` (plus a little); a retry of the same
 * batch carries the same Message-ID, so a receiver can spot the duplicate.
 */
export class EmailSink implements AlertSink {
  readonly name = 'email';
  readonly maxBatch = EMAIL_MAX_BATCH;
  readonly gatherMs: number;
  readonly #opts: EmailSinkOptions;
  readonly #smtp: SmtpTarget | null;
  readonly #inFlight = new Set<InFlight>();
  #closed = false;

  constructor(opts: EmailSinkOptions) {
    this.#opts = opts;
    this.gatherMs = opts.batchMs;
    this.#smtp = opts.smtp === '' ? null : smtpTarget(opts.smtp, opts.requireTls ?? smtpRequiresTls(opts.smtp, opts.allowPlaintext));
  }

  /** Renders the batch as one message and hands it to the SMTP server or sendmail. */
  async send(events: readonly AlertEvent[]): Promise<void> {
    if (this.#closed) throw new Error('the email sink is closed');
    if (events.length === 0) return;
    if (this.#smtp === null && !this.#opts.sendmail) {
      throw new Error('email alerts have no way out: set [alerts.email] smtp = "smtp://host:587" or sendmail = true');
    }
    const { subject, text } = renderEmail(events, { host: this.#opts.host, offlineEnabled: this.#opts.offlineEnabled });
    const ids = events.map((e) => idToken(e.id));
    const mail: SendMailOptions = {
      from: this.#opts.from === '' ? `pkgwatch@${this.#opts.host}` : this.#opts.from,
      to: [...this.#opts.to],
      subject,
      text,
      messageId: `<${ids[0] ?? 'none'}.${events.length}@pkgwatch>`,
      headers: { 'X-Pkgwatch-Event-Ids': ids.join(', '), 'Auto-Submitted': 'auto-generated' },
      textEncoding: 'quoted-printable',
      disableFileAccess: true,
      disableUrlAccess: true,
    };
    const flight: InFlight = { abort: new AbortController(), children: [], stoppedBy: null };
    this.#inFlight.add(flight);
    try {
      if (this.#smtp !== null) await this.#sendSmtp(this.#smtp, mail, flight);
      else await this.#sendSendmail(mail, flight);
    } finally {
      this.#inFlight.delete(flight);
    }
  }

  async #sendSmtp(target: SmtpTarget, mail: SendMailOptions, flight: InFlight): Promise<void> {
    const t = this.#opts.timeoutMs;
    const nodemailer = await loadNodemailer();
    const transport = nodemailer.createTransport({
      host: target.host,
      port: target.port,
      secure: target.secure,
      // STARTTLS even when the server does not offer it; fails rather than log in or send in plain text.
      requireTLS: target.requireTls,
      ...(target.user === '' && target.pass === '' ? {} : { auth: { user: target.user, pass: target.pass } }),
      connectionTimeout: t,
      greetingTimeout: t,
      socketTimeout: t,
      logger: false,
      debug: false,
    });
    const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    try {
      await this.#bounded(transport.sendMail({ ...mail, signal: flight.abort.signal }), flight);
    } catch (err) {
      // No `cause`: the message says what happened, and nodemailer's error (its response, its
      // connection details) is not something this sink can vouch is free of the credentials.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(scrub(stoppedMessage(flight, t, `talking to ${where}`) ?? smtpMessage(err, where, t), target));
    } finally {
      transport.close();
    }
  }

  async #sendSendmail(mail: SendMailOptions, flight: InFlight): Promise<void> {
    const path = this.#opts.sendmailPath ?? '/usr/sbin/sendmail';
    // nodemailer composes the message; the hand-over is ours, so that a timeout or close() can kill
    // the child and an error can quote its stderr (postdrop says there why it failed).
    const nodemailer = await loadNodemailer();
    const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    const raw = (await composer.sendMail(mail)).message as Buffer;
    const from = typeof mail.from === 'string' ? mail.from : '';
    const child = spawn(path, ['-i', '-f', from, ...this.#opts.to], { stdio: ['pipe', 'ignore', 'pipe'] });
    const rec: SendmailChild = { child, stderr: '', closed: new Promise((resolve) => child.once('close', () => resolve())) };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (rec.stderr.length < STDERR_MAX) rec.stderr += chunk;
    });
    flight.children.push(rec);
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(signal === null ? `exited with code ${String(code)}` : `killed by ${signal}`));
      });
    });
    // A sendmail that exits before reading everything makes the write fail with EPIPE: its exit says why.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(raw);
    try {
      await this.#bounded(done, flight);
    } catch (err) {
      const stopped = stoppedMessage(flight, this.#opts.timeoutMs, `waiting for ${path}`);
      if (stopped !== null) throw new Error(stopped, { cause: err });
      await Promise.race([rec.closed, new Promise((resolve) => setTimeout(resolve, STDERR_WAIT_MS).unref())]);
      throw new Error(sendmailMessage(err, path, child.exitCode, rec.stderr), { cause: err });
    }
  }

  /** Races the send against timeoutMs (+ slack); on timeout aborts it and kills any sendmail child. */
  async #bounded(sending: Promise<unknown>, flight: InFlight): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stop(flight, 'timeout');
        reject(new Error('timed out'));
      }, this.#opts.timeoutMs + TIMER_SLACK_MS);
    });
    // The losing promise must not become an unhandled rejection.
    sending.catch(() => undefined);
    try {
      await Promise.race([sending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops sends in flight (they reject) and kills sendmail children; idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    for (const flight of this.#inFlight) stop(flight, 'close');
    this.#inFlight.clear();
    return Promise.resolve();
  }
}

/**
 * nodemailer, loaded on the first email: the agent imports this module whether or not email is
 * configured, and an idle agent without email should not carry it (measured by `npm run bench`).
 */
async function loadNodemailer(): Promise<typeof Nodemailer> {
  return (await import('nodemailer')).default;
}

function stop(flight: InFlight, why: 'timeout' | 'close'): void {
  flight.stoppedBy ??= why;
  flight.abort.abort();
  for (const rec of flight.children) if (rec.child.exitCode === null && rec.child.signalCode === null) rec.child.kill('SIGTERM');
}

/** An event id as it may appear in a header: event ids are UUIDs, anything else is cut down to safe characters. */
function idToken(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 100) || 'none';
}

/** Removes the SMTP password (as typed, URL-encoded, or in an AUTH PLAIN/LOGIN blob) from a message. */
function scrub(message: string, target: SmtpTarget): string {
  if (target.pass === '') return message;
  const forms = [
    target.pass,
    encodeURIComponent(target.pass),
    Buffer.from(target.pass).toString('base64'),
    Buffer.from(`\0${target.user}\0${target.pass}`).toString('base64'),
  ];
  let out = message;
  for (const f of forms) out = out.split(f).join('***');
  return out;
}

function asNodemailerError(err: unknown): NodemailerError {
  return err instanceof Error ? err : new Error(String(err));
}

/** Server text for a message: safe characters only and not too long. */
function serverText(s: string): string {
  const one = safeText(s.trim());
  return one.length > 300 ? `${one.slice(0, 297)}...` : one;
}

// System errors that mean the connection was never made.
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

/** The message for a send that the timer or close() stopped, or null. */
function stoppedMessage(flight: InFlight, timeoutMs: number, doing: string): string | null {
  if (flight.stoppedBy === 'timeout') return `timed out after ${seconds(timeoutMs)} ${doing}`;
  if (flight.stoppedBy === 'close') return `stopped ${doing}: the email sink was closed`;
  return null;
}

/** An operator's message for a failed SMTP send: the server's reply, or what went wrong with the connection. */
function smtpMessage(err: unknown, where: string, timeoutMs: number): string {
  const e = asNodemailerError(err);
  const during = e.command === undefined ? '' : `, after ${serverText(e.command.split(' ')[0] ?? '')}`;
  // A refusal carries the server's answer; a failed handshake after a 220 does not (and says why below).
  if (e.code === 'ETLS' && e.command === 'STARTTLS' && typeof e.response === 'string') return noStartTls(e.response, where);
  if (e.responseCode !== undefined) {
    const response = serverText(e.response ?? e.message);
    const text = response.startsWith(String(e.responseCode)) ? response : `${e.responseCode} ${response}`;
    const hint = e.code === 'EAUTH' ? ': check user:pass in [alerts.email] smtp' : '';
    return `SMTP ${text} (${where}${during})${hint}`;
  }
  switch (e.code) {
    case 'ETIMEDOUT': {
      // The greeting and the idle-socket timers run at once and either may fire first: both mean no answer.
      const what = e.timeoutType === 'CONNECT_TIMEOUT' ? 'connecting to' : e.timeoutType === 'UPGRADE_TIMEOUT' ? 'starting TLS with' : 'waiting for an answer from';
      return `timed out after ${seconds(timeoutMs)} ${what} ${where}`;
    }
    case 'EDNS':
      return `cannot resolve ${where}: ${serverText(e.message)}`;
    case 'ETLS':
      return `TLS with ${where} failed: ${serverText(e.message)}`;
    case 'EAUTH':
    case 'ENOAUTH':
      return `login to ${where} failed: ${serverText(e.message)}: check user:pass in [alerts.email] smtp`;
    default:
      break;
  }
  const sys = e.originalCode ?? e.code;
  if (sys !== undefined && CONNECT_ERRORS.has(sys)) return `cannot connect to ${where}: ${sys}`;
  if (e.code === 'ESOCKET' || e.code === 'ECONNECTION') return `connection to ${where} failed${during}: ${serverText(e.message)}`;
  return `${serverText(e.message)} (${where}${during}${e.code === undefined ? '' : `, ${e.code}`})`;
}

/** The message for a server that refused STARTTLS (or does not know it): nothing was sent, nor the login. */
function noStartTls(response: string, where: string): string {
  const said = serverText(response);
  return (
    `${where} does not offer STARTTLS (it answered "${said}"), and TLS is required for smtp:// to a host that is not loopback; ` +
    'nothing was sent: turn on TLS at the server, use smtps://, or set [alerts.email] allow_plaintext = true if the network to it is trusted'
  );
}

const NO_NEW_PRIVS =
  'under the hardened pkgwatch unit (NoNewPrivileges=yes) a setgid MTA helper such as postfix\'s postdrop cannot get its group: use [alerts.email] smtp instead';

/** An operator's message for a failed hand-over to sendmail, with what it said on stderr. */
function sendmailMessage(err: unknown, path: string, exitCode: number | null, stderr: string): string {
  const e = asNodemailerError(err);
  const said = stderr.trim() === '' ? '' : `: ${serverText(stderr.trim().split('\n').slice(0, 3).join(' / '))}`;
  const permission = e.code === 'EACCES' || e.code === 'EPERM' || /permission denied|not permitted/i.test(stderr);
  const hint = permission ? `; ${NO_NEW_PRIVS}` : '';
  if (e.code === 'ENOENT') return `cannot run ${path}: not found (ENOENT); install an MTA or set [alerts.email] smtp`;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `cannot run ${path}: permission denied (${e.code})${hint}`;
  const code = exitCode ?? Number(/exited with code (\d+)/.exec(e.message)?.[1] ?? 0);
  if (code !== 0) {
    const meaning = code === 127 ? ' (command not found)' : code === 75 ? ' (EX_TEMPFAIL: temporary failure)' : '';
    return `${path} exited with code ${code}${meaning}${said}${hint}`;
  }
  return `${path} failed: ${serverText(e.message)}${said}${hint}`;
}
