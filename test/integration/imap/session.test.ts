/**
 * IMAP sessions over real sockets, as raw transcripts: the RFC 3501 §8
 * example session (adapted), capabilities by state, LOGIN and AUTHENTICATE
 * PLAIN (SASL-IR, continuation, cancel), commands in the wrong state, the
 * any-state commands, LOGOUT.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { connect, deliver, IVANOV, IVANOV_PASSWORD, logout, message, PETROV, resetMailbox, session, uidsOf } from './support.js';

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

const plain = (user: string, password: string, authzid = ''): string => Buffer.from(`${authzid}\u0000${user}\u0000${password}`).toString('base64');

/** The example message of RFC 3501 §8 (its body shortened). */
const RFC_MESSAGE = Buffer.from(
  'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n' +
    'From: Fred Foobar <foobar@Blurdybloop.COM>\r\n' +
    'Subject: afternoon meeting\r\n' +
    'To: mooch@owatagu.siam.edu\r\n' +
    'Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n' +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n' +
    '\r\n' +
    'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n',
);
const RFC_HEADER = RFC_MESSAGE.subarray(0, RFC_MESSAGE.indexOf('\r\n\r\n') + 4);

test('the RFC 3501 §8 example session', async () => {
  // 18 messages, 1-16 seen, 12 is the RFC's message with its INTERNALDATE.
  const uids: number[] = [];
  for (let n = 1; n <= 18; n++) {
    const body = n === 12 ? RFC_MESSAGE : message(n);
    const [placed] = await server.store.deliver({
      recipients: [IVANOV],
      body,
      flags: n <= 16 ? ['\\Seen'] : [],
      internalDate: n === 12 ? Date.UTC(1996, 6, 17, 9, 44, 25) : undefined,
    });
    uids.push(placed!.uid);
  }
  const inbox = server.store.folder(IVANOV, 'INBOX')!;

  const c = await connect(server);
  assert.equal((await c.command(`login ${IVANOV} ${IVANOV_PASSWORD}`, { tag: 'a001' })).text, `[CAPABILITY ${capabilitiesAfterLogin()}] Logged in`);
  const select = await c.command('select inbox', { tag: 'a002' });
  assert.deepEqual(
    select.untagged.map((u) => u.text),
    [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* 18 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 17] First unseen',
      `* OK [UIDVALIDITY ${inbox.uidValidity}] UIDs valid`,
      `* OK [UIDNEXT ${uids[17]! + 1}] Predicted next UID`,
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
    ],
  );
  assert.equal(select.tagged, 'a002 OK [READ-WRITE] SELECT completed');

  const full = await c.command('fetch 12 full', { tag: 'a003' });
  assert.equal(full.tagged, 'a003 OK FETCH completed');
  const bodySize = RFC_MESSAGE.length - RFC_HEADER.length;
  assert.deepEqual(
    full.untagged.map((u) => u.text),
    [
      `* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 09:44:25 +0000" RFC822.SIZE ${RFC_MESSAGE.length} ` +
        'ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "afternoon meeting" (("Fred Foobar" NIL "foobar" "Blurdybloop.COM")) ' +
        '(("Fred Foobar" NIL "foobar" "Blurdybloop.COM")) (("Fred Foobar" NIL "foobar" "Blurdybloop.COM")) ((NIL NIL "mooch" "owatagu.siam.edu")) ' +
        'NIL NIL NIL "<B27397-0100000@Blurdybloop.COM>") ' +
        `BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" ${bodySize} 1))`,
    ],
  );

  const header = await c.command('fetch 12 body[header]', { tag: 'a004' });
  assert.equal(header.tagged, 'a004 OK FETCH completed');
  assert.equal(header.untagged.length, 1);
  assert.equal(header.untagged[0]!.text, `* 12 FETCH (BODY[HEADER] {${RFC_HEADER.length}}\r\n${RFC_HEADER.toString('latin1')})`);
  assert.deepEqual(header.untagged[0]!.literals[0], RFC_HEADER);

  const store = await c.command('store 12 +flags \\deleted', { tag: 'a005' });
  assert.deepEqual(store.untagged.map((u) => u.text), ['* 12 FETCH (FLAGS (\\Seen \\Deleted))']);
  assert.equal(store.tagged, 'a005 OK STORE completed');

  const bye = await c.command('logout', { tag: 'a006' });
  assert.deepEqual(bye.untagged.map((u) => u.text), ['* BYE postline IMAP4rev1 server logging out']);
  assert.equal(bye.tagged, 'a006 OK LOGOUT completed');
  await c.waitClosed();
  assert.deepEqual(server.store.listMessages(IVANOV, 'INBOX')[11]!.flags, ['\\Seen', '\\Deleted'], 'the flag change is stored');
});

