import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/tmp.js';
import { noise, openTestStore, sampleMessage } from '../helpers/store.js';
import { parseMessage } from '../../src/codec/mime/index.js';
import { isPostlineError } from '../../src/core/errors.js';
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { segmentFileName } from '../../src/store/log/segment.js';

test('readMessages reads many messages in one go, in the order asked, null for unknown uids', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    for (let i = 0; i < 300; i++) await store.deliver({ recipients: ['ivanov@example.org'], body: sampleMessage(i) });
    await store.expunge('ivanov@example.org', 'INBOX', [5]);
    const uids = [300, 1, 5, 150, 2, 9999, 299];
    const bodies = await store.readMessages('ivanov@example.org', 'INBOX', uids);
    assert.equal(bodies.length, uids.length);
    uids.forEach((uid, k) => {
      if (uid === 5 || uid === 9999) assert.equal(bodies[k], null);
      else assert.ok(bodies[k]!.equals(sampleMessage(uid - 1)), `uid ${uid}`);
    });
    // 300 at once (coalesced reads): the same bytes as one by one.
    const all = await store.readMessages('ivanov@example.org', 'INBOX', Array.from({ length: 300 }, (_, i) => i + 1));
    assert.equal(all.filter((b) => b !== null).length, 299);
    all.forEach((b, k) => assert.ok(k === 4 ? b === null : b!.equals(sampleMessage(k)), `uid ${k + 1}`));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('readMessages: compressed and raw-stored bodies mixed in one batch come back as readMessage gives them', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    // Even: compressible text; odd: random bytes, which the log stores uncompressed; one empty body.
    const bodies = Array.from({ length: 40 }, (_, i) => (i === 7 ? Buffer.alloc(0) : i % 2 === 0 ? sampleMessage(i) : Buffer.from(noise(2000 + i, i), 'base64')));
    for (const body of bodies) await store.deliver({ recipients: ['ivanov@example.org'], body });
    const uids = bodies.map((_, i) => i + 1);
    const batch = await store.readMessages('ivanov@example.org', 'INBOX', uids);
    for (const uid of uids) {
      const one = await store.readMessage('ivanov@example.org', 'INBOX', uid);
      assert.ok(one.equals(bodies[uid - 1]!), `uid ${uid} alone`);
      assert.ok(batch[uid - 1]!.equals(one), `uid ${uid} in the batch`);
    }
  } finally {
    await store.close();
    dir.remove();
  }
});

test('readMimeInfo gives the MIME structure of each message (parsed on first use, in the pool for batches), the same after reopening', async () => {
  const dir = tempDir();
  const body = Buffer.from(
    'From: "Ivanov, Ivan" <ivanov@example.org>\r\nTo: kozlov@example.com\r\nSubject: =?utf-8?B?0J/RgNC40LLQtdGC?=\r\nMessage-ID: <1@x>\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n' +
      '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n',
  );
  let store = await openTestStore(dir.path);
  try {
    await store.deliver({ recipients: ['kozlov@example.com'], body });
    await store.deliver({ recipients: ['kozlov@example.com'], body: sampleMessage(1) });
    const check = async () => {
      const [a, b, missing] = await store.readMimeInfo('kozlov@example.com', 'INBOX', [1, 2, 3]);
      assert.deepEqual(a, parseMessage(body));
      assert.equal(a!.root.type, 'multipart');
      assert.equal(a!.root.children.length, 2);
      assert.equal(a!.envelope.subject, '=?utf-8?B?0J/RgNC40LLQtdGC?=');
      assert.deepEqual(b, parseMessage(sampleMessage(1)));
      assert.equal(missing, null);
    };
    await check();
    await store.close();
    store = await openTestStore(dir.path);
    await check();
  } finally {
    await store.close();
    dir.remove();
  }
});

test('readMimeInfo of a large batch (parsed in the worker pool) equals parsing each message', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    for (let i = 0; i < 40; i++) await store.deliver({ recipients: ['kozlov@example.com'], body: sampleMessage(i) });
    const uids = Array.from({ length: 40 }, (_, i) => i + 1);
    const infos = await store.readMimeInfo('kozlov@example.com', 'INBOX', uids);
    infos.forEach((info, i) => assert.deepEqual(info, parseMessage(sampleMessage(i))));
    // Second call: from the cache, same answers.
    assert.deepEqual(await store.readMimeInfo('kozlov@example.com', 'INBOX', uids), infos);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('readMessageBatch decodes each body when first asked for, in any order, the same bytes as readMessages', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    for (let i = 0; i < 100; i++) await store.deliver({ recipients: ['ivanov@example.org'], body: i % 3 === 0 ? Buffer.from(noise(5000 + i, i), 'base64') : sampleMessage(i) });
    await store.expunge('ivanov@example.org', 'INBOX', [50]);
    const uids = Array.from({ length: 100 }, (_, i) => i + 1);
    const all = await store.readMessages('ivanov@example.org', 'INBOX', uids);
    const batch = await store.readMessageBatch('ivanov@example.org', 'INBOX', uids);
    // Backwards, with runs that reach into bodies already decoded and past the end.
    for (let k = 99; k >= 0; k -= 3) assert.deepEqual(batch.body(k, 5), all[k], `message ${k + 1}`);
    for (let k = 0; k < 100; k++) assert.deepEqual(batch.body(k, 16), all[k], `message ${k + 1}`);
    assert.equal(batch.body(49), null);
    assert.throws(() => batch.body(100), RangeError);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('a record damaged on disk while the store runs is refused in a batch as it is alone', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    for (let i = 0; i < 40; i++) await store.deliver({ recipients: ['ivanov@example.org'], body: sampleMessage(i) });
    const loc = store.folder('ivanov@example.org', 'INBOX')!.location(19);
    // Bit rot under a running server: one byte in the middle of message 20's record.
    const fd = openSync(join(dir.path, 'log', segmentFileName(loc.seg)), 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, loc.off + Math.floor(loc.len / 2));
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, loc.off + Math.floor(loc.len / 2));
    closeSync(fd);
    const uids = Array.from({ length: 40 }, (_, i) => i + 1);
    await assert.rejects(store.readMessages('ivanov@example.org', 'INBOX', uids), (e: unknown) => isPostlineError(e, 'ERR_STORE_CRC'));
    await assert.rejects(store.readMessage('ivanov@example.org', 'INBOX', 20), (e: unknown) => isPostlineError(e, 'ERR_STORE_CRC'));
    // The others still read, in a batch too.
    const others = await store.readMessages('ivanov@example.org', 'INBOX', uids.filter((u) => u !== 20));
    others.forEach((b, k) => assert.ok(b!.equals(sampleMessage(k < 19 ? k : k + 1))));
    // Decoded on demand: only message 20 fails, whether it is decoded alone or in a run with its neighbours.
    for (const run of [1, 8, 40]) {
      const batch = await store.readMessageBatch('ivanov@example.org', 'INBOX', [...uids, 9999]);
      assert.equal(batch.length, 41);
      for (let k = 0; k < 40; k++) {
        if (k === 19) assert.throws(() => batch.body(k, run), (e: unknown) => isPostlineError(e, 'ERR_STORE_CRC'), `run ${run}`);
        else assert.ok(batch.body(k, run)!.equals(sampleMessage(k)), `message ${k + 1}, run ${run}`);
      }
      assert.throws(() => batch.body(19, run), (e: unknown) => isPostlineError(e, 'ERR_STORE_CRC'), 'asked again: still refused');
      assert.equal(batch.body(40, run), null, 'not in the folder');
    }
  } finally {
    await store.close();
    dir.remove();
  }
});
