import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Frame } from '../../../../src/codec/imap/framer.js';
import { parseAuthenticateResponse, parseCommand, parseDone, peekCommand } from '../../../../src/codec/imap/parser.js';
import { bad, frameOf, good, goodAs, parse, run, untagged } from './support.js';

const frameLines = (...lines: string[]): Frame => ({ lines: lines.map((l) => Buffer.from(l, 'latin1')), literals: [] });

test('RFC 3501 §8 sample session commands', () => {
  assert.deepEqual(good('a001 login mrc secret'), { tag: 'a001', name: 'LOGIN', username: 'mrc', password: 'secret' });
  assert.deepEqual(good('a002 select inbox'), { tag: 'a002', name: 'SELECT', mailbox: 'INBOX', params: [] });
  assert.deepEqual(goodAs('a003 fetch 12 full', 'FETCH').items.map((i) => i.item), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  assert.deepEqual(goodAs('a004 fetch 12 body[header]', 'FETCH').items, [
    { item: 'BODY[]', peek: false, section: { part: [], text: { kind: 'HEADER' } }, partial: null },
  ]);
  assert.deepEqual(good('a005 store 12 +flags \\deleted'), {
    tag: 'a005', name: 'STORE', uid: false, set: [{ from: 12, to: 12 }], action: 'add', silent: false, flags: ['\\Deleted'],
  });
  assert.deepEqual(good('a006 logout'), { tag: 'a006', name: 'LOGOUT' });
});

test('RFC 3501 §6 example commands', () => {
  const examples: [string, string][] = [
    ['abcd CAPABILITY', 'CAPABILITY'], ['a002 NOOP', 'NOOP'], ['A023 LOGOUT', 'LOGOUT'], ['a001 STARTTLS', 'STARTTLS'],
    ['A001 AUTHENTICATE GSSAPI', 'AUTHENTICATE'], ['a001 LOGIN SMITH SESAME', 'LOGIN'], ['A142 SELECT INBOX', 'SELECT'],
    ['A932 EXAMINE blurdybloop', 'EXAMINE'], ['A003 CREATE owatagusiam/', 'CREATE'], ['A004 CREATE owatagusiam/blurdybloop', 'CREATE'],
    ['A683 DELETE blurdybloop', 'DELETE'], ['A683 RENAME blurdybloop sarasoop', 'RENAME'], ['A685 RENAME foo zowie', 'RENAME'],
    ['A002 SUBSCRIBE #news.comp.mail.mime', 'SUBSCRIBE'], ['A002 UNSUBSCRIBE #news.comp.mail.mime', 'UNSUBSCRIBE'],
    ['A101 LIST "" ""', 'LIST'], ['A102 LIST #news.comp.mail.misc ""', 'LIST'], ['A103 LIST /usr/staff/jones ""', 'LIST'],
    ['A202 LIST ~/Mail/ %', 'LIST'], ['A002 LSUB "#news." "comp.mail.*"', 'LSUB'], ['A042 STATUS blurdybloop (UIDNEXT MESSAGES)', 'STATUS'],
    ['FXXZ CHECK', 'CHECK'], ['A341 CLOSE', 'CLOSE'], ['A202 EXPUNGE', 'EXPUNGE'],
    ['A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', 'SEARCH'], ['A283 SEARCH TEXT "string not in mailbox"', 'SEARCH'],
    ['A284 SEARCH CHARSET UTF-8 TEXT {6}\r\n\u00e9\u00e8\u00ea', 'SEARCH'],
    ['A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])', 'FETCH'], ['A003 STORE 2:4 +FLAGS (\\Deleted)', 'STORE'],
    ['A003 COPY 2:4 MEETING', 'COPY'], ['A999 UID FETCH 4827313:4828442 FLAGS', 'FETCH'],
  ];
  for (const [line, name] of examples) assert.equal(good(line).name, name, line);
  assert.deepEqual(untagged(good('A042 STATUS blurdybloop (UIDNEXT MESSAGES)')), { name: 'STATUS', mailbox: 'blurdybloop', items: ['UIDNEXT', 'MESSAGES'] });
  assert.deepEqual(untagged(good('A002 LSUB "#news." "comp.mail.*"')), { name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' });
});

test('RFC 3501 §6.3.11 APPEND example, with flags, date-time and a literal message', () => {
  const message =
    'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.COM>\r\nSubject: afternoon meeting\r\n' +
    'To: mooch@owatagu.siam.edu\r\nMessage-Id: <B27397-0100000@Blurdybloop.COM>\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n';
  assert.equal(message.length, 310);
  const { events } = run([`A003 APPEND saved-messages (\\Seen) {310}\r\n`, message, '\r\n']);
  assert.deepEqual(events.map((e) => e.kind), ['continue', 'frame']);
  const r = parseCommand((events[1] as { frame: Frame }).frame);
  assert.ok(r.ok && r.command.name === 'APPEND');
  assert.equal(r.command.mailbox, 'saved-messages');
  assert.deepEqual(r.command.flags, ['\\Seen']);
  assert.equal(r.command.date, null);
  assert.equal(r.command.message.toString(), message);

  const dated = goodAs('a APPEND INBOX (\\Seen $Work) "17-Jul-1996 02:44:25 -0700" {3+}\r\nabc', 'APPEND');
  assert.deepEqual(dated.date, { epochMs: Date.UTC(1996, 6, 17, 9, 44, 25), zoneMinutes: -420 });
  assert.deepEqual(dated.flags, ['\\Seen', '$Work']);
  assert.deepEqual(goodAs('a APPEND x () {1}\r\n\0', 'APPEND').message, Buffer.from([0])); // the body is the store's business
  assert.equal(goodAs('a APPEND x " 7-Jul-1996 02:44:25 +0000" {1}\r\nz', 'APPEND').date?.epochMs, Date.UTC(1996, 6, 7, 2, 44, 25));
  bad('a APPEND x "message text"', /literal/);
  bad('a APPEND x ~{1}\r\nz', /literal8/);
  bad('a APPEND x {1}\r\nz {1}\r\ny', /unexpected/); // MULTIAPPEND is not offered
  bad('a APPEND x "32-Jul-1996 02:44:25 -0700" {1}\r\nz', /date-time/);
  bad('a APPEND x (\\Seen {1}\r\nz', /flag/);
  bad('a APPEND x', /space/);
});

test('commands without arguments refuse arguments; names are case-insensitive', () => {
  for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE']) {
    assert.deepEqual(good(`t1 ${name.toLowerCase()}`), { tag: 't1', name });
    assert.deepEqual(good(`t1 ${name}  `), { tag: 't1', name }, 'trailing spaces are tolerated');
    const e = bad(`t1 ${name} now`, /unexpected/);
    assert.equal(e.tag, 't1');
    assert.equal(e.name, name);
  }
});

test('AUTHENTICATE with and without a SASL-IR initial response', () => {
  assert.deepEqual(untagged(good('a authenticate plain')), { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null });
  assert.deepEqual(untagged(good('a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==')), { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: 'AGFsaWNlAHNlY3JldA==' });
  assert.deepEqual(untagged(good('a AUTHENTICATE PLAIN =')), { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: '' });
  bad('a AUTHENTICATE PLAIN AG=Fs', /base64/);
  bad('a AUTHENTICATE', /space/);
  bad('a AUTHENTICATE X!Y', /mechanism/);
  bad(`a AUTHENTICATE ${'X'.repeat(21)}`, /mechanism/);
});

test('LOGIN takes atoms, quoted strings (with escapes) and literals', () => {
  const login = (line: string) => {
    const c = goodAs(line, 'LOGIN');
    return [c.username, c.password];
  };
  assert.deepEqual(login('a LOGIN fred "se cr\\"et\\\\"'), ['fred', 'se cr"et\\']);
  assert.deepEqual(login('a LOGIN {4}\r\nfred {7+}\r\np\u00e4ss\r\n'), ['fred', 'p\u00e4ss\r\n']);
  assert.deepEqual(login('a LOGIN "" ""'), ['', '']);
  assert.deepEqual(login('a LOGIN f]red x'), ['f]red', 'x']);
  bad('a LOGIN fred', /space/);
  bad('a LOGIN fred "secret', /unterminated/);
  bad('a LOGIN fred "a\\b"', /escape/);
  bad('a LOGIN fred se(cret', /unexpected/);
  bad(Buffer.from([...Buffer.from('a LOGIN fred {2}\r\n'), 0xc3, 0x28]), /UTF-8/);
  bad('a LOGIN fred {3}\r\na\0b', /NUL/);
  bad('a LOGIN fred ~{1}\r\nx', /literal8/);
  // 8-bit in a quoted string is read as UTF-8 (lenient), but must be UTF-8.
  assert.deepEqual(login('a LOGIN "j\u00fcrgen" x'), ['j\u00fcrgen', 'x']);
  bad(Buffer.from([...Buffer.from('a LOGIN "'), 0xff, ...Buffer.from('" x')]), /UTF-8/);
});

test('SELECT / EXAMINE: INBOX in any case, modified UTF-7, parameters listed and otherwise ignored', () => {
  assert.deepEqual(untagged(good('a SELECT "iNbOx"')), { name: 'SELECT', mailbox: 'INBOX', params: [] });
  assert.deepEqual(untagged(good('a EXAMINE {5+}\r\nInbox')), { name: 'EXAMINE', mailbox: 'INBOX', params: [] });
  assert.equal(goodAs('a SELECT INBOX/Sub', 'SELECT').mailbox, 'INBOX/Sub');
  assert.equal(goodAs('a SELECT inbox.sub', 'SELECT').mailbox, 'inbox.sub', 'only INBOX itself is case-insensitive');
  assert.equal(goodAs('a SELECT &U,BTFw-/Entw&APw-rfe', 'SELECT').mailbox, '\u53f0\u5317/Entw\u00fcrfe');
  assert.deepEqual(goodAs('a SELECT x (CONDSTORE)', 'SELECT').params, ['CONDSTORE']);
  assert.deepEqual(goodAs('a SELECT x (QRESYNC (67890007 20050715194045000 41,43:211,214:541) "q" {1}\r\n))', 'SELECT').params, ['QRESYNC']);
  bad('a SELECT x (QRESYNC (1 2)', /unbalanced/);
  bad('a SELECT x (a))', /unexpected/);
  bad('a SELECT &U,BTFw', /modified UTF-7/);
  bad('a SELECT "\u53f0\u5317"', /modified UTF-7/); // raw UTF-8 needs UTF8=ACCEPT, not offered
  bad(`a SELECT x ${'('.repeat(10_000)}`, /nested too deeply/);
});

test('CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE', () => {
  assert.deepEqual(untagged(good('a CREATE &U,BTFw-')), { name: 'CREATE', mailbox: '\u53f0\u5317', specialUse: [] });
  assert.deepEqual(untagged(good('a CREATE Drafts (USE (\\drafts \\Sent))')), { name: 'CREATE', mailbox: 'Drafts', specialUse: ['\\Drafts', '\\Sent'] });
  bad('a CREATE x (SIZE 5)', /CREATE parameter/);
  bad('a CREATE x (USE (Drafts))', /special-use/);
  bad('a CREATE x (USE ())', /empty/);
  assert.deepEqual(untagged(good('a DELETE "a b"')), { name: 'DELETE', mailbox: 'a b' });
  assert.deepEqual(untagged(good('a RENAME inbox "Old Mail"')), { name: 'RENAME', from: 'INBOX', to: 'Old Mail' });
  assert.deepEqual(untagged(good('a SUBSCRIBE x')), { name: 'SUBSCRIBE', mailbox: 'x' });
  assert.deepEqual(untagged(good('a UNSUBSCRIBE x')), { name: 'UNSUBSCRIBE', mailbox: 'x' });
  bad('a RENAME x', /space/);
  bad('a DELETE', /space/);
  bad('a DELETE x y', /unexpected/);
});

test('LIST: RFC 3501 form, LIST-EXTENDED selection and return options, multiple patterns', () => {
  const none = { subscribed: false, children: false, specialUse: false, status: null };
  assert.deepEqual(untagged(good('a LIST "" *')), { name: 'LIST', reference: '', patterns: ['*'], selectOptions: [], returnOptions: none });
  assert.deepEqual(untagged(good('a LIST inbox %/&U,BTFw-*')), { name: 'LIST', reference: 'inbox', patterns: ['%/\u53f0\u5317*'], selectOptions: [], returnOptions: none });
  assert.deepEqual(
    untagged(good('a LIST (subscribed RECURSIVEMATCH) "" ("INBOX" {2+}\r\nx*) RETURN (CHILDREN special-use STATUS (MESSAGES UNSEEN))')),
    {
      name: 'LIST', reference: '', patterns: ['INBOX', 'x*'], selectOptions: ['SUBSCRIBED', 'RECURSIVEMATCH'],
      returnOptions: { subscribed: false, children: true, specialUse: true, status: ['MESSAGES', 'UNSEEN'] },
    },
  );
  assert.deepEqual(goodAs('a LIST () "" % RETURN ()', 'LIST').returnOptions, none);
  assert.deepEqual(goodAs('a LIST (SPECIAL-USE) "" *', 'LIST').selectOptions, ['SPECIAL-USE']);
  bad('a LIST (RECURSIVEMATCH) "" *', /RECURSIVEMATCH/);
  bad('a LIST (FOO) "" *', /selection option/);
  bad('a LIST "" * RETURN (FOO)', /return option/);
  bad('a LIST "" * RETURNS ()', /RETURN/);
  bad('a LIST "" ()', /empty/);
  bad('a LIST ""', /space/);
  bad('a LIST "" (a', /"\)"/);
});

test('STATUS items', () => {
  assert.deepEqual(goodAs('a STATUS x (messages recent uidnext uidvalidity unseen)', 'STATUS').items, ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN']);
  bad('a STATUS x ()', /empty/);
  bad('a STATUS x (SIZE)', /STATUS item/);
  bad('a STATUS x MESSAGES', /"\("/);
});

test('EXPUNGE and UID EXPUNGE (UIDPLUS)', () => {
  assert.deepEqual(untagged(good('a EXPUNGE')), { name: 'EXPUNGE', uid: false, set: null });
  assert.deepEqual(untagged(good('a uid expunge 3000:3002,*')), { name: 'EXPUNGE', uid: true, set: [{ from: 3000, to: 3002 }, { from: '*', to: '*' }] });
  bad('a EXPUNGE 1', /unexpected/);
  bad('a UID EXPUNGE', /space/);
  bad('a UID EXPUNGE 0', /sequence set/);
});

test('STORE: every action form, flag lists or single flags, canonical system flags', () => {
  const store = (line: string) => untagged(good(line));
  assert.deepEqual(store('a STORE 1 FLAGS (\\seen \\ANSWERED $Label1)'), {
    name: 'STORE', uid: false, set: [{ from: 1, to: 1 }], action: 'replace', silent: false, flags: ['\\Seen', '\\Answered', '$Label1'],
  });
  assert.deepEqual(store('a UID STORE 1:* +FLAGS.SILENT \\Flagged \\Draft'), {
    name: 'STORE', uid: true, set: [{ from: 1, to: '*' }], action: 'add', silent: true, flags: ['\\Flagged', '\\Draft'],
  });
  assert.deepEqual(store('a STORE 2 -flags.silent ()'), { name: 'STORE', uid: false, set: [{ from: 2, to: 2 }], action: 'remove', silent: true, flags: [] });
  assert.deepEqual(goodAs('a STORE 2 FLAGS \\X-Custom', 'STORE').flags, ['\\X-Custom']);
  bad('a STORE 1 XFLAGS \\Seen', /FLAGS/);
  bad('a STORE 1 FLAGS.LOUD \\Seen', /FLAGS/);
  bad('a STORE 1 +FLAGS \\*', /flag name/);
  bad('a STORE 1 +FLAGS', /space/);
  bad('a STORE 1 +FLAGS (\\Seen', /"\)"/);
  bad('a STORE 1 (UNCHANGEDSINCE 5) +FLAGS \\Seen', /FLAGS/);
});

test('COPY, MOVE and their UID forms', () => {
  assert.deepEqual(untagged(good('a COPY 2:4 MEETING')), { name: 'COPY', uid: false, set: [{ from: 2, to: 4 }], mailbox: 'MEETING' });
  assert.deepEqual(untagged(good('a MOVE 1,3 inbox')), { name: 'MOVE', uid: false, set: [{ from: 1, to: 1 }, { from: 3, to: 3 }], mailbox: 'INBOX' });
  assert.deepEqual(untagged(good('a UID MOVE 42 "Trash"')), { name: 'MOVE', uid: true, set: [{ from: 42, to: 42 }], mailbox: 'Trash' });
  assert.deepEqual(untagged(good('a uid copy *:4 x')), { name: 'COPY', uid: true, set: [{ from: '*', to: 4 }], mailbox: 'x' });
  bad('a COPY 2:4', /space/);
  bad('a MOVE x y', /sequence set/);
});

test('UID only prefixes FETCH, STORE, COPY, MOVE, SEARCH, EXPUNGE', () => {
  bad('a UID LOGIN x y', /UID must be followed/);
  bad('a UID', /space/);
  assert.equal(goodAs('a UID SEARCH ALL', 'SEARCH').uid, true);
  assert.equal(goodAs('a UID FETCH 1 UID', 'FETCH').uid, true);
});

test('ENABLE, ID, NAMESPACE, UNSELECT, IDLE and DONE', () => {
  assert.deepEqual(untagged(good('a ENABLE CONDSTORE utf8=accept')), { name: 'ENABLE', capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] });
  bad('a ENABLE', /space/);
  bad('a ENABLE X (Y)', /space|capability/);
  assert.deepEqual(untagged(good('a ID NIL')), { name: 'ID', params: null });
  assert.deepEqual(untagged(good('a ID ("name" "Thunderbird" "version" NIL {2}\r\nos "Linux")')), {
    name: 'ID', params: [['name', 'Thunderbird'], ['version', null], ['os', 'Linux']],
  });
  assert.deepEqual(untagged(good('a ID ()')), { name: 'ID', params: [] });
  bad('a ID (name "x")', /ID field/);
  bad('a ID ("name")', /space/);
  bad('a ID', /space/);
  bad('a ID FOO', /NIL/);
  bad(`a ID (${Array.from({ length: 31 }, (_, i) => `"f${i}" "v"`).join(' ')})`, /30/);
  assert.deepEqual(good('a NAMESPACE'), { tag: 'a', name: 'NAMESPACE' });
  assert.deepEqual(good('a UNSELECT'), { tag: 'a', name: 'UNSELECT' });
  assert.deepEqual(good('a IDLE'), { tag: 'a', name: 'IDLE' });
  for (const line of ['DONE', 'done', 'DoNe  ']) assert.equal(parseDone(frameOf(line)), true, line);
  for (const line of ['DONE!', 'a DONE', '', 'DONE\0']) assert.equal(parseDone(frameOf(line)), false, line);
  assert.equal(parseDone(frameOf('DONE {1}\r\nx')), false);
  assert.equal(parseDone(null as unknown as Frame), false);
});

test('AUTHENTICATE continuation lines: base64 or "*" to cancel', () => {
  assert.deepEqual(parseAuthenticateResponse(frameOf('AGFsaWNlAHNlY3JldA==')), { kind: 'response', base64: 'AGFsaWNlAHNlY3JldA==' });
  assert.deepEqual(parseAuthenticateResponse(frameOf('')), { kind: 'response', base64: '' });
  assert.deepEqual(parseAuthenticateResponse(frameOf('*')), { kind: 'cancel' });
  assert.deepEqual(parseAuthenticateResponse(frameOf('a LOGOUT')), { kind: 'invalid' });
  assert.deepEqual(parseAuthenticateResponse(frameOf('AA {1}\r\nx')), { kind: 'invalid' });
});

test('peekCommand reads tag and name of a command in progress', () => {
  assert.deepEqual(peekCommand(frameLines('a1 append INBOX {5}')), { tag: 'a1', name: 'APPEND' });
  assert.deepEqual(peekCommand(frameLines('a1 uid fetch 1 {5}')), { tag: 'a1', name: 'UID FETCH' });
  assert.deepEqual(peekCommand(frameLines('a1 LOGIN')), { tag: 'a1', name: 'LOGIN' });
  assert.deepEqual(peekCommand(frameLines('a1 {5}')), { tag: 'a1', name: null });
  assert.deepEqual(peekCommand(frameLines('{5}')), { tag: null, name: null });
  assert.deepEqual(peekCommand({ lines: [], literals: [] }), { tag: null, name: null });
});

test('errors carry the tag when there is one, and the name when it was recognised', () => {
  assert.deepEqual(parse('a1 FROB x'), { ok: false, kind: 'unknown-command', tag: 'a1', name: null, message: 'unknown command' });
  assert.deepEqual(parse('a1 LOGIN x'), { ok: false, kind: 'syntax', tag: 'a1', name: 'LOGIN', message: 'expected a space' });
  assert.equal(bad('+1 NOOP', /tag/).tag, null);
  assert.equal(bad('(a NOOP', /tag/).tag, null);
  assert.equal(bad('', /empty/).tag, null);
  assert.equal(bad('   ', /empty/).tag, null);
  assert.equal(bad('a1', /missing command/).tag, 'a1');
  assert.equal(bad('a1  NOOP', /command name/).tag, 'a1');
  assert.equal(bad('a1 NOOP\r', /unexpected/).tag, 'a1');
  assert.equal(bad('a1 NOOP\0', /NUL/).tag, 'a1');
  assert.equal(bad('a\u00e9 NOOP', /tag/).tag, null);
  assert.equal(good('a]1 NOOP').tag, 'a]1');
});

test('unbalanced parentheses and deep nesting are parse errors, never crashes', () => {
  bad('a FETCH 1 (FLAGS', /"\)"/);
  bad('a FETCH 1 FLAGS)', /unexpected/);
  bad('a STATUS x (MESSAGES))', /unexpected/);
  bad('a SEARCH (ALL', /"\)"/);
  bad('a SEARCH ALL)', /unexpected/);
  const deep = '('.repeat(10_000);
  for (const line of [`a SEARCH ${deep}ALL${')'.repeat(10_000)}`, `a FETCH 1 ${deep}`, `a LIST ${deep}`, `a STORE 1 FLAGS ${deep}`, `a ID ${deep}`, `a SELECT x ${deep}`, `a SEARCH ${'NOT '.repeat(10_000)}ALL`]) {
    assert.equal(parse(line).ok, false, line.slice(0, 20));
  }
});

test('frames that the framer would never build are refused, not thrown on', () => {
  const weird: unknown[] = [
    null, undefined, 'a NOOP', {}, { lines: [], literals: [] }, { lines: ['a NOOP'], literals: [] },
    { lines: [Buffer.from('a LOGIN {3}'), Buffer.from('')], literals: [] },
    { lines: [Buffer.from('a LOGIN {3}'), Buffer.from('')], literals: [{ data: Buffer.from('ab'), sync: true, binary: false }] },
    { lines: [Buffer.from('a LOGIN x'), Buffer.from('')], literals: [{ data: Buffer.from(''), sync: true, binary: false }] },
    { lines: [Buffer.from('a LOGIN {1}'), Buffer.from(' x')], literals: [null] },
  ];
  for (const frame of weird) assert.equal(parseCommand(frame as Frame).ok, false);
  // A plain Uint8Array line is read like a Buffer.
  assert.equal(parseCommand({ lines: [new Uint8Array(Buffer.from('a NOOP'))] as Buffer[], literals: [] }).ok, true);
  // An announcement with no literal after it (last line) is just bad syntax.
  assert.equal(parseCommand(frameLines('a LOGIN x {3}')).ok, false);
});

const tokens = fc.constantFrom(
  'a', ' ', 'UID', 'FETCH', 'SEARCH', 'STORE', 'LIST', 'SELECT', 'APPEND', 'LOGIN', 'ID', 'NOT', 'OR', 'HEADER', 'CHARSET', '(', ')', '"', '\\',
  '1:*', '*', '0', '4294967296', 'BODY[', 'BODY.PEEK[', ']', '<0.5>', '1.2.', 'HEADER.FIELDS', 'MIME', '+FLAGS', '\\Seen', 'NIL', '{3}', '{0+}',
  '&U,BTFw-', '&', '-', '1-Feb-1994', '"17-Jul-1996 02:44:25 -0700"', '\r', '\0', '\u00e9', 'RETURN', 'STATUS', 'UNSEEN', '%', ']',
);

test('property: the parser never throws, whatever bytes come in', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const r = parseCommand({ lines: [Buffer.from(bytes)], literals: [] });
      assert.equal(typeof r.ok, 'boolean');
      for (const e of run([Buffer.from(bytes)]).events) if (e.kind === 'frame') parseCommand(e.frame);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(tokens, { maxLength: 40 }), fc.array(fc.uint8Array({ maxLength: 5 }), { maxLength: 3 }), (parts, lits) => {
      let text = `t ${parts.join('')}`;
      for (const lit of lits) text += `{${lit.length}+}\r\n${Buffer.from(lit).toString('latin1')}`;
      for (const e of run([Buffer.from(text + '\r\n', 'latin1')]).events) {
        if (e.kind !== 'frame') continue;
        const r = parseCommand(e.frame);
        if (!r.ok) assert.ok(r.message.length > 0 && r.message.length < 200);
      }
    }),
    { numRuns: 3000 },
  );
});
