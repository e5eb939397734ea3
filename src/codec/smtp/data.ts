/**
 * The DATA body codec (RFC 5321 §4.1.1.4, §4.5.2). Pure and incremental.
 *
 * Decoding: the body ends ONLY at CRLF "." CRLF, and a line that starts with
 * "." has that dot removed (transparency). "Line" means after a CRLF: a bare
 * LF or bare CR never starts a line and never ends the data. Such bytes are
 * passed through unchanged and flagged (bareLineEnding, sticky) so the
 * session can refuse the message once the real end arrives. Treating `\n.\n`,
 * `\r.\r` or similar as the end is exactly the SMTP smuggling flaw
 * (CVE-2023-51764 and friends): a sender could hide a second transaction in
 * the body that a different parser along the path would see.
 *
 * The first line begins right after the DATA command's CRLF, so an empty
 * message is just ".\r\n".
 *
 * The decoder is a byte state machine whose state survives between push()
 * calls, so the result does not depend on how the stream is chunked (the end
 * marker or a CRLF may be split anywhere). Each byte is looked at once: O(n).
 */

export type DataChunk = {
  /** Decoded body bytes from this push (slices of the input where possible); empty once tooBig. */
  body: Buffer[];
  /** The terminating CRLF "." CRLF has been seen. */
  done: boolean;
  /** Bytes after the end marker (pipelined commands); empty unless done. */
  rest: Buffer;
  /** Body octets decoded so far in total (also counted beyond maxBytes). */
  size: number;
  /** size exceeded maxBytes: bytes are no longer kept, but the end is still looked for. */
  tooBig: boolean;
  /** A bare CR or bare LF was seen somewhere in the body (sticky). */
  bareLineEnding: boolean;
};

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);

const enum State {
  /** Just after CRLF (or at the start): a "." here is stuffing or the end marker. */
  LineStart,
  /** Inside a line. */
  Mid,
  /** After a CR that was emitted; an LF now completes a CRLF. */
  Cr,
  /** After CRLF "."; the dot is withheld (it is never body). */
  Dot,
  /** After CRLF "." CR; the CR is withheld: an LF now ends the data. */
  DotCr,
  /** The end marker has been seen. */
  Done,
}

export class DataDecoder {
  private readonly maxBytes: number;
  private state: State = State.LineStart;
  private size = 0;
  private tooBig = false;
  private bare = false;

  constructor(maxBytes: number) {
    // Totality: a nonsensical cap (negative, NaN) means nothing fits.
    this.maxBytes = maxBytes >= 0 ? maxBytes : 0;
  }

  push(chunk: Buffer): DataChunk {
    // After the end every byte belongs to whatever follows (pipelined commands).
    if (this.state === State.Done) return this.result([], chunk, true);
    const body: Buffer[] = [];
    // Pending run of body bytes [runStart, i) in this chunk, emitted as one slice.
    let runStart = 0;
    const emitRun = (end: number): void => {
      if (end > runStart) body.push(chunk.subarray(runStart, end));
    };
    const n = chunk.length;
    // Next CR / LF at or after i (n when none), found with indexOf and only
    // recomputed once passed, so the chunk is searched at most twice over.
    let nextCr = -1;
    let nextLf = -1;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.LineStart: {
          if (chunk[i] === DOT) {
            emitRun(i);
            this.state = State.Dot;
            i++;
            runStart = i;
          } else {
            this.state = State.Mid;
          }
          break;
        }
        case State.Mid: {
          // Fast path: jump to the next CR or LF; everything before is plain body.
          if (nextCr < i) nextCr = indexOrEnd(chunk, CR, i);
          if (nextLf < i) nextLf = indexOrEnd(chunk, LF, i);
          i = Math.min(nextCr, nextLf);
          if (i === n) break;
          if (chunk[i] === LF) this.bare = true; // bare LF: kept, flagged, no new line
          else this.state = State.Cr;
          i++;
          break;
        }
        case State.Cr: {
          const b = chunk[i]!;
          if (b === LF) {
            this.state = State.LineStart;
            i++;
          } else {
            this.bare = true; // the CR before this byte was bare
            this.state = State.Mid;
            // b is processed in Mid (a CR there starts a new Cr state)
          }
          break;
        }
        case State.Dot: {
          // runStart is already past the withheld dot, so the dot is dropped either way.
          if (chunk[i] === CR) {
            this.state = State.DotCr;
            i++;
            runStart = i; // withhold the CR until we know whether LF follows
          } else {
            this.state = State.Mid; // a stuffed dot: removed, the line goes on
          }
          break;
        }
        case State.DotCr: {
          if (chunk[i] === LF) {
            // Nothing is pending: the run restarted after the withheld CR.
            this.state = State.Done;
            const rest = chunk.subarray(i + 1);
            return this.result(body, rest, false);
          }
          // "." CR not followed by LF: the dot was stuffing, the CR is a bare
          // CR and is body. It may have come in an earlier chunk, so emit a copy.
          body.push(Buffer.from([CR]));
          this.state = State.Cr;
          // this byte is processed in Cr (which flags the bare CR)
          break;
        }
      }
    }
    // Withheld bytes (a dot, a CR after a dot) are never inside the run: it restarts after them.
    emitRun(n);
    return this.result(body, EMPTY, false);
  }

  private result(body: Buffer[], rest: Buffer, alreadyDone: boolean): DataChunk {
    if (!alreadyDone) {
      for (const b of body) this.size += b.length;
      if (this.size > this.maxBytes) this.tooBig = true;
    }
    const done = this.state === State.Done;
    return {
      body: this.tooBig || alreadyDone ? [] : body,
      done,
      rest: done ? rest : EMPTY,
      size: this.size,
      tooBig: this.tooBig,
      bareLineEnding: this.bare,
    };
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
}

/**
 * Encodes a message body for DATA: a "." is added to every line that starts
 * with "." (RFC 5321 §4.5.2), and CRLF "." CRLF is appended, preceded by a
 * CRLF if the body does not end with one. An empty body becomes ".\r\n".
 * Lines are CRLF-terminated lines: callers normalise bare LF / CR first
 * (we never send them, and they would not be unstuffed by a strict receiver).
 */
export function dotStuff(body: Buffer): Buffer {
  if (body.length === 0) return Buffer.from('.\r\n', 'latin1');
  // Pass 1: count the dots to add (at offset 0 and after every CRLF).
  let extra = body[0] === DOT ? 1 : 0;
  for (let i = body.indexOf('\r\n.', 0, 'latin1'); i !== -1; i = body.indexOf('\r\n.', i + 2, 'latin1')) extra++;
  const endsWithCrlf = body.length >= 2 && body[body.length - 2] === CR && body[body.length - 1] === LF;
  const tail = endsWithCrlf ? '.\r\n' : '\r\n.\r\n';
  const out = Buffer.allocUnsafe(body.length + extra + tail.length);
  // Pass 2: copy, inserting the dots.
  let o = 0;
  let from = 0;
  if (body[0] === DOT) out[o++] = DOT;
  for (let i = body.indexOf('\r\n.', 0, 'latin1'); i !== -1; i = body.indexOf('\r\n.', i + 2, 'latin1')) {
    o += body.copy(out, o, from, i + 2);
    out[o++] = DOT;
    from = i + 2;
  }
  o += body.copy(out, o, from);
  out.write(tail, o, 'latin1');
  return out;
}
