/**
 * A full disk and a failing fsync (issue 6): simulated through the log's test
 * fault hooks, since no portable way exists to fill a disk on demand.
 * - ENOSPC on write: the appends in flight are refused (ERR_STORE_FULL →
 *   SMTP 452 4.3.1, IMAP NO [OVERQUOTA]); writing resumes by itself once
 *   space is back; after a restart exactly the acknowledged messages exist.
 * - EIO on fsync: refused (ERR_STORE_IO → 451 4.3.0) and the store stays
 *   read-only until restart (the page cache can no longer be trusted);
 *   every acknowledged message survives the restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPostlineError } from '../../src/core/errors.js';
import type { LogFaults } from '../../src/store/log/log.js';
import { openTestStore, sampleMessage } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { startTestServer } from '../helpers/server.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { ImapClient } from '../helpers/imap-client.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** Fails writes (ENOSPC) or fsyncs (EIO) while switched on; counts what it was asked. */
class Faults implements LogFaults {
  diskFull = false;
  fsyncBroken = false;
  /** Only creating the next segment fails. */
  rotationFull = false;
  /** Fail every write from this many writes on (for mid-burst failures). */
  failWritesAfter = Infinity;
  writes = 0;
  beforeWrite(): NodeJS.ErrnoException | null {
    this.writes++;
    return this.diskFull || this.writes > this.failWritesAfter ? errno('ENOSPC') : null;
  }
  beforeSync(): NodeJS.ErrnoException | null {
    return this.fsyncBroken ? errno('EIO') : null;
  }
  beforeRotate(): NodeJS.ErrnoException | null {
    return this.diskFull || this.rotationFull ? errno('ENOSPC') : null;
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const USER = 'user@example.org';

test('ENOSPC mid-burst: refused appends never come back, acknowledged ones all survive, writing resumes', async () => {
  const dir = tempDir('postline-full-');
  const faults = new Faults();
  let store = await openTestStore(dir.path, { faults, fullDiskRetryMs: 50 });
  try {
    const first = await store.deliver({ recipients: [USER], body: sampleMessage(0) });
    assert.equal(first.length, 1);

    // A burst of 300 concurrent deliveries; the disk fills after two more writes.
    faults.failWritesAfter = faults.writes + 2;
    const outcomes = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => store.deliver({ recipients: [USER], body: sampleMessage(i + 1) })));
    const acked = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i + 1] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    assert.ok(refused.length > 0 && acked.length > 0, `a mixed outcome (acked ${acked.length}, refused ${refused.length})`);
    for (const err of refused) assert.ok(isPostlineError(err, 'ERR_STORE_FULL'), `refused with ${String(err)}`);
    assert.ok(store.writeFailure && isPostlineError(store.writeFailure, 'ERR_STORE_FULL'));
    assert.equal(store.listMessages(USER, 'INBOX').length, 1 + acked.length);

    // Still full: a new append is refused at once.
    await assert.rejects(store.deliver({ recipients: [USER], body: sampleMessage(1000) }), (e: unknown) => isPostlineError(e, 'ERR_STORE_FULL'));

    // Space freed: the log takes appends again by itself.
    faults.failWritesAfter = Infinity;
    await waitFor('the log to be writable again', () => store.writeFailure === null);
    await store.deliver({ recipients: [USER], body: sampleMessage(2000) });

    await store.close();
    store = await openTestStore(dir.path);
    const subjects = await Promise.all(
      store.listMessages(USER, 'INBOX').map(async (m) => /Subject: message (\d+)/.exec((await store.readMessage(USER, 'INBOX', m.uid)).toString())![1]),
    );
    assert.deepEqual(subjects.map(Number).sort((a, b) => a - b), [0, ...acked, 2000].sort((a, b) => a - b), 'exactly the acknowledged messages after restart');
    assert.deepEqual(store.recovery.damage, [], 'no damage: the refused tail was cut cleanly');
  } finally {
    await store.close();
    dir.remove();
  }
});

