/**
 * What an IMAP client sees survives a restart and online compaction:
 * folders and subscriptions, UIDVALIDITY, UIDs and UIDNEXT, flags and
 * keywords, message bytes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { noise } from '../../helpers/store.js';
import type { ImapClient } from '../../helpers/imap-client.js';
import { deliver, IVANOV, logout, message, session, uidsOf } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

/** Everything a client could compare across a restart, as the server reports it. */
async function snapshot(c: ImapClient): Promise<Record<string, unknown>> {
  const list = await c.ok('LIST "" * RETURN (SUBSCRIBED)');
  const folders: Record<string, unknown> = {};
  for (const name of ['INBOX', 'Projects/2024']) {
    const select = await c.ok(`SELECT ${name}`);
    const fetch = await c.command('FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])');
    assert.equal(fetch.status, 'OK', fetch.tagged);
    folders[name] = {
      // RECENT is per session; everything else must match.
      select: select.filter((l) => !l.endsWith(' RECENT')),
      fetch: fetch.untagged.map((u) => u.text),
    };
  }
  await c.ok('UNSELECT');
  return { list, folders };
}

test('folders, subscriptions, UIDVALIDITY, UIDs, UIDNEXT, flags, keywords and bytes survive a restart and compaction', async () => {
  let c = await session(server);
  await c.ok('CREATE Projects/2024');
  await c.ok('UNSUBSCRIBE Projects');
  await c.command(`APPEND Projects/2024 (\\Seen $Work) "01-Mar-2024 08:00:00 +0100" {${message(1).length}+}\r\n${message(1).toString('latin1')}`);
  await c.command(`APPEND Projects/2024 {${message(2).length}+}\r\n${message(2).toString('latin1')}`);
  // Enough incompressible mail to seal a 4 MB segment, most of it deleted afterwards: garbage for compaction.
  const filler: number[] = [];
  for (let n = 0; n < 60; n++) filler.push(await deliver(server, Buffer.from(`Subject: filler ${n}\r\n\r\n${noise(100_000, n)}\r\n`)));
  const keep = [await deliver(server, message(3)), await deliver(server, message(4))];
  await c.ok('SELECT INBOX');
  await c.ok(`UID STORE ${keep[0]} +FLAGS (\\Answered \\Flagged)`);
  await c.ok(`UID STORE ${filler.slice(0, 55).join(',')} +FLAGS.SILENT (\\Deleted)`);
  await c.ok('EXPUNGE');
  await c.ok(`UID STORE ${filler[55]} +FLAGS ($Kept)`);
  const before = await snapshot(c);
  const folders = before.folders as Record<string, { fetch: string[] }>;
  assert.equal(folders.INBOX!.fetch.length, 7, 'five fillers and two messages left in INBOX');
  assert.match(folders['Projects/2024']!.fetch[0]!, /FLAGS \(\\Seen \$Work\) RFC822\.SIZE \d+ INTERNALDATE " 1-Mar-2024 07:00:00 \+0000" BODY\[\]/);
  const inboxBefore = server.store.folder(IVANOV, 'INBOX')!;
  const validity = inboxBefore.uidValidity;
  const uidNext = inboxBefore.uidNext;
  await logout(c);

  await server.restart();
  c = await session(server);
  assert.deepEqual(await snapshot(c), before, 'identical after a restart');
  assert.equal(server.store.folder(IVANOV, 'INBOX')!.uidValidity, validity);

  // Compaction, online, while a session has INBOX selected.
  await c.ok('SELECT INBOX');
  const report = await server.store.compact({ minGarbageRatio: 0.3 });
  assert.ok(report.segments > 0, 'a segment was rewritten');
  assert.ok(report.bytesAfter < report.bytesBefore);
  const after = await snapshot(c);
  assert.deepEqual(after, before, 'identical after compaction, in the same session');
  await logout(c);

  await server.restart();
  c = await session(server);
  assert.deepEqual(await snapshot(c), before, 'identical after compaction and a restart');
  assert.equal(server.store.folder(IVANOV, 'INBOX')!.uidNext, uidNext, 'UIDNEXT never goes back');
  // A new message gets a new UID, above every UID ever used.
  const fresh = await deliver(server, message(5));
  assert.ok(fresh >= uidNext);
  assert.deepEqual(uidsOf(server).slice(-1), [fresh]);
  await logout(c);
});
