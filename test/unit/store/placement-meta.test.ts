import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packMeta, unpackMeta } from '../../../src/store/log/encode.js';
import { readPlacementMeta } from '../../../src/store/message-record.js';

// readPlacementMeta is the read path's shortcut past msgpackr for a message meta's placements and size: it must agree with unpackMeta or give up (null).

test('readPlacementMeta agrees with unpackMeta on the metas the store writes', () => {
  const metas: Record<string, unknown>[] = [
    { p: [3, 17], d: 1_795_000_000_000, s: 4096 },
    { p: [3, 17], d: 1_795_000_000_000, s: 4096, f: ['\\Seen', '$Label1'] },
    { p: [1, 2, 3, 70_000, 5, 4_294_967_295, 200], d: 1.5, s: 0 },
    { p: [], d: -5, s: 2 ** 40 },
    { p: [-3, -200, -70_000, -5_000_000_000], d: 0, s: 127 },
    { p: Array.from({ length: 40 }, (_, i) => i * 1000), d: 7, s: 65_536, f: ['x'.repeat(200)] },
  ];
  for (const meta of metas) {
    const bytes = packMeta(meta);
    const full = unpackMeta<{ p: number[]; s: number }>(bytes);
    assert.deepEqual(readPlacementMeta(bytes), { p: full.p, s: full.s }, JSON.stringify(meta));
  }
});

test('readPlacementMeta reads only the first value: the MIME structure after it does not matter', () => {
  const meta = packMeta({ p: [1, 9], d: 1, s: 10 });
  const mime = packMeta({ envelope: { subject: 'héllo', from: [{ name: 'A', mailbox: 'a', host: 'b' }] } });
  assert.deepEqual(readPlacementMeta(Buffer.concat([meta, mime])), { p: [1, 9], s: 10 });
});

test('readPlacementMeta gives up (null) on anything it does not understand or that is cut short', () => {
  assert.equal(readPlacementMeta(packMeta({ p: [1, 2], s: 3, x: 'abc' })), null); // unknown key with a string value
  assert.equal(readPlacementMeta(packMeta({ p: [1, 2], long: 1, s: 3 })), null); // key longer than one letter
  assert.equal(readPlacementMeta(packMeta({ s: 3 })), null); // no placements
  assert.equal(readPlacementMeta(packMeta({ p: [1, 2] })), null); // no size
  assert.equal(readPlacementMeta(packMeta({ p: ['a'], s: 3 })), null);
  assert.equal(readPlacementMeta(packMeta([1, 2, 3] as unknown as Record<string, unknown>)), null);
  assert.equal(readPlacementMeta(new Uint8Array(0)), null);
  const whole = packMeta({ p: [1, 2], d: 1_795_000_000_000, s: 300, f: ['\\Seen'] });
  for (let cut = 0; cut < whole.length; cut++) assert.equal(readPlacementMeta(whole.subarray(0, cut)), null, `cut at ${cut}`);
});
