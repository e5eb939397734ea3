/**
 * Message commands over real sockets: FETCH (every item, sections,
 * partials, \Seen side effects, UID FETCH), STORE (flags and keywords,
 * .SILENT, UID STORE), SEARCH (flag, size, date, header and text keys,
 * OR/NOT, charsets), COPY/MOVE with COPYUID, EXPUNGE / UID EXPUNGE, CLOSE,
 * UNSELECT, and bad message numbers.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { deliver, IVANOV, logout, message, resetMailbox, session, uidsOf } from './support.js';

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

const MULTIPART = Buffer.from(
  [
    'From: "Anna Petrova" <anna@remote.example>',
    'To: ivanov@example.org',
    'Cc: boss@example.org',
    'Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?= report',
    'Date: Tue, 4 Jul 2023 23:30:00 -0300',
    'Message-ID: <mp1@remote.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="XX"',
    '',
    'preamble',
    '--XX',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'The quarterly numbers are in. Caf=C3=A9 budget attached.',
    '--XX',
    'Content-Type: application/octet-stream; name="budget.bin"',
    'Content-Disposition: attachment; filename="budget.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAwQFBgcICQ==',
    '--XX--',
    '',
  ].join('\r\n'),
);

/** The bytes between two markers of MULTIPART (for section expectations). */
function slice(from: string, to: string): Buffer {
  const a = MULTIPART.indexOf(from);
  const b = MULTIPART.indexOf(to, a);
  return MULTIPART.subarray(a, b);
}

