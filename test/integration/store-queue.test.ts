import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore, sampleMessage, noise } from '../helpers/store.js';

const entry = (id: string, recipients: string[], n = 1) => ({ id, sender: 'ivanov@example.org', recipients, arrived: 1_700_000_000_000 + n, body: sampleMessage(n) });

test('queue entries keep per-recipient state through attempts and outcomes, and leave the queue when all are done', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    await store.enqueue(entry('q1', ['a@x.com', 'b@x.com', 'c@y.com']));
    await store.enqueue({ ...entry('q2', ['d@z.com'], 2), sender: null });
    assert.deepEqual(store.queueItems().map((q) => q.id).sort(), ['q1', 'q2']);
    assert.equal(store.queueItem('q2')!.sender, null);
    assert.ok((await store.readQueueBody('q1')).equals(sampleMessage(1)));

    await store.recordQueueAttempt('q1', 1, 1_700_000_060_000, [['c@y.com', '451 4.3.0 try later']]);
    await store.recordQueueDone('q1', [['a@x.com', 'delivered', '250 ok'], ['b@x.com', 'bounced', '550 5.1.1 no such user']]);
    const q1 = store.queueItem('q1')!;
    assert.deepEqual(q1.pending, ['c@y.com']);
    assert.equal(q1.attempts, 1);
    assert.equal(q1.nextAttempt, 1_700_000_060_000);
    assert.equal(q1.lastError['c@y.com'], '451 4.3.0 try later');
    assert.deepEqual(q1.done.map((d) => d.outcome), ['delivered', 'bounced']);

    await store.recordQueueDone('q1', [['c@y.com', 'delivered', '250 ok']]);
    assert.equal(store.queueItem('q1'), undefined);
    await assert.rejects(store.readQueueBody('q1'), /no queued message/);
    // Outcomes for unknown entries or recipients are ignored, not errors.
    await store.recordQueueDone('nope', [['x@x', 'delivered', '']]);
    await store.recordQueueDone('q2', [['not-a-recipient@z.com', 'delivered', '']]);
    assert.deepEqual(store.queueItem('q2')!.pending, ['d@z.com']);
  } finally {
    await store.close();
    dir.remove();
  }
});

for (const withCheckpoint of [true, false]) {
  test(`the queue survives a restart (${withCheckpoint ? 'from a checkpoint' : 'full replay'})`, async () => {
    const dir = tempDir();
    let store = await openTestStore(dir.path);
    try {
      await store.enqueue(entry('q1', ['a@x.com', 'b@x.com']));
      await store.enqueue(entry('q2', ['c@x.com'], 2));
      await store.recordQueueAttempt('q1', 2, 123_456, [['b@x.com', '421 busy']]);
      await store.recordQueueDone('q1', [['a@x.com', 'delivered', '250 ok']]);
      await store.recordQueueDone('q2', [['c@x.com', 'delivered', '250 ok']]);
      await store.close();
      if (!withCheckpoint) rmSync(join(dir.path, 'index', 'checkpoint'));
      store = await openTestStore(dir.path);
      const items = store.queueItems();
      assert.deepEqual(items.map((q) => q.id), ['q1']);
      assert.deepEqual(items[0]!.pending, ['b@x.com']);
      assert.equal(items[0]!.attempts, 2);
      assert.equal(items[0]!.nextAttempt, 123_456);
      assert.ok((await store.readQueueBody('q1')).equals(sampleMessage(1)));
    } finally {
      await store.close();
      dir.remove();
    }
  });
}

test('compaction drops the records of finished queue entries and moves live ones', async () => {
  const dir = tempDir();
  let store = await openTestStore(dir.path, { segmentSize: 64 * 1024 });
  try {
    const big = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\n${noise(6000, n)}\r\n`);
    for (let n = 0; n < 30; n++) await store.enqueue({ id: `q${n}`, sender: 'a@example.org', recipients: ['r@remote.example'], arrived: n, body: big(n) });
    // Finish all but a few, spread over the sealed segments.
    const live = new Set(['q3', 'q17', 'q29']);
    for (let n = 0; n < 30; n++) if (!live.has(`q${n}`)) await store.recordQueueDone(`q${n}`, [['r@remote.example', 'delivered', '250']]);
    const before = store.stats().logBytes;
    const report = await store.compact({ minGarbageRatio: 0.2 });
    assert.ok(report.segments > 0, 'some segment was compacted');
    assert.ok(store.stats().logBytes < before, 'space was reclaimed');
    for (const id of live) assert.ok((await store.readQueueBody(id)).equals(big(Number(id.slice(1)))), id);
    await store.close();
    rmSync(join(dir.path, 'index', 'checkpoint'));
    store = await openTestStore(dir.path, { segmentSize: 64 * 1024 });
    assert.deepEqual(store.queueItems().map((q) => q.id).sort(), [...live].sort());
    for (const id of live) assert.ok((await store.readQueueBody(id)).equals(big(Number(id.slice(1)))), id);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('a finished entry whose segment is not compacted stays finished when a later segment is (queueDone records are kept)', async () => {
  const dir = tempDir();
  let store = await openTestStore(dir.path, { segmentSize: 64 * 1024 });
  try {
    const big = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\n${noise(6000, n)}\r\n`);
    // Segment 1: the entry plus live mail (little garbage, so it is not rewritten).
    await store.enqueue({ id: 'early', sender: 'a@example.org', recipients: ['r@remote.example'], arrived: 0, body: big(0) });
    for (let n = 1; n < 9; n++) await store.deliver({ recipients: ['keep@example.org'], body: big(n) });
    // Later segments: garbage, then the outcome of 'early'.
    for (let n = 10; n < 30; n++) await store.enqueue({ id: `g${n}`, sender: 'a@example.org', recipients: ['r@remote.example'], arrived: n, body: big(n) });
    for (let n = 10; n < 30; n++) await store.recordQueueDone(`g${n}`, [['r@remote.example', 'delivered', '250']]);
    await store.recordQueueDone('early', [['r@remote.example', 'delivered', '250']]);
    for (let n = 30; n < 40; n++) await store.deliver({ recipients: ['keep@example.org'], body: big(n) }); // seal the segment holding the outcome
    await store.compact({ minGarbageRatio: 0.5 });
    await store.close();
    rmSync(join(dir.path, 'index', 'checkpoint'));
    store = await openTestStore(dir.path, { segmentSize: 64 * 1024 });
    assert.equal(store.queueItem('early'), undefined, 'a delivered message must not come back');
    assert.equal(store.queueItems().length, 0);
  } finally {
    await store.close();
    dir.remove();
  }
});
