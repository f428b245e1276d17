// A real apt-get against a signed test repository served over HTTP on 127.0.0.1, installing into a temp root.
import { createReadStream, mkdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runProcess, type CliResult } from './cli.js';

/** A static file server for a repository directory; `close` stops it. */
export interface RepoServer {
  readonly uri: string;
  close(): Promise<void>;
}

/** Serves `dir` read-only on 127.0.0.1 (any free port): GET and HEAD of regular files, 404 otherwise. */
export async function serveRepo(dir: string): Promise<RepoServer> {
  const base = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = path.join(base, decodeURIComponent(url.pathname));
    let size = -1;
    try {
      if (file.startsWith(`${base}/`)) {
        const st = statSync(file);
        if (st.isFile()) size = st.size;
      }
    } catch {
      // not there
    }
    if (size < 0) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    uri: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Makes an empty Debian root for apt and dpkg at `root`: dpkg's database, apt's dirs, a deb822
 * source for `uri` (suite stable, main) with Signed-By `keyring`. The keyring is named by its host
 * path and copied to the same path inside the root, so apt (which reads Signed-By on the host) and
 * pkgwatch (which reads it under --root) see the same key.
 */
export function makeAptRoot(root: string, uri: string, keyring: string): void {
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/cache/apt/archives/partial', 'var/lib/apt/lists/partial', 'var/log/apt', 'etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d']) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
  // dpkg and pkgwatch map the archive's owner names through these, as on a real system.
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
  mkdirSync(path.join(root, path.dirname(keyring)), { recursive: true });
  copyFileSync(keyring, path.join(root, keyring));
  writeFileSync(path.join(root, 'etc/apt/sources.list.d/pkgwatch-test.sources'), `Types: deb\nURIs: ${uri}\nSuites: stable\nComponents: main\nSigned-By: ${keyring}\n`);
}

/**
 * apt-get with everything under `root` (`Dir`), dpkg run with `--root` and chrootless maintainer
 * scripts, as root without the _apt sandbox or locks (the tests own the root), plus `extra` options.
 */
export function aptGet(root: string, args: readonly string[], extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const o = [
    `Dir=${root}`,
    'Dir::Bin::dpkg=/usr/bin/dpkg',
    `DPkg::Options::=--root=${root}`,
    'DPkg::Options::=--force-script-chrootless',
    'APT::Sandbox::User=root',
    'Debug::NoLocking=1',
    'APT::Architecture=amd64',
    'Acquire::Languages=none',
    ...extra,
  ];
  return runProcess('apt-get', [...o.flatMap((x) => ['-o', x]), '-y', '-q', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive', ...env }, timeoutMs: 600_000 });
}
