/**
 * Unsolicited responses between sessions: a session with the folder
 * selected (IDLE or not) hears of new messages (EXISTS), flag changes
 * (FETCH) and expunges (EXPUNGE) made by others; EXPUNGE only when RFC 3501
 * §7.4.1 allows it (a command in progress that is not FETCH, STORE or
 * SEARCH; or IDLE). Also: \Recent, renaming and deleting a selected folder.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import type { ImapClient } from '../../helpers/imap-client.js';
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

async function selected(folder = 'INBOX'): Promise<ImapClient> {
  const c = await session(server);
  await c.ok(`SELECT ${folder}`);
  return c;
}

/** The next `n` unsolicited responses (no command sent). */
async function unsolicited(c: ImapClient, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) out.push((await c.response(3000)).text);
  return out;
}

test('a delivery reaches every session with the folder selected at once: EXISTS and RECENT, with no command in progress', async () => {
  await deliver(server, message(1));
  const a = await selected();
  const b = await selected();
  const uid = await deliver(server, message(2));
  assert.deepEqual(await unsolicited(a, 2), ['* 2 EXISTS', '* 1 RECENT']);
  assert.deepEqual(await unsolicited(b, 2), ['* 2 EXISTS', '* 1 RECENT']);
  assert.deepEqual(await a.ok('FETCH 2 (UID FLAGS)'), [`* 2 FETCH (UID ${uid} FLAGS (\\Recent))`], 'new while selected: \\Recent to this session');
  assert.deepEqual(await a.ok('SEARCH NEW'), ['* SEARCH 2']);
  assert.deepEqual(await a.ok('SEARCH OLD'), ['* SEARCH 1']);
  await logout(a);
  await logout(b);
});

test('a flag change by one session is pushed to the others as FETCH (UID, FLAGS); the changer gets only its own reply', async () => {
  const uid = await deliver(server, message(1));
  const a = await selected();
  const b = await selected();
  assert.deepEqual(await b.ok('STORE 1 +FLAGS (\\Flagged)'), ['* 1 FETCH (FLAGS (\\Flagged))']);
  assert.deepEqual(await unsolicited(a, 1), [`* 1 FETCH (UID ${uid} FLAGS (\\Flagged))`]);
  assert.deepEqual(await b.ok('NOOP'), [], 'no echo of its own change');
  assert.equal(b.unread, 0);
  await logout(a);
  await logout(b);
});

test('an expunge by another session is held back while no command runs and during FETCH, STORE and SEARCH, then told on NOOP', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2)), await deliver(server, message(3))];
  const a = await selected();
  const b = await selected();
  await b.ok('STORE 2 +FLAGS.SILENT (\\Deleted)');
  await unsolicited(a, 1); // the \Deleted flag change
  assert.deepEqual(await b.ok('EXPUNGE'), ['* 2 EXPUNGE']);
  // a still numbers the messages 1, 2, 3 until it is told.
  const fetch = await a.command('FETCH 1:3 (UID)');
  assert.deepEqual(fetch.untagged.map((u) => u.text), [`* 1 FETCH (UID ${uids[0]})`, `* 3 FETCH (UID ${uids[2]})`], 'no EXPUNGE during FETCH');
  assert.equal(fetch.text, '[EXPUNGEISSUED] Some of the requested messages no longer exist');
  assert.deepEqual(await a.ok('SEARCH ALL'), ['* SEARCH 1 3'], 'no EXPUNGE during SEARCH; the expunged message matches nothing');
  assert.deepEqual(await a.ok('STORE 3 +FLAGS (\\Seen)'), ['* 3 FETCH (FLAGS (\\Seen))'], 'no EXPUNGE during STORE');
  assert.equal(a.unread, 0, 'nothing unsolicited either');
  assert.deepEqual(await a.ok('NOOP'), ['* 2 EXPUNGE']);
  assert.deepEqual(await a.ok('FETCH 2 (UID)'), [`* 2 FETCH (UID ${uids[2]})`], 'renumbered');
  await logout(a);
  await logout(b);
});

