/**
 * Cuts an IMAP client stream into command frames. Pure and incremental: bytes
 * go in with push(), events come out of next(); no I/O, no timers.
 *
 * A command is one line, unless that line ends in a literal announcement
 * (RFC 3501 §4.3): `{N}` (synchronizing: the client waits for our "+"),
 * `{N+}` (LITERAL+, RFC 7888: the bytes follow at once) or `~{N}` / `~{N+}`
 * (literal8). Then exactly N raw bytes follow, then more of the line. A frame
 * is the line pieces and the literals between them:
 *
 *   a LOGIN {5}\r\n  hello  {3+}\r\n  abc  \r\n
 *   lines[0]="a LOGIN {5}" literals[0]="hello" lines[1]=" {3+}" literals[1]="abc" lines[2]=""
 *
 * Decisions:
 * - Line ends: CRLF, and a bare LF too (the CR is optional, as in Dovecot and
 *   Cyrus). SMTP must refuse bare LF because mail is relayed and another
 *   parser on the path may disagree (smuggling); IMAP commands are never
 *   relayed, and scripted clients (`nc` without -C) send LF. A bare CR stays
 *   in the line and the parser rejects it. NUL and other junk bytes are
 *   framed like any byte and rejected by the parser.
 * - maxLineBytes bounds the non-literal bytes of one whole command (all its
 *   pieces, line ends not counted). That also bounds how many literals a
 *   command can announce. A command over it is dropped as its bytes arrive
 *   and reported once ('line-too-long') at the end of the offending piece.
 * - Each announced literal is checked against literalLimit(frameSoFar, ann)
 *   BEFORE any of its bytes are read (the owner decides: maxMessageSize for
 *   APPEND, small for the rest; a negative limit refuses every literal). A
 *   refused synchronizing literal ends the command: we send no "+", so the
 *   client sends no bytes and, on our tagged reply, abandons the command
 *   (RFC 3501 §7.5). A refused non-synchronizing literal is already on its
 *   way: its N bytes and the rest of the command are read and dropped, never
 *   kept, as long as the command's total stays within maxDiscardBytes
 *   (default 1 MiB). Beyond that (a 4 GB announcement, say) the framer stops
 *   for good and says `fatal`: the owner should send BYE and close (reading
 *   and discarding, or closing, are the two answers a server has to an
 *   oversized non-synchronizing literal; RFC 7888 discusses both). Skipping
 *   gigabytes to save one connection is not worth the bandwidth.
 *
 * Memory: maxLineBytes + 1, plus the literal bytes the owner allowed, plus
 * 320 bytes of a dropped command (its first bytes for the tag, its last bytes
 * for a literal announcement), plus whatever was pushed but not yet scanned.
 * next() scans lazily, one event at a time, so input pipelined after a
 * STARTTLS command stays unscanned and clear() can count and drop it. Frames
 * may share memory with pushed chunks.
 */
import { findLiteralAnnouncement, readTag, type LiteralAnnouncement } from './syntax.js';

export type { LiteralAnnouncement } from './syntax.js';

export type Literal = { data: Buffer; sync: boolean; binary: boolean };

/**
 * One command: lines.length === literals.length + 1, and every line but the
 * last ends with the announcement of the literal that follows it. Line ends
 * (CRLF / LF) are not included.
 */
export type Frame = { lines: Buffer[]; literals: Literal[] };

export type FramerEvent =
  /** A complete command, for parseCommand() (or parseDone(), parseAuthenticateResponse()). */
  | { kind: 'frame'; frame: Frame }
  /** A synchronizing literal was accepted: send "+ Ready for literal data" now. */
  | { kind: 'continue'; size: number }
  /**
   * The command's non-literal bytes went over maxLineBytes; it was dropped.
   * Reply `tag BAD` (or `* BAD` when tag is null). fatal: see below.
   */
  | { kind: 'line-too-long'; tag: string | null; fatal: boolean }
  /**
   * A literal over its limit; the command was dropped without reading it.
   * Reply `tag NO [TOOBIG]` (or BAD). fatal: the framer has stopped for good
   * (a non-synchronizing literal too big to skip): send BYE and close.
   */
  | { kind: 'literal-refused'; tag: string | null; size: number; limit: number; sync: boolean; fatal: boolean };

