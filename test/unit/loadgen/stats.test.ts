/** src/loadgen/stats.ts: percentiles, latencies, tallies, stall checks, error keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorKey, Latencies, LoadError, percentile, StallCheck, Tally } from '../../../src/loadgen/stats.js';

test('percentile is nearest-rank on a sorted array; NaN when empty', () => {
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 95), 95);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('Latencies grows past its first capacity and sorts numerically', () => {
  const l = new Latencies(2);
  for (const ms of [30, 4, 200, 1, 10, 2, 3, 100, 20, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16]) l.add(ms);
  assert.equal(l.count, 20);
  const p = l.percentiles();
  assert.equal(p.p50Ms, 10);
  assert.equal(p.p95Ms, 100);
  assert.equal(p.p99Ms, 200);
  assert.ok(Number.isNaN(new Latencies(4).percentiles().p50Ms));
});

test('Tally counts failures by key, keeps the first error text, and derives rates', () => {
  const t = new Tally(10);
  t.ok = 30;
  t.bytes = 3 * 1048576;
  t.latencies.add(2);
  t.fail('550', '550 5.1.1 <x@example.org>: no such user');
  t.fail('550', '550 again');
  t.fail('ECONNRESET');
  const r = t.result(1.5);
  assert.equal(r.ok, 30);
  assert.equal(r.failed, 3);
  assert.deepEqual(r.errors, { '550': 2, ECONNRESET: 1 });
  assert.equal(r.firstError, '550 5.1.1 <x@example.org>: no such user');
  assert.equal(r.rate, 20);
  assert.equal(r.mbPerSec, 2);
  assert.equal(r.p50Ms, 2);
  const none = new Tally(1).result(0);
  assert.equal(none.rate, 0);
  assert.equal(none.firstError, null);
  assert.ok(none.cpuSeconds >= 0);
});

test('errorKey: a LoadError key, else a socket error code, else "error"', () => {
  assert.equal(errorKey(new LoadError('NO', 'LOGIN → NO')), 'NO');
  assert.equal(errorKey(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  assert.equal(errorKey(new Error('boom')), 'error');
  assert.equal(errorKey(undefined), 'error');
});

test('StallCheck fires only after timeoutMs without activity while waiting', () => {
  const s = new StallCheck();
  let activity = 0;
  assert.equal(s.check(activity, true, 1000, 3000), false); // first look
  assert.equal(s.check(activity, true, 1000, 3000), false); // 1 s
  assert.equal(s.check(activity, true, 1000, 3000), false); // 2 s
  activity++; // bytes arrived: start over
  assert.equal(s.check(activity, true, 1000, 3000), false);
  assert.equal(s.check(activity, true, 1000, 3000), false);
  assert.equal(s.check(activity, false, 1000, 3000), false, 'not waiting (idle between messages) never stalls');
  assert.equal(s.check(activity, true, 1000, 3000), false);
  assert.equal(s.check(activity, true, 1000, 3000), false);
  assert.equal(s.check(activity, true, 1000, 3000), false);
  assert.equal(s.check(activity, true, 1000, 3000), true);
});