function capabilitiesAfterLogin(): string {
  return 'IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS APPENDLIMIT=1048576';
}

test('CAPABILITY: STARTTLS and AUTH=PLAIN before login (loopback may log in in plaintext), neither after', async () => {
  const c = await connect(server);
  const before = await c.ok('CAPABILITY');
  assert.deepEqual(before, [`* CAPABILITY ${capabilitiesAfterLogin()} STARTTLS AUTH=PLAIN`]);
  await c.login(IVANOV, IVANOV_PASSWORD);
  assert.deepEqual(await c.ok('CAPABILITY'), [`* CAPABILITY ${capabilitiesAfterLogin()}`]);
  await logout(c);
});

test('LOGIN: a wrong password is NO [AUTHENTICATIONFAILED]; the right one works; names are case-insensitive; quoted and literal strings', async () => {
  const c = await connect(server);
  const bad = await c.login(IVANOV, 'wrong');
  assert.equal(bad.tagged.replace(/^\S+ /, ''), 'NO [AUTHENTICATIONFAILED] Authentication failed');
  const unknown = await c.login('nobody@example.org', 'whatever');
  assert.equal(unknown.text, '[AUTHENTICATIONFAILED] Authentication failed', 'no hint whether the user exists');
  // The password as a synchronizing literal: the server asks for it with "+".
  c.write(`L1 LOGIN IVANOV@EXAMPLE.ORG {${IVANOV_PASSWORD.length}}\r\n`);
  assert.match((await c.response()).text, /^\+ /);
  c.write(`${IVANOV_PASSWORD}\r\n`);
  const ok = await c.until('L1');
  assert.equal(ok.status, 'OK', ok.tagged);
  assert.equal((await c.command('LOGIN a b')).tagged.replace(/^\S+ /, ''), 'BAD Already logged in');
  await logout(c);
});

test('AUTHENTICATE PLAIN: with an initial response (SASL-IR), after "+ ", cancelled with "*", and an authzid that is someone else', async () => {
  const a = await connect(server);
  assert.equal((await a.command(`AUTHENTICATE PLAIN ${plain(IVANOV, IVANOV_PASSWORD)}`)).status, 'OK');
  await logout(a);

  const b = await connect(server);
  b.write('x1 AUTHENTICATE PLAIN\r\n');
  assert.equal((await b.response()).text, '+ ');
  b.write(plain(IVANOV, IVANOV_PASSWORD) + '\r\n');
  const ok = await b.until('x1');
  assert.match(ok.text, /^\[CAPABILITY IMAP4rev1 .*\] Logged in$/);
  await logout(b);

  const c = await connect(server);
  c.write('x2 AUTHENTICATE PLAIN\r\n');
  assert.equal((await c.response()).text, '+ ');
  c.write('*\r\n');
  assert.equal((await c.until('x2')).tagged, 'x2 BAD AUTHENTICATE cancelled');
  const wrong = await c.command(`AUTHENTICATE PLAIN ${plain(IVANOV, 'bad')}`);
  assert.equal(wrong.text, '[AUTHENTICATIONFAILED] Authentication failed');
  const other = await c.command(`AUTHENTICATE PLAIN ${plain(IVANOV, IVANOV_PASSWORD, PETROV)}`);
  assert.equal(other.status, 'NO');
  assert.equal((await c.command('AUTHENTICATE CRAM-MD5')).text, '[CANNOT] Unsupported authentication mechanism');
  assert.equal((await c.command('AUTHENTICATE PLAIN !!!')).status, 'BAD');
  await logout(c);
});

