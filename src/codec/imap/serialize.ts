/**
 * Building blocks for IMAP server responses (RFC 3501 §9 response syntax).
 * Pure string builders; the session assembles them into lines. Results that
 * may contain a literal carry non-ASCII text as is and count it in UTF-8
 * octets, so they must be written to the socket as UTF-8.
 *
 * A string goes out quoted when that is safe (printable ASCII, not too long)
 * and as a literal `{N}\r\n...` otherwise: CR and LF cannot be quoted at all,
 * 8-bit text is not allowed in a quoted string, control characters confuse
 * clients, and very long quoted strings break clients' line limits.
 *
 * A NUL cannot travel in an IMAP string (CHAR8 excludes it); callers must
 * not pass one. If they do it goes out in a literal, which most clients take.
 */
import { MONTHS } from './datetime.js';
import { encodeMailboxName } from './mutf7.js';
import type { SequenceSet } from './sequence.js';
import { isAstringChar } from './syntax.js';

export const NIL = 'NIL';

/** Longest string sent quoted; longer ones go as literals. */
export const MAX_QUOTED_CHARS = 1024;

/** `{N}\r\n`: announces N octets of literal data that follow. */
export function literalPrefix(byteLength: number): string {
  return `{${byteLength}}\r\n`;
}

function quotable(s: string): boolean {
  if (s.length > MAX_QUOTED_CHARS) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** string = quoted / literal. */
export function imapString(s: string): string {
  if (quotable(s)) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  return literalPrefix(Buffer.byteLength(s, 'utf8')) + s;
}

/** nstring = string / NIL. */
export function nstring(s: string | null): string {
  return s === null ? NIL : imapString(s);
}

/** astring: a bare atom when possible ("NIL" is quoted so no reader mistakes it for nil). */
export function astring(s: string): string {
  if (s.length === 0 || s.length > MAX_QUOTED_CHARS || s.toUpperCase() === NIL) return imapString(s);
  for (let i = 0; i < s.length; i++) if (!isAstringChar(s.charCodeAt(i))) return imapString(s);
  return s;
}

/** A mailbox name as sent in LIST, STATUS...: modified UTF-7 (RFC 3501 §5.1.3), then astring. */
export function mailboxName(name: string): string {
  return astring(encodeMailboxName(name));
}

/** "(" item *(SP item) ")" of already serialized items. */
export function list(items: readonly string[]): string {
  return `(${items.join(' ')})`;
}

/** A flag list; flags are atoms or "\" atoms, sent as they are. */
export function flagList(flags: readonly string[]): string {
  return list(flags);
}

/** Sequence-set text of a parsed set; the inverse of parseSequenceSet. */
export function formatSequenceSet(set: SequenceSet): string {
  return set.map(({ from, to }) => (from === to ? `${from}` : `${from}:${to}`)).join(',');
}

/**
 * Compresses a list of numbers into sequence-set text, runs of consecutive
 * numbers becoming ranges: [1,2,3,5,7,8,9] → "1:3,5,7:9". Order is kept, so
 * the source and destination sets of COPYUID (RFC 4315 §3) still pair up
 * message by message; pass an ascending list for the shortest text. An empty
 * list gives "" (which is no sequence set: do not send it).
 */
export function compressUids(uids: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < uids.length) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    out.push(j === i ? `${uids[i]}` : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/**
 * date-time text, `dd-MMM-yyyy hh:mm:ss +zzzz` (RFC 3501 §9, day padded with
 * a space), for INTERNALDATE: the instant shown in the given zone (minutes
 * east of UTC). Without the quotes; it is always safe to send quoted.
 */
export function formatDateTime(epochMs: number, zoneMinutes = 0): string {
  const zone = Number.isInteger(zoneMinutes) && Math.abs(zoneMinutes) < 24 * 60 ? zoneMinutes : 0;
  const d = new Date((Number.isFinite(epochMs) ? epochMs : 0) + zone * 60_000);
  const two = (n: number) => String(n).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  const abs = Math.abs(zone);
  const offset = `${zone < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return `${day}-${MONTHS[d.getUTCMonth()]}-${year} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${offset}`;
}
