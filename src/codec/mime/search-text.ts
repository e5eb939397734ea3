/**
 * Text for IMAP SEARCH (RFC 3501 §6.4.4): decoded header values (HEADER,
 * SUBJECT, FROM...), the decoded text of the body (BODY, TEXT), a
 * case-insensitive matcher, and the sent date (SENTBEFORE/SENTON/SENTSINCE).
 * Pure; never throws.
 *
 * Body text is every text/* leaf part (those of encapsulated messages too),
 * transfer-decoded (base64, quoted-printable) and charset-decoded, joined by
 * newlines and capped at maxChars (1 Mi characters by default): matching
 * against a 50 MB attachment-sized "text" would cost more than the search is
 * worth, and clients search for words a reader sees, which come early.
 */
import { parseRfc5322Date } from './date.js';
import { decodeCharset, decodeEncodedWords } from './encoded-word.js';
import { CR, fieldText, LF, nameIs, scanHeader } from './header.js';
import { paramValue, type MimeInfo, type MimePart } from './structure.js';

export { parseRfc5322Date, type ParsedDate } from './date.js';
export { decodeEncodedWords } from './encoded-word.js';

/** Most body text characters bodyText returns by default. */
export const MAX_BODY_TEXT_CHARS = 1 << 20;

function asBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Every value of the top-level header field `name` (any case), unfolded and RFC 2047-decoded, in message order. */
export function headerValue(raw: Uint8Array, info: MimeInfo, name: string): string[] {
  const buf = asBuffer(raw);
  const lower = name.toLowerCase();
  const values: string[] = [];
  scanHeader(buf, info.root.headerStart, info.root.bodyStart, (ns, ne, vs, ve) => {
    if (nameIs(buf, ns, ne, lower)) values.push(decodeEncodedWords(fieldText(buf, vs, ve)));
  });
  return values;
}

/** The whole top-level header as decoded text, one "Name: value" line per field (for SEARCH TEXT). */
export function headerText(raw: Uint8Array, info: MimeInfo): string {
  const buf = asBuffer(raw);
  let out = '';
  scanHeader(buf, info.root.headerStart, info.root.bodyStart, (ns, ne, vs, ve) => {
    out += `${buf.toString('latin1', ns, ne)}: ${decodeEncodedWords(fieldText(buf, vs, ve))}\n`;
  });
  return out;
}

/** The decoded text of the message's text parts, at most maxChars characters. */
export function bodyText(raw: Uint8Array, info: MimeInfo, maxChars: number = MAX_BODY_TEXT_CHARS): string {
  const buf = asBuffer(raw);
  const parts: MimePart[] = [];
  collectTextParts(info.root, parts);
  let out = '';
  for (const p of parts) {
    const left = maxChars - out.length;
    if (left <= 0) break;
    if (out.length > 0) out += '\n';
    out += partText(buf, p, left);
  }
  return out.length > maxChars ? out.slice(0, Math.max(0, maxChars)) : out;
}

function collectTextParts(p: MimePart, out: MimePart[]): void {
  if (p.children.length > 0) for (const c of p.children) collectTextParts(c, out);
  else if (p.message !== null) collectTextParts(p.message.root, out);
  else if (p.type === 'text') out.push(p);
}

/** One part's text: only as many source bytes as can yield `chars` characters are decoded. */
function partText(buf: Buffer, p: MimePart, chars: number): string {
  // A character is at most 4 octets in any charset we decode; base64 adds
  // 4/3 (plus line breaks), quoted-printable at most 3 per octet.
  const perChar = p.encoding === 'base64' ? 6 : p.encoding === 'quoted-printable' ? 12 : 4;
  const end = Math.min(p.end, p.bodyStart + Math.min(chars, Math.floor(Number.MAX_SAFE_INTEGER / 16)) * perChar);
  const src = buf.subarray(p.bodyStart, end);
  const bytes = p.encoding === 'base64' ? Buffer.from(src.toString('latin1'), 'base64') : p.encoding === 'quoted-printable' ? decodeQuotedPrintable(src) : src;
  return decodeCharset(bytes, paramValue(p.params, 'charset'));
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** RFC 2045 §6.7 quoted-printable: =XX octets, soft line breaks ("=" then optional blanks then line break) removed; malformed "=" kept. */
export function decodeQuotedPrintable(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(src.length);
  const n = src.length;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (c !== 0x3d) {
      out[j++] = c;
      continue;
    }
    const hi = i + 1 < n ? hexValue(src[i + 1]!) : -1;
    const lo = i + 2 < n ? hexValue(src[i + 2]!) : -1;
    if (hi >= 0 && lo >= 0) {
      out[j++] = (hi << 4) | lo;
      i += 2;
      continue;
    }
    // Soft line break, tolerating transport padding after the '='.
    let k = i + 1;
    while (k < n && (src[k] === 0x20 || src[k] === 0x09)) k++;
    if (k < n && src[k] === CR) k++;
    if (k < n && src[k] === LF) {
      i = k;
      continue;
    }
    if (k >= n) break; // "=" at the very end: a soft break with the line break cut off
    out[j++] = c;
  }
  return out.subarray(0, j);
}

/** Case-insensitive substring match (Unicode lower-casing on both sides); an empty needle matches. */
export function containsText(haystack: string, needle: string): boolean {
  if (needle.length === 0) return true;
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

/**
 * The instant of the Date header, or null when it is missing or unreadable.
 * SENTBEFORE/SENTON/SENTSINCE compare the date "disregarding time and
 * timezone", i.e. the calendar date as written: use parseRfc5322Date and
 * read the UTC fields of `time + offsetMinutes * 60000` for that.
 */
export function sentDate(info: MimeInfo): Date | null {
  const d = info.envelope.date === null ? null : parseRfc5322Date(info.envelope.date);
  return d === null ? null : new Date(d.time);
}
