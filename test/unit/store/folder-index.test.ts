import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FolderIndex, FLAG_SEEN, FLAG_DELETED } from '../../../src/store/mailbox/folder-index.js';

function folder(): FolderIndex {
  return new FolderIndex({ box: 1, owner: 'a@x', name: 'INBOX', uidValidity: 100, uidNext: 1, subscribed: true, keywords: [] });
}
const loc = (off: number) => ({ seg: 1, off, len: 10 });

test('put keeps uids sorted, even out of order, and advances uidNext', () => {
  const f = folder();
  for (const uid of [1, 2, 5, 3, 9, 4]) f.put(uid, loc(uid * 100), uid, 1000 * uid, 0);
  assert.deepEqual([...f.uids.subarray(0, f.count)], [1, 2, 3, 4, 5, 9]);
  assert.equal(f.uidNext, 10);
  assert.equal(f.indexOf(4), 3);
  assert.equal(f.off[f.indexOf(4)], 400);
  assert.equal(f.indexOf(7), -1);
});

test('put on an existing uid relocates it without duplicating', () => {
  const f = folder();
  f.put(1, loc(100), 5, 0, FLAG_SEEN);
  f.put(1, loc(900), 5, 0, 0);
  assert.equal(f.count, 1);
  assert.equal(f.off[0], 900);
  assert.equal(f.flags[0], FLAG_SEEN, 'relocation keeps flags');
});

test('remove drops the given uids in one pass and never lowers uidNext', () => {
  const f = folder();
  for (let uid = 1; uid <= 100; uid++) f.put(uid, loc(uid), 1, 0, uid % 2 ? FLAG_DELETED : 0);
  const removed = f.remove([2, 50, 100, 1000]);
  assert.deepEqual(removed, [2, 50, 100]);
  assert.equal(f.count, 97);
  assert.equal(f.indexOf(50), -1);
  assert.equal(f.indexOf(51), 48);
  assert.equal(f.uidNext, 1001);
  assert.equal(f.countFlag(FLAG_DELETED), 50);
});

test('flag masks map system flags and allocate keyword bits up to the limit', () => {
  const f = folder();
  const bits = f.mask(['\\Seen', '\\Flagged', 'Work', '$Label1'])!;
  assert.deepEqual(f.flagNames(bits), ['\\Seen', '\\Flagged', 'Work', '$Label1']);
  assert.equal(f.mask(['work']), f.mask(['Work']), 'keywords are case-insensitive');
  assert.equal(f.mask(['\\Recent']), 0, '\\Recent is never stored');
  const many = Array.from({ length: 25 }, (_, i) => `k${i}`);
  assert.ok(f.canMask(many));
  assert.ok(!f.canMask([...many, 'one-too-many']));
  assert.notEqual(f.mask(many), null);
  assert.equal(f.mask(['overflow']), null);
});

test('the index costs at most 64 bytes per message at scale', () => {
  const f = folder();
  const n = 100_000;
  for (let uid = 1; uid <= n; uid++) f.put(uid, loc(uid), 1000, 0, 0);
  assert.ok(f.bytes / n <= 64, `bytes per message ${f.bytes / n}`);
});
