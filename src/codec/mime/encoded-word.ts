/**
 * RFC 2047 encoded-words (`=?charset?B|Q?text?=`) and charset decoding, for
 * SEARCH (IMAP itself returns header values undecoded). Pure; never throws.
 *
 * - B and Q encodings; any charset TextDecoder knows (Node has full ICU, so
 *   KOI8-R, windows-125x, ISO-8859-x, GBK, Shift_JIS, ISO-2022-JP...); an
 *   unknown charset decodes as Latin-1 so no byte is lost.
 * - RFC 2231 language suffixes (`=?utf-8*en?Q?...?=`) are ignored.
 * - Whitespace between two adjacent encoded-words is dropped (§6.2), and
 *   adjacent words in the same charset are joined before decoding, so a
 *   multi-byte character split across two words (common with B) survives.
 * - Linear time: the encoded text of a word may not contain '?' or
 *   whitespace, so each scan stops at the next '?' and scans never overlap
 *   by more than a few characters.
 */
import { TextDecoder } from 'node:util';

/** Longest charset name we accept in an encoded-word; longer "=?..." runs are left as text. */
const MAX_CHARSET_CHARS = 64;
/** Decoders are cached per charset label; a hostile message could name many, so the cache is bounded. */
const MAX_CACHED_DECODERS = 64;

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(charset: string): TextDecoder | null {
  const label = charset.trim().toLowerCase();
  const cached = decoders.get(label);
  if (cached !== undefined) return cached;
  let decoder: TextDecoder | null;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = null;
  }
  if (decoders.size < MAX_CACHED_DECODERS) decoders.set(label, decoder);
  return decoder;
}

/**
 * Decodes bytes in a MIME charset. us-ascii (and a missing charset) is read
 * as UTF-8: a superset that is right for the common case of unlabelled 8-bit
 * UTF-8 text. Unknown charsets fall back to Latin-1.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | null): string {
  const label = charset === null ? 'utf-8' : charset.trim().toLowerCase();
  const decoder = label === 'us-ascii' || label === 'ascii' || label === '' ? decoderFor('utf-8') : decoderFor(label);
  if (decoder === null) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return decoder.decode(bytes);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** RFC 2047 §4.2 Q: '_' is a space, =XX a byte; anything else is taken literally. */
function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out[j++] = 0x20;
    } else if (c === 0x3d && i + 2 < text.length) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[j++] = (hi << 4) | lo;
        i += 2;
      } else {
        out[j++] = c;
      }
    } else {
      out[j++] = c & 0xff;
    }
  }
  return out.subarray(0, j);
}

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

type Word = { charset: string; bytes: Buffer; end: number };

/** Parses an encoded-word starting at the "=?" at i; null if it is not one. */
function readWord(s: string, i: number): Word | null {
  const n = s.length;
  let q = i + 2;
  const limit = Math.min(n, q + MAX_CHARSET_CHARS + 1);
  while (q < limit && s.charCodeAt(q) !== 0x3f && !isWsp(s.charCodeAt(q))) q++;
  if (q >= limit || s.charCodeAt(q) !== 0x3f || q === i + 2) return null;
  let charset = s.slice(i + 2, q);
  const star = charset.indexOf('*');
  if (star !== -1) charset = charset.slice(0, star);
  const enc = s.charCodeAt(q + 1) | 0x20;
  if ((enc !== 0x62 && enc !== 0x71) || s.charCodeAt(q + 2) !== 0x3f) return null;
  const textStart = q + 3;
  let e = textStart;
  while (e < n && s.charCodeAt(e) !== 0x3f && !isWsp(s.charCodeAt(e))) e++;
  if (e + 1 >= n || s.charCodeAt(e) !== 0x3f || s.charCodeAt(e + 1) !== 0x3d) return null;
  const text = s.slice(textStart, e);
  const bytes = enc === 0x62 ? Buffer.from(text, 'base64') : decodeQ(text);
  return { charset, bytes, end: e + 2 };
}

/** Decodes every encoded-word in an (unfolded) header value; other text is kept as is. */
export function decodeEncodedWords(s: string): string {
  let i = s.indexOf('=?');
  if (i === -1) return s;
  let out = '';
  let pos = 0; // start of text not yet copied to out
  // Bytes of the run of adjacent encoded-words in the same charset, not yet decoded.
  let pending: Buffer[] = [];
  let pendingCharset = '';
  let lastWordEnd = -1;
  const flush = (): void => {
    if (pending.length === 0) return;
    out += decodeCharset(pending.length === 1 ? pending[0]! : Buffer.concat(pending), pendingCharset);
    pending = [];
  };
  while (i !== -1) {
    const w = readWord(s, i);
    if (w === null) {
      i = s.indexOf('=?', i + 2);
      continue;
    }
    const gap = s.slice(pos, i);
    const adjacent = lastWordEnd === pos && isAllWsp(gap);
    if (!adjacent) {
      flush();
      out += gap;
    }
    if (pending.length > 0 && w.charset.toLowerCase() !== pendingCharset.toLowerCase()) flush();
    pendingCharset = w.charset;
    pending.push(w.bytes);
    pos = w.end;
    lastWordEnd = w.end;
    i = s.indexOf('=?', pos);
  }
  flush();
  return out + s.slice(pos);
}

function isAllWsp(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isWsp(s.charCodeAt(i))) return false;
  return true;
}
