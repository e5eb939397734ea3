/**
 * Byte classes of the IMAP grammar (RFC 3501 §9) and the two small lexical
 * questions both the framer and the parser must answer the same way: does a
 * line end in a literal announcement, and what is a line's tag.
 *
 *   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
 *   list-wildcards = "%" / "*"    quoted-specials = DQUOTE / "\"    resp-specials = "]"
 *   ATOM-CHAR   = <any CHAR except atom-specials>          (CHAR = %x01-7F)
 *   ASTRING-CHAR = ATOM-CHAR / resp-specials
 *   list-char   = ATOM-CHAR / list-wildcards / resp-specials
 *   tag         = 1*<any ASTRING-CHAR except "+">
 */

const ATOM = 1;
const ASTRING = 2;
const LIST = 4;
const TAG = 8;

/** One lookup per byte instead of a chain of comparisons in the hot loops. */
const CLASS = new Uint8Array(256);
for (let b = 0x21; b < 0x7f; b++) {
  const c = String.fromCharCode(b);
  const special = '(){%*"\\]'.includes(c);
  let bits = 0;
  if (!special) bits |= ATOM | ASTRING | LIST | TAG;
  if (c === ']') bits |= ASTRING | LIST | TAG;
  if (c === '%' || c === '*') bits |= LIST;
  if (c === '+') bits &= ~TAG;
  CLASS[b] = bits;
}

export const isAtomChar = (b: number): boolean => (CLASS[b]! & ATOM) !== 0;
export const isAstringChar = (b: number): boolean => (CLASS[b]! & ASTRING) !== 0;
export const isListChar = (b: number): boolean => (CLASS[b]! & LIST) !== 0;
export const isTagChar = (b: number): boolean => (CLASS[b]! & TAG) !== 0;
export const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/** What a line ending in `{N}`, `{N+}`, `~{N}` or `~{N+}` announces (RFC 3501 §4.3, RFC 7888, RFC 3516 literal8). */
export type LiteralAnnouncement = {
  /** Octets that follow the line end; Infinity when the number is too long to mean anything. */
  size: number;
  /** `{N}`: the client waits for a "+" continuation; `{N+}`: the bytes follow at once. */
  sync: boolean;
  /** `~{N}` literal8 (BINARY). */
  binary: boolean;
};

/** Numbers with more digits than this cannot be a real size; no parse needed (2^53 has 16 digits). */
const MAX_SIZE_DIGITS = 16;

/**
 * The literal announcement a line (without its line ending) ends with, and
 * where it starts; null when the line does not end in one. Scans backwards,
 * so only the last bytes matter: the framer can ask with just a line's tail.
 * Whether the `{` stands where the grammar allows a literal is the parser's
 * business; the framer must honour any announcement to stay in step with
 * the client, which sends the bytes regardless.
 */
export function findLiteralAnnouncement(line: Uint8Array): (LiteralAnnouncement & { start: number }) | null {
  let i = line.length - 1;
  if (i < 0 || line[i] !== 0x7d /* } */) return null;
  i--;
  const sync = !(i >= 0 && line[i] === 0x2b /* + */);
  if (!sync) i--;
  const digitsEnd = i + 1;
  while (i >= 0 && isDigit(line[i]!)) i--;
  const digitsStart = i + 1;
  if (digitsStart === digitsEnd || i < 0 || line[i] !== 0x7b /* { */) return null;
  const binary = i > 0 && line[i - 1] === 0x7e; /* ~ */
  let significant = digitsStart;
  while (significant < digitsEnd - 1 && line[significant] === 0x30) significant++; // leading zeros are legal
  let size = Number.POSITIVE_INFINITY;
  if (digitsEnd - significant <= MAX_SIZE_DIGITS) {
    size = 0;
    for (let k = significant; k < digitsEnd; k++) size = size * 10 + (line[k]! - 0x30);
  }
  return { size, sync, binary, start: binary ? i - 1 : i };
}

/**
 * The tag at the start of a command line, or null when there is none. With
 * `needSpace`, the tag must be followed by a space (used on truncated input,
 * where a run of tag characters cut short is not known to be the whole tag).
 */
export function readTag(line: Uint8Array, needSpace: boolean): string | null {
  let i = 0;
  while (i < line.length && isTagChar(line[i]!)) i++;
  if (i === 0) return null;
  if (i < line.length ? line[i] !== 0x20 : needSpace) return null;
  return Buffer.from(line.buffer, line.byteOffset, i).toString('latin1');
}
