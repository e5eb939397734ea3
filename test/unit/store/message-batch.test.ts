import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compressSync } from '../../../src/core/native.js';
import { isPostlineError } from '../../../src/core/errors.js';
import { packMeta } from '../../../src/store/log/encode.js';
import { frameRecord, FLAG_COMPRESSED, RecordType, RECORD_HEADER_SIZE } from '../../../src/store/log/record.js';
import { RecordBatch } from '../../../src/store/message-batch.js';
import type { StoredMessage } from '../../../src/store/message-record.js';

const SALT = 0x5eed;
const BOX = 7;

/** A message record as the log frames it; `blob` overrides the compressed body (to forge a bad block with a good checksum). */
function record(uid: number, body: Buffer, blob?: Buffer): StoredMessage {
  const meta = packMeta({ p: [BOX, uid], d: 1_795_000_000_000, s: body.length });
  const stored = blob ?? compressSync(body);
  const buf = Buffer.alloc(RECORD_HEADER_SIZE + meta.length + stored.length);
  const len = frameRecord(buf, 0, RecordType.message, FLAG_COMPRESSED, meta, stored, SALT);
  return { buf, loc: { seg: 1, off: uid * 1000, len }, box: BOX, uid };
}

const body = (n: number): Buffer => Buffer.from(`Subject: ${n}\r\n\r\n${`line ${n} of some text\r\n`.repeat(40)}`);

test('a block that passes its checksum but does not decode fails only its own message, in any run', () => {
  // Snappy's preamble says 100 bytes, then a copy that reaches before the block's start: undecodable.
  const forged = Buffer.from([100, 0x01, 0xff]);
  for (const run of [1, 3, 10]) {
    const batch = new RecordBatch(
      Array.from({ length: 10 }, (_, k) => (k === 4 ? record(k + 1, body(k + 1), forged) : k === 6 ? null : record(k + 1, body(k + 1)))),
      SALT,
    );
    for (let k = 0; k < 10; k++) {
      if (k === 4) assert.throws(() => batch.body(k, run), `run ${run}: the forged block is refused`);
      else if (k === 6) assert.equal(batch.body(k, run), null);
      else assert.deepEqual(batch.body(k, run), body(k + 1), `run ${run}: message ${k + 1}`);
    }
  }
});

test('a record that is not the message asked for is refused, its neighbours served', () => {
  const records = [record(1, body(1)), { ...record(2, body(2)), uid: 99 }, record(3, body(3))];
  const batch = new RecordBatch(records, SALT);
  assert.deepEqual(batch.body(0, 3), body(1));
  assert.throws(() => batch.body(1), (e: unknown) => isPostlineError(e, 'ERR_STORE_CORRUPT'));
  assert.deepEqual(batch.body(2), body(3));
});
