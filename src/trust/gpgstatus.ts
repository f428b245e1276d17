// Judges gpgv's machine-readable status lines ([GNUPG:] ...): which signatures are good, and why not.

/** What gpgv's status said about a signed file. */
export interface SignatureVerdict {
  /** True when at least one signature is good and none is bad. */
  readonly ok: boolean;
  /** Primary-key fingerprints of the good signatures. */
  readonly signers: readonly string[];
  /** Fingerprints of the (sub)keys that made the good signatures. */
  readonly keys: readonly string[];
  /** Why signatures were not good, one phrase each (`no public key 6ED0E7B82643E131`). */
  readonly problems: readonly string[];
}

/** OpenPGP hash algorithms apt refuses for Release signatures: MD5, SHA1, RIPEMD160. */
const WEAK_HASHES: ReadonlyMap<string, string> = new Map([
  ['1', 'MD5'],
  ['2', 'SHA1'],
  ['3', 'RIPEMD160'],
]);

const FPR_RE = /^[0-9A-F]{40}(?:[0-9A-F]{24})?$/;

interface SigGroup {
  validsig: string | null;
  key: string | null;
  weak: string | null;
  bad: string[];
  neutral: string[];
}

/**
 * Reads gpgv's `--status-fd` output. Signatures are separated by NEWSIG; one is good only with a
 * VALIDSIG (a well-formed fingerprint, a hash apt accepts) and none of BADSIG, EXPSIG, EXPKEYSIG,
 * REVKEYSIG or ERRSIG in its group. A signature by a key not in the keyring (ERRSIG + NO_PUBKEY)
 * counts neither way, as in apt: Debian signs with several keys and a keyring may hold only one.
 * Any BADSIG fails the whole file: the signed text is not what some key signed.
 */
export function judgeStatus(status: string): SignatureVerdict {
  const groups: SigGroup[] = [];
  let cur: SigGroup | null = null;
  const group = (): SigGroup => {
    if (cur === null) {
      cur = { validsig: null, key: null, weak: null, bad: [], neutral: [] };
      groups.push(cur);
    }
    return cur;
  };
  for (const raw of status.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('[GNUPG:] ')) continue;
    const [kw, ...args] = line.slice(9).split(' ');
    const a0 = args[0] ?? '?';
    switch (kw) {
      case 'NEWSIG':
        cur = null;
        group();
        break;
      case 'VALIDSIG': {
        const g = group();
        const primary = args[9] ?? args[0] ?? '';
        if (!FPR_RE.test(primary)) g.bad.push(`a VALIDSIG line without a fingerprint: '${line.slice(0, 120)}'`);
        else {
          g.validsig = primary;
          g.key = FPR_RE.test(args[0] ?? '') ? (args[0] as string) : primary;
        }
        const hash = args[7] ?? '';
        const weak = WEAK_HASHES.get(hash);
        if (weak !== undefined) g.weak = `a signature by ${primary} uses the weak digest ${weak}`;
        break;
      }
      case 'BADSIG':
        group().bad.push(`BAD signature from key ${a0}: the signed text was altered`);
        break;
      case 'EXPSIG':
        group().bad.push(`an expired signature from key ${a0}`);
        break;
      case 'EXPKEYSIG':
        group().bad.push(`a signature from the expired key ${a0}`);
        break;
      case 'REVKEYSIG':
        group().bad.push(`a signature from the revoked key ${a0}`);
        break;
      case 'ERRSIG': {
        // Return code 9 is "no public key", reported again by NO_PUBKEY.
        if (args[5] !== '9') group().bad.push(`a signature gpgv could not check (key ${a0}, error ${args[5] ?? '?'})`);
        break;
      }
      case 'NO_PUBKEY':
        group().neutral.push(`a signature by key ${a0}, which is not in the keyring`);
        break;
      default:
        break;
    }
  }
  const signers: string[] = [];
  const keys: string[] = [];
  const problems: string[] = [];
  let badsig = false;
  for (const g of groups) {
    if (g.bad.some((b) => b.startsWith('BAD'))) badsig = true;
    problems.push(...g.bad, ...g.neutral);
    if (g.weak !== null) problems.push(g.weak);
    if (g.validsig !== null && g.bad.length === 0 && g.weak === null) {
      signers.push(g.validsig);
      keys.push(g.key ?? g.validsig);
    }
  }
  if (groups.length === 0) problems.push('gpgv found no signature');
  return { ok: signers.length > 0 && !badsig, signers, keys, problems };
}
