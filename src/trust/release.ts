// A repository's Release (the text an InRelease signs): fields, the SHA256 table, Date and Valid-Until.
import { parseDeb822, shorten } from './deb822.js';

/** One index the Release vouches for. */
export interface ReleaseEntry {
  /** Path relative to the Release's directory: `main/binary-amd64/Packages`. */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

/** The parts of a Release file pkgwatch uses. */
export interface Release {
  readonly origin: string | null;
  readonly label: string | null;
  readonly suite: string | null;
  readonly codename: string | null;
  readonly date: Date | null;
  readonly validUntil: Date | null;
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  /** The SHA256 section by path. */
  readonly sha256: ReadonlyMap<string, ReleaseEntry>;
}

export type ReleaseResult = { readonly ok: true; readonly release: Release } | { readonly ok: false; readonly line: number | null; readonly message: string };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DATE_RE = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|Z|[+-]\d{4})$/;

/** Parses the RFC 1123 dates of Release files (`Sat, 05 Dec 2026 03:33:28 UTC`); null when malformed. */
export function parseReleaseDate(text: string): Date | null {
  const m = DATE_RE.exec(text.trim());
  if (m === null) return null;
  const [, d, mon, y, hh, mm, ss, zone] = m as unknown as [string, string, string, string, string, string, string, string];
  const month = MONTHS.indexOf(mon);
  if (month < 0) return null;
  const nums = [Number(d), Number(hh), Number(mm), Number(ss)] as const;
  if (nums[0] < 1 || nums[0] > 31 || nums[1] > 23 || nums[2] > 59 || nums[3] > 60) return null;
  let offsetMin = 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const h = Number(zone.slice(1, 3));
    const mi = Number(zone.slice(3, 5));
    if (h > 23 || mi > 59) return null;
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (h * 60 + mi);
  }
  const ms = Date.UTC(Number(y), month, nums[0], nums[1], nums[2], Math.min(nums[3], 59)) - offsetMin * 60_000;
  const date = new Date(ms);
  // 31 Feb and the like roll over in Date.UTC: refuse them.
  if (new Date(ms + offsetMin * 60_000).getUTCDate() !== nums[0]) return null;
  return date;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
/** Index paths: relative, no `..`, no empty components. */
const PATH_RE = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[!-~]+$/;

/**
 * Parses the signed text of an InRelease (or a Release file). Strict: one paragraph, no duplicate
 * fields, a SHA256 section whose every line is `<64 hex> <size> <path>`, well-formed dates. Weaker
 * hashes (MD5Sum, SHA1) are ignored, and a Release without SHA256 is refused, as apt does.
 */
export function parseRelease(text: string): ReleaseResult {
  const keep = (name: string): boolean => name === 'sha256';
  const { paragraphs, problems } = parseDeb822(text, { keep, maxLine: 64 * 1024, maxMore: 2_000_000 });
  const first = problems[0];
  if (first !== undefined) return { ok: false, line: first.line, message: first.message };
  if (paragraphs.length !== 1) return { ok: false, line: paragraphs[1]?.line ?? null, message: `expected one paragraph, found ${paragraphs.length}` };
  const p = paragraphs[0]!;
  const get = (name: string): string | null => p.fields.get(name)?.value ?? null;

  const dates: { date: Date | null; validUntil: Date | null } = { date: null, validUntil: null };
  for (const [key, name] of [
    ['date', 'Date'],
    ['validUntil', 'Valid-Until'],
  ] as const) {
    const f = p.fields.get(name.toLowerCase());
    if (f === undefined) continue;
    const d = parseReleaseDate(f.value);
    if (d === null) return { ok: false, line: f.line, message: `${name}: expected a date like 'Sat, 05 Dec 2026 03:33:28 UTC', found '${shorten(f.value)}'` };
    dates[key] = d;
  }

  const field = p.fields.get('sha256');
  if (field === undefined) return { ok: false, line: null, message: 'no SHA256 section: the indexes cannot be verified (apt refuses such a Release too)' };
  if (field.value !== '') return { ok: false, line: field.line, message: 'SHA256: expected the entries on the lines below the field name' };
  const sha256 = new Map<string, ReleaseEntry>();
  for (let i = 0; i < field.more.length; i++) {
    const line = field.line + 1 + i;
    const parts = (field.more[i] ?? '').trim().split(/[ \t]+/);
    const [hash, size, path] = parts;
    if (parts.length !== 3 || hash === undefined || size === undefined || path === undefined) {
      return { ok: false, line, message: `SHA256: expected '<sha256> <size> <path>', found '${shorten(field.more[i] ?? '')}'` };
    }
    if (!SHA256_RE.test(hash)) return { ok: false, line, message: `SHA256: '${shorten(hash)}' is not 64 lowercase hex digits` };
    if (!/^\d{1,15}$/.test(size)) return { ok: false, line, message: `SHA256: '${shorten(size)}' is not a size in bytes` };
    if (!PATH_RE.test(path)) return { ok: false, line, message: `SHA256: '${shorten(path)}' is not a relative index path` };
    if (sha256.has(path)) return { ok: false, line, message: `SHA256: '${shorten(path)}' is listed twice` };
    sha256.set(path, { path, size: Number(size), sha256: hash });
  }
  const words = (name: string): string[] => (get(name) ?? '').split(/\s+/).filter((w) => w !== '');
  return {
    ok: true,
    release: {
      origin: get('origin'),
      label: get('label'),
      suite: get('suite'),
      codename: get('codename'),
      date: dates.date,
      validUntil: dates.validUntil,
      components: words('components'),
      architectures: words('architectures'),
      sha256,
    },
  };
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * Checks that an InRelease is one clearsigned message and nothing else, as apt insists since
 * CVE-2019-3462's cousins: text before the header or after the signature, or a second message,
 * could make a parser read what was not signed. Returns null when well formed, else the problem.
 */
export function clearsignedShapeProblem(text: string): string | null {
  if (!text.startsWith(`${BEGIN_SIGNED}\n`)) return `it does not start with '${BEGIN_SIGNED}'`;
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
  let signed = 0;
  let begins = 0;
  let ends = 0;
  for (const l of lines) {
    const t = l.replace(/[ \t\r]+$/, '');
    if (t === BEGIN_SIGNED) signed++;
    else if (t === BEGIN_SIGNATURE) begins++;
    else if (t === END_SIGNATURE) ends++;
  }
  if (signed !== 1 || begins !== 1 || ends !== 1) return 'it is not exactly one clearsigned message (more than one header or signature block)';
  if (lines[lines.length - 1]?.replace(/[ \t\r]+$/, '') !== END_SIGNATURE) return `text follows '${END_SIGNATURE}'`;
  return null;
}

/** Whether a Release is past its Valid-Until at `now`: the message to show, or null when it is still valid. */
export function expiryProblem(release: Release, now: Date): string | null {
  if (release.validUntil === null) return null;
  if (now.getTime() <= release.validUntil.getTime()) return null;
  return `it was valid until ${release.validUntil.toISOString()} (run apt update to fetch a current one)`;
}
