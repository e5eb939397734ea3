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
  sink.finishOne();
  await tick();
  assert.equal(pool.idle, 1, 'back once written');
  const reused = pool.take();
  pool.give(reused);
  writeCopied(sink, [Buffer.from('second')], 6, pool);
  assert.equal(pool.idle, 0, 'the free buffer was taken again');
  sink.finishOne();
  await tick();
  assert.equal(pool.idle, 1);
  assert.deepEqual(sink.got.map((b) => b.toString()), ['+OK 5 octets\r\nhello\r\n.\r\n', 'second']);
});

test('behind a write still queued, or too big for the pool, a chunk gets a buffer of its own', async () => {
  const pool = new BufferPool(64, 4);
  const sink = new SlowSink();
  writeCopied(sink, [Buffer.from('first')], 5, pool); // pooled; the sink does not finish it
  for (let i = 0; i < 10; i++) writeCopied(sink, [Buffer.from(`queued ${i}`)], 8, pool);
  writeCopied(sink, [Buffer.alloc(100, 0x61)], 100, pool);
  assert.equal(pool.idle, 0);
  for (let i = 0; i < 12; i++) sink.finishOne();
  await tick();
  assert.equal(pool.idle, 1, 'only the first write held a pooled buffer');
  assert.equal(sink.got.length, 12);
  assert.equal(sink.got[5]!.toString(), 'queued 4');
  assert.equal(sink.got[11]!.toString(), 'a'.repeat(100));
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