export type FramerOptions = {
  /** Cap on one command's non-literal bytes, line ends excluded. */
  maxLineBytes: number;
  /**
   * Largest literal accepted at this point. frameSoFar holds the pieces read
   * so far (the last one ends with the announcement) and the literals read so
   * far: use it to pick the command (see peekCommand) and a total budget.
   */
  literalLimit: (frameSoFar: Frame, literal: LiteralAnnouncement) => number;
  /** Most bytes of refused non-synchronizing literals skipped in one command before giving up; default 1 MiB. */
  maxDiscardBytes?: number;
};

export const DEFAULT_MAX_DISCARD_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
/** Bytes of a dropped line kept to spot a literal announcement at its end (`{` + 16 digits + `+}` and spare). */
const TAIL_BYTES = 64;
/** Bytes of a dropped command kept to read its tag from. */
const TAG_BYTES = 256;
const EMPTY = Buffer.alloc(0);

type Mode =
  /** Reading a line piece of a live command. */
  | { kind: 'line' }
  /** Reading the bytes of an accepted literal. */
  | { kind: 'literal'; remaining: number; sync: boolean; binary: boolean }
  /** Dropping a line piece of a refused command; tooLong: the error is still to be reported at its end. */
  | { kind: 'skip-line'; tooLong: boolean }
  /** Dropping the bytes of a refused non-synchronizing literal. */
  | { kind: 'skip-literal'; remaining: number }
  /** Gave up (fatal error): every byte is ignored. */
  | { kind: 'dead' };

type Refusal = Extract<FramerEvent, { kind: 'line-too-long' | 'literal-refused' }>;

export class ImapFramer {
  private readonly maxLineBytes: number;
  private readonly maxDiscardBytes: number;
  private readonly literalLimit: FramerOptions['literalLimit'];

  /** Pushed chunks not fully scanned; queue[head] is scanned from `offset`. */
  private queue: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private queuedBytes = 0;

  private mode: Mode = { kind: 'line' };
  /** The command so far: finished pieces and literals, the current piece, the current literal. */
  private lines: Buffer[] = [];
  private literals: Literal[] = [];
  private parts: Buffer[] = [];
  private literalParts: Buffer[] = [];
  /** Non-literal bytes of the finished pieces. */
  private lineBytes = 0;
  /** Bytes of the current piece so far (may end with the CR of a CRLF). */
  private pieceBytes = 0;
  /** Everything the command holds (pieces, literals); for `buffered`. */
  private heldBytes = 0;
  /** Last bytes of the line being dropped (skip-line). */
  private tail: Buffer = EMPTY;
  /**
   * First bytes of a dropped command's first line, for its tag; still growing
   * (headOpen) while that line is being dropped, so the tag read does not
   * depend on where the chunks happened to be cut.
   */
  private dropHead: Buffer = EMPTY;
  private headOpen = false;
  /** What may still be skipped of refused non-synchronizing literals in this command. */
  private discardLeft: number;

  constructor(options: FramerOptions) {
    // Totality: nonsensical caps (negative, NaN) act as 0.
    const cap = (n: number | undefined, fallback: number) =>
      n === undefined ? fallback : Number.isFinite(n) && n > 0 ? Math.floor(n) : n === Number.POSITIVE_INFINITY ? n : 0;
    this.maxLineBytes = cap(options.maxLineBytes, 0);
    this.maxDiscardBytes = cap(options.maxDiscardBytes, DEFAULT_MAX_DISCARD_BYTES);
    this.literalLimit = options.literalLimit;
    this.discardLeft = this.maxDiscardBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.mode.kind === 'dead') return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** The next event, or null when more input is needed (always null once closed). */
  next(): FramerEvent | null {
    for (;;) {
      const mode = this.mode;
      if (mode.kind === 'dead') return null;
      // A literal that is complete (or empty) needs no more input to finish.
      if (mode.kind === 'literal' && mode.remaining === 0) {
        this.finishLiteral(mode);
        continue;
      }
      if (mode.kind === 'skip-literal' && mode.remaining === 0) {
        this.mode = { kind: 'skip-line', tooLong: false };
        continue;
      }
      if (this.head >= this.queue.length) return null;
      const chunk = this.queue[this.head]!;
      const start = this.offset;

      if (mode.kind === 'literal' || mode.kind === 'skip-literal') {
        const n = Math.min(mode.remaining, chunk.length - start);
        if (mode.kind === 'literal') {
          this.literalParts.push(chunk.subarray(start, start + n));
          this.heldBytes += n;
        }
        mode.remaining -= n;
        this.consume(n);
        continue;
      }

      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      this.absorb(chunk.subarray(start, end));
      this.consume(end - start + (lf === -1 ? 0 : 1));
      if (lf === -1) continue;
      const event = this.endOfLine();
      if (event !== null) return event;
    }
  }

