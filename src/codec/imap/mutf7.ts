/**
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3). Printable US-ASCII stands
 * for itself, except "&" which is written "&-"; anything else is UTF-16BE in
 * base64 with "," for "/", no padding, between "&" and "-".
 *
 * Decoding is strict, so every name has exactly one wire form and a
 * decode → encode round trip is the identity: the RFC forbids base64 for
 * printable ASCII and for "&", and a zero-bit remainder and two adjacent
 * base64 runs ("&AGE-&AGI-") are not canonical either. Non-canonical input
 * gives null: the session answers BAD rather than guessing which mailbox the
 * client meant.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

const isPrintable = (c: number): boolean => c >= 0x20 && c <= 0x7e;

/** Modified UTF-7 → Unicode; null when the name is not valid (canonical) modified UTF-7. */
export function decodeMailboxName(wire: string): string | null {
  let out = '';
  let i = 0;
  let lastShiftEnd = -1; // index just after the previous "&...-" run
  while (i < wire.length) {
    const c = wire.charCodeAt(i);
    if (!isPrintable(c)) return null;
    if (c !== 0x26 /* & */) {
      out += wire[i];
      i++;
      continue;
    }
    const dash = wire.indexOf('-', i + 1);
    if (dash === -1) return null;
    if (dash === i + 1) {
      out += '&';
      i = dash + 1;
      continue;
    }
    if (lastShiftEnd === i) return null; // two runs back to back should have been one
    const decoded = decodeRun(wire.slice(i + 1, dash));
    if (decoded === null) return null;
    out += decoded;
    i = dash + 1;
    lastShiftEnd = i;
  }
  return out;
}

/** One base64 run → its UTF-16 text; null if malformed, non-canonical or holding printable ASCII. */
function decodeRun(run: string): string | null {
  if (run.length % 4 === 1) return null; // 6 bits cannot end a byte
  let bits = 0;
  let nbits = 0;
  const bytes: number[] = [];
  for (let k = 0; k < run.length; k++) {
    const code = run.charCodeAt(k);
    const v = code < 128 ? VALUE[code]! : -1;
    if (v < 0) return null;
    bits = ((bits << 6) | v) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      bytes.push((bits >> nbits) & 0xff);
    }
  }
  if ((bits & ((1 << nbits) - 1)) !== 0) return null; // leftover bits must be zero
  if (bytes.length % 2 !== 0 || bytes.length === 0) return null; // whole UTF-16 units only
  let text = '';
  for (let k = 0; k < bytes.length; k += 2) {
    const unit = (bytes[k]! << 8) | bytes[k + 1]!;
    if (isPrintable(unit)) return null;
    text += String.fromCharCode(unit);
  }
  return isWellFormed(text) ? text : null;
}

/** Unicode → modified UTF-7. A lone surrogate (not text) is sent as U+FFFD. */
export function encodeMailboxName(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (isPrintable(c)) {
      out += c === 0x26 ? '&-' : name[i];
      i++;
      continue;
    }
    let j = i;
    while (j < name.length && !isPrintable(name.charCodeAt(j))) j++;
    const run = toWellFormed(name.slice(i, j));
    const bytes = Buffer.alloc(run.length * 2);
    for (let k = 0; k < run.length; k++) bytes.writeUInt16BE(run.charCodeAt(k), k * 2);
    out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    i = j;
  }
  return out;
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

function toWellFormed(s: string): string {
  if (isWellFormed(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else {
      out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : s[i];
    }
  }
  return out;
}
