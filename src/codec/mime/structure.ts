/**
 * The MIME structure of a stored message, computed once per message for the
 * IMAP server: the part tree with byte offsets into the raw message, the
 * per-part fields BODYSTRUCTURE needs (RFC 3501 §7.4.2), and the ENVELOPE of
 * the message and of every message/rfc822 part. Pure: bytes in, plain data
 * out (objects, arrays, strings, numbers, booleans, null — msgpackr-
 * serialisable, so it can come back from a worker thread); no I/O; never
 * throws.
 *
 * Offsets of an entity (the message itself, a body part, or a message
 * encapsulated in a message/rfc822 part), all into `raw`:
 *
 *   headerStart          bodyStart                    end
 *   |  Field: value CRLF |  body ...                  |
 *   |  ...          CRLF |                            |
 *   |  CRLF (blank line) |                            |
 *
 * In a multipart body, the line break before a boundary delimiter belongs
 * to the delimiter (RFC 2046 §5.1.1), so a part's `end` is before it.
 *
 * How the work stays bounded (see MIME_LIMITS): header lines are scanned with
 * Buffer#indexOf and field values are only turned into strings for the dozen
 * fields we use; a multipart body is searched for LF + its own delimiter with
 * Buffer#indexOf, and its parts are parsed inside the ranges found, so each
 * nesting level costs one native scan of its range and nesting is capped.
 * Line counts are needed only for text/* and message/rfc822 parts (the only
 * ones IMAP reports them for); a message/rfc822 part's count is summed from
 * its inner parts' counts rather than recounted, so every byte is counted at
 * most once however deep the nesting. Bodies are never decoded.
 *
 * Leniency, each on purpose (a mail store must show every message it took):
 * - LF-only line endings are accepted wherever CRLF is;
 * - a missing or unparsable Content-Type means text/plain; charset=us-ascii
 *   (RFC 2045 §5.2), message/rfc822 inside multipart/digest (RFC 2046 §5.1.5);
 * - a multipart without a boundary parameter, or whose body never contains
 *   its delimiter, is shown as text/plain (RFC 2045 §5.2: an invalid
 *   Content-Type gets the default) so its content stays visible;
 * - a missing close delimiter ends the last part at the end of its parent;
 * - a message/rfc822 part in base64 or quoted-printable (forbidden by RFC
 *   2046 §5.2.1) is not parsed as a message: `message` is null and the part
 *   is rendered in the basic form, as Dovecot does;
 * - past the depth or part cap, a multipart or message/rfc822 part is kept as
 *   an unparsed leaf (multipart as text/plain) and `truncated` is set.
 */
import { parseAddressList, type Address } from './address.js';
import {
  fieldText,
  firstToken,
  LF,
  nameIs,
  parseContentType,
  parseDisposition,
  parseLanguage,
  scanHeader,
  type Disposition,
  type Param,
} from './header.js';

export type { Address } from './address.js';
export type { Disposition, Param } from './header.js';

/** RFC 3501 §7.4.2 ENVELOPE, values as the message has them (unfolded, never RFC 2047-decoded). */
export type Envelope = {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  /** Defaults to `from` when absent or empty (RFC 3501 §7.4.2). */
  sender: Address[] | null;
  /** Defaults to `from` when absent or empty. */
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
};

export type MimePart = {
  /** First byte of this entity's header (of its MIME header, for a body part). */
  headerStart: number;
  /** First byte of the body, past the blank line; equals `end` when the header has no blank line. */
  bodyStart: number;
  /** One past the last byte of the body. */
  end: number;
  /** Lower-cased media type and subtype ("text", "plain"). */
  type: string;
  subtype: string;
  /** Content-Type parameters, names lower-cased, values unquoted, in order; RFC 2231 forms are kept as written. */
  params: Param[];
  id: string | null;
  description: string | null;
  /** Lower-cased Content-Transfer-Encoding; "7bit" when absent. */
  encoding: string;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  /** Body size in octets (end - bodyStart). */
  size: number;
  /** Body size in lines; counted only for text/* and message/rfc822 parts (0 for others). */
  lines: number;
  /** The body parts of a multipart (never empty for a multipart); [] for every other type. */
  children: MimePart[];
  /** The encapsulated message of a parsed message/rfc822 part; null otherwise. */
  message: EncapsulatedMessage | null;
};

