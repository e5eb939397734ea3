/**
 * Hostile and broken input over real sockets: unbalanced parentheses, a
 * 4 GB literal (synchronizing and not), 10,000 nested lists, garbage bytes,
 * over-long lines and literals, a storm of bad commands, a client stuck in
 * a literal, a client that does not read its FETCH. Each gets a tagged
 * BAD/NO or a BYE and close; the server stays up and other sessions are
 * unharmed.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { noise } from '../../helpers/store.js';
import { connect, deliver, IVANOV, IVANOV_PASSWORD, logout, message, resetMailbox, session, uidsOf } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});
beforeEach(async () => {
  await resetMailbox(server);
});

/** Another session can still log in, select and fetch: the server is up and serving. */
async function othersUnharmed(): Promise<void> {
  const c = await session(server);
  const r = await c.command('SELECT INBOX');
  assert.equal(r.status, 'OK', r.tagged);
  await logout(c);
}

test('unbalanced parentheses get BAD; the session goes on', async () => {
  await deliver(server, message(1));
  const c = await session(server);
  await c.ok('SELECT INBOX');
  for (const bad of ['FETCH 1 (FLAGS', 'FETCH 1 FLAGS)', 'SEARCH (ALL', 'SEARCH ALL)', 'SEARCH ((SEEN) (UNSEEN)', 'STORE 1 +FLAGS (\\Seen', 'LIST (SUBSCRIBED "" *', 'FETCH 1 (BODY[HEADER.FIELDS (Subject] FLAGS)']) {
    const r = await c.command(bad);
    assert.equal(r.status, 'BAD', `${bad} → ${r.tagged}`);
  }
  assert.deepEqual(await c.ok('FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS ())']);
  await logout(c);
});

test('10,000 nested lists get BAD, not a stack overflow', async () => {
  const c = await session(server);
  await c.ok('SELECT INBOX');
  const depth = 10_000;
  assert.equal((await c.command(`SEARCH ${'('.repeat(depth)}ALL${')'.repeat(depth)}`)).status, 'BAD');
  assert.equal((await c.command(`SEARCH ${'NOT '.repeat(depth)}ALL`)).status, 'BAD');
  assert.equal((await c.command(`FETCH 1 ${'('.repeat(depth)}FLAGS${')'.repeat(depth)}`)).status, 'BAD');
  assert.equal((await c.command(`LIST ${'('.repeat(depth)} "" *`)).status, 'BAD');
  assert.equal((await c.command(`ID ${'('.repeat(depth)}`)).status, 'BAD');
  assert.deepEqual(await c.ok('NOOP'), []);
  await logout(c);
  await othersUnharmed();
});

test('a 4 GB synchronizing literal is refused with NO [TOOBIG] before any of it is sent; the session goes on', async () => {
  const c = await session(server);
  c.write('a1 APPEND INBOX {4294967296}\r\n');
  assert.equal((await c.until('a1')).tagged, 'a1 NO [TOOBIG] Message too large');
  c.write('a2 LOGIN {4294967296}\r\n');
  assert.equal((await c.until('a2')).tagged, 'a2 NO [TOOBIG] Literal too large');
  assert.deepEqual(await c.ok('NOOP'), []);
  await logout(c);
});

test('a 4 GB non-synchronizing literal ends the session with BYE (skipping it is not worth it); others are unharmed', async () => {
  const bystander = await session(server);
  await bystander.ok('SELECT INBOX');
  const c = await session(server);
  // (The client sends no literal bytes: after our BYE they would only earn it a reset.)
  c.write('a1 APPEND INBOX {4294967296+}\r\n');
  const rest = await c.waitClosed();
  assert.equal(rest, 'a1 NO [TOOBIG] Message too large\r\n* BYE [TOOBIG] Literal too large to skip; closing connection\r\n');
  assert.deepEqual(await bystander.ok('NOOP'), []);
  await logout(bystander);
  await othersUnharmed();
});

