// A throwaway self-signed certificate for 127.0.0.1, made with openssl (which .ci/run installs).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A certificate, its key (PEM) and the file holding the certificate (for NODE_EXTRA_CA_CERTS). */
export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
}

/** Makes a P-256 certificate for IP 127.0.0.1, valid for two days, in `dir`. */
export function selfSignedCert(dir: string): SelfSigned {
  const certFile = path.join(dir, 'receiver.crt');
  const keyFile = path.join(dir, 'receiver.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
}