test('UID commands may carry the held EXPUNGE (RFC 3501 §7.4.1), before their tagged reply', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2))];
  const a = await selected();
  await server.store.expunge(IVANOV, 'INBOX', [uids[0]!]);
  const r = await a.command('UID FETCH 1:* (FLAGS)');
  assert.deepEqual(r.untagged.map((u) => u.text), [`* 2 FETCH (UID ${uids[1]} FLAGS ())`, '* 1 EXPUNGE']);
  assert.equal(r.status, 'OK');
  await logout(a);
});

test('IDLE: deliveries, flag changes and expunges are pushed at once, EXPUNGE included; DONE ends it', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2))];
  const a = await selected();
  a.write('i1 IDLE\r\n');
  assert.equal((await a.response()).text, '+ idling');
  const uid3 = await deliver(server, message(3));
  assert.deepEqual(await unsolicited(a, 2), ['* 3 EXISTS', '* 1 RECENT']);
  await server.store.setFlags(IVANOV, 'INBOX', [uids[1]!], '+', ['\\Answered']);
  assert.deepEqual(await unsolicited(a, 1), [`* 2 FETCH (UID ${uids[1]} FLAGS (\\Answered))`]);
  await server.store.expunge(IVANOV, 'INBOX', [uids[0]!]);
  assert.deepEqual(await unsolicited(a, 1), ['* 1 EXPUNGE']);
  a.write('DONE\r\n');
  assert.equal((await a.until('i1')).tagged, 'i1 OK IDLE terminated');
  assert.deepEqual(await a.ok('FETCH 1:* (UID)'), [`* 1 FETCH (UID ${uids[1]})`, `* 2 FETCH (UID ${uid3})`]);
  // IDLE in the authenticated state is allowed too, and anything but DONE ends it with BAD.
  await a.ok('UNSELECT');
  a.write('i2 IDLE\r\n');
  assert.equal((await a.response()).text, '+ idling');
  a.write('NOOP\r\n');
  assert.equal((await a.until('i2')).tagged, 'i2 BAD Expected DONE to end IDLE');
  await logout(a);
});

test('changes queued while the folder is not selected are not told; a session that EXAMINEs hears of changes too', async () => {
  await deliver(server, message(1));
  const a = await session(server);
  await deliver(server, message(2));
  assert.deepEqual(await a.ok('NOOP'), []);
  const ex = await a.command('EXAMINE INBOX');
  assert.ok(ex.untagged.some((u) => u.text === '* 2 EXISTS'));
  await deliver(server, message(3));
  assert.deepEqual(await unsolicited(a, 2), ['* 3 EXISTS', '* 1 RECENT']);
  await logout(a);
});

test('\\Recent is per session: what arrived while selected stops being recent at the next SELECT; what arrived meanwhile is recent then', async () => {
  await deliver(server, message(1));
  const a = await selected();
  await deliver(server, message(2));
  await unsolicited(a, 2);
  assert.deepEqual(await a.ok('SEARCH RECENT'), ['* SEARCH 2']);
  await a.ok('SELECT Sent');
  await deliver(server, message(3));
  const again = await a.command('SELECT INBOX');
  assert.ok(again.untagged.some((u) => u.text === '* 1 RECENT'), again.untagged.map((u) => u.text).join('\n'));
  assert.deepEqual(await a.ok('SEARCH RECENT'), ['* SEARCH 3']);
  assert.deepEqual(await a.ok('STATUS Sent (RECENT)'), ['* STATUS Sent (RECENT 0)']);
  await logout(a);
});

test('a selected folder renamed by another session keeps working; deleted, it ends the session with BYE', async () => {
  await server.store.createFolder(IVANOV, 'Work');
  const uid = await deliver(server, message(1), { folder: 'Work' });
  const a = await selected('Work');
  const b = await session(server);
  await b.ok('RENAME Work Archive');
  assert.deepEqual(await a.ok('FETCH 1 (UID RFC822.SIZE)'), [`* 1 FETCH (UID ${uid} RFC822.SIZE ${message(1).length})`]);
  await a.ok('STORE 1 +FLAGS (\\Seen)');
  assert.deepEqual(server.store.listMessages(IVANOV, 'Archive')[0]!.flags, ['\\Seen']);
  await b.ok('DELETE Archive');
  assert.equal((await a.response()).text, '* BYE Selected mailbox was deleted, closing connection');
  await a.waitClosed();
  await logout(b);
  assert.deepEqual(uidsOf(server), []);
});
