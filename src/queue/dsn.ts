/**
 * Delivery Status Notifications (RFC 3464) as complete RFC 5322 messages.
 * Pure: every input, including the Message-ID and the time, is passed in;
 * the same input gives the same bytes.
 *
 *   From: Mail Delivery System <MAILER-DAEMON@host>
 *   Auto-Submitted: auto-replied                       (RFC 3834: no auto-reply loops)
 *   Content-Type: multipart/report; report-type=delivery-status; boundary=...
 *
 *   part 1  text/plain                  what happened, for people (Postfix's wording)
 *   part 2  message/delivery-status     per-message fields, blank line, per-recipient groups
 *   part 3  text/rfc822-headers         the original header (RET=HDRS, the default)
 *        or message/rfc822              the whole original (RET=FULL, when it fits)
 *
 * One DSN covers every recipient of one message that failed (or is delayed)
 * in one batch. It goes to the envelope sender with the null sender `<>`
 * (the caller's business, as is never bouncing mail from `<>`).
 *
 * Internationalised mail (RFC 6533): when an address or diagnostic in the
 * report is not ASCII, part 2 becomes message/global-delivery-status with
 * `utf-8` address types; when the original header is not ASCII, part 3
 * becomes message/global-headers (or message/global). The alternative —
 * text/rfc822-headers carrying 8-bit — is not allowed by RFC 6522, and the
 * global types are what Postfix and other SMTPUTF8 mailers send. Such parts
 * are labelled 8bit; so is the whole report then.
 *
 * Wire safety: CRLF only; every line ≤ 998 octets (RFC 5322 §2.1.1). Our own
 * fields are folded; original header lines that are longer are folded at
 * 990 octets; a RET=FULL original with an over-long line, a NUL or a bare CR
 * is returned as headers only, since it could not travel unchanged.
 */
import { createHash } from 'node:crypto';

export type DsnAction = 'failed' | 'delayed';

export interface DsnRecipient {
  /** The address delivery was attempted to (Final-Recipient). */
  recipient: string;
  /** ORCPT as given at RCPT (`rfc822;addr`), or a bare address. */
  originalRecipient?: string;
  action: DsnAction;
  /** RFC 3463 status, e.g. 5.1.1; a malformed one is replaced by 5.0.0 / 4.0.0. */
  status: string;
  /** `smtp; 550 5.1.1 no such user`, or `X-Postline; connect to ...: Connection refused`. */
  diagnostic?: string;
  /** The server that gave the answer (Remote-MTA: dns; host). */
  remoteMta?: string;
  lastAttempt?: Date | number;
  /** For delayed recipients: when we give up. */
  willRetryUntil?: Date | number;
}

export interface DsnInput {
  /** Our hostname: Reporting-MTA, MAILER-DAEMON@host, the text. */
  reportingMta: string;
  arrivalDate: Date | number;
  /** ENVID as given at MAIL (decoded). */
  originalEnvelopeId?: string;
  /** The envelope sender being notified (never `<>`). */
  sender: string;
  /** The recipients this report is about (failed and/or delayed). */
  failed: DsnRecipient[];
  /** The original message as queued. */
  original: Buffer;
  /** RET=FULL → 'full', RET=HDRS or none → 'headers'. */
  returnContent: 'full' | 'headers';
  /** Our Message-ID for the report, with or without angle brackets; or a generator. */
  messageId: string | (() => string);
  now: Date | number;
  /** A RET=FULL original larger than this is returned as headers only. Default 1 MB. */
  maxFullBytes?: number;
}

const DEFAULT_MAX_FULL_BYTES = 1024 * 1024;
/** RFC 5322 §2.1.1: 998 octets before CRLF; original header lines are cut a little shorter. */
const MAX_LINE = 998;
const HEADER_FOLD_AT = 990;
/** A word longer than this is split (with room left for a field name on the same line). */
const HARD_PIECE = 900;
/** Where our own fields and text are folded (RFC 5322 §2.1.1 SHOULD). */
const SOFT_WIDTH = 78;
const STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

