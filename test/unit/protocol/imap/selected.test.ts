/** The selected-folder state (src/protocol/imap/selected.ts) against a fake live folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderView } from '../../../../src/protocol/mailbox-port.js';
import { SelectedFolder } from '../../../../src/protocol/imap/selected.js';
import { parseSequenceSet } from '../../../../src/codec/imap/index.js';

const SYSTEM = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];

/** A live folder the test changes by hand, as the store would. */
class FakeFolder implements FolderView {
  owner = 'u@example.org';
  name = 'INBOX';
  uidValidity = 42;
  uidNext = 1;
  count = 0;
  uids = new Uint32Array(64);
  size = new Uint32Array(64);
  date = new Uint32Array(64);
  flags = new Uint32Array(64);
  keywords: string[] = [];
  indexOf(uid: number): number {
    for (let i = 0; i < this.count; i++) if (this.uids[i] === uid) return i;
    return -1;
  }
  flagNames(bits: number): string[] {
    const out = SYSTEM.filter((_, i) => bits & (1 << i));
    this.keywords.forEach((k, i) => bits & (1 << (5 + i)) && out.push(k));
    return out;
  }
  add(flags = 0): number {
    const uid = this.uidNext++;
    this.uids[this.count] = uid;
    this.flags[this.count] = flags;
    this.count++;
    return uid;
  }
  remove(uid: number): void {
    const i = this.indexOf(uid);
    for (const a of [this.uids, this.size, this.date, this.flags]) a.copyWithin(i, i + 1, this.count);
    this.count--;
  }
}

function setup(n: number): { live: FakeFolder; sel: SelectedFolder } {
  const live = new FakeFolder();
  for (let i = 0; i < n; i++) live.add();
  const sel = new SelectedFolder(live, { owner: live.owner, name: 'INBOX', box: 7, readOnly: false, recentFrom: live.uidNext });
  return { live, sel };
}

const set = (text: string) => parseSequenceSet(text)!;

test('expunges wait until allowed, then go out highest first and renumber the sequence', () => {
  const { live, sel } = setup(5);
  live.remove(2);
  live.remove(4);
  assert.equal(sel.onChange({ kind: 'expunged', box: 7, uids: [2, 4] }), true);
  assert.equal(sel.onChange({ kind: 'expunged', box: 8, uids: [1] }), false, 'another folder');
  assert.equal(sel.sync(false), '', 'not allowed: nothing, and nothing renumbered');
  assert.equal(sel.count, 5);
  assert.deepEqual([...sel.liveSlots()], [0, -1, 1, -1, 2], 'the expunged ones are known to be gone');
  assert.equal(sel.sync(true), '* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n');
  assert.equal(sel.count, 3);
  assert.deepEqual([1, 2, 3].map((m) => sel.uidAt(m)), [1, 3, 5]);
  assert.equal(sel.sync(true), '', 'told once');
});

test('new messages: EXISTS and RECENT, appended in UID order; a message added and expunged unseen never shows', () => {
  const { live, sel } = setup(2);
  live.add();
  const gone = live.add();
  live.add();
  live.remove(gone);
  sel.onChange({ kind: 'added', box: 7, uids: [3, 4, 5] });
  sel.onChange({ kind: 'expunged', box: 7, uids: [gone] });
  assert.equal(sel.sync(false), '* 4 EXISTS\r\n* 2 RECENT\r\n');
  assert.deepEqual([1, 2, 3, 4].map((m) => sel.uidAt(m)), [1, 2, 3, 5]);
  assert.equal(sel.sync(true), '', 'the unseen expunge needs no EXPUNGE');
  assert.equal(sel.isRecent(3), true);
  assert.equal(sel.isRecent(2), false);
  assert.equal(sel.nextRecentFrom, 6);
});

test('flag changes become FETCH (UID FLAGS) with \\Recent; the session\'s own are forgotten; a new keyword re-announces FLAGS first', () => {
  const { live, sel } = setup(3);
  live.flags[0] = 1;
  live.flags[2] = 4;
  sel.onChange({ kind: 'flags', box: 7, uids: [3, 1] });
  assert.equal(sel.sync(false), '* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\n');
  live.keywords.push('$Work');
  live.flags[1] = 1 << 5;
  sel.onChange({ kind: 'flags', box: 7, uids: [2] });
  assert.equal(
    sel.sync(false),
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n' +
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n' +
      '* 2 FETCH (UID 2 FLAGS ($Work))\r\n',
  );
  sel.onChange({ kind: 'flags', box: 7, uids: [1, 2] });
  sel.forgetFlagChanges([1, 2]);
  assert.equal(sel.hasPending(true), false);
  const uid = live.add(1);
  sel.onChange({ kind: 'added', box: 7, uids: [uid] });
  sel.onChange({ kind: 'flags', box: 7, uids: [uid] });
  assert.equal(sel.sync(false), '* 4 EXISTS\r\n* 1 RECENT\r\n* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent))\r\n');
});

test('sequence sets: message numbers past the end are null (BAD), UID sets skip what is missing, n:* includes the last', () => {
  const { live, sel } = setup(4);
  live.remove(2);
  sel.onChange({ kind: 'expunged', box: 7, uids: [2] });
  sel.sync(true); // view: uids 1 3 4
  assert.deepEqual(sel.resolve(set('1:*'), false), [0, 1, 2]);
  assert.equal(sel.resolve(set('4'), false), null);
  assert.deepEqual(sel.resolve(set('2:3'), true), [1]);
  assert.deepEqual(sel.resolve(set('100:*'), true), [2]);
  assert.deepEqual(sel.resolve(set('1,4'), true), [0, 2]);
  assert.equal(sel.msnOf(4), 3);
  assert.equal(sel.msnOf(2), 0);
  assert.equal(sel.firstUnseen(), 1);
});

test('PERMANENTFLAGS: \\* only while keyword slots are free; nothing when read-only', () => {
  const live = new FakeFolder();
  const ro = new SelectedFolder(live, { owner: live.owner, name: 'INBOX', box: 1, readOnly: true, recentFrom: 1 });
  assert.deepEqual(ro.permanentFlags(), []);
  for (let i = 0; i < 27; i++) live.keywords.push(`k${i}`);
  const rw = new SelectedFolder(live, { owner: live.owner, name: 'INBOX', box: 1, readOnly: false, recentFrom: 1 });
  assert.ok(!rw.permanentFlags().includes('\\*'));
});
