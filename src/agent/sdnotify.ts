// sd_notify(3) for Type=notify units: READY, RELOADING, STOPPING and watchdog keep-alives.
// Node has no datagram sockets, so each message goes through systemd-notify(1) (NotifyAccess=all).
import { execFile } from 'node:child_process';

/** Whether systemd expects notifications from this service. */
export function notifyWanted(): boolean {
  return process.env['NOTIFY_SOCKET'] !== undefined;
}

/** Sends one state line (e.g. `READY=1`); never throws: a missed message is logged by the caller. */
export function sdNotify(state: string): Promise<void> {
  if (!notifyWanted()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    // --pid names the main process, so systemd attributes the message to it, not to the helper.
    execFile('systemd-notify', [`--pid=${process.pid}`, state], { timeout: 5000 }, (err: Error | null) => (err === null ? resolve() : reject(err)));
  });
}

/** Half the watchdog interval systemd asked for, or null when there is no watchdog. */
export function watchdogIntervalMs(): number | null {
  const usec = Number(process.env['WATCHDOG_USEC']);
  const pid = process.env['WATCHDOG_PID'];
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (pid !== undefined && Number(pid) !== process.pid) return null;
  return Math.max(1000, Math.floor(usec / 2000));
}
