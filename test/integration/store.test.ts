import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore, sampleMessage, noise } from '../helpers/store.js';
import { isPostlineError } from '../../src/core/errors.js';

test('delivered messages read back byte-identical, with increasing uids', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    const uids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [p] = await store.deliver({ recipients: ['Ivanov@Example.org'], body: sampleMessage(i) });
      assert.equal(p!.address, 'ivanov@example.org');
      assert.equal(p!.folder, 'INBOX');
      uids.push(p!.uid);
    }
    assert.deepEqual(uids, Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 0; i < 20; i++) assert.ok((await store.readMessage('ivanov@example.org', 'INBOX', i + 1)).equals(sampleMessage(i)));
    const folders = store.listFolders('ivanov@example.org').map((f) => f.name);
    assert.deepEqual(folders, ['INBOX', 'Drafts', 'Junk', 'Sent', 'Trash']);
    await assert.rejects(store.readMessage('ivanov@example.org', 'INBOX', 99), (e) => isPostlineError(e, 'ERR_MESSAGE_NOT_FOUND'));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('a message to several local users is stored once and placed in each INBOX', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    await store.deliver({ recipients: ['a@x.org'], body: sampleMessage(0) });
    const before = store.stats().logBytes;
    const placements = await store.deliver({ recipients: ['a@x.org', 'b@x.org', 'A@x.org'], body: sampleMessage(1, 'x'.repeat(5000)) });
    assert.deepEqual(
      placements.map((p) => [p.address, p.uid]),
      [
        ['a@x.org', 2],
        ['b@x.org', 1],
      ],
    );
    assert.ok(store.stats().logBytes - before < 3000, 'one compressed copy, plus folder records for b');
    assert.ok((await store.readMessage('b@x.org', 'INBOX', 1)).equals(sampleMessage(1, 'x'.repeat(5000))));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('flags, expunge and folder operations persist across restart', async () => {
  const dir = tempDir();
  let store = await openTestStore(dir.path);
  const u = 'petrov@example.org';
  for (let i = 0; i < 10; i++) await store.deliver({ recipients: [u], body: sampleMessage(i) });
  await store.setFlags(u, 'INBOX', [1, 2, 3], '+', ['\\Seen', 'Work']);
  await store.setFlags(u, 'INBOX', [2], '-', ['Work']);
  await store.setFlags(u, 'INBOX', [4, 5], '=', ['\\Deleted']);
  assert.deepEqual(await store.expunge(u, 'INBOX'), [4, 5]);
  await store.createFolder(u, 'Projects');
  await store.createFolder(u, 'Old');
  await store.renameFolder(u, 'Old', 'Archive/2025');
  await store.subscribe(u, 'Archive/2025', false);
  await store.deliver({ recipients: [u], folder: 'Projects', body: sampleMessage(100), flags: ['\\Flagged'] });
  await store.createFolder(u, 'Doomed');
  await store.deliver({ recipients: [u], folder: 'Doomed', body: sampleMessage(200) });
  await store.deleteFolder(u, 'Doomed');
  const validity = store.listFolders(u).map((f) => [f.name, f.uidValidity]);
  await assert.rejects(store.createFolder(u, 'Projects'), (e) => isPostlineError(e, 'ERR_MAILBOX_EXISTS'));
  await assert.rejects(store.deleteFolder(u, 'INBOX'), (e) => isPostlineError(e, 'ERR_MAILBOX_INVALID'));
  await assert.rejects(store.createFolder(u, 'bad*name'), (e) => isPostlineError(e, 'ERR_MAILBOX_INVALID'));
  await assert.rejects(store.deliver({ recipients: [u], folder: 'Nope', body: sampleMessage(1) }), (e) => isPostlineError(e, 'ERR_MAILBOX_NOT_FOUND'));

  const check = async () => {
    const inbox = store.listMessages(u, 'INBOX');
    assert.deepEqual(
      inbox.map((m) => m.uid),
      [1, 2, 3, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(inbox[0]!.flags, ['\\Seen', 'Work']);
    assert.deepEqual(inbox[1]!.flags, ['\\Seen']);
    assert.deepEqual(inbox[3]!.flags, []);
    const folders = store.listFolders(u);
    assert.deepEqual(
      folders.map((f) => [f.name, f.uidValidity]),
      validity,
    );
    assert.equal(folders.find((f) => f.name === 'Archive/2025')!.subscribed, false);
    assert.equal(folders.find((f) => f.name === 'INBOX')!.uidNext, 11);
    assert.equal(folders.find((f) => f.name === 'INBOX')!.unseen, 5);
    assert.equal(store.folder(u, 'Doomed'), undefined);
    assert.deepEqual(store.listMessages(u, 'Projects')[0]!.flags, ['\\Flagged']);
    assert.ok((await store.readMessage(u, 'Projects', 1)).equals(sampleMessage(100)));
  };
  await check();
  // Restart with a checkpoint (clean close), then without one (full replay).
  await store.close();
  store = await openTestStore(dir.path);
  assert.match(store.recovery.checkpoint, /^segment /);
  await check();
  await store.close();
  for (const name of readdirSync(join(dir.path, 'index'))) if (name === 'checkpoint') statSync(join(dir.path, 'index', name));
  const { rmSync } = await import('node:fs');
  rmSync(join(dir.path, 'index', 'checkpoint'));
  store = await openTestStore(dir.path);
  assert.equal(store.recovery.checkpoint, 'no checkpoint');
  await check();
  // New uids continue after the highest ever used, even after expunging the last ones.
  await store.setFlags(u, 'INBOX', [10], '+', ['\\Deleted']);
  await store.expunge(u, 'INBOX');
  await store.close();
  store = await openTestStore(dir.path);
  const [next] = await store.deliver({ recipients: [u], body: sampleMessage(11) });
  assert.equal(next!.uid, 11);
  await store.close();
  dir.remove();
});

test('uidNext never goes back after the highest message is expunged, even on full replay', async () => {
  const dir = tempDir();
  let store = await openTestStore(dir.path);
  for (let i = 0; i < 3; i++) await store.deliver({ recipients: ['a@x.org'], body: sampleMessage(i) });
  await store.expunge('a@x.org', 'INBOX', [3]);
  await store.close();
  const { rmSync } = await import('node:fs');
  rmSync(join(dir.path, 'index', 'checkpoint'));
  store = await openTestStore(dir.path);
  assert.equal(store.folder('a@x.org', 'INBOX')!.uidNext, 4);
  await store.close();
  dir.remove();
});

test('copy keeps body, flags and date; a copy survives expunge of the original', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    await store.deliver({ recipients: ['a@x.org'], body: sampleMessage(1), flags: ['\\Seen', 'Keep'], internalDate: Date.UTC(2020, 0, 2) });
    const pairs = await store.copy('a@x.org', 'INBOX', [1], 'a@x.org', 'Trash');
    assert.deepEqual(pairs, [[1, 1]]);
    await store.expunge('a@x.org', 'INBOX', [1]);
    const [m] = store.listMessages('a@x.org', 'Trash');
    assert.deepEqual(m!.flags, ['\\Seen', 'Keep']);
    assert.equal(m!.internalDate, Date.UTC(2020, 0, 2));
    assert.ok((await store.readMessage('a@x.org', 'Trash', 1)).equals(sampleMessage(1)));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('concurrent appends share fsyncs (group commit) and all land in order', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path, { threads: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => store.deliver({ recipients: ['a@x.org'], body: sampleMessage(i) })));
    const uids = results.map((r) => r[0]!.uid);
    assert.deepEqual(uids, Array.from({ length: 500 }, (_, i) => i + 1), 'uids follow call order');
    const stats = store.stats();
    assert.ok(stats.fsyncs < 250, `500 appends took ${stats.fsyncs} fsyncs`);
    for (const i of [0, 123, 499]) assert.ok((await store.readMessage('a@x.org', 'INBOX', i + 1)).equals(sampleMessage(i)));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('fsync=always and fsync=off both store and recover messages', async () => {
  for (const fsync of ['always', 'off'] as const) {
    const dir = tempDir();
    let store = await openTestStore(dir.path, { fsync });
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.deliver({ recipients: ['a@x.org'], body: sampleMessage(i) })));
    if (fsync === 'always') assert.ok(store.stats().fsyncs >= 30);
    else assert.equal(store.stats().fsyncs, 0);
    await store.close();
    store = await openTestStore(dir.path, { fsync });
    assert.equal(store.listMessages('a@x.org', 'INBOX').length, 30);
    assert.ok((await store.readMessage('a@x.org', 'INBOX', 30)).equals(sampleMessage(29)));
    await store.close();
    dir.remove();
  }
});

test('the log rotates into new segments of at most segmentSize', async () => {
  const dir = tempDir();
  const segmentSize = 64 * 1024;
  let store = await openTestStore(dir.path, { segmentSize });
  const big = (i: number) => sampleMessage(i, noise(6000, i));
  for (let i = 0; i < 60; i++) await store.deliver({ recipients: ['a@x.org'], body: big(i) });
  const segs = readdirSync(join(dir.path, 'log')).filter((n) => n.endsWith('.seg'));
  assert.ok(segs.length > 3, `expected several segments, got ${segs.length}`);
  for (const s of segs) assert.ok(statSync(join(dir.path, 'log', s)).size <= segmentSize);
  await store.close();
  store = await openTestStore(dir.path, { segmentSize });
  for (let i = 0; i < 60; i++) assert.ok((await store.readMessage('a@x.org', 'INBOX', i + 1)).equals(big(i)));
  await store.close();
  dir.remove();
});

test('a second store on the same data directory is refused', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    await assert.rejects(openTestStore(dir.path), (e) => isPostlineError(e, 'ERR_STORE_LOCKED'));
  } finally {
    await store.close();
    dir.remove();
  }
});

