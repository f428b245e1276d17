// Runs Debian's real nginx on 127.0.0.1 with the shipped maintenance snippet (systemd/nginx-maintenance.conf) included, for the offline tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { REPO_ROOT } from './cli.js';

/** Debian's nginx (package nginx-light, or nginx). */
export const NGINX = '/usr/sbin/nginx';
/** The snippet as shipped, and the flag path it names (the default of `[offline] flag_file`). */
export const SNIPPET = `${REPO_ROOT}systemd/nginx-maintenance.conf`;
export const DEFAULT_FLAG = '/var/lib/pkgwatch/maintenance.on';

export interface NginxOptions {
  /** The flag file the snippet checks instead of DEFAULT_FLAG. Its directory must be searchable by others (0711), as in production. */
  readonly flagFile: string;
  /** When given, `/app/` is proxied to this base URL (an application behind nginx). */
  readonly upstream?: string;
}

export interface RunningNginx {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  /** SIGQUIT (graceful), then SIGKILL to the whole process group if it has not exited within 10 s. */
  stop(): Promise<void>;
}

/** A plain HTTP response. */
export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Safety nets against a hang (an answer, nginx's start-up): never a limit a busy machine should reach. */
const WAIT_MS = 120_000;

/** One request on a fresh connection (no keep-alive between test steps). */
export function request(url: string, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: WAIT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${WAIT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function config(prefix: string, port: number, snippet: string, opts: NginxOptions): string {
  const lines = [
    // As root (the usual case here), the workers run as www-data, as on a Debian webserver: the
    // test then shows that they can stat a 0644 flag in a 0711 directory. Not `user root`, which
    // would hide a permission problem. As another user, nginx ignores `user` and keeps its own.
    ...(process.getuid?.() === 0 ? ['user www-data;'] : []),
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    // Built-in temp paths are under /var/lib/nginx, which need not exist or be writable.
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t}_temp;`),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    include ${snippet};`,
    '    location / { default_type text/plain; return 200 "hello\\n"; }',
    // nginx's own 503 (as limit_req would make): with no flag, a plain 503, not the maintenance text.
    '    location = /nginx-503 { return 503; }',
    // A location with error pages of its own still gets the maintenance page.
    '    location /own-errors/ { error_page 404 /missing.html; default_type text/plain; return 200 "hello\\n"; }',
    ...(opts.upstream !== undefined ? [`    location /app/ { proxy_pass ${opts.upstream}; }`] : []),
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * Starts nginx (`daemon off; master_process on;`) on a free 127.0.0.1 port with a temp prefix and
 * a copy of the shipped snippet pointed at `opts.flagFile`; resolves once it answers. `t.after`
 * stops it. Fails (does not skip) when nginx is not installed.
 */
export async function startNginx(t: TestContext, opts: NginxOptions): Promise<RunningNginx> {
  try {
    accessSync(NGINX, constants.X_OK);
  } catch {
    assert.fail(`${NGINX} is missing: install nginx-light (apt-get install nginx-light)`);
  }
  assert.match(opts.flagFile, /^\/[\w./-]+$/, 'the flag path goes into nginx.conf unquoted');
  const prefix = await mkdtemp(join(tmpdir(), 'pkgwatch-nginx-'));
  t.after(() => rm(prefix, { recursive: true, force: true }));
  // The workers (www-data) open nothing here, but the temp paths nginx makes for them are inside.
  await chmod(prefix, 0o711);
  const shipped = await readFile(SNIPPET, 'utf8');
  assert.ok(shipped.includes(DEFAULT_FLAG), `${SNIPPET} no longer names ${DEFAULT_FLAG}, the default of [offline] flag_file`);
  const snippet = join(prefix, 'pkgwatch-maintenance.conf');
  await writeFile(snippet, shipped.replaceAll(DEFAULT_FLAG, opts.flagFile));
  const conf = join(prefix, 'nginx.conf');

  // The port is free when picked but may be taken before nginx binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(conf, config(prefix, port, snippet, opts));
    const errorLog = join(prefix, 'error.log');
    // A process group of its own, so that SIGKILL reaches the workers too.
    const child = spawn(NGINX, ['-p', `${prefix}/`, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.stdout.resume();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let running = true;
    void exited.then(() => (running = false));
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      if (!running || child.pid === undefined) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          // gone already
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    };
    t.after(stop);

    const deadline = Date.now() + WAIT_MS;
    while (running && Date.now() < deadline) {
      try {
        await request(`${url}/`);
        return { url, stop };
      } catch {
        await delay(50);
      }
    }
    await stop();
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    if (/Address already in use/.test(stderr + log) && attempt < 5) continue;
    assert.fail(`nginx did not answer on ${url} within ${WAIT_MS / 1000} s:\n--- stderr\n${stderr}--- ${errorLog}\n${log}--- nginx.conf\n${await readFile(conf, 'utf8')}`);
  }
}
