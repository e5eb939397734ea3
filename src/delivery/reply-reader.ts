/**
 * Reads SMTP replies from a server (RFC 5321 §4.2, enhanced status codes RFC
 * 2034 / 3463). Pure and incremental: bytes go in with push(), complete
 * replies come out of next(); no I/O, no timers.
 *
 *   250-mx.example.com greets you      ← continuation: code "-" text
 *   250-PIPELINING
 *   250 SIZE 10240000                  ← last line: code " " text (or the code alone)
 *
 * It lives in src/delivery rather than src/codec/smtp because only the
 * outbound client reads replies; the codec there is the server's side.
 *
 * A remote server is untrusted input, so everything is bounded: a line
 * longer than `maxLineBytes`, a reply with more than `maxLines` lines, a line
 * that is not `DDD[ -]text`, a first digit outside 2–5, or a continuation
 * line with a different code are protocol errors. After the first error the
 * reader stays failed: the stream is out of step and nothing after it can be
 * trusted. Memory stays around maxLineBytes × maxLines however the server
 * behaves (a 1 MB "line" is cut off after maxLineBytes, never buffered).
 *
 * Tolerated on purpose: a bare LF ends a line as well as CRLF (we only read
 * replies here; no data is framed by them, so there is nothing to smuggle),
 * and a trailing CR before the LF is dropped.
 */

export type Reply = {
  /** The three-digit reply code, first digit 2–5. */
  code: number;
  /** The enhanced status code of the first line (`5.1.1`), when present and of the same class as `code`; else null. */
  enhanced: string | null;
  /** The text of each line without the code and without the enhanced code. */
  lines: string[];
};

export type ReplyEvent = { kind: 'reply'; reply: Reply } | { kind: 'error'; problem: string };

export type ReplyLimits = {
  /** Longest reply line, CRLF not counted. RFC 5321 §4.5.3.1.5 says 512 with the CRLF; real servers exceed it with long texts. */
  maxLineBytes: number;
  /** Most lines in one reply: an EHLO reply has a dozen; a server that never ends its reply must not grow our memory. */
  maxLines: number;
  /**
   * Most bytes of complete replies waiting to be taken. Pipelining queues one
   * reply per command we sent; a server that floods replies nobody asked for
   * (while we are busy sending the body) must not grow our memory either.
   */
  maxQueuedBytes: number;
};

export const REPLY_LIMITS: Readonly<ReplyLimits> = Object.freeze({ maxLineBytes: 4096, maxLines: 256, maxQueuedBytes: 1024 * 1024 });

const LF = 0x0a;
const CR = 0x0d;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
const LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

export class ReplyReader {
  private readonly limits: ReplyLimits;
  /** Bytes of the unfinished line (only while it fits in maxLineBytes + the CR). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Lines of the reply being collected. */
  private lines: string[] = [];
  private code = 0;
  /** Complete events not yet taken by next(). */
  private events: ReplyEvent[] = [];
  private queuedBytes = 0;
  private failure: string | null = null;

  constructor(limits: ReplyLimits = REPLY_LIMITS) {
    this.limits = limits;
  }

  push(chunk: Buffer): void {
    if (this.failure !== null) return;
    let from = 0;
    while (from < chunk.length && this.failure === null) {
      const lf = chunk.indexOf(LF, from);
      const end = lf === -1 ? chunk.length : lf;
      const piece = chunk.subarray(from, end);
      // +1: the line may still end with the CR of its CRLF.
      if (this.partialBytes + piece.length > this.limits.maxLineBytes + 1) {
        this.fail(`reply line longer than ${this.limits.maxLineBytes} bytes`);
        return;
      }
      if (lf === -1) {
        if (piece.length > 0) {
          this.partial.push(piece);
          this.partialBytes += piece.length;
        }
        return;
      }
      const whole = this.partial.length === 0 ? piece : Buffer.concat([...this.partial, piece]);
      this.partial = [];
      this.partialBytes = 0;
      const line = whole.length > 0 && whole[whole.length - 1] === CR ? whole.subarray(0, whole.length - 1) : whole;
      if (line.length > this.limits.maxLineBytes) {
        this.fail(`reply line longer than ${this.limits.maxLineBytes} bytes`);
        return;
      }
      this.line(line);
      from = lf + 1;
    }
  }

  /** The next complete reply or error, or null when more bytes are needed. */
  next(): ReplyEvent | null {
    const event = this.events.shift() ?? null;
    if (event?.kind === 'reply') this.queuedBytes -= replyBytes(event.reply);
    return event;
  }

  /** Something was received that nobody has taken yet (a reply, or part of one). */
  get pending(): boolean {
    return this.events.length > 0 || this.midReply;
  }

  /** Bytes of an unfinished line or reply are pending: a server that closes now cut a reply short. */
  get midReply(): boolean {
    return this.partialBytes > 0 || this.lines.length > 0;
  }

  private line(bytes: Buffer): void {
    // Replies are ASCII, but texts may carry UTF-8 (RFC 6531); anything else becomes U+FFFD.
    const text = bytes.toString('utf8');
    const m = LINE.exec(text);
    if (!m) {
      this.fail(`malformed reply line ${JSON.stringify(text.slice(0, 80))}`);
      return;
    }
    const code = Number(m[1]);
    if (this.lines.length > 0 && code !== this.code) {
      this.fail(`reply code changed from ${this.code} to ${code} inside a multiline reply`);
      return;
    }
    this.code = code;
    this.lines.push((m[3] ?? '').replace(CONTROL, ' '));
    if (m[2] === '-') {
      if (this.lines.length >= this.limits.maxLines) this.fail(`reply with more than ${this.limits.maxLines} lines`);
      return;
    }
    const reply = finish(code, this.lines);
    this.lines = [];
    this.queuedBytes += replyBytes(reply);
    if (this.queuedBytes > this.limits.maxQueuedBytes) {
      this.fail('too many replies nobody asked for');
      return;
    }
    this.events.push({ kind: 'reply', reply });
  }

  /** Why the reader failed, or null; set as soon as the bad bytes arrive, before next() reaches the error event. */
  get problem(): string | null {
    return this.failure;
  }

  private fail(problem: string): void {
    this.failure = problem;
    this.partial = [];
    this.partialBytes = 0;
    this.lines = [];
    this.events.push({ kind: 'error', problem });
  }
}

function replyBytes(reply: Reply): number {
  let n = 8;
  for (const l of reply.lines) n += l.length + 4;
  return n;
}

/** Splits the enhanced code off every line that carries the one of the first line (RFC 2034 §4 puts it on each line). */
function finish(code: number, lines: string[]): Reply {
  const m = ENHANCED.exec(lines[0]!);
  // RFC 3463 §2: the class must agree with the reply; a mismatch is ignored, not trusted.
  if (!m || m[1] !== String(code)[0]) return { code, enhanced: null, lines };
  const enhanced = `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
  const prefix = m[0].trimEnd();
  const stripped = lines.map((l) => (l === prefix ? '' : l.startsWith(prefix + ' ') ? l.slice(prefix.length + 1) : l));
  return { code, enhanced, lines: stripped };
}

/** A reply's lines as one text, as Postfix shows them in logs and bounces. */
export function replyText(reply: Reply): string {
  return reply.lines.filter((l) => l.length > 0).join(' ');
}