export type EncapsulatedMessage = { envelope: Envelope; root: MimePart };

export type MimeInfo = {
  envelope: Envelope;
  /** The message as an entity: headerStart 0, end = raw.length. */
  root: MimePart;
  /** Entities parsed (the message, its parts, encapsulated messages and their parts). */
  partCount: number;
  /** A cap of MimeLimits was reached, so some nesting was left unparsed. */
  truncated: boolean;
};

export type MimeLimits = {
  /** Deepest nesting of multiparts and message/rfc822 parts: recursion depth, and one scan of the range per level. */
  maxDepth: number;
  /** Most entities per message: each costs memory and a line in BODYSTRUCTURE. */
  maxParts: number;
  /** Most addresses kept per address field (group markers included). */
  maxAddresses: number;
};

export const MIME_LIMITS: Readonly<MimeLimits> = Object.freeze({ maxDepth: 50, maxParts: 5000, maxAddresses: 10_000 });

export function isMultipart(part: MimePart): boolean {
  return part.children.length > 0;
}

/** A Content-Type parameter by (lower-case) name, or null. */
export function paramValue(params: Param[], name: string): string | null {
  for (const p of params) if (p[0] === name) return p[1];
  return null;
}

// Field slots: parseEntity keeps [valueStart, valueEnd] of slot i at ranges[2i], ranges[2i + 1].
const F_TYPE = 0;
const F_CTE = 1;
const F_ID = 2;
const F_DESC = 3;
const F_DISP = 4;
const F_LANG = 5;
const F_LOC = 6;
const F_MD5 = 7;
const F_DATE = 8;
const F_SUBJECT = 9;
const F_FROM = 10;
const F_SENDER = 11;
const F_REPLY_TO = 12;
const F_TO = 13;
const F_CC = 14;
const F_BCC = 15;
const F_IN_REPLY_TO = 16;
const F_MESSAGE_ID = 17; // 18 slots

/** The slot of a field name, or -1; by length first so most fields cost one switch. Envelope fields only when `envelope`. */
function classify(buf: Buffer, s: number, e: number, envelope: boolean): number {
  switch (e - s) {
    case 2:
      if (!envelope) return -1;
      return nameIs(buf, s, e, 'to') ? F_TO : nameIs(buf, s, e, 'cc') ? F_CC : -1;
    case 3:
      return envelope && nameIs(buf, s, e, 'bcc') ? F_BCC : -1;
    case 4:
      if (!envelope) return -1;
      return nameIs(buf, s, e, 'date') ? F_DATE : nameIs(buf, s, e, 'from') ? F_FROM : -1;
    case 6:
      return envelope && nameIs(buf, s, e, 'sender') ? F_SENDER : -1;
    case 7:
      return envelope && nameIs(buf, s, e, 'subject') ? F_SUBJECT : -1;
    case 8:
      return envelope && nameIs(buf, s, e, 'reply-to') ? F_REPLY_TO : -1;
    case 10:
      if (nameIs(buf, s, e, 'content-id')) return F_ID;
      return envelope && nameIs(buf, s, e, 'message-id') ? F_MESSAGE_ID : -1;
    case 11:
      if (nameIs(buf, s, e, 'content-md5')) return F_MD5;
      return envelope && nameIs(buf, s, e, 'in-reply-to') ? F_IN_REPLY_TO : -1;
    case 12:
      return nameIs(buf, s, e, 'content-type') ? F_TYPE : -1;
    case 16:
      return nameIs(buf, s, e, 'content-language') ? F_LANG : nameIs(buf, s, e, 'content-location') ? F_LOC : -1;
    case 19:
      return nameIs(buf, s, e, 'content-description') ? F_DESC : nameIs(buf, s, e, 'content-disposition') ? F_DISP : -1;
    case 25:
      return nameIs(buf, s, e, 'content-transfer-encoding') ? F_CTE : -1;
    default:
      return -1;
  }
}

