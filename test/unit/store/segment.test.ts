import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameRecord, RecordType, RECORD_HEADER_SIZE } from '../../../src/store/log/record.js';
import { packMeta } from '../../../src/store/log/encode.js';
import { decodeSegmentHeader, encodeSegmentHeader, scanRecords, SEGMENT_HEADER_SIZE, segmentFileName, parseSegmentFileName } from '../../../src/store/log/segment.js';

const SALT = 0xdeadbeef;

function image(count: number): { buf: Buffer; offsets: number[] } {
  const parts: Buffer[] = [encodeSegmentHeader({ number: 1, generation: 0, salt: SALT, created: 0 })];
  const offsets: number[] = [];
  let at = SEGMENT_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const meta = packMeta({ i });
    const blob = Buffer.from(`record body ${i} `.repeat(5));
    const rec = Buffer.alloc(RECORD_HEADER_SIZE + meta.length + blob.length);
    frameRecord(rec, 0, RecordType.message, 0, meta, blob, SALT);
    offsets.push(at);
    at += rec.length;
    parts.push(rec);
  }
  return { buf: Buffer.concat(parts), offsets };
}

function scan(buf: Buffer) {
  const seen: number[] = [];
  const result = scanRecords(1, buf, SEGMENT_HEADER_SIZE, SALT, (_h, _b, at) => seen.push(at));
  return { ...result, seen };
}

test('segment header round-trips and detects damage', () => {
  const h = encodeSegmentHeader({ number: 12, generation: 3, salt: SALT, created: 1234 });
  assert.deepEqual(decodeSegmentHeader(h), { number: 12, generation: 3, salt: SALT, created: 1234 });
  const bad = Buffer.from(h);
  bad[9]! ^= 1;
  assert.equal(decodeSegmentHeader(bad), 'segment header checksum mismatch');
  assert.equal(decodeSegmentHeader(Buffer.alloc(64)), 'not a postline segment (bad magic)');
  assert.equal(segmentFileName(7), '0000000007.seg');
  assert.equal(parseSegmentFileName('0000000007.seg'), 7);
  assert.equal(parseSegmentFileName('7.seg'), null);
});

test('an intact segment scans every record', () => {
  const { buf, offsets } = image(10);
  const r = scan(buf);
  assert.deepEqual(r.seen, offsets);
  assert.equal(r.validEnd, buf.length);
  assert.equal(r.damage.length, 0);
  assert.equal(r.tornTail, false);
});

test('a truncated tail is reported as torn and validEnd stops before it', () => {
  const { buf, offsets } = image(10);
  for (const cut of [offsets[9]! + 3, offsets[9]! + 20, buf.length - 1]) {
    const r = scan(buf.subarray(0, cut));
    assert.deepEqual(r.seen, offsets.slice(0, 9));
    assert.equal(r.validEnd, offsets[9]);
    assert.equal(r.tornTail, true);
    assert.equal(r.damage.length, 1);
  }
});

test('a flipped byte in a middle record skips only that record', () => {
  const { buf, offsets } = image(10);
  const bad = Buffer.from(buf);
  bad[offsets[4]! + RECORD_HEADER_SIZE + 3]! ^= 0xff;
  const r = scan(bad);
  assert.deepEqual(r.seen, [...offsets.slice(0, 4), ...offsets.slice(5)]);
  assert.equal(r.damage.length, 1);
  assert.equal(r.damage[0]!.offset, offsets[4]);
  assert.equal(r.damage[0]!.problem, 'checksum mismatch');
  assert.equal(r.tornTail, false);
  assert.equal(r.validEnd, buf.length);
});

test('a damaged length field is detected and the scan resynchronises', () => {
  const { buf, offsets } = image(6);
  const bad = Buffer.from(buf);
  bad.writeUInt32LE(0x7fffffff, offsets[2]! + 8);
  const r = scan(bad);
  assert.deepEqual(r.seen, [...offsets.slice(0, 2), ...offsets.slice(3)]);
  assert.equal(r.damage.length, 1);
});

test('a record-shaped string written with another salt is never accepted', () => {
  const { buf } = image(3);
  const meta = packMeta({ evil: true });
  const forged = Buffer.alloc(RECORD_HEADER_SIZE + meta.length);
  frameRecord(forged, 0, RecordType.message, 0, meta, null, 12345);
  const withGarbage = Buffer.concat([buf, Buffer.from('garbage!'), forged]);
  const r = scan(withGarbage);
  assert.equal(r.seen.length, 3);
  assert.equal(r.tornTail, true);
  assert.equal(r.validEnd, buf.length);
});
