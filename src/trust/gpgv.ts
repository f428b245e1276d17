// Runs gpgv on a private copy of a signed file: its verdict, and for a clearsigned file exactly the text it signed.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { judgeStatus, type SignatureVerdict } from './gpgstatus.js';

/** What gpgv said. */
export interface GpgvResult {
  readonly verdict: SignatureVerdict;
  /** Clearsigned input: the signed text as gpgv output it (never the text around it); else null. */
  readonly signedText: Buffer | null;
  /** gpgv could not run at all (not installed), else null. */
  readonly error: string | null;
}

export interface GpgvRequest {
  /** A private directory (mode 0700) for gpgv's home and the copies it reads. */
  readonly workDir: string;
  /** Binary keyring files (host paths, in workDir). */
  readonly keyrings: readonly string[];
  /** The clearsigned InRelease, or the detached Release.gpg. */
  readonly signature: Buffer;
  /** For a detached signature: the Release it signs. */
  readonly data?: Buffer;
  /** Largest signed text accepted (default 64 MiB). */
  readonly maxOut?: number;
}

let serial = 0;

/**
 * Verifies with `gpgv --status-fd 3 --output -` and only the given keyrings. The input was read by
 * the caller and is copied into `workDir` first, so gpgv checks the very bytes pkgwatch parses.
 */
export async function runGpgv(req: GpgvRequest): Promise<GpgvResult> {
  const n = ++serial;
  const sigFile = path.join(req.workDir, `signed-${n}`);
  await writeFile(sigFile, req.signature, { flag: 'wx', mode: 0o600 });
  const args = ['--homedir', req.workDir, '--status-fd', '3'];
  for (const k of req.keyrings) args.push('--keyring', k);
  if (req.data !== undefined) {
    const dataFile = path.join(req.workDir, `data-${n}`);
    await writeFile(dataFile, req.data, { flag: 'wx', mode: 0o600 });
    args.push(sigFile, dataFile);
  } else {
    args.push('--output', '-', sigFile);
  }
  const maxOut = req.maxOut ?? 64 << 20;
  return new Promise((resolve) => {
    const child = spawn('gpgv', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let outBytes = 0;
    let status = '';
    let stderr = '';
    let tooBig = false;
    child.stdout?.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes > maxOut) {
        tooBig = true;
        child.kill('SIGKILL');
      } else out.push(c);
    });
    const statusPipe = child.stdio[3] as NodeJS.ReadableStream;
    statusPipe.on('data', (c: Buffer) => {
      if (status.length < 1 << 20) status += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString('utf8');
    });
    child.on('error', (err) => {
      const error = errnoCode(err) === 'ENOENT' ? 'gpgv is not installed (apt-get install gpgv)' : `gpgv: ${err.message}`;
      resolve({ verdict: { ok: false, signers: [], keys: [], problems: [error] }, signedText: null, error });
    });
    child.on('close', () => {
      if (tooBig) {
        resolve({ verdict: { ok: false, signers: [], keys: [], problems: [`the signed text is larger than ${maxOut} bytes`] }, signedText: null, error: null });
        return;
      }
      const verdict = judgeStatus(status);
      const problems = verdict.problems.length === 0 && !verdict.ok ? [firstLine(stderr)] : verdict.problems;
      resolve({ verdict: { ...verdict, problems }, signedText: req.data === undefined ? Buffer.concat(out) : null, error: null });
    });
  });
}

function firstLine(s: string): string {
  const l = s
    .split('\n')
    .map((x) => x.replace(/^gpgv: /, '').trim())
    .find((x) => x !== '');
  return l ?? 'gpgv reported no good signature';
}