test('FETCH: ENVELOPE, BODYSTRUCTURE and every section of a multipart message, byte-exact', async () => {
  const uid = await deliver(server, MULTIPART);
  const c = await session(server);
  await c.ok('SELECT INBOX');
  const env = await c.command('UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)');
  assert.deepEqual(env.untagged.map((u) => u.text), [
    `* 1 FETCH (UID ${uid} ENVELOPE ("Tue, 4 Jul 2023 23:30:00 -0300" "=?UTF-8?B?0J/RgNC40LLQtdGC?= report" (("Anna Petrova" NIL "anna" "remote.example")) ` +
      '(("Anna Petrova" NIL "anna" "remote.example")) (("Anna Petrova" NIL "anna" "remote.example")) ((NIL NIL "ivanov" "example.org")) ' +
      '((NIL NIL "boss" "example.org")) NIL NIL "<mp1@remote.example>") BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 56 1 NIL NIL NIL NIL)' +
      '("APPLICATION" "OCTET-STREAM" ("NAME" "budget.bin") NIL NIL "BASE64" 16 NIL ("ATTACHMENT" ("FILENAME" "budget.bin")) NIL NIL) "MIXED" ("BOUNDARY" "XX") NIL NIL NIL))',
  ]);

  const header = MULTIPART.subarray(0, MULTIPART.indexOf('\r\n\r\n') + 4);
  const text = MULTIPART.subarray(header.length);
  const sections = await c.command(
    'FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (subject message-id)] BODY.PEEK[HEADER.FIELDS.NOT (Subject Cc To From Date Message-ID)] BODY.PEEK[]<10.20> BODY.PEEK[1]<100000.5> BODY.PEEK[3])',
  );
  assert.equal(sections.status, 'OK', sections.tagged);
  const literals = sections.untagged[0]!.literals;
  assert.deepEqual(literals[0], header);
  assert.deepEqual(literals[1], text);
  assert.deepEqual(literals[2], Buffer.from('The quarterly numbers are in. Caf=C3=A9 budget attached.'));
  assert.deepEqual(literals[3], Buffer.from('AAECAwQFBgcICQ=='));
  assert.deepEqual(literals[4], slice('Content-Type: application/octet-stream', 'AAEC'));
  assert.equal(literals[5]!.toString(), 'Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?= report\r\nMessage-ID: <mp1@remote.example>\r\n\r\n');
  assert.equal(literals[6]!.toString(), 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n');
  assert.deepEqual(literals[7], MULTIPART.subarray(10, 30));
  assert.equal(literals[8]!.length, 0, 'a partial past the end is empty');
  assert.equal(literals[9]!.length, 0, 'a part that does not exist is empty');
  assert.match(sections.untagged[0]!.text, /BODY\[HEADER\.FIELDS \(SUBJECT MESSAGE-ID\)\] \{/);
  assert.match(sections.untagged[0]!.text, /BODY\[\]<10> \{20\}/);
  assert.deepEqual(server.store.listMessages(IVANOV, 'INBOX')[0]!.flags, [], 'BODY.PEEK does not set \\Seen');
  await logout(c);
});

test('FETCH: BODY[] and RFC822 set \\Seen and report FLAGS; RFC822.HEADER, RFC822.TEXT, RFC822.SIZE, INTERNALDATE, macros', async () => {
  const body = message(1);
  await server.store.deliver({ recipients: [IVANOV], body, internalDate: Date.UTC(2024, 1, 29, 12, 0, 5) });
  await deliver(server, message(2));
  const c = await session(server);
  await c.ok('SELECT INBOX');
  const fast = await c.ok('FETCH 1 FAST');
  assert.deepEqual(fast, [`* 1 FETCH (FLAGS () INTERNALDATE "29-Feb-2024 12:00:05 +0000" RFC822.SIZE ${body.length})`]);
  const r = await c.command('FETCH 1 BODY[]');
  assert.equal(r.untagged.length, 1);
  assert.deepEqual(r.untagged[0]!.literals[0], body);
  assert.ok(r.untagged[0]!.text.endsWith(' FLAGS (\\Seen))'), r.untagged[0]!.text);
  const again = await c.ok('FETCH 1 BODY[]');
  assert.ok(!again[0]!.includes('FLAGS'), 'already seen: no FLAGS added');
  const rfc = await c.command('FETCH 2 (RFC822.HEADER RFC822.TEXT)');
  const head = message(2).subarray(0, message(2).indexOf('\r\n\r\n') + 4);
  assert.deepEqual(rfc.untagged[0]!.literals, [head, message(2).subarray(head.length)]);
  assert.ok(rfc.untagged[0]!.text.includes('FLAGS (\\Seen)'), 'RFC822.TEXT sets \\Seen');
  await c.ok('STORE 2 -FLAGS (\\Seen)');
  const whole = await c.command('FETCH 2 (FLAGS RFC822)');
  assert.deepEqual(whole.untagged[0]!.literals[0], message(2));
  assert.match(whole.untagged[0]!.text, /^\* 2 FETCH \(FLAGS \(\\Seen\) RFC822 \{/, 'FLAGS as asked, already updated');
  await logout(c);
});

test('FETCH: bad message numbers are BAD; UID FETCH of missing UIDs is an empty OK; UID FETCH always carries UID', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2))];
  const c = await session(server);
  await c.ok('SELECT INBOX');
  assert.equal((await c.command('FETCH 3 FLAGS')).text, 'Invalid message sequence number');
  assert.equal((await c.command('FETCH 0 FLAGS')).status, 'BAD');
  assert.deepEqual(await c.ok(`UID FETCH ${uids[1]! + 100}:${uids[1]! + 200} FLAGS`), []);
  assert.deepEqual(await c.ok('UID FETCH * FLAGS'), [`* 2 FETCH (UID ${uids[1]} FLAGS ())`]);
  assert.deepEqual(await c.ok(`UID FETCH ${uids[1]! + 50}:* (RFC822.SIZE)`), [`* 2 FETCH (UID ${uids[1]} RFC822.SIZE ${message(2).length})`], 'n:* includes the last message');
  assert.deepEqual(await c.ok('FETCH 2,1 (UID)'), [`* 1 FETCH (UID ${uids[0]})`, `* 2 FETCH (UID ${uids[1]})`]);
  await c.ok('STORE 1:2 +FLAGS (\\Deleted)');
  await c.ok('EXPUNGE');
  assert.equal((await c.command('FETCH * FLAGS')).status, 'BAD', '* in an empty mailbox');
  await logout(c);
});

test('STORE: FLAGS / +FLAGS / -FLAGS, .SILENT, keywords, UID STORE; \\Recent cannot be stored; bad flags are BAD', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2)), await deliver(server, message(3))];
  const c = await session(server);
  await c.ok('SELECT INBOX');
  assert.deepEqual(await c.ok('STORE 1:2 +FLAGS (\\Flagged $Important)'), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted',
    '* 1 FETCH (FLAGS (\\Flagged $Important))',
    '* 2 FETCH (FLAGS (\\Flagged $Important))',
  ]);
  const listed = server.store.listMessages(IVANOV, 'INBOX');
  assert.deepEqual(listed[0]!.flags, ['\\Flagged', '$Important']);
  assert.deepEqual(listed[1]!.flags, ['\\Flagged', '$Important']);
  assert.deepEqual(await c.ok('STORE 2 FLAGS (\\Seen)'), ['* 2 FETCH (FLAGS (\\Seen))']);
  assert.deepEqual(await c.ok('STORE 1 -FLAGS.SILENT ($Important)'), []);
  assert.deepEqual(await c.ok(`UID STORE ${uids[2]} +FLAGS \\Answered \\Recent`), [`* 3 FETCH (UID ${uids[2]} FLAGS (\\Answered))`]);
  assert.equal((await c.command('STORE 1 +FLAGS (\\Bogus)')).text, 'Invalid system flag \\Bogus');
  assert.equal((await c.command('STORE 9 +FLAGS (\\Seen)')).status, 'BAD');
  assert.deepEqual(
    server.store.listMessages(IVANOV, 'INBOX').map((m) => m.flags),
    [['\\Flagged'], ['\\Seen'], ['\\Answered']],
  );
  assert.deepEqual(await c.ok('FETCH 1:3 FLAGS'), ['* 1 FETCH (FLAGS (\\Flagged))', '* 2 FETCH (FLAGS (\\Seen))', '* 3 FETCH (FLAGS (\\Answered))']);
  await logout(c);
});

