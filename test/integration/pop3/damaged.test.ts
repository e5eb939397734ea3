/**
 * A message record damaged on disk under a running server (bit rot), read
 * over POP3 through the read-ahead windows: only that message is refused,
 * every other one arrives exactly, one RETR at a time (the next reply made
 * ready in advance) and pipelined alike, and the session carries on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { segmentFileName } from '../../../src/store/log/segment.js';
import { deliver, IVANOV, message, quit, session } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

/** Flips one byte in the middle of the record of the message in INBOX slot `slot`. */
function damage(slot: number): void {
  const loc = server.store.folder(IVANOV, 'INBOX')!.location(slot);
  const fd = openSync(join(server.dataDir, 'log', segmentFileName(loc.seg)), 'r+');
  try {
    const byte = Buffer.alloc(1);
    const at = loc.off + Math.floor(loc.len / 2);
    readSync(fd, byte, 0, 1, at);
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

test('a damaged record costs only its own RETR, one at a time and pipelined', async () => {
  // ~3 KB of text each, so the records are snappy-compressed and go through the batch decoder.
  const bodies = Array.from({ length: 150 }, (_, i) => message(i, `Line ${i} of a message that compresses well enough.\r\n`.repeat(60)));
  for (const b of bodies) await deliver(server, b);
  const damaged = 99; // message 100: in the second read-ahead window, inside a decode run
  damage(damaged);

  const c = await session(server);
  for (let n = 1; n <= bodies.length; n++) {
    const r = await c.cmdMulti(`RETR ${n}`);
    if (n === damaged + 1) {
      assert.match(r.line, /^-ERR \[SYS\/TEMP\]/, 'the damaged message is refused');
      continue;
    }
    assert.ok(r.ok, `RETR ${n}: ${r.line}`);
    assert.ok(r.body.equals(bodies[n - 1]!), `message ${n} exact`);
  }
  c.write(bodies.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
  for (let n = 1; n <= bodies.length; n++) {
    const r = await c.multi();
    if (n === damaged + 1) assert.match(r.line, /^-ERR \[SYS\/TEMP\]/);
    else assert.ok(r.ok && r.body.equals(bodies[n - 1]!), `pipelined message ${n}`);
  }
  assert.equal((await c.cmd('STAT')).ok, true, 'the session carries on');
  await quit(c);
});
