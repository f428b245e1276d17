// Checks that look at several keys at once (email needs `to` and a way to send, offline needs
// something to do), after each key has checked on its own.
import { isLoopbackHost, maskUrl } from '../urls.js';
import type { ResolvedConfig } from './schema.js';
import { quote } from './values.js';

/** One inconsistency: the key to point at (dotted, as in TOML), what to do about it, and every key it read. */
export interface CombinationProblem {
  readonly key: string;
  readonly message: string;
  /** The keys whose values decided it (`key` among them): it means nothing if one of them was invalid. */
  readonly reads: readonly string[];
}

/** Every inconsistency between keys of a resolved configuration, in schema order. */
export function combinationProblems(cfg: ResolvedConfig): CombinationProblem[] {
  const out: CombinationProblem[] = [];
  const add = (key: string, message: string, also: readonly string[]): void => {
    out.push({ key, message, reads: [key, ...also] });
  };
  const a = cfg.alerts;
  if (a.retryMinMs > a.retryMaxMs) add('alerts.retry_min', 'is longer than alerts.retry_max; make retry_min the shorter wait', ['alerts.retry_max']);
  const e = a.email;
  if (e.to.length > 0 && e.smtp === '' && !e.sendmail) {
    add('alerts.email.to', 'is set but there is no way to send: set alerts.email.smtp = "smtp://host:587" or alerts.email.sendmail = true', ['alerts.email.smtp', 'alerts.email.sendmail']);
  }
  if (e.smtp !== '' && e.sendmail) add('alerts.email.sendmail', 'is true and alerts.email.smtp is set too; keep only one of them', ['alerts.email.smtp']);
  if (e.to.length === 0 && (e.smtp !== '' || e.sendmail)) {
    add(e.smtp !== '' ? 'alerts.email.smtp' : 'alerts.email.sendmail', 'is set but alerts.email.to is empty, so no email would be sent; set to = ["ops@example.com"]', ['alerts.email.to', 'alerts.email.smtp', 'alerts.email.sendmail']);
  }
  const w = a.webhook;
  if (w.url === '' && w.secret !== '') add('alerts.webhook.secret', 'has no effect without alerts.webhook.url; set the url or remove the secret', ['alerts.webhook.url']);
  if (w.url !== '' && !w.allowPlaintext) {
    const u = new URL(w.url);
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
      add(
        'alerts.webhook.url',
        `${quote(maskUrl(u))} is plain http to a host that is not loopback: alerts and header values could be read, changed or dropped on the way; use https://, or set alerts.webhook.allow_plaintext = true if that network is trusted`,
        ['alerts.webhook.allow_plaintext'],
      );
    }
  }
  const am = a.alertmanager;
  if (!am.allowPlaintext) {
    for (const url of am.urls) {
      const u = new URL(url);
      if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
        add(
          'alerts.alertmanager.url',
          `${quote(maskUrl(u))} is plain http to a host that is not loopback: alerts could be read, changed or dropped on the way; use https://, or set alerts.alertmanager.allow_plaintext = true if that network is trusted`,
          ['alerts.alertmanager.allow_plaintext'],
        );
      }
    }
  }
  const hb = a.heartbeat;
  if (hb.url !== '' && !hb.allowPlaintext) {
    const u = new URL(hb.url);
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
      add(
        'alerts.heartbeat.url',
        `${quote(maskUrl(u))} is plain http to a host that is not loopback: its token could be read on the way and the switch fed by someone else; use https://, or set alerts.heartbeat.allow_plaintext = true if that network is trusted`,
        ['alerts.heartbeat.allow_plaintext'],
      );
    }
  }
  if (w.url === '' && w.headers.length > 0) add('alerts.webhook.headers', 'have no effect without alerts.webhook.url; set the url or remove the headers', ['alerts.webhook.url']);
  const o = cfg.offline;
  if (o.command.length > 0 && o.command[0] === '') add('offline.command', 'the first entry is the program to run and must not be empty', []);
  if (o.restoreCommand.length > 0 && o.restoreCommand[0] === '') add('offline.restore_command', 'the first entry is the program to run and must not be empty', []);
  if (o.enabled) {
    if (o.flagFile === '' && o.stopUnits.length === 0 && o.command.length === 0) {
      add('offline.enabled', 'is true but there is nothing to do: set offline.flag_file, offline.stop_units or offline.command', ['offline.flag_file', 'offline.stop_units', 'offline.command']);
    }
    if (o.on.length === 0) add('offline.on', 'is empty, so no finding would ever take the site offline; list statuses or set offline.enabled = false', ['offline.enabled']);
    if (cfg.scope.packages.length === 0) add('offline.enabled', 'is true but scope.packages is empty: only findings in the scoped packages take the site offline; list the web application\'s packages', ['scope.packages']);
  }
  return out;
}
