import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Maildrop } from '../../../../src/protocol/pop3/maildrop.js';
import { MaildropLock } from '../../../../src/protocol/pop3/maildrop-lock.js';

function inbox(uids: number[], sizes: number[]) {
  // Typed arrays with spare capacity, like the store's folder index.
  const u = new Uint32Array(uids.length + 4);
  const s = new Uint32Array(uids.length + 4);
  u.set(uids);
  s.set(sizes);
  return { uidValidity: 1700000000, uids: u, size: s, count: uids.length };
}

test('Maildrop: numbering, marks, listings and unique ids', () => {
  const view = inbox([3, 7, 9], [100, 200, 300]);
  const md = new Maildrop('ivanov@example.org', view, () => {});
  view.uids[0] = 99; // the live view changing does not touch the snapshot
  assert.equal(md.messages, 3);
  assert.deepEqual(md.totals(), { count: 3, octets: 600 });
  assert.deepEqual(md.lookup(2), { ok: true, slot: 1 });
  assert.deepEqual(md.lookup(0), { ok: false, why: 'no-such-message' });
  assert.deepEqual(md.lookup(4), { ok: false, why: 'no-such-message' });
  assert.equal(md.uid(0), 3);
  assert.equal(md.uniqueId(1), '1700000000.7');
  md.markDeleted(1);
  md.markRetrieved(0);
  md.markRetrieved(1);
  assert.deepEqual(md.lookup(2), { ok: false, why: 'deleted' });
  assert.deepEqual(md.totals(), { count: 2, octets: 400 });
  assert.deepEqual(md.scanListing(), ['1 100', '3 300']);
  assert.deepEqual(md.uidListing(), ['1 1700000000.3', '3 1700000000.9']);
  assert.deepEqual(md.deletedUids(), [7]);
  assert.deepEqual(md.seenUids(), [3], 'a deleted message is not flagged');
  md.reset();
  assert.deepEqual(md.deletedUids(), []);
  assert.deepEqual(md.totals(), { count: 3, octets: 600 });
});

test('MaildropLock: one holder per owner; release is idempotent and only frees its own lock', () => {
  const locks = new MaildropLock();
  const a = locks.tryAcquire('ivanov@example.org', 'conn-a');
  assert.ok(a);
  assert.equal(locks.tryAcquire('ivanov@example.org', 'conn-b'), null);
  assert.equal(locks.holder('ivanov@example.org'), 'conn-a');
  const p = locks.tryAcquire('petrov@example.org', 'conn-b');
  assert.ok(p);
  a();
  const b = locks.tryAcquire('ivanov@example.org', 'conn-b');
  assert.ok(b);
  a(); // a second release of an old lock must not free the new holder's
  assert.equal(locks.holder('ivanov@example.org'), 'conn-b');
  b();
  p();
  assert.equal(locks.size, 0);
});