test('compaction reclaims expunged space online; everything else stays readable, before and after restart', async () => {
  const dir = tempDir();
  const segmentSize = 128 * 1024;
  let store = await openTestStore(dir.path, { segmentSize });
  const body = (i: number) => sampleMessage(i, noise(3000, i));
  const n = 200;
  for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => store.deliver({ recipients: ['a@x.org', 'b@x.org'], body: body(i + k) })));
  await store.setFlags('a@x.org', 'INBOX', [7, 8], '+', ['\\Flagged']);
  // Delete 3 of every 4 messages for both users; b keeps message 4 too.
  const doomedA = Array.from({ length: n }, (_, i) => i + 1).filter((uid) => uid % 4 !== 0);
  const doomedB = doomedA.filter((uid) => uid !== 5);
  await store.expunge('a@x.org', 'INBOX', doomedA);
  await store.expunge('b@x.org', 'INBOX', doomedB);
  const before = store.stats().logBytes;
  // Reads and writes continue while compaction runs.
  const during = Promise.all([
    store.compact({ minGarbageRatio: 0.3 }),
    ...Array.from({ length: 20 }, (_, k) => store.deliver({ recipients: ['c@x.org'], body: body(1000 + k) })),
    ...[4, 8, 12, 100, 200].map(async (uid) => assert.ok((await store.readMessage('a@x.org', 'INBOX', uid)).equals(body(uid - 1)))),
  ]);
  const [report] = await during;
  assert.ok(report.segments > 0, 'some segments were compacted');
  const after = store.stats().logBytes;
  assert.ok(after < before * 0.5, `log shrank from ${before} to ${after}`);
  const verify = async () => {
    const a = store.listMessages('a@x.org', 'INBOX');
    assert.equal(a.length, n / 4);
    for (const m of a) assert.ok((await store.readMessage('a@x.org', 'INBOX', m.uid)).equals(body(m.uid - 1)), `a uid ${m.uid}`);
    assert.ok((await store.readMessage('b@x.org', 'INBOX', 5)).equals(body(4)));
    assert.deepEqual(store.listMessages('a@x.org', 'INBOX').find((m) => m.uid === 8)!.flags, ['\\Flagged']);
    for (let k = 0; k < 20; k++) assert.ok((await store.readMessage('c@x.org', 'INBOX', k + 1)).equals(body(1000 + k)));
  };
  await verify();
  await store.close();
  store = await openTestStore(dir.path, { segmentSize });
  assert.match(store.recovery.checkpoint, /^segment /, 'compaction wrote a checkpoint that is still valid');
  await verify();
  await store.close();
  // Without the checkpoint, a full replay of the compacted log gives the same state.
  const { rmSync } = await import('node:fs');
  rmSync(join(dir.path, 'index', 'checkpoint'));
  store = await openTestStore(dir.path, { segmentSize });
  await verify();
  assert.equal(store.folder('a@x.org', 'INBOX')!.uidNext, n + 1);
  await store.close();
  dir.remove();
});

