// OpenPGP ASCII armor: the binary keys inside `.asc` keyrings and inline Signed-By blocks, for gpgv.

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';

/** CRC-24 of RFC 4880 section 6.1. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const b of data) {
    crc ^= b << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export type DearmorResult = { readonly ok: true; readonly keys: Buffer } | { readonly ok: false; readonly message: string };

/** Whether text looks armored (an `.asc` keyring, an inline Signed-By block). */
export function isArmored(text: string): boolean {
  return text.trimStart().startsWith(BEGIN);
}

/**
 * Decodes every public-key block of an armored text into one binary keyring (the blocks' packets
 * concatenated). Strict: armor headers end at a blank line, the body is base64, a `=XXXX` checksum
 * must match when present, and nothing but blank lines may lie between blocks.
 */
export function dearmorKeys(text: string): DearmorResult {
  const lines = text.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  const parts: Buffer[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    if (lines[i] !== BEGIN) return { ok: false, message: `line ${i + 1}: expected '${BEGIN}'` };
    i++;
    // Armor headers (Comment:, Version:) up to a blank line; some writers put none and no blank line.
    let j = i;
    while (j < lines.length && /^[A-Za-z-]+: /.test(lines[j] ?? '')) j++;
    if (lines[j] === '') j++;
    let b64 = '';
    let crc: string | null = null;
    for (; j < lines.length && lines[j] !== END; j++) {
      const l = lines[j] ?? '';
      if (l.startsWith('=') && l.length === 5) crc = l.slice(1);
      else if (/^[A-Za-z0-9+/]*={0,2}$/.test(l) && crc === null) b64 += l;
      else return { ok: false, message: `line ${j + 1}: not base64 inside the key block` };
    }
    if (j >= lines.length) return { ok: false, message: `no '${END}' after line ${i}` };
    if (b64.length % 4 !== 0) return { ok: false, message: `the key block ending at line ${j + 1} has a truncated base64 body` };
    const data = Buffer.from(b64, 'base64');
    if (data.length === 0) return { ok: false, message: `the key block ending at line ${j + 1} is empty` };
    if (crc !== null) {
      const want = Buffer.from(crc, 'base64');
      const got = crc24(data);
      if (want.length !== 3 || want.readUIntBE(0, 3) !== got) return { ok: false, message: `the key block ending at line ${j + 1} fails its checksum` };
    }
    parts.push(data);
    i = j + 1;
  }
  if (parts.length === 0) return { ok: false, message: 'no public key block' };
  return { ok: true, keys: Buffer.concat(parts) };
}
