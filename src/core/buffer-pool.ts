/**
 * Reusable output buffers for "copy the pieces, write once" flushes.
 *
 * A session that answers with a few pieces (status line, body, terminator)
 * copies them into one buffer and writes that: one write(2) instead of one
 * per piece. A fresh buffer per flush is a fresh ArrayBuffer above Node's
 * 4 KB pool limit, i.e. a malloc, a free and external memory that V8 counts
 * towards its next collection, once per reply. Here the buffer goes back to
 * a shared free list when the write's callback says the stream is done with
 * it (Writable's contract: a chunk is not to be touched before that).
 *
 * Shared by every session on the thread and bounded: at most `keep`
 * buffers of `size` bytes stay allocated when nothing is being written.
 */
import type { Writable } from 'node:stream';

export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes, contents undefined. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer from take(); beyond `keep` free ones it is left to the GC. */
  give(buffer: Buffer): void {
    if (this.free.length < this.keep && buffer.length === this.size) this.free.push(buffer);
  }

  /** Buffers waiting to be reused (for tests). */
  get idle(): number {
    return this.free.length;
  }
}

/**
 * Writes `pieces` (`bytes` in all) as one chunk. When the stream has
 * nothing queued, the chunk is copied into a pooled buffer, which returns
 * to the pool once the stream has written it (at once, usually: the kernel
 * takes it) or failed. Otherwise, and for chunks bigger than the pool's
 * buffers, it gets a buffer of its own size: a reader that stopped reading
 * pins at most one pooled buffer, never one per small reply queued behind it.
 */
export function writeCopied(stream: Writable, pieces: readonly Uint8Array[], bytes: number, pool: BufferPool): void {
  if (stream.writableLength > 0 || bytes > pool.size) {
    stream.write(Buffer.concat(pieces, bytes));
    return;
  }
  const buffer = pool.take();
  let at = 0;
  for (const piece of pieces) {
    buffer.set(piece, at);
    at += piece.length;
  }
  stream.write(buffer.subarray(0, bytes), () => pool.give(buffer));
}