test('ENOSPC when the next segment is created: refused, the old segment stays active, writing resumes in a new one', async () => {
  const dir = tempDir('postline-rotate-full-');
  const faults = new Faults();
  // Small segments, so a few messages force a rotation.
  let store = await openTestStore(dir.path, { faults, fullDiskRetryMs: 20, segmentSize: 16 * 1024 });
  try {
    let acked = 0;
    faults.rotationFull = true;
    // Messages fit into segment 1 until one needs a new segment, which the full disk refuses.
    let refusal: unknown = null;
    while (refusal === null) {
      await store.deliver({ recipients: [USER], body: sampleMessage(acked) }).then(
        () => void acked++,
        (e: unknown) => void (refusal = e),
      );
      assert.ok(acked < 1000, 'a rotation should have been needed long ago');
    }
    assert.ok(isPostlineError(refusal, 'ERR_STORE_FULL'), `refused with ${String(refusal)}`);
    assert.equal(store.stats().segments, 1, 'no half-made segment');
    faults.rotationFull = false;
    await waitFor('the log to be writable again', () => store.writeFailure === null);
    await store.deliver({ recipients: [USER], body: sampleMessage(5000) });
    assert.equal(store.stats().segments, 2);
    await store.close();
    store = await openTestStore(dir.path, { segmentSize: 16 * 1024 });
    assert.equal(store.listMessages(USER, 'INBOX').length, acked + 1);
    assert.deepEqual(store.recovery.damage, []);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('fsync failure: refused, the store stays read-only until restart, acknowledged messages survive', async () => {
  const dir = tempDir('postline-fsync-');
  const faults = new Faults();
  let store = await openTestStore(dir.path, { faults, fullDiskRetryMs: 20 });
  try {
    for (let i = 0; i < 5; i++) await store.deliver({ recipients: [USER], body: sampleMessage(i) });
    faults.fsyncBroken = true;
    await assert.rejects(store.deliver({ recipients: [USER], body: sampleMessage(5) }), (e: unknown) => isPostlineError(e, 'ERR_STORE_IO'));
    faults.fsyncBroken = false;
    // Unlike a full disk, nothing brings the log back: a later fsync could lie about what reached the disk.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(store.writeFailure && isPostlineError(store.writeFailure, 'ERR_STORE_IO'));
    await assert.rejects(store.deliver({ recipients: [USER], body: sampleMessage(6) }), (e: unknown) => isPostlineError(e, 'ERR_STORE_IO'));
    await store.close();
    store = await openTestStore(dir.path);
    assert.equal(store.writeFailure, null);
    const count = store.listMessages(USER, 'INBOX').length;
    // The record whose fsync failed may or may not be on disk; the five acknowledged ones are.
    assert.ok(count === 5, `expected the 5 acknowledged messages, found ${count}`);
    await store.deliver({ recipients: [USER], body: sampleMessage(7) });
  } finally {
    await store.close();
    dir.remove();
  }
});

test('SMTP answers 452 4.3.1 on a full disk and 250 once space is back; IMAP APPEND gets NO [OVERQUOTA]', async () => {
  const faults = new Faults();
  const server = await startTestServer('', { storeFaults: { faults, fullDiskRetryMs: 50 } });
  const send = async (client: RawSmtp, n: number): Promise<string> => {
    assert.equal((await client.cmd('MAIL FROM:<someone@remote.test>')).code, 250);
    assert.equal((await client.cmd('RCPT TO:<ivanov@example.org>')).code, 250);
    assert.equal((await client.cmd('DATA')).code, 354);
    return (await client.cmd(`Subject: full disk ${n}\r\n\r\nbody ${n}\r\n.`)).lines.join('\n');
  };
  const smtp = await RawSmtp.connect(server.port('smtp'));
  try {
    await smtp.reply();
    await smtp.cmd('EHLO client.test');
    assert.match(await send(smtp, 1), /^250 /);

    faults.diskFull = true;
    assert.match(await send(smtp, 2), /^452 4\.3\.1 /);
    // The session goes on: the client may try again on the same connection.
    assert.match(await send(smtp, 3), /^452 4\.3\.1 /);

    const imap = await ImapClient.connect(server.port('imap'));
    try {
      await imap.greeting();
      assert.equal((await imap.login('ivanov@example.org', 'ivanov-secret')).status, 'OK');
      const body = 'Subject: appended\r\n\r\nhello\r\n';
      const appended = await imap.command(`APPEND INBOX {${body.length}+}\r\n${body}`);
      assert.equal(appended.status, 'NO');
      assert.match(appended.text, /^\[OVERQUOTA\]/);
    } finally {
      imap.close();
    }

    faults.diskFull = false;
    await waitFor('the store to be writable again', () => server.store.writeFailure === null);
    assert.match(await send(smtp, 4), /^250 /);
    const inbox = server.store.listMessages('ivanov@example.org', 'INBOX');
    const texts = await Promise.all(inbox.map(async (m) => (await server.store.readMessage('ivanov@example.org', 'INBOX', m.uid)).toString()));
    assert.deepEqual(texts.map((t) => /Subject: full disk (\d+)/.exec(t)?.[1]).filter(Boolean), ['1', '4']);
    assert.equal((await smtp.cmd('QUIT')).code, 221);
  } finally {
    smtp.close();
    await server.stop();
  }
});