type Ctx = { buf: Buffer; limits: MimeLimits; parts: number; truncated: boolean };

/** Parses the message in `raw` (RFC 5322, CRLF or LF line endings). Never throws. */
export function parseMessage(raw: Uint8Array, limits: MimeLimits = MIME_LIMITS): MimeInfo {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const ctx: Ctx = { buf, limits, parts: 0, truncated: false };
  try {
    const { part, envelope } = parseEntity(ctx, 0, buf.length, 0, false, true, false);
    return { envelope: envelope!, root: part, partCount: ctx.parts, truncated: ctx.truncated };
  } catch {
    // Not expected (the property tests feed arbitrary bytes); a last line of
    // defence so one odd message cannot fail a FETCH: show it as plain text.
    const bodyStart = scanHeader(buf, 0, buf.length, null).bodyStart;
    return { envelope: emptyEnvelope(), root: plainLeaf(buf, 0, bodyStart, buf.length), partCount: 1, truncated: true };
  }
}

function emptyEnvelope(): Envelope {
  return { date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null };
}

function plainLeaf(buf: Buffer, headerStart: number, bodyStart: number, end: number): MimePart {
  return {
    headerStart, bodyStart, end,
    type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']],
    id: null, description: null, encoding: '7bit', md5: null, disposition: null, language: null, location: null,
    size: end - bodyStart, lines: linesOf(buf, bodyStart, end, countLf(buf, bodyStart, end)),
    children: [], message: null,
  };
}

type Parsed = {
  part: MimePart;
  envelope: Envelope | null;
  /** LF bytes in [headerStart, end) when the caller asked for them (needLf), else -1. */
  lf: number;
};

/**
 * Parses the entity [start, end). `inDigest`: the parent is multipart/digest
 * (default type message/rfc822). `withEnvelope`: this entity is a message
 * (the root or encapsulated), so its envelope is collected as well.
 * `needLf`: an enclosing message/rfc822 part needs this entity's line count.
 */
function parseEntity(ctx: Ctx, start: number, end: number, depth: number, inDigest: boolean, withEnvelope: boolean, needLf: boolean): Parsed {
  ctx.parts++;
  const buf = ctx.buf;
  const ranges: number[] = [
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  ]; // 18 slot pairs; an array literal is cheaper to make than Array(n).fill()
  const { bodyStart, lines: headerLf } = scanHeader(buf, start, end, (ns, ne, vs, ve) => {
    const slot = classify(buf, ns, ne, withEnvelope);
    // The first occurrence of a field wins.
    if (slot >= 0 && ranges[slot * 2]! < 0) {
      ranges[slot * 2] = vs;
      ranges[slot * 2 + 1] = ve;
    }
  });
  const text = (slot: number): string | null => {
    const s = ranges[slot * 2]!;
    return s < 0 ? null : fieldText(buf, s, ranges[slot * 2 + 1]!);
  };

  const ctText = text(F_TYPE);
  const ct = ctText === null ? null : parseContentType(ctText);
  let type: string;
  let subtype: string;
  let params: Param[];
  if (ct !== null) {
    ({ type, subtype, params } = ct);
  } else if (ctText === null && inDigest) {
    type = 'message';
    subtype = 'rfc822';
    params = [];
  } else {
    type = 'text';
    subtype = 'plain';
    params = [['charset', 'us-ascii']];
  }
  const cte = text(F_CTE);
  const encoding = cte === null ? '7bit' : firstToken(cte) || '7bit';
  const dispText = text(F_DISP);
  const langText = text(F_LANG);

  const part: MimePart = {
    headerStart: start,
    bodyStart,
    end,
    type,
    subtype,
    params,
    id: text(F_ID),
    description: text(F_DESC),
    encoding,
    md5: text(F_MD5),
    disposition: dispText === null ? null : parseDisposition(dispText),
    language: langText === null ? null : parseLanguage(langText),
    location: text(F_LOC),
    size: end - bodyStart,
    lines: 0,
    children: [],
    message: null,
  };
  const envelope = withEnvelope ? buildEnvelope(text, ctx.limits.maxAddresses) : null;

  // LF bytes in the body, -1 until known.
  let bodyLf = -1;
  if (type === 'multipart') {
    const boundary = paramValue(params, 'boundary');
    if (boundary !== null && boundary.length > 0) {
      if (depth < ctx.limits.maxDepth && ctx.parts < ctx.limits.maxParts) bodyLf = splitMultipart(ctx, part, boundary, depth, subtype === 'digest', needLf);
      else ctx.truncated = true;
    }
    if (part.children.length === 0) {
      part.type = 'text';
      part.subtype = 'plain';
      part.params = [['charset', 'us-ascii']];
      bodyLf = -1;
    }
  } else if (type === 'message' && subtype === 'rfc822' && (encoding === '7bit' || encoding === '8bit' || encoding === 'binary')) {
    if (depth < ctx.limits.maxDepth && ctx.parts < ctx.limits.maxParts) {
      const inner = parseEntity(ctx, bodyStart, end, depth + 1, false, true, true);
      part.message = { envelope: inner.envelope!, root: inner.part };
      bodyLf = inner.lf;
    } else {
      ctx.truncated = true;
    }
  }
  const counted = part.type === 'text' || (part.type === 'message' && part.subtype === 'rfc822');
  if (bodyLf < 0 && (counted || needLf)) bodyLf = countLf(buf, bodyStart, end);
  if (counted) part.lines = linesOf(buf, bodyStart, end, bodyLf);
  return { part, envelope, lf: needLf ? headerLf + bodyLf : -1 };
}

