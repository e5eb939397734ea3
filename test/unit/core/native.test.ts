import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compressSync, uncompressMany, uncompressSync } from '../../../src/core/native.js';

test('uncompressMany gives what uncompressSync gives for each block, in order', () => {
  // Repetitive text (long back-references), random bytes (literals) and empty blocks.
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.tuple(fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 200 })).map(([s, n]) => Buffer.from(s.repeat(n))),
  );
  fc.assert(
    fc.property(fc.array(body, { maxLength: 20 }), (bodies) => {
      const blocks = bodies.map((b) => compressSync(b));
      const out = uncompressMany(blocks);
      assert.equal(out.length, bodies.length);
      out.forEach((o, k) => assert.deepEqual(o, uncompressSync(blocks[k]!), `block ${k}`));
    }),
    { numRuns: 300 },
  );
});

test('uncompressMany splits its calls at 8 MB of output and keeps the order across them', () => {
  const bodies = Array.from({ length: 7 }, (_, k) => Buffer.alloc(3 * 1024 * 1024 + k, 97 + k));
  const out = uncompressMany(bodies.map((b) => compressSync(b)));
  assert.equal(out.length, 7);
  out.forEach((o, k) => assert.ok(o.equals(bodies[k]!), `block ${k}`));
});

test('uncompressMany throws on a malformed block, as uncompressSync does', () => {
  const good = compressSync(Buffer.from('hello hello hello hello'));
  const bad = Buffer.from([0x10, 0xff, 0xff, 0xff]); // claims 16 bytes, then a copy with no output before it
  assert.throws(() => uncompressSync(bad));
  assert.throws(() => uncompressMany([good, bad]));
  assert.throws(() => uncompressMany([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]), /preamble/);
});
