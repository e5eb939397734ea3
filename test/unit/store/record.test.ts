import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameRecord, readHeader, verifyRecord, RecordType, RECORD_HEADER_SIZE, FLAG_COMPRESSED } from '../../../src/store/log/record.js';
import { encodeBatch, packMeta, unpackMeta, INDEX_STRIDE } from '../../../src/store/log/encode.js';
import { uncompressSync } from '../../../src/core/native.js';

function frame(meta: object, blob: Buffer | null, salt = 42, flags = 0): Buffer {
  const m = packMeta(meta as Record<string, unknown>);
  const out = Buffer.alloc(RECORD_HEADER_SIZE + m.length + (blob?.length ?? 0));
  frameRecord(out, 0, RecordType.message, flags, m, blob, salt);
  return out;
}

test('a framed record reads back with a valid CRC', () => {
  const rec = frame({ p: [1, 7], d: 1, s: 5 }, Buffer.from('hello'));
  const h = readHeader(rec, 0);
  assert.ok(typeof h !== 'string');
  assert.equal(h.type, RecordType.message);
  assert.equal(h.payloadLen, rec.length - RECORD_HEADER_SIZE);
  assert.ok(verifyRecord(rec, 0, h, 42));
  assert.deepEqual(unpackMeta(rec.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + h.metaLen)), { p: [1, 7], d: 1, s: 5 });
});

test('the CRC covers header fields, payload, and depends on the salt', () => {
  const rec = frame({ a: 1 }, Buffer.from('body bytes'));
  const h = readHeader(rec, 0);
  assert.ok(typeof h !== 'string');
  assert.equal(verifyRecord(rec, 0, h, 43), false, 'another salt must not verify');
  for (const at of [6, 7, 12, RECORD_HEADER_SIZE + 1, rec.length - 1]) {
    const bad = Buffer.from(rec);
    bad[at]! ^= 0x01;
    const hb = readHeader(bad, 0);
    assert.ok(typeof hb === 'string' || !verifyRecord(bad, 0, hb, 42), `flip at ${at} must be detected`);
  }
});

test('readHeader rejects bad magic, unknown flags, impossible lengths and unknown types', () => {
  const rec = frame({ a: 1 }, null);
  const cases: [number, number, string][] = [
    [4, 0x00, 'bad magic'],
    [6, 0x80, 'bad flags'],
    [7, 0xee, 'unknown type'],
  ];
  for (const [at, value, problem] of cases) {
    const bad = Buffer.from(rec);
    bad[at] = value;
    assert.equal(readHeader(bad, 0), problem);
  }
  const long = Buffer.from(rec);
  long.writeUInt32LE(2, 8); // payload shorter than meta
  assert.equal(readHeader(long, 0), 'bad length');
});

test('encodeBatch compresses compressible bodies and stores incompressible ones raw', () => {
  const text = Buffer.from('All work and no play makes Jack a dull boy. '.repeat(50));
  const random = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 2654435761) >>> 24));
  const metas = [packMeta({ n: 1 }), packMeta({ n: 2 })];
  const metaBuf = Buffer.concat(metas);
  const bodies = Buffer.concat([text, random]);
  const index = new Uint32Array(2 * INDEX_STRIDE);
  index.set([RecordType.message, 0, metas[0]!.length, 0, text.length], 0);
  index.set([RecordType.message, metas[0]!.length, metaBuf.length, text.length, bodies.length], INDEX_STRIDE);
  const out = Buffer.from(encodeBatch({ salt: 9, index, metas: metaBuf, bodies }));
  const h1 = readHeader(out, 0);
  assert.ok(typeof h1 !== 'string' && verifyRecord(out, 0, h1, 9));
  assert.equal(h1.flags & FLAG_COMPRESSED, FLAG_COMPRESSED);
  assert.ok(h1.payloadLen < text.length * 0.6, 'repetitive text compresses well');
  const blob1 = out.subarray(RECORD_HEADER_SIZE + h1.metaLen, RECORD_HEADER_SIZE + h1.payloadLen);
  assert.ok(uncompressSync(blob1).equals(text));
  const at2 = RECORD_HEADER_SIZE + h1.payloadLen;
  const h2 = readHeader(out, at2);
  assert.ok(typeof h2 !== 'string' && verifyRecord(out, at2, h2, 9));
  assert.ok(h2.flags === 0 || h2.payloadLen < random.length, 'raw unless compression pays');
  assert.equal(at2 + RECORD_HEADER_SIZE + h2.payloadLen, out.length);
});