export function renderDsn(input: DsnInput): Buffer {
  const host = clean(input.reportingMta) || 'localhost';
  const recipients = input.failed;
  const anyFailed = recipients.some((r) => r.action === 'failed');
  const messageId = angle(clean(typeof input.messageId === 'function' ? input.messageId() : input.messageId));
  const now = toDate(input.now);

  const human = humanPart(host, recipients);
  const status = statusPart(input, host);
  const returned = returnedPart(input.original, input.returnContent, input.maxFullBytes ?? DEFAULT_MAX_FULL_BYTES);
  const parts = [human, status, returned];
  const eightBit = parts.some((p) => p.eightBit);
  const boundary = pickBoundary(messageId, now, host, parts);

  const header = [
    field('From', `Mail Delivery System <MAILER-DAEMON@${host}>`),
    field('To', `<${clean(input.sender)}>`),
    field('Subject', anyFailed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)'),
    field('Date', rfc5322Date(now)),
    field('Message-ID', messageId),
    field('Auto-Submitted', 'auto-replied'),
    field('MIME-Version', '1.0'),
    field('Content-Type', `multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`),
    field('Content-Transfer-Encoding', eightBit ? '8bit' : '7bit'),
  ].join('');

  const chunks: Buffer[] = [Buffer.from(`${header}\r\nThis is a MIME-encapsulated message.\r\n`, 'utf8')];
  for (const part of parts) {
    chunks.push(Buffer.from(`\r\n--${boundary}\r\n${part.header}\r\n`, 'utf8'), part.body);
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(chunks);
}

type Part = { header: string; body: Buffer; eightBit: boolean };

function humanPart(host: string, recipients: DsnRecipient[]): Part {
  const failed = recipients.filter((r) => r.action === 'failed');
  const delayed = recipients.filter((r) => r.action !== 'failed');
  const paragraphs: string[] = [`This is the mail system at host ${host}.`];
  if (failed.length > 0) {
    paragraphs.push(
      "I'm sorry to have to inform you that your message could not be delivered to one or more recipients. It's attached below.",
      'For further assistance, please send mail to postmaster.',
      'If you do so, please include this problem report. You can delete your own text from the attached returned message.',
      '                   The mail system',
      ...failed.map(reason),
    );
  }
  if (delayed.length > 0) {
    const until = delayed.map((r) => r.willRetryUntil).find((d) => d !== undefined);
    const keepTrying = `The mail system will keep trying${until !== undefined ? ` until ${rfc5322Date(toDate(until))}` : ''}.`;
    // The "warning only" banner would be wrong next to recipients that did fail.
    if (failed.length === 0) {
      paragraphs.push(
        '####################################################################\r\n' +
          '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n' +
          '####################################################################',
        `Your message could not be delivered yet to the recipients below. ${keepTrying}`,
      );
    } else {
      paragraphs.push(`Delivery to the following recipients is delayed. ${keepTrying}`);
    }
    paragraphs.push(...delayed.map(reason));
  }
  const text = paragraphs.map((p) => (p.includes('\r\n') || p.startsWith(' ') ? p : wrap(p))).join('\r\n\r\n') + '\r\n';
  const eightBit = !isAscii(text);
  return {
    header: `Content-Description: Notification\r\nContent-Type: text/plain; charset=${eightBit ? 'utf-8' : 'us-ascii'}\r\n${eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}`,
    body: Buffer.from(text, 'utf8'),
    eightBit,
  };
}

/** `<addr>: host mx said: 550 5.1.1 no such user`, as Postfix writes it. */
function reason(r: DsnRecipient): string {
  const diag = clean(r.diagnostic ?? '');
  const semi = diag.indexOf(';');
  const type = semi === -1 ? '' : diag.slice(0, semi).trim().toLowerCase();
  const text = semi === -1 ? diag : diag.slice(semi + 1).trim();
  const why = text.length === 0 ? `delivery status ${statusOf(r)}` : r.remoteMta && type === 'smtp' ? `host ${clean(r.remoteMta)} said: ${text}` : text;
  return `<${clean(r.recipient)}>: ${why}`;
}

function statusPart(input: DsnInput, host: string): Part {
  const perMessage = [field('Reporting-MTA', `dns; ${host}`)];
  if (input.originalEnvelopeId) perMessage.push(field('Original-Envelope-Id', clean(input.originalEnvelopeId)));
  perMessage.push(field('Arrival-Date', rfc5322Date(toDate(input.arrivalDate))));
  const groups = input.failed.map((r) => {
    const lines = [field('Final-Recipient', `${addressType(r.recipient)}; ${clean(r.recipient)}`)];
    const original = originalRecipient(r.originalRecipient);
    if (original !== null) lines.push(field('Original-Recipient', original));
    lines.push(field('Action', r.action === 'failed' ? 'failed' : 'delayed'), field('Status', statusOf(r)));
    if (r.remoteMta) lines.push(field('Remote-MTA', `dns; ${clean(r.remoteMta)}`));
    if (r.diagnostic) lines.push(field('Diagnostic-Code', diagnosticValue(r.diagnostic)));
    if (r.lastAttempt !== undefined) lines.push(field('Last-Attempt-Date', rfc5322Date(toDate(r.lastAttempt))));
    if (r.action === 'delayed' && r.willRetryUntil !== undefined) lines.push(field('Will-Retry-Until', rfc5322Date(toDate(r.willRetryUntil))));
    return lines.join('');
  });
  // RFC 3464 §2.1: the per-message group, then each per-recipient group, separated by blank lines.
  const text = [perMessage.join(''), ...groups].join('\r\n');
  const global = !isAscii(text);
  return {
    header: `Content-Description: Delivery report\r\nContent-Type: message/${global ? 'global-delivery-status' : 'delivery-status'}\r\n${global ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}`,
    body: Buffer.from(text, 'utf8'),
    eightBit: global,
  };
}

/** RFC 6533 §3: a non-ASCII address has the `utf-8` address type. */
function addressType(address: string): string {
  return isAscii(address) ? 'rfc822' : 'utf-8';
}

/** `rfc822;a@b` → `rfc822; a@b`; a bare address gets a type. */
function originalRecipient(orcpt: string | undefined): string | null {
  if (!orcpt) return null;
  const value = clean(orcpt);
  const semi = value.indexOf(';');
  if (semi > 0 && /^[A-Za-z0-9-]+$/.test(value.slice(0, semi))) return `${value.slice(0, semi)}; ${value.slice(semi + 1).trim()}`;
  return `${addressType(value)}; ${value}`;
}

/** `diagnostic-type; text`; a value without a type is our own text. */
function diagnosticValue(diagnostic: string): string {
  const value = clean(diagnostic);
  const semi = value.indexOf(';');
  if (semi > 0 && /^[A-Za-z0-9-]+$/.test(value.slice(0, semi))) return `${value.slice(0, semi)}; ${value.slice(semi + 1).trim()}`;
  return `X-Postline; ${value}`;
}

function statusOf(r: DsnRecipient): string {
  const s = typeof r.status === 'string' ? r.status.trim() : '';
  if (STATUS.test(s) && (r.action === 'failed' ? s[0] === '5' : s[0] === '4')) return s;
  // A status whose class contradicts the action would confuse the sender's software.
  return r.action === 'failed' ? (STATUS.test(s) && s[0] === '4' ? `5${s.slice(1)}` : '5.0.0') : STATUS.test(s) && s[0] === '5' ? `4${s.slice(1)}` : '4.0.0';
}

function returnedPart(original: Buffer, content: 'full' | 'headers', maxFullBytes: number): Part {
  const headerEnd = endOfHeader(original);
  const headerBytes = original.subarray(0, headerEnd);
  const headerAscii = isAsciiBytes(headerBytes);
  if (content === 'full' && original.length <= maxFullBytes && travelsUnchanged(original)) {
    const eightBit = !isAsciiBytes(original);
    const type = headerAscii ? 'message/rfc822' : 'message/global';
    return {
      header: `Content-Description: Undelivered Message\r\nContent-Type: ${type}\r\n${eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}`,
      // As it is, final CRLF included: the delimiter brings its own CRLF (RFC 2046 §5.1.1).
      body: toCrlf(original),
      eightBit,
    };
  }
  const type = headerAscii ? 'text/rfc822-headers' : 'message/global-headers';
  const headers = foldLongLines(toCrlf(headerBytes));
  return {
    header: `Content-Description: Undelivered Message Headers\r\nContent-Type: ${type}\r\n${headerAscii ? '' : 'Content-Transfer-Encoding: 8bit\r\n'}`,
    body: headers,
    eightBit: !headerAscii,
  };
}

/** Offset just past the last header line (before the blank line); the whole message when it has no body. */
function endOfHeader(message: Buffer): number {
  if (message.length >= 2 && message[0] === 0x0d && message[1] === 0x0a) return 0;
  if (message.length >= 1 && message[0] === 0x0a) return 0;
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf + 1 <= lf)) return crlf + 2;
  if (lf !== -1) return lf + 1;
  return message.length;
}