test('STORE: a new keyword announces the new FLAGS and PERMANENTFLAGS before the FETCH', async () => {
  // A fresh folder: keywords, once used, stay in a folder's list.
  await server.store.createFolder(IVANOV, 'Keywords');
  await deliver(server, message(1), { folder: 'Keywords' });
  const c = await session(server);
  await c.ok('SELECT Keywords');
  assert.deepEqual(await c.ok('STORE 1 +FLAGS ($Work)'), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted',
    '* 1 FETCH (FLAGS ($Work))',
  ]);
  assert.deepEqual(await c.ok('STORE 1 +FLAGS.SILENT ($Play)'), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $Play)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $Play \\*)] Flags permitted',
  ], 'even when silent');
  await logout(c);
});

test('SEARCH: flag, size, date, sequence and UID keys, OR/NOT/groups, header and text keys, sent dates, charsets', async () => {
  const u1 = await deliver(server, message(1, 'Apples and pears.\r\n'), { flags: ['\\Seen', '\\Flagged'] });
  const u2 = await deliver(server, MULTIPART);
  const [p3] = await server.store.deliver({ recipients: [IVANOV], body: message(3, 'x'.repeat(5000)), internalDate: Date.UTC(2020, 0, 15, 23, 59, 0), flags: ['$Later'] });
  const u3 = p3!.uid;
  const c = await session(server);
  await c.ok('SELECT INBOX');
  const search = async (criteria: string): Promise<string> => {
    const r = await c.command(`SEARCH ${criteria}`);
    assert.equal(r.status, 'OK', `${criteria}: ${r.tagged}`);
    return r.untagged.map((u) => u.text).join('|');
  };
  assert.equal(await search('ALL'), '* SEARCH 1 2 3');
  assert.equal(await search('UNSEEN'), '* SEARCH 2 3');
  assert.equal(await search('SEEN FLAGGED'), '* SEARCH 1');
  assert.equal(await search('NOT FLAGGED'), '* SEARCH 2 3');
  assert.equal(await search('OR FLAGGED KEYWORD $Later'), '* SEARCH 1 3');
  assert.equal(await search('UNKEYWORD $later'), '* SEARCH 1 2', 'keywords compare case-insensitively');
  assert.equal(await search('KEYWORD $Never'), '* SEARCH');
  assert.equal(await search('LARGER 4000'), '* SEARCH 3');
  assert.equal(await search('SMALLER 4000 NOT 2'), '* SEARCH 1');
  assert.equal(await search('2:*'), '* SEARCH 2 3');
  assert.equal(await search(`UID ${u2}:${u3}`), '* SEARCH 2 3');
  assert.equal(await search('(SEEN) (OR 1 3)'), '* SEARCH 1');
  assert.equal(await search('BEFORE 16-Jan-2020'), '* SEARCH 3');
  assert.equal(await search('ON 15-Jan-2020'), '* SEARCH 3');
  assert.equal(await search('SINCE 16-Jan-2020'), '* SEARCH 1 2');
  assert.equal(await search('SUBJECT "message 3"'), '* SEARCH 3');
  assert.equal(await search('FROM anna@remote'), '* SEARCH 2');
  assert.equal(await search('FROM "Sender 1"'), '* SEARCH 1');
  assert.equal(await search('CC boss'), '* SEARCH 2');
  assert.equal(await search('TO ivanov NOT FROM anna'), '* SEARCH 1 3');
  assert.equal(await search('HEADER Message-ID mp1'), '* SEARCH 2');
  assert.equal(await search('HEADER MIME-Version ""'), '* SEARCH 2', 'an empty value matches any message with the field');
  assert.equal(await search('BODY pears'), '* SEARCH 1');
  assert.equal(await search('TEXT "quarterly"'), '* SEARCH 2');
  assert.equal(await search('TEXT "message 1"'), '* SEARCH 1', 'TEXT looks at the header too');
  assert.equal(await search('SENTON 4-Jul-2023'), '* SEARCH 2', 'the Date header day as written, not in UTC');
  assert.equal(await search('SENTBEFORE 1-Jan-2000'), '* SEARCH 1 3');
  assert.equal(await search('SENTSINCE 5-Jul-2023'), '* SEARCH');
  assert.equal(await search('OR SEEN SUBJECT report'), '* SEARCH 1 2');
  const subject = Buffer.from('Привет', 'utf8');
  c.write(`u1 SEARCH CHARSET UTF-8 SUBJECT {${subject.length}+}\r\n`);
  c.write(Buffer.concat([subject, Buffer.from('\r\n')]));
  assert.deepEqual((await c.until('u1')).untagged.map((u) => u.text), ['* SEARCH 2'], 'RFC 2047 subjects match in UTF-8');
  const cafe = Buffer.from('café BUDGET', 'utf8');
  c.write(`u2 SEARCH CHARSET UTF-8 BODY {${cafe.length}+}\r\n`);
  c.write(Buffer.concat([cafe, Buffer.from('\r\n')]));
  assert.deepEqual((await c.until('u2')).untagged.map((u) => u.text), ['* SEARCH 2'], 'quoted-printable bodies are decoded; case does not matter');
  assert.equal((await c.command('SEARCH CHARSET KOI8-R ALL')).text, '[BADCHARSET (US-ASCII UTF-8)] Unsupported charset');
  assert.deepEqual(await c.ok('UID SEARCH SEEN'), [`* SEARCH ${u1}`]);
  assert.equal((await c.command('SEARCH BOGUS')).status, 'BAD');
  await logout(c);
});

