/**
 * A real IMAP client library (imapflow) against the server: STARTTLS and
 * login, LIST with special use, SELECT, FETCH of everything a mail client
 * asks for, flags, APPEND/COPY/MOVE with UIDPLUS, SEARCH, STATUS, folder
 * management, IMAPS; a message delivered over SMTP comes back
 * byte-identical; IDLE hears of an SMTP delivery within a second.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ImapClient } from '../../helpers/imap-client.js';
import { deliver, eventually, flow, IVANOV, IVANOV_PASSWORD, message, resetMailbox, uidsOf } from './support.js';

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

async function sendSmtp(raw: Buffer): Promise<void> {
  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('smtp'), secure: false, ignoreTLS: true });
  const info = await mx.sendMail({ envelope: { from: 'stranger@remote.example', to: [IVANOV] }, raw });
  assert.deepEqual(info.accepted, [IVANOV]);
  mx.close();
}

test('imapflow: login over STARTTLS, LIST with special use, FETCH of envelope/flags/structure/headers/source', async () => {
  const uid = await deliver(server, message(1), { flags: ['\\Flagged'] });
  const client = await flow(server);
  try {
    assert.equal(client.secureConnection, true, 'imapflow upgraded with STARTTLS');
    const list = await client.list();
    assert.deepEqual(
      list.map((m) => [m.path, m.specialUse]).sort(),
      [['Drafts', '\\Drafts'], ['INBOX', '\\Inbox'], ['Junk', '\\Junk'], ['Sent', '\\Sent'], ['Trash', '\\Trash']],
    );
    const lock = await client.getMailboxLock('INBOX');
    try {
      const mailbox = client.mailbox;
      assert.ok(mailbox !== false);
      assert.equal(mailbox.exists, 1);
      assert.equal(mailbox.uidValidity, BigInt(server.store.folder(IVANOV, 'INBOX')!.uidValidity));
      const msg = await client.fetchOne('1', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true, internalDate: true, source: true, headers: ['subject', 'message-id'] });
      assert.ok(msg !== false);
      assert.equal(msg.uid, uid);
      assert.deepEqual([...msg.flags!], ['\\Flagged']);
      assert.equal(msg.envelope!.subject, 'message 1');
      assert.deepEqual(msg.envelope!.from, [{ name: 'Sender 1', address: 'sender1@remote.example' }]);
      assert.equal(msg.bodyStructure!.type, 'text/plain');
      assert.equal(msg.size, message(1).length);
      assert.deepEqual(msg.source, message(1));
      assert.equal(msg.headers!.toString(), 'Subject: message 1\r\nMessage-ID: <1@remote.example>\r\n\r\n');
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});

test('imapflow: a message delivered over SMTP is byte-identical over IMAP BODY[]', async () => {
  const raw = Buffer.from(
    'From: stranger@remote.example\r\nTo: ivanov@example.org\r\nSubject: via SMTP\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
      'Привет, как дела?\r\n.leading dot\r\n\r\ntrailing\r\n',
    'utf8',
  );
  await sendSmtp(raw);
  const [uid] = uidsOf(server);
  const stored = await server.store.readMessage(IVANOV, 'INBOX', uid!);
  const client = await flow(server);
  try {
    await client.mailboxOpen('INBOX');
    const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
    assert.ok(msg !== false);
    assert.deepEqual(msg.source, stored, 'exactly the stored bytes');
    assert.match(msg.source!.toString('latin1'), /^Received: from /);
    assert.ok(msg.source!.subarray(msg.source!.length - raw.length).equals(raw), 'the sent message follows the Received header unchanged');
    const downloaded = await client.download(String(uid), undefined, { uid: true });
    const chunks: Buffer[] = [];
    for await (const chunk of downloaded.content as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), stored);
  } finally {
    await client.logout();
  }
});

test('imapflow: flags, APPEND with APPENDUID, COPY and MOVE with COPYUID maps, SEARCH, STATUS, EXPUNGE', async () => {
  const uids = [await deliver(server, message(1)), await deliver(server, message(2)), await deliver(server, message(3))];
  const client = await flow(server);
  try {
    await client.mailboxOpen('INBOX');
    assert.equal(await client.messageFlagsAdd(String(uids[0]), ['\\Seen', '$Important'], { uid: true }), true);
    await client.messageFlagsRemove('1', ['$Important']);
    assert.deepEqual(server.store.listMessages(IVANOV, 'INBOX')[0]!.flags, ['\\Seen']);
    assert.deepEqual(await client.search({ seen: false }), [2, 3]);
    assert.deepEqual(await client.search({ subject: 'message 2' }, { uid: true }), [uids[1]]);

    const appended = await client.append('Drafts', message(9), ['\\Draft'], new Date(Date.UTC(2022, 4, 1)));
    assert.ok(appended !== false);
    assert.equal(appended.uid, uidsOf(server, 'Drafts')[0]);
    assert.equal(appended.uidValidity, BigInt(server.store.folder(IVANOV, 'Drafts')!.uidValidity));

    const copied = await client.messageCopy('1:2', 'Trash');
    assert.ok(copied !== false);
    const trashUids = uidsOf(server, 'Trash');
    assert.deepEqual([...copied.uidMap!.entries()], [[uids[0], trashUids[0]], [uids[1], trashUids[1]]]);

    const moved = await client.messageMove(String(uids[2]), 'Junk', { uid: true });
    assert.ok(moved !== false);
    assert.deepEqual([...moved.uidMap!.entries()], [[uids[2], uidsOf(server, 'Junk')[0]]]);
    assert.deepEqual(uidsOf(server), [uids[0], uids[1]]);
    assert.equal(client.mailbox && client.mailbox.exists, 2, 'imapflow followed the EXPUNGE');

    const status = await client.status('Trash', { messages: true, unseen: true, uidNext: true });
    assert.ok(status !== false);
    assert.equal(status.messages, 2);
    assert.equal(status.unseen, 1);

    await client.messageDelete('1');
    assert.deepEqual(uidsOf(server), [uids[1]]);
  } finally {
    await client.logout();
  }
});

test('imapflow: folder management, and IMAPS', async () => {
  const client = await flow(server, { kind: 'imaps' });
  try {
    assert.equal(client.secureConnection, true);
    const created = await client.mailboxCreate(['Projects', 'Alpha']);
    assert.equal(created.path, 'Projects/Alpha');
    await client.mailboxRename('Projects/Alpha', 'Projects/Beta');
    await client.mailboxUnsubscribe('Projects/Beta');
    const list = await client.list();
    const beta = list.find((m) => m.path === 'Projects/Beta');
    assert.ok(beta);
    assert.notEqual(beta.subscribed, true);
    assert.equal(server.store.listFolders(IVANOV).find((f) => f.name === 'Projects/Beta')!.subscribed, false);
    assert.ok(list.some((m) => m.path === 'Projects' && m.flags.has('\\HasChildren')));
    await client.mailboxDelete('Projects/Beta');
    assert.ok(!(await client.list()).some((m) => m.path === 'Projects/Beta'));
  } finally {
    await client.logout();
  }
});

test('IDLE (imapflow and a raw client) sees * N EXISTS within 1 s of a delivery over SMTP from another connection', async () => {
  await deliver(server, message(1));
  // imapflow: IDLE is on once the server's "+ idling" has arrived (its debug log says so).
  let idleStarted!: () => void;
  const idling = new Promise<void>((resolve) => (idleStarted = resolve));
  const log = (entry: { msg?: string }): void => {
    if (typeof entry.msg === 'string' && entry.msg.startsWith('Initiated IDLE')) idleStarted();
  };
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.port('imap'),
    secure: false,
    auth: { user: IVANOV, pass: IVANOV_PASSWORD },
    tls: { rejectUnauthorized: false },
    logger: { debug: log, info: log, warn: () => {}, error: () => {} },
  });
  client.on('error', () => {});
  await client.connect();
  const raw = await ImapClient.connect(server.port('imap'));
  try {
    await client.mailboxOpen('INBOX');
    const idle = client.idle();
    await idling;

    await raw.greeting();
    await raw.login(IVANOV, IVANOV_PASSWORD);
    await raw.ok('SELECT INBOX');
    raw.write('r1 IDLE\r\n');
    assert.equal((await raw.response()).text, '+ idling');

    const exists = eventually<{ count: number }>((cb) => {
      client.on('exists', cb);
      return () => client.off('exists', cb);
    }, (e) => e.count === 2, 1000, 'imapflow exists event');
    const sent = Date.now();
    await sendSmtp(message(2));
    const rawExists = (async () => {
      assert.equal((await raw.response(1000)).text, '* 2 EXISTS');
      return Date.now();
    })();
    await exists;
    const flowMs = Date.now() - sent;
    const rawMs = (await rawExists) - sent;
    assert.ok(flowMs <= 1000 && rawMs <= 1000, `EXISTS after ${flowMs} / ${rawMs} ms`);
    raw.write('DONE\r\n');
    assert.equal((await raw.until('r1')).status, 'OK');
    await client.mailboxClose(); // breaks imapflow's IDLE
    await idle;
  } finally {
    raw.close();
    await client.logout();
  }
});