test('a checkpoint taken before a compaction is not trusted after it', async () => {
  const dir = tempDir();
  const segmentSize = 64 * 1024;
  let store = await openTestStore(dir.path, { segmentSize });
  const body = (i: number) => sampleMessage(i, noise(2000, i));
  for (let i = 0; i < 80; i++) await store.deliver({ recipients: ['a@x.org'], body: body(i) });
  await store.checkpoint();
  const { copyFileSync } = await import('node:fs');
  const cp = join(dir.path, 'index', 'checkpoint');
  copyFileSync(cp, `${cp}.old`);
  await store.expunge('a@x.org', 'INBOX', Array.from({ length: 60 }, (_, i) => i + 1));
  await store.compact({ minGarbageRatio: 0.2 });
  await store.close();
  // Simulate a crash between the compaction's rename and its new checkpoint.
  copyFileSync(`${cp}.old`, cp);
  store = await openTestStore(dir.path, { segmentSize });
  assert.match(store.recovery.checkpoint, /rewritten since/);
  const left = store.listMessages('a@x.org', 'INBOX');
  assert.equal(left.length, 20);
  for (const m of left) assert.ok((await store.readMessage('a@x.org', 'INBOX', m.uid)).equals(body(m.uid - 1)));
  await store.close();
  dir.remove();
});

test('change events report deliveries, flag changes and expunges after they are durable', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  const seen: string[] = [];
  store.onChange((c) => seen.push(c.kind === 'folders' ? `folders:${c.owner}` : `${c.kind}:${c.uids.join(',')}`));
  try {
    await store.deliver({ recipients: ['a@x.org'], body: sampleMessage(1) });
    await store.setFlags('a@x.org', 'INBOX', [1], '+', ['\\Seen']);
    await store.setFlags('a@x.org', 'INBOX', [1], '+', ['\\Seen']);
    await store.expunge('a@x.org', 'INBOX', [1]);
    assert.deepEqual(seen.filter((s) => !s.startsWith('folders')), ['added:1', 'flags:1', 'expunged:1']);
    assert.equal(seen.filter((s) => s.startsWith('folders')).length, 5);
  } finally {
    await store.close();
    dir.remove();
  }
});
