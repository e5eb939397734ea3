/**
 * Password hashing in PHC string format:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * ln = log2(N), salt and hash in standard base64 without padding (the PHC
 * string format spec). These functions take and return plain strings and
 * never touch files, sockets or globals, so they can move into the worker
 * pool unchanged.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const DEFAULT_SCRYPT_LN = 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds of the strict parser. ln is capped by contract; r, p and the
// derived memory are capped so that a hash string (config or users.json)
// can never make a verify call allocate gigabytes or spin for minutes.
const LN_MIN = 1;
const LN_MAX = 20;
const R_MAX = 32;
const P_MAX = 16;
const MEMORY_MAX = 1024 * 1024 * 1024; // 128·N·r at ln=20, r=8 — the largest default-shaped hash
const SALT_MIN = 8; // PHC recommends at least 8 bytes
const SALT_MAX = 64;
const HASH_MIN = 16;
const HASH_MAX = 64;

export interface ScryptPhc {
  id: 'scrypt';
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

// Decimal without sign or leading zeros, so each value has one spelling.
const DECIMAL = /^(0|[1-9][0-9]{0,5})$/;
const B64 = /^[A-Za-z0-9+/]+$/;

/** Standard base64 without padding, rejecting any non-canonical spelling. */
function decodeB64(text: string): Buffer | null {
  if (!B64.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  // A round trip catches stray bits in the last character, which
  // Buffer.from would silently drop.
  return encodeB64(bytes) === text ? bytes : null;
}

function encodeB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Strict parser: null for anything that is not exactly a well-formed scrypt PHC string within bounds. */
export function parsePhc(phc: string): ScryptPhc | null {
  if (typeof phc !== 'string' || phc.length > 512) return null;
  const parts = phc.split('$');
  // ['', 'scrypt', 'ln=..,r=..,p=..', salt, hash]
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'scrypt') return null;
  const params = /^ln=([0-9]+),r=([0-9]+),p=([0-9]+)$/.exec(parts[2]!);
  if (!params) return null;
  const [lnText, rText, pText] = [params[1]!, params[2]!, params[3]!];
  if (!DECIMAL.test(lnText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return null;
  const ln = Number(lnText);
  const r = Number(rText);
  const p = Number(pText);
  if (ln < LN_MIN || ln > LN_MAX || r < 1 || r > R_MAX || p < 1 || p > P_MAX) return null;
  if (128 * 2 ** ln * r > MEMORY_MAX) return null;
  const salt = decodeB64(parts[3]!);
  const hash = decodeB64(parts[4]!);
  if (!salt || salt.length < SALT_MIN || salt.length > SALT_MAX) return null;
  if (!hash || hash.length < HASH_MIN || hash.length > HASH_MAX) return null;
  return { id: 'scrypt', ln, r, p, salt, hash };
}

export function formatPhc(phc: ScryptPhc): string {
  return `$scrypt$ln=${phc.ln},r=${phc.r},p=${phc.p}$${encodeB64(phc.salt)}$${encodeB64(phc.hash)}`;
}

function scryptOptions(ln: number, r: number, p: number): ScryptOptions {
  const N = 2 ** ln;
  // Node's default maxmem (32 MiB) refuses ln=15,r=8 (exactly 32 MiB of V
  // plus overhead), so allow what the parameters need plus 1 MiB of slack.
  return { N, r, p, maxmem: 128 * r * (N + p + 2) + 1024 * 1024 };
}

function derive(password: string, salt: Buffer, ln: number, r: number, p: number, keylen: number): Promise<Buffer> {
  const options = scryptOptions(ln, r, p);
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password with a fresh 16-byte salt; `ln` (log2 of scrypt N) defaults to 15. */
export async function hashPassword(password: string, opts: { ln?: number } = {}): Promise<string> {
  const ln = opts.ln ?? DEFAULT_SCRYPT_LN;
  if (!Number.isInteger(ln) || ln < LN_MIN || ln > LN_MAX) {
    throw new RangeError(`scrypt ln must be an integer ${LN_MIN}..${LN_MAX}, got ${ln}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, ln, SCRYPT_R, SCRYPT_P, KEY_BYTES);
  return formatPhc({ id: 'scrypt', ln, r: SCRYPT_R, p: SCRYPT_P, salt, hash });
}

/**
 * Synchronous verification, for the worker pool: there it runs on the
 * worker's own thread instead of libuv's threadpool, which the log needs for
 * its writes and fsyncs (four ln=15 logins would otherwise hold all four
 * libuv threads for ~100 ms each).
 */
export function verifyPasswordSync(password: string, phc: string): boolean {
  const parsed = parsePhc(phc);
  if (!parsed || typeof password !== 'string') return false;
  try {
    const key = scryptSync(password, parsed.salt, parsed.hash.length, scryptOptions(parsed.ln, parsed.r, parsed.p));
    return timingSafeEqual(key, parsed.hash);
  } catch {
    return false;
  }
}

/** True when `password` matches `phc`. A malformed PHC string is simply false: callers treat it as a failed login. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parsePhc(phc);
  if (!parsed || typeof password !== 'string') return false;
  try {
    const key = await derive(password, parsed.salt, parsed.ln, parsed.r, parsed.p, parsed.hash.length);
    return timingSafeEqual(key, parsed.hash);
  } catch {
    return false;
  }
}
