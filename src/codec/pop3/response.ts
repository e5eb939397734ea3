/**
 * POP3 responses on the wire (RFC 1939 §3, RFC 2449 §8 response codes,
 * RFC 5034 continuations). Pure: values in, bytes out.
 *
 *   +OK text\r\n                       single line
 *   -ERR [SYS/TEMP] text\r\n           with a response code
 *   +OK text\r\n line\r\n ..dot\r\n .\r\n   multi-line, dot-stuffed
 *   + base64\r\n                       SASL continuation
 *
 * Texts never break the framing: control characters become spaces, so a
 * CRLF inside a text cannot end the response early and smuggle another one.
 */

export interface Pop3Response {
  status: '+OK' | '-ERR' | '+';
  /** RFC 2449 §8 / RFC 3206 response code, e.g. 'IN-USE', 'SYS/TEMP', 'AUTH'. */
  code?: string | null;
  text: string;
  /** Present: a multi-line response; each entry is one line (dot-stuffed here). */
  lines?: readonly string[];
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
const RESP_CODE = /^[A-Z0-9-]+(\/[A-Z0-9-]+)*$/;

export function formatResponse(r: Pop3Response): Buffer {
  // The common case, a one-line +OK/-ERR of printable ASCII without a code (every RETR's "+OK n octets"):
  // the same bytes as formatAny's (a property test checks), without the replace and the utf8 encode.
  if (r.lines === undefined && !r.code && r.status !== '+' && PRINTABLE_TEXT.test(r.text)) {
    return Buffer.from(`${r.status} ${r.text}`.trimEnd() + '\r\n', 'latin1');
  }
  return formatAny(r);
}

/** Every response, the general way. Exported for the property test against formatResponse's shortcut. */
export function formatAny(r: Pop3Response): Buffer {
  const text = r.text.replace(CONTROL, ' ');
  const code = r.code && RESP_CODE.test(r.code) ? `[${r.code}] ` : '';
  // "+ " is the continuation even with an empty challenge (RFC 5034 §4).
  let out = r.status === '+' ? `+ ${text}\r\n` : text.length > 0 || code ? `${r.status} ${code}${text}`.trimEnd() + '\r\n' : `${r.status}\r\n`;
  if (r.lines) {
    for (const raw of r.lines) {
      const line = raw.replace(CONTROL, ' ');
      out += line.startsWith('.') ? `.${line}\r\n` : `${line}\r\n`;
    }
    out += '.\r\n';
  }
  // Most replies are ASCII, and a latin1 encode of them (same bytes) is about twice as fast as utf8's.
  return Buffer.from(out, PRINTABLE_ASCII.test(out) ? 'latin1' : 'utf8');
}

const PRINTABLE_ASCII = /^[\x20-\x7e\r\n]*$/;
const PRINTABLE_TEXT = /^[\x20-\x7e]*$/;

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const DOT_BUFFER = Buffer.from('.');
const LF_DOT = Buffer.from('\n.');
const END_AFTER_CRLF = Buffer.from('.\r\n');
const END_WITH_CRLF = Buffer.from('\r\n.\r\n');

/**
 * Dot-stuffing for a message body sent as a multi-line response (RETR, TOP),
 * incremental over Buffer chunks so a big message is never copied whole:
 * push() returns the chunk as slices with an extra '.' in front of every
 * line that starts with one; end() returns the terminator.
 *
 * A line starts after any LF, bare or in CRLF. Messages that came in over
 * SMTP have CRLF only (the SMTP codec refuses bare line endings), but an
 * APPENDed message may carry a bare LF; a client that splits lines on LF
 * would otherwise take a "\n.\r\n" inside it for the end of the response.
 * The body bytes are otherwise sent as stored.
 */
export class DotStuffer {
  private atLineStart = true;
  private lastTwo = 0; // the last two bytes sent, (prev << 8) | last; 0 = none
  private sentAny = false;

  push(chunk: Uint8Array): Buffer[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length === 0) return [];
    const out: Buffer[] = [];
    let from = 0;
    if (this.atLineStart && buf[0] === DOT) out.push(DOT_BUFFER);
    // A dot right after an LF inside this chunk; one after an LF that ended the previous chunk is atLineStart's.
    for (let at = buf.indexOf(LF_DOT); at !== -1; at = buf.indexOf(LF_DOT, at + 1)) {
      out.push(buf.subarray(from, at + 1), DOT_BUFFER);
      from = at + 1;
    }
    out.push(from === 0 ? buf : buf.subarray(from));
    this.atLineStart = buf[buf.length - 1] === LF;
    this.lastTwo = buf.length >= 2 ? (buf[buf.length - 2]! << 8) | buf[buf.length - 1]! : ((this.lastTwo & 0xff) << 8) | buf[0]!;
    this.sentAny = true;
    return out;
  }

  /** The terminator: ".\r\n" after a final CRLF (or an empty body), else a CRLF first so the dot is on a line of its own. */
  end(): Buffer {
    return !this.sentAny || this.lastTwo === ((CR << 8) | LF) ? END_AFTER_CRLF : END_WITH_CRLF;
  }
}

/**
 * TOP msg n (RFC 1939 §7): the header, the blank line after it, and the
 * first `lines` lines of the body. Returns a slice of `message` (no copy).
 * The header ends at the first empty line (CRLF CRLF, or LF LF in a
 * message with bare line endings); a message without one is all header.
 */
export function topOf(message: Buffer, lines: number): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lflf = message.indexOf('\n\n');
  let bodyStart: number;
  if (crlf === -1 && lflf === -1) return message;
  if (crlf !== -1 && (lflf === -1 || crlf + 2 <= lflf)) bodyStart = crlf + 4;
  else bodyStart = lflf + 2;
  let end = bodyStart;
  for (let n = 0; n < lines && end < message.length; n++) {
    const lf = message.indexOf(LF, end);
    end = lf === -1 ? message.length : lf + 1;
  }
  return message.subarray(0, end);
}