  /** True once a fatal error stopped the framer. */
  get closed(): boolean {
    return this.mode.kind === 'dead';
  }

  /** Bytes held: the command in progress plus pushed input not scanned yet. */
  get buffered(): number {
    return this.queuedBytes + this.heldBytes + this.tail.length + this.dropHead.length;
  }

  /**
   * Drops everything buffered, including a command in progress, and returns
   * how many bytes that was. For STARTTLS: bytes pipelined after the command
   * must not be carried into the TLS session (CVE-2011-0411 and kin).
   */
  clear(): number {
    const dropped = this.buffered;
    this.queue = [];
    this.head = 0;
    this.offset = 0;
    this.queuedBytes = 0;
    if (this.mode.kind !== 'dead') this.mode = { kind: 'line' };
    this.startCommand();
    return dropped;
  }

  /** Adds line bytes (no LF in them) to the current piece, or drops them if the command is refused. */
  private absorb(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.mode.kind === 'skip-line') {
      if (this.headOpen && this.dropHead.length < TAG_BYTES) this.dropHead = headBytes([this.dropHead, bytes], TAG_BYTES);
      this.keepTail([bytes]);
      return;
    }
    this.parts.push(bytes);
    this.pieceBytes += bytes.length;
    this.heldBytes += bytes.length;
    // Allow one byte over the cap: it may be the CR of the line's CRLF.
    if (this.lineBytes + this.pieceBytes > this.maxLineBytes + 1) {
      const parts = this.parts;
      this.keepHead(this.lines.length > 0 ? [this.lines[0]!] : parts, this.lines.length === 0);
      this.dropCommand();
      this.keepTail(parts);
      this.mode = { kind: 'skip-line', tooLong: true };
    }
  }

  /** A line end was just consumed. */
  private endOfLine(): FramerEvent | null {
    const mode = this.mode;
    if (mode.kind === 'skip-line') {
      const tail = stripCR(this.tail);
      this.tail = EMPTY;
      this.headOpen = false;
      return this.endSkippedLine(mode.tooLong ? { kind: 'line-too-long', tag: this.tag(), fatal: false } : null, tail);
    }
    const piece = stripCR(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts));
    this.heldBytes -= this.pieceBytes - piece.length;
    this.parts = [];
    this.pieceBytes = 0;
    const total = this.lineBytes + piece.length;
    if (total > this.maxLineBytes) {
      this.keepHead([this.lines.length > 0 ? this.lines[0]! : piece], false);
      this.dropCommand();
      return this.endSkippedLine({ kind: 'line-too-long', tag: this.tag(), fatal: false }, piece.subarray(-TAIL_BYTES));
    }
    this.lines.push(piece);
    this.lineBytes = total;
    const ann = findLiteralAnnouncement(piece);
    if (ann === null) {
      const frame: Frame = { lines: this.lines, literals: this.literals };
      this.startCommand();
      return { kind: 'frame', frame };
    }
    const announced: LiteralAnnouncement = { size: ann.size, sync: ann.sync, binary: ann.binary };
    const limit = this.literalLimit({ lines: [...this.lines], literals: [...this.literals] }, announced);
    if (ann.size <= limit) {
      this.mode = { kind: 'literal', remaining: ann.size, sync: ann.sync, binary: ann.binary };
      return ann.sync ? { kind: 'continue', size: ann.size } : null;
    }
    this.keepHead([this.lines[0]!], false);
    this.dropCommand();
    const refused = { kind: 'literal-refused', tag: this.tag(), size: ann.size, limit, sync: ann.sync, fatal: false } as const;
    if (ann.sync) {
      // No "+" goes out, so no bytes follow: the command ends here.
      this.mode = { kind: 'line' };
      this.startCommand();
      return refused;
    }
    return this.skipLiteral(ann.size, refused);
  }

  /**
   * The end of a line of a dropped command. A non-synchronizing literal
   * announced at its end is on its way and is skipped; anything else (no
   * announcement, or a synchronizing one we will never answer) ends the command.
   */
  private endSkippedLine(event: Refusal | null, tail: Buffer): FramerEvent | null {
    const ann = findLiteralAnnouncement(tail);
    if (ann !== null && !ann.sync) return this.skipLiteral(ann.size, event);
    this.mode = { kind: 'line' };
    this.startCommand();
    return event;
  }

  private skipLiteral(size: number, event: Refusal | null): FramerEvent | null {
    if (size <= this.discardLeft) {
      this.discardLeft -= size;
      this.mode = { kind: 'skip-literal', remaining: size };
      return event;
    }
    const left = this.discardLeft;
    const tag = this.tag();
    this.die();
    return event !== null ? { ...event, fatal: true } : { kind: 'literal-refused', tag, size, limit: left, sync: false, fatal: true };
  }

  private finishLiteral(mode: Extract<Mode, { kind: 'literal' }>): void {
    const data = this.literalParts.length === 1 ? this.literalParts[0]! : Buffer.concat(this.literalParts);
    this.literals.push({ data, sync: mode.sync, binary: mode.binary });
    this.literalParts = [];
    this.mode = { kind: 'line' };
  }

  /** Remembers the start of a command being dropped; open: its first line is still arriving. */
  private keepHead(bufs: Buffer[], open: boolean): void {
    this.dropHead = headBytes(bufs, TAG_BYTES);
    this.headOpen = open;
  }

  /** The dropped command's tag, when its first bytes show one. */
  private tag(): string | null {
    return readTag(this.dropHead, true);
  }

  /** Keeps the last TAIL_BYTES of the dropped line (copied: the chunks may be large). */
  private keepTail(bufs: Buffer[]): void {
    this.tail = Buffer.from(tailBytes([this.tail, ...bufs], TAIL_BYTES));
  }

  /** Forgets the command's bytes (its discard budget stays: the command is not over). */
  private dropCommand(): void {
    this.lines = [];
    this.literals = [];
    this.parts = [];
    this.literalParts = [];
    this.lineBytes = 0;
    this.pieceBytes = 0;
    this.heldBytes = 0;
    this.tail = EMPTY;
  }

  private startCommand(): void {
    this.dropCommand();
    this.discardLeft = this.maxDiscardBytes;
    this.dropHead = EMPTY;
    this.headOpen = false;
  }

  private die(): void {
    this.mode = { kind: 'dead' };
    this.startCommand();
    this.queue = [];
    this.head = 0;
    this.offset = 0;
    this.queuedBytes = 0;
  }

  private consume(n: number): void {
    this.offset += n;
    this.queuedBytes -= n;
    if (this.offset < this.queue[this.head]!.length) return;
    this.head++;
    this.offset = 0;
    // Compact now and then so the queue array does not grow with the connection's lifetime.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 64) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

function stripCR(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, -1) : line;
}

/** The first n bytes of the concatenation of bufs. */
function headBytes(bufs: Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let have = 0;
  for (const b of bufs) {
    if (have >= n) break;
    out.push(b.subarray(0, n - have));
    have += Math.min(b.length, n - have);
  }
  return Buffer.concat(out);
}

/** The last n bytes of the concatenation of bufs. */
function tailBytes(bufs: Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let have = 0;
  for (let i = bufs.length - 1; i >= 0 && have < n; i--) {
    const b = bufs[i]!;
    out.unshift(b.subarray(Math.max(0, b.length - (n - have))));
    have += Math.min(b.length, n - have);
  }
  return Buffer.concat(out);
}