function buildEnvelope(text: (slot: number) => string | null, maxAddresses: number): Envelope {
  const addresses = (slot: number): Address[] | null => {
    const v = text(slot);
    return v === null ? null : parseAddressList(v, maxAddresses);
  };
  const from = addresses(F_FROM);
  return {
    date: text(F_DATE),
    subject: text(F_SUBJECT),
    from,
    sender: addresses(F_SENDER) ?? from,
    replyTo: addresses(F_REPLY_TO) ?? from,
    to: addresses(F_TO),
    cc: addresses(F_CC),
    bcc: addresses(F_BCC),
    inReplyTo: text(F_IN_REPLY_TO),
    messageId: text(F_MESSAGE_ID),
  };
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const DASH = 0x2d;

/**
 * Finds the delimiter lines of `part`'s body (RFC 2046 §5.1.1) and parses the
 * body parts between them. A delimiter is "--" boundary at the start of a
 * line, then optionally "--" (the close delimiter), then only SP/HT to the end
 * of the line: requiring that, rather than a prefix match, keeps a nested
 * boundary that starts with this one ("=_a" vs "=_a1") from being taken for it.
 */
function splitMultipart(ctx: Ctx, part: MimePart, boundary: string, depth: number, digest: boolean, needLf: boolean): number {
  const buf = ctx.buf;
  const { bodyStart, end } = part;
  // Searching for LF "--" boundary finds delimiters only at line starts, so
  // the boundary string appearing inside lines costs nothing. The body starts
  // right after the blank line's LF, so a delimiter on its first line is
  // found too (searching from bodyStart - 1). bchars are 7-bit (RFC 2046
  // §5.1.1); an 8-bit boundary only matches if the header was UTF-8.
  const needle = Buffer.from(`\n--${boundary}`, 'utf8');
  const dlen = needle.length - 1;
  // LF bytes of the children (when needLf); gapLf() adds those between them.
  let lf = 0;
  let from = bodyStart > 0 && buf[bodyStart - 1] === LF ? bodyStart - 1 : bodyStart;
  // Start of the current body part (after its opening delimiter line); -1 in the preamble.
  let partStart = -1;
  // The last candidate was not a delimiter ("--boundaryX"): look near it in JS first.
  let missed = false;
  while (from < end) {
    const at: number = missed ? findNear(buf, needle, from, end) : buf.indexOf(needle, from);
    if (at === -1 || at + 1 + dlen > end) break;
    const idx = at + 1;
    from = idx;
    let k = idx + dlen;
    const close = k + 1 < end && buf[k] === DASH && buf[k + 1] === DASH;
    if (close) k += 2;
    while (k < end && (buf[k] === SP || buf[k] === HT)) k++;
    missed = k < end && buf[k] !== CR && buf[k] !== LF;
    if (missed) continue;
    if (k < end && buf[k] === CR) k++;
    if (k < end && buf[k] === LF) k++;
    if (partStart >= 0) {
      // The line break before the delimiter belongs to the delimiter.
      let partEnd = idx;
      if (partEnd > partStart && buf[partEnd - 1] === LF) partEnd--;
      if (partEnd > partStart && buf[partEnd - 1] === CR) partEnd--;
      const child = parseEntity(ctx, partStart, partEnd, depth + 1, digest, false, needLf);
      part.children.push(child.part);
      lf += child.lf;
    }
    if (close) return needLf ? lf + gapLf(buf, part) : -1;
    if (ctx.parts >= ctx.limits.maxParts) {
      // Whatever follows is left unparsed, like an epilogue.
      ctx.truncated = true;
      return needLf ? lf + gapLf(buf, part) : -1;
    }
    partStart = k;
    // The delimiter line's own LF may precede the next delimiter.
    from = k - 1;
  }
  // No close delimiter: the last part runs to the end of the multipart.
  if (partStart >= 0) {
    const child = parseEntity(ctx, partStart, end, depth + 1, digest, false, needLf);
    part.children.push(child.part);
    lf += child.lf;
  }
  return needLf ? lf + gapLf(buf, part) : -1;
}

/** How far findNear scans in JS before handing back to the native search. */
const NEAR_WINDOW = 4096;

/**
 * The next `needle` (LF "--" boundary) at or after `from`, like
 * Buffer#indexOf. Each native search pays a setup cost of some hundred
 * nanoseconds, which hostile input can multiply by sending a million lines
 * that start with "--boundary" but are not delimiters; so after such a miss
 * the next window is scanned in JS (a byte compare per LF), and only if it
 * holds no candidate does the native search take over again.
 */
function findNear(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const n = needle.length;
  const stop = Math.min(end, from + NEAR_WINDOW);
  for (let p = from; p < stop; p++) {
    if (buf[p] !== LF) continue;
    if (p + n > end) return -1;
    let j = 1;
    while (j < n && buf[p + j] === needle[j]) j++;
    if (j === n) return p;
  }
  return stop < end ? buf.indexOf(needle, stop) : -1;
}

/** LF bytes of a multipart body outside its children: preamble, delimiter lines, epilogue. */
function gapLf(buf: Buffer, part: MimePart): number {
  let n = 0;
  let prev = part.bodyStart;
  for (const c of part.children) {
    n += countLf(buf, prev, c.headerStart);
    prev = c.end;
  }
  return n + countLf(buf, prev, part.end);
}

/**
 * LF bytes in [s, e). Buffer#indexOf per line is several times faster than
 * a byte loop on ordinary text; where lines are very short (hostile input,
 * blank-line runs) a byte loop over the next block avoids paying a native
 * call per byte.
 */
function countLf(buf: Buffer, s: number, e: number): number {
  let n = 0;
  let p = s;
  while (p < e) {
    const q = buf.indexOf(LF, p);
    if (q === -1 || q >= e) break;
    n++;
    if (q - p < 16) {
      const stop = Math.min(e, q + 1 + 1024);
      for (let i = q + 1; i < stop; i++) if (buf[i] === LF) n++;
      p = stop;
    } else {
      p = q + 1;
    }
  }
  return n;
}

/** RFC 3501 body-fld-lines of [s, e) holding `lf` LF bytes: a last line without a line break counts too. */
function linesOf(buf: Buffer, s: number, e: number, lf: number): number {
  return e > s && buf[e - 1] !== LF ? lf + 1 : lf;
}
