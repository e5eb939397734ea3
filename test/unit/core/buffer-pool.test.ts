import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BufferPool, writeCopied } from '../../../src/core/buffer-pool.js';

/** A writable that keeps copies of what it got and finishes each write when told to. */
class SlowSink extends Writable {
  readonly got: Buffer[] = [];
  private readonly waiting: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.got.push(Buffer.from(chunk));
    this.waiting.push(done);
  }
  finishOne(): void {
    this.waiting.shift()?.();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('writeCopied writes the pieces as one chunk, and the buffer is reused only after the write is done', async () => {
  const pool = new BufferPool(64, 4);
  const sink = new SlowSink();
  writeCopied(sink, [Buffer.from('+OK 5 octets\r\n'), Buffer.from('hello'), Buffer.from('\r\n.\r\n')], 24, pool);
  assert.deepEqual(sink.got.map((b) => b.toString()), ['+OK 5 octets\r\nhello\r\n.\r\n']);
  assert.equal(pool.idle, 0, 'still held by the stream');
  // A second flush while the first is in flight must not get the same buffer.
  writeCopied(sink, [Buffer.from('second')], 6, pool);
  sink.finishOne();
  await tick();
  assert.equal(pool.idle, 1);
  sink.finishOne();
  await tick();
  assert.equal(pool.idle, 2);
  assert.deepEqual(sink.got.map((b) => b.toString()), ['+OK 5 octets\r\nhello\r\n.\r\n', 'second']);
});

test('a failed write gives its buffer back too', async () => {
  const pool = new BufferPool(16, 4);
  const sink = new Writable({ write: (_chunk, _enc, done) => done(new Error('peer went away')) });
  sink.on('error', () => {});
  writeCopied(sink, [Buffer.from('abc')], 3, pool);
  await tick();
  assert.equal(pool.idle, 1);
});

test('the pool keeps at most `keep` free buffers and hands out the ones it keeps', () => {
  const pool = new BufferPool(8, 2);
  const a = pool.take();
  const b = pool.take();
  const c = pool.take();
  assert.equal(a.length, 8);
  assert.notEqual(a, b);
  pool.give(a);
  pool.give(b);
  pool.give(c);
  assert.equal(pool.idle, 2);
  const again = pool.take();
  assert.ok(again === a || again === b);
  assert.equal(pool.idle, 1);
  pool.give(Buffer.alloc(3)); // the wrong size: not kept, even with room
  assert.equal(pool.idle, 1);
});
