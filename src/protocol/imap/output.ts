/**
 * The output side of an IMAP session. Responses are queued as text and as
 * buffers (message bodies as the Buffers the store returned, never turned
 * into strings) and written together at the end of the current run of
 * microtasks, so the replies to a burst of pipelined commands leave in one
 * write. A flush that mixes text and buffers copies them into one Buffer:
 * a memcpy of a few hundred KB is much cheaper than handing the socket
 * two or three small chunks per message (each chunk costs a Writable entry
 * and an iovec; a FETCH of 10,000 bodies would be 30,000 of them). A producer of many bytes (FETCH) calls
 * `flushWhenFull()` as it goes: it writes what is queued once there is
 * enough of it and waits while the socket is backed up ('drain'), so a slow
 * reader holds at most a few hundred KB of ours.
 */
import type { Duplex } from 'node:stream';

export class Output {
  private socket: Duplex;
  private text = '';
  /** Queued text and bytes in order, once bytes are queued; `text` is what follows the last part. */
  private parts: (string | Buffer)[] = [];
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

  /** Bytes queued here, not yet handed to the socket. */
  get queuedBytes(): number {
    return this.queued;
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
      this.parts.push(this.text);
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
    if (text.length > 0) parts.push(text);
    const chunks = joinParts(parts);
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
      return;
    }
    // One writev for the lot (net.Socket implements _writev).
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
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

/** Buffers at least this large go to the socket as they are; smaller parts are copied together. */
const COPY_MAX_BYTES = 64 * 1024;

/**
 * The parts as few Buffers (text as UTF-8): runs of text and small buffers
 * copied into one, large buffers (a big message) passed through uncopied.
 */
function joinParts(parts: (string | Buffer)[]): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let bytes = 0;
  const copyRun = (end: number): void => {
    if (end === start) return;
    if (end - start === 1 && typeof parts[start] !== 'string') {
      out.push(parts[start] as Buffer);
      return;
    }
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let k = start; k < end; k++) {
      const p = parts[k]!;
      if (typeof p === 'string') at += buf.write(p, at, 'utf8');
      else {
        buf.set(p, at);
        at += p.length;
      }
    }
    out.push(buf);
  };
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (typeof p !== 'string' && p.length >= COPY_MAX_BYTES) {
      copyRun(k);
      out.push(p);
      start = k + 1;
      bytes = 0;
      continue;
    }
    bytes += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
  }
  copyRun(parts.length);
  return out;
}
