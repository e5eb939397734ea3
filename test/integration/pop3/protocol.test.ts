/**
 * POP3 over real sockets against a real server: the RFC 1939 example
 * session, every command's semantics, byte-identical retrieval of mail
 * delivered through the store and through SMTP, AUTH PLAIN, the maildrop
 * lock, pipelining and commands in the wrong state.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { connect, deliver, emptyInbox, inboxUids, IVANOV, IVANOV_PASSWORD, loginWhenFree, message, PETROV, quit, session } from './support.js';

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

const plain = (user: string, password: string, authzid = ''): string => Buffer.from(`${authzid}\u0000${user}\u0000${password}`).toString('base64');

test('greeting and CAPA: login methods and STLS before login, not after', async () => {
  const c = await connect(server);
  const capa = await c.cmdMulti('CAPA');
  assert.equal(capa.line, '+OK Capability list follows');
  assert.deepEqual(capa.lines, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN', 'STLS', 'IMPLEMENTATION postline']);
  await loginWhenFree(c);
  const after = await c.cmdMulti('CAPA');
  assert.deepEqual(after.lines, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'IMPLEMENTATION postline']);
  await quit(c);
});

test('the RFC 1939 §10 example session', async () => {
  const m1 = message(1);
  const m2 = message(2, 'Second line.\r\n');
  await deliver(server, m1);
  await deliver(server, m2);
  const total = m1.length + m2.length;

  const c = await connect(server);
  assert.equal((await c.cmd(`USER ${IVANOV}`)).line, '+OK send PASS');
  assert.equal((await c.cmd(`PASS ${IVANOV_PASSWORD}`)).line, `+OK maildrop has 2 messages (${total} octets)`);
  assert.equal((await c.cmd('STAT')).line, `+OK 2 ${total}`);
  const list = await c.cmdMulti('LIST');
  assert.equal(list.line, `+OK 2 messages (${total} octets)`);
  assert.deepEqual(list.lines, [`1 ${m1.length}`, `2 ${m2.length}`]);
  const r1 = await c.cmdMulti('RETR 1');
  assert.equal(r1.line, `+OK ${m1.length} octets`);
  assert.deepEqual(r1.body, m1);
  assert.equal((await c.cmd('DELE 1')).line, '+OK message 1 deleted');
  const r2 = await c.cmdMulti('RETR 2');
  assert.deepEqual(r2.body, m2);
  assert.equal((await c.cmd('DELE 2')).line, '+OK message 2 deleted');
  assert.equal(await quit(c), 'mx.example.org POP3 server signing off (0 messages left)');
  assert.deepEqual(inboxUids(server), [], 'QUIT expunged both');
});

test('mail delivered through the store and through SMTP is retrieved byte-identical', async () => {
  const direct = Buffer.from('Subject: direct\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n');
  await deliver(server, direct);
  const viaSmtp = Buffer.from('From: stranger@remote.example\r\nTo: ivanov@example.org\r\nSubject: via SMTP\r\n\r\nHello over SMTP.\r\n.a dotted line\r\n\r\n');
  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('smtp'), secure: false, ignoreTLS: true });
  const info = await mx.sendMail({ envelope: { from: 'stranger@remote.example', to: [IVANOV] }, raw: viaSmtp });
  assert.deepEqual(info.accepted, [IVANOV]);
  const [uid1, uid2] = inboxUids(server);

  const c = await session(server);
  const got1 = await c.cmdMulti('RETR 1');
  assert.deepEqual(got1.body, direct);
  const got2 = await c.cmdMulti('RETR 2');
  const stored = await server.store.readMessage(IVANOV, 'INBOX', uid2!);
  assert.deepEqual(got2.body, stored, 'exactly the stored bytes');
  assert.match(got2.body.toString('latin1'), /^Received: from /);
  assert.ok(got2.body.subarray(got2.body.length - viaSmtp.length).equals(viaSmtp), 'the sent message follows the Received header unchanged');
  assert.equal(got2.line, `+OK ${stored.length} octets`);
  assert.deepEqual(await server.store.readMessage(IVANOV, 'INBOX', uid1!), direct);
  await quit(c);
});

test('DELE only marks; deleted messages are refused; RSET unmarks; QUIT applies', async () => {
  for (let n = 1; n <= 3; n++) await deliver(server, message(n));
  const [, uid2, uid3] = inboxUids(server);
  const sizes = [1, 2, 3].map((n) => message(n).length);
  const c = await session(server);
  assert.equal((await c.cmd('DELE 2')).line, '+OK message 2 deleted');
  assert.equal((await c.cmd('DELE 2')).line, '-ERR message 2 already deleted');
  assert.equal((await c.cmd('RETR 2')).line, '-ERR message 2 already deleted');
  assert.equal((await c.cmd('LIST 2')).line, '-ERR message 2 already deleted');
  assert.equal((await c.cmd('TOP 2 0')).line, '-ERR message 2 already deleted');
  assert.equal((await c.cmd('UIDL 2')).line, '-ERR message 2 already deleted');
  assert.equal((await c.cmd('STAT')).line, `+OK 2 ${sizes[0]! + sizes[2]!}`);
  assert.deepEqual((await c.cmdMulti('LIST')).lines, [`1 ${sizes[0]}`, `3 ${sizes[2]}`], 'numbers do not shift');
  assert.equal(inboxUids(server).length, 3, 'nothing removed before QUIT');
  assert.equal((await c.cmd('RSET')).line, `+OK maildrop has 3 messages (${sizes[0]! + sizes[1]! + sizes[2]!} octets)`);
  assert.equal((await c.cmd('LIST 2')).line, `+OK 2 ${sizes[1]}`);
  assert.ok((await c.cmd('DELE 1')).ok);
  assert.equal(await quit(c), 'mx.example.org POP3 server signing off (2 messages left)');
  assert.deepEqual(inboxUids(server), [uid2, uid3]);

  const d = await session(server);
  assert.equal((await d.cmd('STAT')).line, `+OK 2 ${sizes[1]! + sizes[2]!}`);
  await quit(d);
});

test('a dropped connection (no QUIT) deletes nothing and frees the maildrop', async () => {
  await deliver(server, message(1));
  await deliver(server, message(2));
  const c = await session(server);
  assert.ok((await c.cmd('DELE 1')).ok);
  assert.ok((await c.cmd('DELE 2')).ok);
  c.close();
  const d = await connect(server);
  assert.match(await loginWhenFree(d), /^maildrop has 2 messages/);
  assert.equal(inboxUids(server).length, 2);
  await quit(d);
});

test('STAT, LIST n, UIDL, TOP; numbers beyond the maildrop are refused', async () => {
  const body = Buffer.from('Subject: top\r\nX-Two: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n');
  await deliver(server, body);
  const [uid] = inboxUids(server);
  const validity = server.store.folder(IVANOV, 'INBOX')!.uidValidity;
  const c = await session(server);
  assert.equal((await c.cmd('LIST 1')).line, `+OK 1 ${body.length}`);
  assert.equal((await c.cmd('UIDL 1')).line, `+OK 1 ${validity}.${uid}`);
  assert.deepEqual((await c.cmdMulti('UIDL')).lines, [`1 ${validity}.${uid}`]);
  const top0 = await c.cmdMulti('TOP 1 0');
  assert.equal(top0.line, '+OK top of message follows');
  assert.equal(top0.body.toString(), 'Subject: top\r\nX-Two: 2\r\n\r\n');
  assert.equal((await c.cmdMulti('TOP 1 2')).body.toString(), 'Subject: top\r\nX-Two: 2\r\n\r\nl1\r\n.l2\r\n', 'TOP lines are dot-stuffed and unstuffed');
  assert.deepEqual((await c.cmdMulti('TOP 1 99')).body, body);
  for (const cmd of ['LIST 2', 'UIDL 2', 'RETR 2', 'DELE 2', 'TOP 2 1']) assert.equal((await c.cmd(cmd)).line, '-ERR no such message', cmd);
  assert.match((await c.cmd('RETR 0')).line, /^-ERR syntax error: invalid message number/);
  assert.match((await c.cmd('TOP 1')).line, /^-ERR syntax error/);
  assert.equal((await c.cmd('NOOP')).line, '+OK');
  await quit(c);
});

test('the maildrop is a snapshot: mail delivered during a session shows up at the next login', async () => {
  await deliver(server, message(1));
  const c = await session(server);
  await deliver(server, message(2));
  assert.equal((await c.cmd('STAT')).line, `+OK 1 ${message(1).length}`);
  assert.equal((await c.cmd('RETR 2')).line, '-ERR no such message');
  await quit(c);
  const d = await session(server);
  assert.match((await d.cmd('STAT')).line, /^\+OK 2 /);
  await quit(d);
});

test('RETR marks \\Seen when the session ends; TOP does not', async () => {
  await deliver(server, message(1));
  await deliver(server, message(2));
  const c = await session(server);
  await c.cmdMulti('RETR 1');
  await c.cmdMulti('TOP 2 1');
  await quit(c);
  const flags = server.store.listMessages(IVANOV, 'INBOX').map((m) => m.flags);
  assert.deepEqual(flags, [['\\Seen'], []]);
});

test('[IN-USE]: a second session for the same maildrop is refused and stays in AUTHORIZATION', async () => {
  const first = await session(server);
  const second = await connect(server);
  assert.equal((await second.login(IVANOV, IVANOV_PASSWORD)).line, '-ERR [IN-USE] maildrop already locked');
  assert.equal((await second.cmd('STAT')).line, '-ERR not logged in; send USER/PASS or AUTH first');
  // The lock is one table for pop3 and pop3s.
  const tls = await connect(server, 'pop3s');
  assert.equal((await tls.login(IVANOV, IVANOV_PASSWORD)).line, '-ERR [IN-USE] maildrop already locked');
  tls.close();
  // Another user is not affected.
  const other = await session(server, PETROV, 'petrov-secret');
  await quit(other);
  await quit(first);
  // Released at QUIT: the waiting session can log in now, without reconnecting.
  assert.match((await second.login(IVANOV, IVANOV_PASSWORD)).line, /^\+OK maildrop has/);
  await quit(second);
});

test('AUTH PLAIN: initial response, continuation, cancel, wrong password, bare AUTH', async () => {
  const c = await connect(server);
  const mechs = await c.cmdMulti('AUTH');
  assert.deepEqual(mechs.lines, ['PLAIN']);
  assert.equal((await c.cmd('AUTH CRAM-MD5')).line, '-ERR unsupported authentication mechanism');
  assert.equal((await c.cmd('AUTH PLAIN')).line, '+ ');
  assert.equal((await c.cmd('*')).line, '-ERR authentication cancelled');
  assert.equal((await c.cmd(`AUTH PLAIN ${plain(IVANOV, 'wrong')}`)).line, '-ERR [AUTH] authentication failed');
  assert.equal((await c.cmd(`AUTH PLAIN ${plain(IVANOV, IVANOV_PASSWORD, PETROV)}`)).line, '-ERR [AUTH] authentication failed', 'no acting as someone else');
  assert.match((await c.cmd('AUTH PLAIN !!!')).line, /^-ERR syntax error: invalid base64/);
  assert.match((await c.cmd(`AUTH PLAIN ${plain('Ivanov@Example.ORG', IVANOV_PASSWORD)}`)).line, /^\+OK maildrop has 0 messages/, 'user names are case-insensitive');
  await quit(c);

  const d = await connect(server);
  assert.equal((await d.cmd('AUTH PLAIN')).line, '+ ');
  assert.match((await d.cmd(plain(IVANOV, IVANOV_PASSWORD, IVANOV))).line, /^\+OK maildrop has/);
  await quit(d);
});

test('commands in the wrong state, APOP, PASS without USER', async () => {
  const c = await connect(server);
  for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'RSET', 'UIDL', 'TOP 1 1']) assert.equal((await c.cmd(cmd)).line, '-ERR not logged in; send USER/PASS or AUTH first', cmd);
  assert.equal((await c.cmd('PASS x')).line, '-ERR send USER first');
  assert.equal((await c.cmd('APOP ivanov c4c9334bac560ecc979e58001b3e22fb')).line, '-ERR APOP not supported; use USER/PASS or AUTH PLAIN');
  await loginWhenFree(c);
  for (const cmd of [`USER ${IVANOV}`, 'PASS x', 'AUTH PLAIN', 'STLS', 'APOP a b']) assert.equal((await c.cmd(cmd)).line, '-ERR command not valid after login', cmd);
  assert.equal((await c.cmd('NOOP')).line, '+OK', 'still in TRANSACTION');
  await quit(c);
  // QUIT before login just closes.
  const d = await connect(server);
  assert.equal(await quit(d), 'mx.example.org POP3 server signing off');
});

test('pipelining: a burst of commands is answered in order', async () => {
  const m = message(1, '.dotted\r\n');
  await deliver(server, m);
  const c = await Pop3Client.connect(server.port('pop3'));
  c.write(`CAPA\r\nUSER ${IVANOV}\r\nPASS ${IVANOV_PASSWORD}\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 1\r\nDELE 1\r\nRETR 1\r\nRSET\r\nTOP 1 0\r\nNOOP\r\nQUIT\r\n`);
  assert.match((await c.greeting()).line, /^\+OK .* POP3 ready/);
  assert.ok((await c.multi()).lines.includes('PIPELINING'));
  assert.equal((await c.response()).line, '+OK send PASS');
  assert.match((await c.response()).line, /^\+OK maildrop has 1 message /);
  assert.equal((await c.response()).line, `+OK 1 ${m.length}`);
  assert.deepEqual((await c.multi()).lines, [`1 ${m.length}`]);
  assert.deepEqual((await c.multi()).body, m);
  assert.match((await c.response()).line, /^\+OK 1 \d+\.\d+$/);
  assert.equal((await c.response()).line, '+OK message 1 deleted');
  assert.equal((await c.response()).line, '-ERR message 1 already deleted');
  assert.match((await c.response()).line, /^\+OK maildrop has 1 message/);
  assert.equal((await c.multi()).body.toString(), m.toString().split('\r\n\r\n')[0] + '\r\n\r\n');
  assert.equal((await c.response()).line, '+OK');
  assert.match((await c.response()).line, /signing off \(1 message left\)/);
  await c.waitClosed();
  assert.equal(inboxUids(server).length, 1, 'RSET undid the DELE');
});