/** A message we may embed as it is: no NUL, no bare CR, no line over 998 octets. */
function travelsUnchanged(message: Buffer): boolean {
  if (message.includes(0)) return false;
  let lineStart = 0;
  for (let i = message.indexOf(0x0a); ; i = message.indexOf(0x0a, i + 1)) {
    const end = i === -1 ? message.length : i;
    const content = end > lineStart && message[end - 1] === 0x0d ? end - 1 - lineStart : end - lineStart;
    if (content > MAX_LINE) return false;
    const cr = message.indexOf(0x0d, lineStart);
    if (cr !== -1 && cr < end && !(cr === end - 1 && i !== -1)) return false;
    if (i === -1) return true;
    lineStart = i + 1;
  }
}

/** Bare LF → CRLF (the queue keeps CRLF; this is for anything else). */
function toCrlf(bytes: Buffer): Buffer {
  let bare = false;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    if (i === 0 || bytes[i - 1] !== 0x0d) {
      bare = true;
      break;
    }
  }
  if (!bare) return bytes;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    if (i > 0 && bytes[i - 1] === 0x0d) continue;
    parts.push(bytes.subarray(from, i), Buffer.from('\r\n'));
    from = i + 1;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/** Header lines longer than the limit are folded (CRLF + space) every HEADER_FOLD_AT octets; bare CRs become spaces. */
