import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_SEQ_NUMBER, messageNumbers, parseSequenceSet, resolveSequenceSet, selectUids, sequenceSetHas, type SeqRange, type SequenceSet,
} from '../../../../src/codec/imap/sequence.js';
import { compressUids, formatSequenceSet } from '../../../../src/codec/imap/serialize.js';

const set = (text: string): SequenceSet => {
  const s = parseSequenceSet(text);
  assert.ok(s !== null, `${text} should parse`);
  return s;
};

test('parses numbers, *, ranges in either order and comma lists', () => {
  assert.deepEqual(set('1'), [{ from: 1, to: 1 }]);
  assert.deepEqual(set('*'), [{ from: '*', to: '*' }]);
  assert.deepEqual(set('4:*'), [{ from: 4, to: '*' }]);
  assert.deepEqual(set('*:4'), [{ from: '*', to: 4 }]);
  assert.deepEqual(set('1,3:5,*'), [{ from: 1, to: 1 }, { from: 3, to: 5 }, { from: '*', to: '*' }]);
  assert.deepEqual(set('5:2'), [{ from: 5, to: 2 }]);
  assert.deepEqual(set(String(MAX_SEQ_NUMBER)), [{ from: MAX_SEQ_NUMBER, to: MAX_SEQ_NUMBER }]);
});

test('zero, leading zeros, empty items and out-of-range numbers are invalid', () => {
  for (const text of ['', '0', '0:5', '5:0', '01', ',', '1,', ',1', '1::2', '1:2:3', ':', '1:', '4294967296', '99999999999', 'a', '-1', '1 ', '$', '**', '*:']) {
    assert.equal(parseSequenceSet(text), null, text);
  }
});

test('resolving: * is the given maximum, ranges are normalised, sorted and merged', () => {
  assert.deepEqual(resolveSequenceSet(set('*:4'), 10), [[4, 10]]);
  assert.deepEqual(resolveSequenceSet(set('4:*'), 2), [[2, 4]]);
  assert.deepEqual(resolveSequenceSet(set('7,8,1:3,2:5'), 99), [[1, 5], [7, 8]]);
  assert.deepEqual(resolveSequenceSet(set('1:4294967295'), 5), [[1, 4294967295]]);
  assert.equal(sequenceSetHas(set('1,3:5,*'), 4, 10), true);
  assert.equal(sequenceSetHas(set('1,3:5,*'), 10, 10), true);
  assert.equal(sequenceSetHas(set('1,3:5,*'), 6, 10), false);
  assert.equal(sequenceSetHas(set('*:4'), 7, 10), true);
});

test('message sequence numbers past the end (or * in an empty mailbox) are an error', () => {
  assert.deepEqual(messageNumbers(set('1:*'), 3), [[1, 3]]);
  assert.deepEqual(messageNumbers(set('2,1'), 3), [[1, 2]]);
  assert.equal(messageNumbers(set('1:5'), 3), null);
  assert.equal(messageNumbers(set('*'), 0), null);
  assert.equal(messageNumbers(set('1'), 0), null);
});

test('selectUids picks present UIDs without materialising the set', () => {
  const uids = [3, 7, 9, 100, 4_000_000_000];
  assert.deepEqual(selectUids(set('1:*'), uids), uids);
  assert.deepEqual(selectUids(set('8:*'), uids), [9, 100, 4_000_000_000]);
  assert.deepEqual(selectUids(set('4294967295:*'), uids), [4_000_000_000], '559:* always includes the last message (RFC 3501 §6.4.8)');
  assert.deepEqual(selectUids(set('1:5,9,50:60'), uids), [3, 9]);
  assert.deepEqual(selectUids(set('*'), uids), [4_000_000_000]);
  assert.deepEqual(selectUids(set('1:*'), []), []);
  // A million UIDs and a set of 1:4294967295 cost one interval and one pass.
  const many = Array.from({ length: 1_000_000 }, (_, i) => 2 * i + 1);
  assert.equal(selectUids(set('1:4294967295'), many).length, 1_000_000);
  assert.deepEqual(selectUids(set('4:6,1999999'), many), [5, 1999999]);
});

test('compressUids and formatSequenceSet', () => {
  assert.equal(compressUids([1, 2, 3, 5, 7, 8, 9]), '1:3,5,7:9');
  assert.equal(compressUids([5]), '5');
  assert.equal(compressUids([]), '');
  assert.equal(compressUids([3, 1, 2]), '3,1:2', 'order is kept (COPYUID pairs source and destination)');
  assert.equal(formatSequenceSet(set('1,3:5,*,*:4,2:2')), '1,3:5,*,*:4,2');
});

const seqNumber = fc.oneof(fc.integer({ min: 1, max: MAX_SEQ_NUMBER }), fc.constant('*' as const));
const rangeArb: fc.Arbitrary<SeqRange> = fc.oneof(
  seqNumber.map((n) => ({ from: n, to: n })),
  fc.tuple(seqNumber, seqNumber).filter(([a, b]) => a !== b).map(([from, to]) => ({ from, to })),
);

test('property: format → parse is the identity on sequence sets', () => {
  fc.assert(
    fc.property(fc.array(rangeArb, { minLength: 1, maxLength: 20 }), (ranges) => {
      assert.deepEqual(parseSequenceSet(formatSequenceSet(ranges)), ranges);
    }),
    { numRuns: 1000 },
  );
});

test('property: a compressed UID list parses back to exactly those UIDs', () => {
  const uidList = fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 200 }).map((a) => a.sort((x, y) => x - y));
  fc.assert(
    fc.property(uidList, fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 200 }), (uids, others) => {
      const parsed = parseSequenceSet(compressUids(uids));
      assert.ok(parsed !== null);
      // Against the same mailbox, and against a mailbox holding other messages too.
      assert.deepEqual(selectUids(parsed, uids), uids);
      const mailbox = [...new Set([...uids, ...others])].sort((x, y) => x - y);
      const star = mailbox[mailbox.length - 1]!;
      assert.deepEqual(selectUids(parsed, mailbox), mailbox.filter((u) => uids.includes(u)));
      // No range could be longer: consecutive runs are merged.
      assert.equal(resolveSequenceSet(parsed, star).length, parsed.length);
    }),
    { numRuns: 500 },
  );
});

test('property: membership agrees with the resolved intervals', () => {
  fc.assert(
    fc.property(fc.array(rangeArb, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: MAX_SEQ_NUMBER }), fc.integer({ min: 1, max: MAX_SEQ_NUMBER }), (ranges, n, star) => {
      const inIntervals = resolveSequenceSet(ranges, star).some(([lo, hi]) => n >= lo && n <= hi);
      assert.equal(sequenceSetHas(ranges, n, star), inIntervals);
    }),
    { numRuns: 1000 },
  );
});
