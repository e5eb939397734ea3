/**
 * What survives a server restart: UIDL ids are stable (RFC 1939 §7), a
 * shutdown tells the client and deletes nothing it had only marked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { deliver, emptyInbox, inboxUids, message, quit, session } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

test('UIDL ids are stable across sessions and a restart, and well-formed', async () => {
  await emptyInbox(server);
  await deliver(server, message(1));
  await deliver(server, message(2));
  const c = await session(server);
  const before = (await c.cmdMulti('UIDL')).lines;
  assert.equal(before.length, 2);
  for (const line of before) {
    const id = line.split(' ')[1]!;
    assert.match(id, /^[\x21-\x7e]{1,70}$/, 'RFC 1939 §7: 1-70 characters in 0x21-0x7E');
  }
  assert.notEqual(before[0]!.split(' ')[1], before[1]!.split(' ')[1]);
  await quit(c);

  await server.restart();
  const d = await session(server);
  assert.deepEqual((await d.cmdMulti('UIDL')).lines, before);
  assert.deepEqual((await d.cmdMulti('RETR 2')).body, message(2));
  await quit(d);
});

test('shutdown: a session in TRANSACTION is told and closed; its DELE marks are not applied', async () => {
  await emptyInbox(server);
  await deliver(server, message(3));
  const c = await session(server);
  assert.ok((await c.cmd('DELE 1')).ok);
  const restarting = server.restart();
  assert.equal((await c.response()).line, '-ERR [SYS/TEMP] server shutting down');
  await c.waitClosed();
  await restarting;
  assert.equal(inboxUids(server).length, 1, 'no QUIT, no UPDATE');
});