function foldLongLines(headers: Buffer): Buffer {
  const out: Buffer[] = [];
  let from = 0;
  while (from < headers.length) {
    let lf = headers.indexOf(0x0a, from);
    if (lf === -1) lf = headers.length;
    const contentEnd = lf > from && headers[lf - 1] === 0x0d ? lf - 1 : lf;
    const line = Buffer.from(headers.subarray(from, contentEnd));
    for (let i = 0; i < line.length; i++) if (line[i] === 0x0d || line[i] === 0x00) line[i] = 0x20;
    for (let at = 0; at < line.length || at === 0; at += HEADER_FOLD_AT) {
      if (at > 0) out.push(Buffer.from('\r\n '));
      out.push(line.subarray(at, at + HEADER_FOLD_AT));
      if (line.length === 0) break;
    }
    out.push(Buffer.from('\r\n'));
    from = lf + 1;
  }
  return Buffer.concat(out);
}

/**
 * A boundary that appears in no part. Derived from the Message-ID and time
 * (so the function stays pure), checked against the content, and changed
 * until it is absent — for a hash, practically always the first try.
 */
function pickBoundary(messageId: string, now: Date, host: string, parts: Part[]): string {
  for (let n = 0; ; n++) {
    const digest = createHash('sha256').update(`${messageId}\0${now.getTime()}\0${n}`).digest('hex').slice(0, 24);
    const boundary = `${digest}/${host.replace(/[^A-Za-z0-9.-]/g, '').slice(0, 40)}`;
    const marker = Buffer.from(`--${boundary}`);
    if (!parts.some((p) => p.body.includes(marker))) return boundary;
  }
}

/** `Name: value` folded at spaces to stay near 78 columns, never over 998; ends with CRLF. */
function field(name: string, value: string): string {
  if (value.includes('\r\n')) return `${name}: ${value}\r\n`; // pre-folded by the caller
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    for (const piece of hardSplit(word, HARD_PIECE)) {
      if (line.length + 1 + piece.length > SOFT_WIDTH && line.trim().length > 0 && line !== `${name}:`) {
        lines.push(line);
        line = ` ${piece}`;
      } else {
        line += ` ${piece}`;
      }
    }
  }
  lines.push(line);
  return lines.join('\r\n') + '\r\n';
}

/** Word-wraps a paragraph at SOFT_WIDTH columns; words longer than a line are split hard. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (const piece of hardSplit(word, HARD_PIECE)) {
      if (line.length > 0 && line.length + 1 + piece.length > SOFT_WIDTH) {
        lines.push(line);
        line = piece;
      } else {
        line = line.length > 0 ? `${line} ${piece}` : piece;
      }
    }
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** Splits a word into pieces of at most `max` UTF-8 octets (≈: by characters, with a 4-octet worst case). */
function hardSplit(word: string, max: number): string[] {
  if (Buffer.byteLength(word, 'utf8') <= max) return [word];
  const chars = [...word];
  const per = Math.floor(max / 4);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += per) out.push(chars.slice(i, i + per).join(''));
  return out;
}

/** Control characters (CR, LF: header injection) become spaces; runs of white space collapse. */
function clean(s: string): string {
  return typeof s === 'string' ? s.replace(CONTROL, ' ').replace(/ {2,}/g, ' ').trim() : '';
}

function angle(id: string): string {
  const bare = id.replace(/^<|>$/g, '');
  return `<${bare.length > 0 ? bare : 'dsn@localhost'}>`;
}

function toDate(d: Date | number): Date {
  return d instanceof Date ? d : new Date(d);
}

/** RFC 5322 §3.3 date-time in UTC. */
function rfc5322Date(d: Date): string {
  return Number.isFinite(d.getTime()) ? d.toUTCString().replace('GMT', '+0000') : 'Thu, 01 Jan 1970 00:00:00 +0000';
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function isAsciiBytes(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! > 0x7f) return false;
  return true;
}
