/**
 * Splits an SMTP command stream into lines. Pure and incremental: bytes go in
 * with push(), events come out of next(); no I/O, no timers.
 *
 * Rules (RFC 5321 §2.3.8, §4.1.1):
 * - Only CRLF ends a line. A bare CR or bare LF stays inside the line, so the
 *   command parser sees it and rejects the command: we never guess that a
 *   lone LF "meant" CRLF (that guess is what SMTP smuggling exploits).
 * - A line longer than maxLineBytes (CRLF not counted) is never buffered
 *   whole: once it is known to be too long its bytes are dropped as they
 *   arrive, and exactly one 'too-long' event is produced when its CRLF comes
 *   (RFC 5321 §4.5.3.1.4 sets 512 octets incl. CRLF for command lines; the
 *   session picks the limit and the reply, 500 5.5.6).
 *
 * Scanning is lazy: push() only queues the chunk and next() scans just far
 * enough to find one line. That matters for DATA/BDAT: after the session gets
 * the `DATA` or `BDAT n` line it calls takeRest() and receives the pipelined
 * bytes that follow untouched — they must not have been cut into lines (or
 * dropped as "too long": BDAT data is binary). Each byte is scanned once, so
 * the work is O(n) over the input whatever the chunking.
 *
 * Lines returned by next() may share memory with the pushed chunks (no copy
 * when a line lies inside one chunk). Memory bound: about maxLineBytes plus
 * whatever the caller has pushed but not yet drained with next().
 */

export type FramerEvent =
  | { kind: 'line'; line: Buffer /* without the CRLF */ }
  | { kind: 'too-long' };

const CR = 0x0d;
const LF = 0x0a;

export class LineFramer {
  private readonly maxLineBytes: number;

  /** Pushed chunks not fully scanned yet; queue[head] is scanned from `offset`. */
  private queue: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private queuedBytes = 0;

  /** Scanned bytes of the current, unfinished line (empty while discarding). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Length of the current line so far, counting discarded bytes too. */
  private lineBytes = 0;
  /** The current line is already known to be too long: its bytes are dropped. */
  private discarding = false;
  /** The last scanned byte of the current line is a CR (a CRLF may be split across chunks). */
  private lastWasCR = false;

  constructor(maxLineBytes: number) {
    // Totality: a nonsensical limit (negative, NaN) behaves as 0, i.e. only empty lines fit.
    this.maxLineBytes = Number.isFinite(maxLineBytes) && maxLineBytes > 0 ? Math.floor(maxLineBytes) : 0;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** The next complete line or too-long event, or null when more input is needed. */
  next(): FramerEvent | null {
    while (this.head < this.queue.length) {
      const chunk = this.queue[this.head]!;
      const start = this.offset;
      let from = start;
      for (;;) {
        const lf = chunk.indexOf(LF, from);
        if (lf === -1) {
          this.absorb(chunk.subarray(start));
          this.dropHead();
          break;
        }
        const crBefore = lf > start ? chunk[lf - 1] === CR : this.lastWasCR;
        if (!crBefore) {
          from = lf + 1; // a bare LF: part of the line
          continue;
        }
        // CRLF at lf-1..lf (the CR may be the last byte of an earlier chunk).
        const piece = chunk.subarray(start, lf + 1);
        this.offset = lf + 1;
        this.queuedBytes -= piece.length;
        if (this.offset === chunk.length) this.dropHead();
        const contentBytes = this.lineBytes + piece.length - 2;
        const tooLong = this.discarding || contentBytes > this.maxLineBytes;
        const parts = this.parts;
        this.resetLine();
        if (tooLong) return { kind: 'too-long' };
        const whole = parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
        return { kind: 'line', line: whole.subarray(0, contentBytes) };
      }
    }
    return null;
  }

  /**
   * Returns and removes every byte buffered after the last complete line:
   * the unfinished line plus everything not scanned yet. Call it right after
   * next() returned the line that switches to byte mode (DATA, BDAT); bytes of
   * a line already being discarded as too long cannot be returned.
   */
  takeRest(): Buffer {
    const pending = this.queue.slice(this.head);
    if (pending.length > 0) pending[0] = pending[0]!.subarray(this.offset);
    const rest = Buffer.concat([...this.parts, ...pending]);
    this.queue = [];
    this.head = 0;
    this.offset = 0;
    this.queuedBytes = 0;
    this.resetLine();
    return rest;
  }

  /** Bytes held right now (unfinished line kept so far + pushed but unscanned input). */
  get buffered(): number {
    return this.partsBytes + this.queuedBytes;
  }

  /** Adds scanned bytes with no CRLF in them to the current line. */
  private absorb(bytes: Buffer): void {
    this.queuedBytes -= bytes.length;
    if (bytes.length === 0) return;
    this.lineBytes += bytes.length;
    this.lastWasCR = bytes[bytes.length - 1] === CR;
    if (this.discarding) return;
    // Keep up to max + 1 bytes: the extra one may be the CR of the ending CRLF.
    if (this.lineBytes > this.maxLineBytes + 1) {
      this.discarding = true;
      this.parts = [];
      this.partsBytes = 0;
      return;
    }
    this.parts.push(bytes);
    this.partsBytes += bytes.length;
  }

  private dropHead(): void {
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

  private resetLine(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.lineBytes = 0;
    this.discarding = false;
    this.lastWasCR = false;
  }
}
