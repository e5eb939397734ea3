/**
 * The output side of an IMAP session. Responses are queued as text and as
 * buffers (message bodies go out as the Buffers the store returned, never
 * copied into one big string) and written together at the end of the
 * current run of microtasks, so the replies to a burst of pipelined commands
 * leave in one write. A producer of many bytes (FETCH) calls
 * `flushWhenFull()` as it goes: it writes what is queued once there is
 * enough of it and waits while the socket is backed up ('drain'), so a slow
 * reader holds at most a few hundred KB of ours.
 */
import type { Duplex } from 'node:stream';

export class Output {
  private socket: Duplex;
  private text = '';
  private parts: Buffer[] = [];
  private queued = 0;
  private scheduled = false;
  /** Set when the connection is gone or ending: everything is dropped. */
  private stopped = false;

  constructor(socket: Duplex) {
    this.socket = socket;
  }

  /** After STARTTLS. */
  setSocket(socket: Duplex): void {
    this.socket = socket;
  }

  /** Bytes queued here and in the socket, not yet taken by the kernel. */
  get pending(): number {
    return this.queued + this.socket.writableLength;
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Queues response text (written as UTF-8). */
  push(text: string): void {
    if (this.stopped || text.length === 0) return;
    this.text += text;
    this.queued += text.length;
    this.schedule();
  }

  /** Queues raw bytes (a literal's content). */
  pushBytes(bytes: Buffer): void {
    if (this.stopped || bytes.length === 0) return;
    if (this.text.length > 0) {
      this.parts.push(Buffer.from(this.text, 'utf8'));
      this.text = '';
    }
    this.parts.push(bytes);
    this.queued += bytes.length;
    this.schedule();
  }

  /** Writes everything queued now. */
  flush(): void {
    this.scheduled = false;
    if (this.stopped || this.socket.destroyed || this.socket.writableEnded) return this.clear();
    const { parts, text } = this;
    this.clear();
    if (parts.length === 0) {
      if (text.length > 0) this.socket.write(text, 'utf8');
      return;
    }
    if (text.length > 0) parts.push(Buffer.from(text, 'utf8'));
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
      return;
    }
    // One writev for the lot (net.Socket implements _writev).
    this.socket.cork();
    for (const p of parts) this.socket.write(p);
    this.socket.uncork();
  }

  /** For producers: flush once `threshold` bytes are queued, then wait while the socket is backed up. */
  async flushWhenFull(threshold: number): Promise<void> {
    if (this.queued >= threshold) this.flush();
    if (this.socket.writableNeedDrain) await this.drained();
  }

  /** Resolves once the socket has drained (at once when it is not backed up), or when it closes. */
  drained(): Promise<void> {
    const socket = this.socket;
    if (this.stopped || socket.destroyed || !socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        socket.removeListener('drain', done);
        socket.removeListener('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** No more output: the connection is closing or gone. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private clear(): void {
    this.text = '';
    this.parts = [];
    this.queued = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      if (this.scheduled) this.flush();
    });
  }
}
