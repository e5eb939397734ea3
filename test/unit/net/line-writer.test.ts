import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { LineWriter } from '../../../src/net/line-writer.js';

/** A duplex whose writes complete only when the test lets them: a client that reads slowly. */
function slowPeer(highWaterMark: number): { socket: Duplex; written: Buffer[]; flush(): void } {
  const written: Buffer[] = [];
  let waiting: Array<() => void> = [];
  const socket = new Duplex({
    writableHighWaterMark: highWaterMark,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      waiting.push(cb);
    },
    final(cb) {
      cb();
    },
  });
  return {
    socket,
    written,
    flush() {
      // Complete every pending write, including ones the stream hands over while we do.
      while (waiting.length > 0) {
        const cbs = waiting;
        waiting = [];
        for (const cb of cbs) cb();
      }
    },
  };
}

test('write says stop above maxPendingBytes; drained() resolves once the client caught up', async () => {
  const peer = slowPeer(1024);
  const writer = new LineWriter(peer.socket, { maxPendingBytes: 4096 });
  assert.equal(writer.maxPendingBytes, 4096);
  let ok = true;
  let writes = 0;
  while (ok) {
    ok = writer.write(Buffer.alloc(1000, 0x61));
    writes++;
  }
  assert.equal(writes, 5);
  assert.ok(writer.pendingBytes > 4096);
  let drained = false;
  const wait = writer.drained().then(() => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  peer.flush();
  await wait;
  assert.equal(writer.pendingBytes, 0);
  assert.equal(Buffer.concat(peer.written).length, 5000);
});

test('drained() is immediate when nothing is backed up', async () => {
  const peer = slowPeer(1024);
  const writer = new LineWriter(peer.socket);
  writer.write('220 ready\r\n');
  await writer.drained();
});

test('maxPendingBytes is never below the socket high-water mark', () => {
  const peer = slowPeer(16 * 1024);
  assert.equal(new LineWriter(peer.socket, { maxPendingBytes: 10 }).maxPendingBytes, 16 * 1024);
});

test('end flushes and resolves; later writes are dropped without an error event', async () => {
  const peer = slowPeer(1024);
  const errors: Error[] = [];
  peer.socket.on('error', (e) => errors.push(e));
  const writer = new LineWriter(peer.socket);
  writer.write('a\r\n');
  const ended = writer.end('221 bye\r\n');
  peer.flush();
  await ended;
  assert.equal(writer.closed, true);
  assert.equal(writer.write('late\r\n'), false);
  await writer.end();
  await writer.drained();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(errors, []);
  assert.equal(Buffer.concat(peer.written).toString(), 'a\r\n221 bye\r\n');
});

test('a destroyed socket settles pending waits', async () => {
  const peer = slowPeer(16);
  peer.socket.on('error', () => {});
  const writer = new LineWriter(peer.socket, { maxPendingBytes: 16 });
  writer.write(Buffer.alloc(100));
  const drained = writer.drained();
  const ended = writer.end();
  peer.socket.destroy();
  await Promise.all([drained, ended]);
  assert.equal(writer.write('x'), false);
});
