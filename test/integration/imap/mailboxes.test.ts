/**
 * Mailbox commands over real sockets: LIST (patterns, hierarchy, special
 * use, LIST-EXTENDED options, LIST-STATUS), LSUB, CREATE, DELETE, RENAME
 * (inferiors, INBOX), SUBSCRIBE, STATUS, APPEND (APPENDUID, TRYCREATE,
 * flags, date, literal forms), SELECT vs EXAMINE.
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

test('LIST: the default folders with their special use, INBOX first; the root; % and * patterns; the reference', async () => {
  const c = await session(server);
  assert.deepEqual(await c.ok('LIST "" *'), [
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
  ]);
  assert.deepEqual(await c.ok('LIST "" ""'), ['* LIST (\\Noselect) "/" ""'], 'the delimiter and root');
  await c.ok('CREATE Projects/2024/Q1');
  assert.deepEqual(await c.ok('LIST "" %'), [
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasChildren) "/" Projects',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
  ]);
  assert.deepEqual(await c.ok('LIST "" Projects/*'), ['* LIST (\\HasChildren) "/" Projects/2024', '* LIST (\\HasNoChildren) "/" Projects/2024/Q1']);
  assert.deepEqual(await c.ok('LIST Projects/ %'), ['* LIST (\\HasChildren) "/" Projects/2024'], 'reference + pattern');
  assert.deepEqual(await c.ok('LIST "" inbox'), ['* LIST (\\HasNoChildren) "/" INBOX'], 'INBOX is case-insensitive');
  assert.deepEqual(await c.ok('LIST "" nothing*'), []);
  await logout(c);
});

test('LIST: a folder whose parent does not exist shows the parent \\Noselect; names go out in modified UTF-7', async () => {
  await server.store.createFolder(IVANOV, 'Archive/2023');
  await server.store.createFolder(IVANOV, 'Entwürfe');
  const c = await session(server);
  const list = await c.ok('LIST "" *');
  assert.ok(list.includes('* LIST (\\Noselect \\HasChildren) "/" Archive'), list.join('\n'));
  assert.ok(list.includes('* LIST (\\HasNoChildren) "/" Archive/2023'));
  assert.ok(list.includes('* LIST (\\HasNoChildren) "/" Entw&APw-rfe'), list.join('\n'));
  assert.equal((await c.command('SELECT Archive')).text, "[NONEXISTENT] Mailbox doesn't exist");
  assert.equal((await c.command('SELECT Entw&APw-rfe')).status, 'OK', 'the encoded name selects the folder');
  await logout(c);
});

test('LIST-EXTENDED: (SPECIAL-USE) selection, RETURN (SUBSCRIBED CHILDREN SPECIAL-USE), (SUBSCRIBED RECURSIVEMATCH), RETURN (STATUS ...)', async () => {
  const c = await session(server);
  assert.deepEqual(await c.ok('LIST (SPECIAL-USE) "" *'), [
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
  ]);
  await c.ok('CREATE Lists/imap');
  await c.ok('UNSUBSCRIBE Lists');
  await c.ok('UNSUBSCRIBE Junk');
  assert.deepEqual(await c.ok('LIST "" (INBOX Junk) RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)'), [
    '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
  ]);
  assert.deepEqual(await c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" Lists*'), [
    '* LIST (\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))',
    '* LIST (\\HasNoChildren \\Subscribed) "/" Lists/imap',
  ]);
  await deliver(server, message(1));
  await deliver(server, message(2), { flags: ['\\Seen'] });
  const inbox = server.store.folder(IVANOV, 'INBOX')!;
  assert.deepEqual(await c.ok('LIST "" INBOX RETURN (STATUS (MESSAGES UNSEEN UIDVALIDITY))'), [
    '* LIST (\\HasNoChildren) "/" INBOX',
    `* STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDVALIDITY ${inbox.uidValidity})`,
  ]);
  assert.deepEqual(await c.ok('LSUB "" *'), ['* LSUB () "/" INBOX', '* LSUB () "/" Drafts', '* LSUB () "/" Lists/imap', '* LSUB () "/" Sent', '* LSUB () "/" Trash']);
  assert.deepEqual(await c.ok('LSUB "" %'), ['* LSUB () "/" INBOX', '* LSUB () "/" Drafts', '* LSUB (\\Noselect) "/" Lists', '* LSUB () "/" Sent', '* LSUB () "/" Trash']);
  await logout(c);
});

test('CREATE: creates missing superiors, refuses an existing name, INBOX and bad names; a trailing delimiter is dropped', async () => {
  const c = await session(server);
  await c.ok('CREATE Work/');
  assert.ok(server.store.folder(IVANOV, 'Work'), 'created without the trailing "/"');
  await c.ok('CREATE a/b/c');
  assert.ok(server.store.folder(IVANOV, 'a') && server.store.folder(IVANOV, 'a/b') && server.store.folder(IVANOV, 'a/b/c'));
  assert.equal((await c.command('CREATE Work')).text, '[ALREADYEXISTS] Mailbox already exists');
  assert.equal((await c.command('CREATE inbox')).text, '[ALREADYEXISTS] Mailbox already exists');
  assert.equal((await c.command('CREATE "bad*name"')).text, '[CANNOT] Invalid mailbox name');
  assert.equal((await c.command('CREATE Special (USE (\\Drafts))')).text, '[USEATTR] Special-use attributes cannot be set');
  await logout(c);
});

test('DELETE and RENAME: inferiors move along, INBOX cannot be deleted, RENAME INBOX moves its messages', async () => {
  const c = await session(server);
  await c.ok('CREATE Old/Child');
  await c.ok('RENAME Old New');
  assert.deepEqual(
    server.store.listFolders(IVANOV).map((f) => f.name).filter((n) => n.startsWith('New') || n.startsWith('Old')),
    ['New', 'New/Child'],
  );
  assert.equal((await c.command('RENAME Missing Other')).text, "[NONEXISTENT] Mailbox doesn't exist");
  assert.equal((await c.command('RENAME New Sent')).text, '[ALREADYEXISTS] Mailbox already exists');
  assert.equal((await c.command('RENAME New New/Sub')).status, 'NO', 'not into its own subtree');
  await c.ok('DELETE New');
  assert.deepEqual(await c.ok('LIST "" New*'), ['* LIST (\\Noselect \\HasChildren) "/" New', '* LIST (\\HasNoChildren) "/" New/Child']);
  assert.equal((await c.command('DELETE INBOX')).text, '[CANNOT] INBOX cannot be deleted');
  assert.equal((await c.command('DELETE Nothing')).text, "[NONEXISTENT] Mailbox doesn't exist");

  await deliver(server, message(1));
  await deliver(server, message(2));
  await c.ok('RENAME INBOX Saved');
  assert.deepEqual(uidsOf(server), [], 'INBOX is left empty');
  assert.equal(uidsOf(server, 'Saved').length, 2);
  assert.deepEqual(await server.store.readMessage(IVANOV, 'Saved', uidsOf(server, 'Saved')[1]!), message(2));
  await logout(c);
});

test('SUBSCRIBE / UNSUBSCRIBE and STATUS', async () => {
  const c = await session(server);
  await c.ok('UNSUBSCRIBE Trash');
  assert.equal(server.store.listFolders(IVANOV).find((f) => f.name === 'Trash')!.subscribed, false);
  await c.ok('SUBSCRIBE Trash');
  assert.equal(server.store.listFolders(IVANOV).find((f) => f.name === 'Trash')!.subscribed, true);
  assert.equal((await c.command('SUBSCRIBE Nowhere')).status, 'NO');

  await deliver(server, message(1), { folder: 'Sent', flags: ['\\Seen'] });
  await deliver(server, message(2), { folder: 'Sent' });
  const sent = server.store.folder(IVANOV, 'Sent')!;
  assert.deepEqual(await c.ok('STATUS Sent (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)'), [
    `* STATUS Sent (MESSAGES 2 RECENT 0 UIDNEXT ${sent.uidNext} UIDVALIDITY ${sent.uidValidity} UNSEEN 1)`,
  ]);
  assert.equal((await c.command('STATUS Nowhere (MESSAGES)')).text, "[NONEXISTENT] Mailbox doesn't exist");
  assert.equal((await c.command('STATUS Sent (BOGUS)')).status, 'BAD');
  await logout(c);
});

test('APPEND: APPENDUID, flags and date kept, byte-identical; TRYCREATE; LITERAL+ and synchronizing literals; bad flags', async () => {
  const c = await session(server);
  const body = Buffer.from('From: me@example.org\r\nSubject: draft\r\n\r\nUnfinished \u00e9 thoughts\r\n', 'utf8');
  c.write(`A1 APPEND Drafts (\\Draft \\Seen $Label1) "14-Jul-2023 10:00:00 +0200" {${body.length}}\r\n`);
  assert.match((await c.response()).text, /^\+ /, 'a synchronizing literal waits for "+"');
  c.write(Buffer.concat([body, Buffer.from('\r\n')]));
  const r = await c.until('A1');
  const drafts = server.store.folder(IVANOV, 'Drafts')!;
  const uid = uidsOf(server, 'Drafts')[0]!;
  assert.equal(r.tagged, `A1 OK [APPENDUID ${drafts.uidValidity} ${uid}] APPEND completed`);
  const stored = server.store.listMessages(IVANOV, 'Drafts')[0]!;
  assert.deepEqual(stored.flags, ['\\Seen', '\\Draft', '$Label1']);
  assert.equal(stored.internalDate, Date.UTC(2023, 6, 14, 8, 0, 0));
  assert.deepEqual(await server.store.readMessage(IVANOV, 'Drafts', uid), body);

  // LITERAL+: no "+" round trip.
  c.write(`A2 APPEND INBOX {${body.length}+}\r\n`);
  c.write(Buffer.concat([body, Buffer.from('\r\n')]));
  const r2 = await c.until('A2');
  assert.equal(r2.status, 'OK', r2.tagged);
  assert.equal(r2.untagged.length, 0, 'no continuation request');

  const missing = await c.command('APPEND Nowhere {3+}\r\nabc');
  assert.equal(missing.text, "[TRYCREATE] Mailbox doesn't exist");
  assert.equal((await c.command('APPEND INBOX (\\Bogus) {3+}\r\nabc')).status, 'BAD');
  assert.equal((await c.command('APPEND INBOX "not a date" {3+}\r\nabc')).status, 'BAD');
  assert.equal(uidsOf(server).length, 1, 'only A2 landed in INBOX');
  await logout(c);
});

test('SELECT vs EXAMINE: EXAMINE is read-only, STORE/EXPUNGE refused, FETCH BODY[] does not set \\Seen; a failed SELECT leaves the selected state', async () => {
  await deliver(server, message(1));
  const c = await session(server);
  const ex = await c.command('EXAMINE INBOX');
  assert.equal(ex.text, '[READ-ONLY] EXAMINE completed');
  assert.ok(ex.untagged.some((u) => u.text === '* OK [PERMANENTFLAGS ()] Flags permitted'));
  assert.equal((await c.command('STORE 1 +FLAGS (\\Seen)')).text, '[READ-ONLY] Mailbox is read-only');
  assert.equal((await c.command('EXPUNGE')).status, 'NO');
  assert.equal((await c.command('MOVE 1 Trash')).status, 'NO');
  await c.ok('FETCH 1 BODY[]');
  assert.deepEqual(server.store.listMessages(IVANOV, 'INBOX')[0]!.flags, [], 'no \\Seen from a read-only FETCH');
  assert.equal((await c.command('SELECT Nowhere')).status, 'NO');
  assert.equal((await c.command('FETCH 1 FLAGS')).text, 'No mailbox selected', 'the failed SELECT deselected');
  assert.equal((await c.command('SELECT INBOX (CONDSTORE)')).status, 'BAD');
  await logout(c);
});