test('an APPEND literal is bounded by maxMessageSize (1 MB here), any other literal by 64 KB, refused before it is read', async () => {
  const c = await connect(server);
  // Before login an APPEND is just another command: 64 KB.
  c.write('p1 APPEND INBOX {70000}\r\n');
  assert.equal((await c.until('p1')).tagged, 'p1 NO [TOOBIG] Literal too large');
  // A 64 KB password literal is taken ("+"), one byte more is not.
  c.write(`l1 LOGIN ${IVANOV} {${64 * 1024 + 1}}\r\n`);
  assert.equal((await c.until('l1')).tagged, 'l1 NO [TOOBIG] Literal too large');
  c.write(`l2 LOGIN ${IVANOV} {${64 * 1024}}\r\n`);
  assert.match((await c.response()).text, /^\+ /);
  c.write(Buffer.alloc(64 * 1024, 0x78));
  c.write('\r\n');
  assert.equal((await c.until('l2')).text, '[AUTHENTICATIONFAILED] Authentication failed');
  assert.equal((await c.login(IVANOV, IVANOV_PASSWORD)).status, 'OK');

  const max = server.config.limits.maxMessageSize;
  c.write(`a1 APPEND INBOX {${max + 1}}\r\n`);
  assert.equal((await c.until('a1')).tagged, 'a1 NO [TOOBIG] Message too large');
  const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(max - 16, 0x61)]);
  assert.equal(big.length, max);
  c.write(`a2 APPEND INBOX {${big.length}}\r\n`);
  assert.match((await c.response()).text, /^\+ /);
  c.write(Buffer.concat([big, Buffer.from('\r\n')]));
  assert.equal((await c.until('a2')).status, 'OK');
  assert.deepEqual(await server.store.readMessage(IVANOV, 'INBOX', uidsOf(server)[0]!), big);
  // Non-synchronizing and too large, but small enough to skip: read, dropped, refused; the session goes on.
  c.write('a3 LIST "" {70000+}\r\n');
  c.write(Buffer.alloc(70_000, 0x62));
  c.write('\r\n');
  assert.equal((await c.until('a3')).tagged, 'a3 NO [TOOBIG] Literal too large');
  assert.equal(uidsOf(server).length, 1);
  assert.deepEqual(await c.ok('NOOP'), []);
  await logout(c);
});

test('a line over 64 KB gets BAD and is dropped as it arrives; the session goes on', async () => {
  const c = await session(server);
  c.write(`x1 LIST "" ${'a'.repeat(70_000)}\r\n`);
  assert.equal((await c.until('x1')).tagged, 'x1 BAD Command line too long');
  assert.equal((await c.command('LIST "" INBOX')).status, 'OK');
  await logout(c);
});

test('garbage bytes get BAD (or a BYE and close); the server stays up', async () => {
  const garbage = Buffer.from(noise(48 * 1024, 7), 'base64');
  for (let i = 0; i < garbage.length; i += 97) garbage[i] = 0x0a; // many "lines"
  const c = await connect(server);
  c.write(garbage);
  c.write('\r\nz1 NOOP\r\n');
  const seen: string[] = [];
  for (;;) {
    const r = await c.response().catch(() => null);
    if (r === null) break;
    seen.push(r.text);
    if (r.text.startsWith('z1 ') || r.text.startsWith('* BYE')) break;
  }
  assert.ok(seen.length > 0);
  for (const line of seen.slice(0, -1)) assert.match(line, /^\S+ (BAD|NO) /, `only refusals: ${JSON.stringify(line.slice(0, 100))}`);
  assert.match(seen[seen.length - 1]!, /^(z1 OK|\* BYE)/);
  c.close();
  await othersUnharmed();
});

test('a storm of bad commands ends with BYE after the limit', async () => {
  const c = await connect(server);
  let bye = '';
  for (let i = 0; i < 60 && bye === ''; i++) {
    c.write(`b${i} XYZZY\r\n`);
    const r = await c.response();
    if (r.text.startsWith('* BYE')) bye = r.text;
    else assert.equal(r.text, `b${i} BAD Unknown command`);
  }
  assert.equal(bye, '* BYE Too many invalid commands');
  await c.waitClosed();
  await othersUnharmed();
});

test('a client stuck in the middle of a literal holds up nobody else', async () => {
  const stuck = await session(server);
  stuck.write('s1 APPEND INBOX {100+}\r\nonly ten b');
  await othersUnharmed();
  stuck.write('x'.repeat(90) + '\r\n');
  assert.equal((await stuck.until('s1')).status, 'OK', 'and it finishes when the bytes come');
  await logout(stuck);
});

test('a client that does not read its FETCH is held by backpressure; others are served; it gets every byte when it reads', async () => {
  const bodies: Buffer[] = [];
  for (let n = 0; n < 40; n++) {
    const body = Buffer.from(`Subject: big ${n}\r\n\r\n${noise(200_000, n)}\r\n`);
    bodies.push(body);
    await deliver(server, body);
  }
  const slow = await session(server);
  await slow.ok('SELECT INBOX');
  slow.socket.pause();
  slow.write('f1 FETCH 1:* BODY.PEEK[]\r\n');
  await othersUnharmed();
  slow.socket.resume();
  const r = await slow.until('f1', 30_000);
  assert.equal(r.status, 'OK');
  assert.equal(r.untagged.length, bodies.length);
  r.untagged.forEach((u, i) => assert.ok(u.literals[0]!.equals(bodies[i]!), `message ${i + 1} intact`));
  await logout(slow);
});