test('commands in the wrong state get BAD and change nothing', async () => {
  const c = await connect(server);
  assert.equal((await c.command('SELECT INBOX')).tagged.replace(/^\S+ /, ''), 'BAD Not logged in; LOGIN or AUTHENTICATE first');
  assert.equal((await c.command('FETCH 1 FLAGS')).status, 'BAD');
  assert.equal((await c.command('LIST "" *')).status, 'BAD');
  assert.equal((await c.command('ENABLE IDLE')).status, 'BAD');
  await c.login(IVANOV, IVANOV_PASSWORD);
  assert.equal((await c.command(`LOGIN ${IVANOV} ${IVANOV_PASSWORD}`)).text, 'Already logged in');
  assert.equal((await c.command('FETCH 1 FLAGS')).tagged.replace(/^\S+ /, ''), 'BAD No mailbox selected');
  assert.equal((await c.command('EXPUNGE')).status, 'BAD');
  assert.equal((await c.command('CLOSE')).status, 'BAD');
  assert.equal((await c.command('STARTTLS')).status, 'BAD');
  await c.ok('SELECT INBOX');
  assert.equal((await c.command('ENABLE IDLE')).status, 'BAD', 'ENABLE only in the authenticated state (RFC 5161)');
  assert.equal((await c.command('ENABLE IDLE')).text, 'Command not valid in this state');
  assert.equal((await c.command('AUTHENTICATE PLAIN')).text, 'Already logged in');
  assert.deepEqual(await c.ok('NOOP'), []);
  await logout(c);
});

test('unknown commands and syntax errors get BAD with the tag; an untaggable line gets * BAD', async () => {
  const c = await connect(server);
  assert.equal((await c.command('XYZZY')).tagged.replace(/^\S+ /, ''), 'BAD Unknown command');
  const syntax = await c.command('LOGIN onlyone');
  assert.equal(syntax.status, 'BAD');
  assert.match(syntax.text, /^Syntax error: /);
  c.write('\r\n');
  assert.match((await c.response()).text, /^\* BAD Syntax error: /);
  assert.deepEqual(await c.ok('NOOP'), [], 'the session goes on');
  await logout(c);
});

test('NAMESPACE, ID, ENABLE, NOOP, CHECK', async () => {
  const c = await session(server);
  assert.deepEqual(await c.ok('NAMESPACE'), ['* NAMESPACE (("" "/")) NIL NIL']);
  assert.deepEqual(await c.ok('ID ("name" "test-client" "version" "1.0")'), ['* ID ("name" "postline")']);
  assert.deepEqual(await c.ok('ID NIL'), ['* ID ("name" "postline")']);
  assert.deepEqual(await c.ok('ENABLE CONDSTORE UTF8=ACCEPT'), ['* ENABLED'], 'nothing we offer needs enabling');
  assert.deepEqual(await c.ok('NOOP'), []);
  await c.ok('SELECT INBOX');
  assert.deepEqual(await c.ok('CHECK'), []);
  await logout(c);
});

test('pipelined commands are answered in order, in one burst', async () => {
  await deliver(server, message(1));
  const c = await session(server);
  c.write('p1 SELECT INBOX\r\np2 FETCH 1 (UID RFC822.SIZE)\r\np3 NOOP\r\np4 UID SEARCH ALL\r\n');
  const r1 = await c.until('p1');
  assert.equal(r1.status, 'OK');
  const r2 = await c.until('p2');
  assert.deepEqual(r2.untagged.map((u) => u.text), [`* 1 FETCH (UID ${uidsOf(server)[0]} RFC822.SIZE ${message(1).length})`]);
  assert.equal((await c.until('p3')).status, 'OK');
  assert.deepEqual((await c.until('p4')).untagged.map((u) => u.text), [`* SEARCH ${uidsOf(server)[0]}`]);
  await logout(c);
});
