/**
 * Hostile and broken POP3 clients: garbage bytes, NULs, huge lines, clients
 * that vanish in the middle of a RETR or read slowly, and a 1 MB message
 * full of dot-stuffed lines. The server answers, stays up, and serves the
 * next client; nothing is lost.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { connect, deliver, emptyInbox, inboxUids, IVANOV, IVANOV_PASSWORD, loginWhenFree, message, quit, session } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});
beforeEach(async () => {
  await emptyInbox(server);
});

/** About `bytes` of message whose lines often start with dots: ".", "..", ".x", and a fake terminator. */
function dottedMessage(bytes: number): Buffer {
  const parts = ['From: a@remote.example\r\nSubject: dots\r\n\r\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const line = ['.', '..', '.leading dot ' + i, 'plain line ' + i + ' ' + 'x'.repeat(i % 90), '', '.\r\n.', ' .not at start'][i % 7]! + '\r\n';
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''));
}

test('garbage bytes, NULs, over-long lines and unknown commands get -ERR; the session stays usable', async () => {
  const c = await connect(server);
  const garbage = Buffer.alloc(200);
  for (let i = 0; i < garbage.length; i++) garbage[i] = 0x80 + ((i * 37) % 0x80);
  c.write(Buffer.concat([garbage, Buffer.from('\r\n')]));
  assert.equal((await c.response()).line, '-ERR unknown command');
  c.write(Buffer.from('ST\u0000AT\r\n'));
  assert.equal((await c.response()).line, '-ERR invalid characters in command');
  c.write(Buffer.from('\u0000\u0001\u0002\r\n'));
  assert.equal((await c.response()).line, '-ERR invalid characters in command');
  assert.equal((await c.cmd('NOOP ' + 'x'.repeat(10 * 1024))).line, '-ERR line too long');
  assert.equal((await c.cmd('USER ' + 'x'.repeat(1000))).line, '-ERR line too long', 'over 512 octets is too long for a command');
  assert.equal((await c.cmd('FOO')).line, '-ERR unknown command');
  assert.equal((await c.cmd('')).line, '-ERR syntax error: empty command');
  assert.ok((await c.cmdMulti('CAPA')).ok, 'still usable before login');
  await loginWhenFree(c);
  c.write(Buffer.from('RETR \u00001\r\n'));
  assert.equal((await c.response()).line, '-ERR invalid characters in command');
  assert.equal((await c.cmd('STAT')).line, '+OK 0 0', 'still usable after login');
  await quit(c);
});

test('a 1 MB message full of dot-stuffed lines round-trips exactly', async () => {
  const big = dottedMessage(1024 * 1024);
  await deliver(server, big);
  const c = await session(server);
  assert.equal((await c.cmd('LIST 1')).line, `+OK 1 ${big.length}`);
  const got = await c.cmdMulti('RETR 1');
  assert.equal(got.line, `+OK ${big.length} octets`);
  assert.equal(got.body.length, big.length);
  assert.ok(got.body.equals(big), 'byte-identical');
  assert.equal((await c.cmd('NOOP')).line, '+OK', 'the terminator ended the response exactly');
  await quit(c);
});

test('a client that vanishes in the middle of RETR: nothing is deleted, the next client is served', async () => {
  const big = dottedMessage(1024 * 1024);
  await deliver(server, big);
  const c = await session(server);
  assert.ok((await c.cmd('DELE 1')).ok);
  assert.ok((await c.cmd('RSET')).ok);
  // Ten pipelined RETRs are ~10 MB: more than the socket buffers hold, so the server is still streaming when we go.
  c.write('RETR 1\r\n'.repeat(10));
  const first = await c.response();
  assert.equal(first.line, `+OK ${big.length} octets`);
  c.close();

  const d = await connect(server);
  assert.match(await loginWhenFree(d), /^maildrop has 1 message /);
  assert.ok((await d.cmdMulti('RETR 1')).body.equals(big));
  await quit(d);
  assert.equal(inboxUids(server).length, 1);
});

test('a slow reader of pipelined RETRs gets every body whole and in order (backpressure)', async () => {
  const big = dottedMessage(1024 * 1024);
  const small = message(2, '.x\r\n');
  await deliver(server, big);
  await deliver(server, small);
  const c = await session(server);
  c.socket.pause();
  c.write('RETR 1\r\nRETR 2\r\nRETR 1\r\nLIST\r\nRETR 1\r\nNOOP\r\n');
  // A slow reader: not waiting for a condition, just letting the server run into a full socket for a while.
  await new Promise((resolve) => setTimeout(resolve, 200));
  c.socket.resume();
  assert.ok((await c.multi()).body.equals(big));
  assert.ok((await c.multi()).body.equals(small));
  assert.ok((await c.multi()).body.equals(big));
  assert.deepEqual((await c.multi()).lines, [`1 ${big.length}`, `2 ${small.length}`]);
  assert.ok((await c.multi()).body.equals(big));
  assert.equal((await c.response()).line, '+OK');
  await quit(c);
});

test('a client pipelining many commands is answered in order without the server reading ahead unboundedly', async () => {
  for (let n = 1; n <= 50; n++) await deliver(server, message(n));
  const c = await session(server);
  const count = 5000;
  c.write('LIST\r\n'.repeat(count) + 'NOOP\r\n');
  for (let i = 0; i < count; i++) assert.equal((await c.multi()).lines.length, 50);
  assert.equal((await c.response()).line, '+OK');
  await quit(c);
});

test('the server still serves after every abuse above', async () => {
  const c = await Pop3Client.connect(server.port('pop3'));
  assert.match((await c.greeting()).line, /^\+OK/);
  assert.match((await c.login(IVANOV, IVANOV_PASSWORD)).line, /^\+OK/);
  await quit(c);
});

test('retrieving the whole maildrop in order (read-ahead) gives every message exactly, also with DELE and a skipped message in between', async () => {
  await emptyInbox(server);
  const bodies = Array.from({ length: 150 }, (_, i) => message(i, `.line ${i}\r\n`.repeat(i % 5)));
  for (const b of bodies) await deliver(server, b);
  const c = await session(server);
  c.write(bodies.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
  for (const b of bodies) assert.ok((await c.multi()).body.equals(b));
  // Again one at a time: the read-ahead windows work for a client that does not pipeline too.
  for (let i = 0; i < bodies.length; i++) assert.ok((await c.cmdMulti(`RETR ${i + 1}`)).body.equals(bodies[i]!), `message ${i + 1}`);
  // Out of order, after a DELE, and RETR of a deleted message.
  assert.ok((await c.cmd('DELE 3')).ok);
  assert.ok(!(await c.cmdMulti('RETR 3')).ok);
  assert.ok((await c.cmdMulti('RETR 150')).body.equals(bodies[149]!));
  assert.ok((await c.cmdMulti('RETR 2')).body.equals(bodies[1]!));
  assert.ok((await c.cmdMulti('RETR 4')).body.equals(bodies[3]!));
  await quit(c);
  assert.equal(inboxUids(server).length, 149);
});