test('COPY and MOVE: COPYUID, flags kept, MOVE expunges the originals; TRYCREATE; UID forms', async () => {
  const uids = [await deliver(server, message(1), { flags: ['\\Flagged'] }), await deliver(server, message(2)), await deliver(server, message(3))];
  const c = await session(server);
  await c.ok('SELECT INBOX');
  const trash = server.store.folder(IVANOV, 'Trash')!;
  const copied = await c.command('COPY 1:2 Trash');
  const t = uidsOf(server, 'Trash');
  assert.equal(copied.text, `[COPYUID ${trash.uidValidity} ${uids[0]}:${uids[1]} ${t[0]}:${t[1]}] COPY completed`);
  assert.deepEqual(server.store.listMessages(IVANOV, 'Trash').map((m) => m.flags), [['\\Flagged'], []]);
  assert.deepEqual(await server.store.readMessage(IVANOV, 'Trash', t[1]!), message(2));
  assert.equal((await c.command('COPY 1 Nowhere')).text, "[TRYCREATE] Mailbox doesn't exist");

  const moved = await c.command(`UID MOVE ${uids[0]},${uids[2]} Junk`);
  const j = uidsOf(server, 'Junk');
  const junk = server.store.folder(IVANOV, 'Junk')!;
  assert.deepEqual(moved.untagged.map((u) => u.text), [`* OK [COPYUID ${junk.uidValidity} ${uids[0]},${uids[2]} ${j[0]}:${j[1]}] Moved`, '* 3 EXPUNGE', '* 1 EXPUNGE']);
  assert.equal(moved.text, 'MOVE completed');
  assert.deepEqual(uidsOf(server), [uids[1]]);
  assert.deepEqual(await c.ok('FETCH 1 UID'), [`* 1 FETCH (UID ${uids[1]})`], 'numbers follow the expunges');
  await logout(c);
});

test('EXPUNGE, UID EXPUNGE, CLOSE and UNSELECT', async () => {
  const uids: number[] = [];
  for (let n = 1; n <= 6; n++) uids.push(await deliver(server, message(n)));
  const c = await session(server);
  await c.ok('SELECT INBOX');
  await c.ok('STORE 2,4 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await c.ok('EXPUNGE'), ['* 4 EXPUNGE', '* 2 EXPUNGE']);
  assert.deepEqual(uidsOf(server), [uids[0], uids[2], uids[4], uids[5]]);
  await c.ok('STORE 1:4 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await c.ok(`UID EXPUNGE ${uids[0]}:${uids[2]}`), ['* 2 EXPUNGE', '* 1 EXPUNGE'], 'only the UIDs named');
  assert.deepEqual(uidsOf(server), [uids[4], uids[5]]);
  await c.ok('UNSELECT');
  assert.deepEqual(uidsOf(server), [uids[4], uids[5]], 'UNSELECT expunges nothing');
  assert.equal((await c.command('FETCH 1 FLAGS')).status, 'BAD');
  await c.ok('SELECT INBOX');
  assert.deepEqual(await c.ok('CLOSE'), [], 'CLOSE expunges silently');
  assert.deepEqual(uidsOf(server), []);
  assert.equal((await c.command('NOOP')).status, 'OK');
  await logout(c);
});
