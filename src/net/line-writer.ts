/**
 * Output side of a session with backpressure. A client that sends commands
 * but never reads the replies (or reads slowly: a big FETCH, RETR) would
 * otherwise make us queue replies without bound. The socket's own buffer
 * is the queue; this class makes its size visible (`pendingBytes`) and
 * turns 'drain' into a promise, so a session can stop reading input while
 * too much output is waiting and resume once it has gone out.
 *
 * Writes go to the socket at once, never deferred to a later tick: the
 * go-ahead before a STARTTLS upgrade must leave before TLS takes the socket.
 */
import type { Duplex } from 'node:stream';

/** Above this much queued output a session should stop reading input. Several big replies' worth; small enough that 10k slow clients cannot exhaust memory. */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024;

export class LineWriter {
  private readonly socket: Duplex;
  readonly maxPendingBytes: number;

  constructor(socket: Duplex, options: { maxPendingBytes?: number } = {}) {
    this.socket = socket;
    // Never below the socket's own high-water mark: drained() relies on a
    // 'drain' being due whenever write() returned false.
    this.maxPendingBytes = Math.max(options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, socket.writableHighWaterMark);
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  /** The socket can take no more output (ended, destroyed): writes are dropped. */
  get closed(): boolean {
    return this.socket.destroyed || this.socket.writableEnded;
  }

  /**
   * Queue `chunk`. Returns false when the caller should stop producing (and
   * stop reading the client's input) until `drained()` resolves: either
   * more than maxPendingBytes are queued or the socket is closed. Writing
   * to a closed socket is a silent no-op, not an 'error' — a session often
   * still has a reply in hand when the client hangs up.
   */
  write(chunk: Uint8Array | string): boolean {
    if (this.closed) return false;
    this.socket.write(chunk);
    return this.pendingBytes <= this.maxPendingBytes;
  }

  /**
   * Resolves once the socket's buffer has emptied after going over its
   * high-water mark ('drain'), at once when it is not backed up, and when
   * the socket closes (waiting would be pointless). The socket's high-water
   * mark is at most maxPendingBytes, so whenever write() said "stop" a
   * 'drain' is due.
   */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.removeListener('drain', done);
        this.socket.removeListener('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /**
   * Write the last bytes (if any) and half-close. Resolves when everything
   * was flushed ('finish') or the socket closed. A client that never reads
   * can keep this pending: the session's idle timer destroys the socket,
   * which settles it.
   */
  end(chunk?: Uint8Array | string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.removeListener('finish', done);
        this.socket.removeListener('close', done);
        resolve();
      };
      this.socket.on('finish', done);
      this.socket.on('close', done);
      if (chunk === undefined) this.socket.end();
      else this.socket.end(chunk);
    });
  }
}
