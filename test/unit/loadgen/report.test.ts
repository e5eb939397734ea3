/** src/loadgen/report.ts: the progress line and the summary table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatErrors, formatEta, formatInt, formatProgressLine, formatSummary } from '../../../src/loadgen/report.js';
import type { LoadResult } from '../../../src/loadgen/stats.js';

test('formatInt and formatEta', () => {
  assert.equal(formatInt(0), '0');
  assert.equal(formatInt(10000), '10,000');
  assert.equal(formatInt(3911.6), '3,912');
  assert.equal(formatInt(1234567), '1,234,567');
  assert.equal(formatInt(999), '999');
  assert.equal(formatEta(0), '0s');
  assert.equal(formatEta(0.2), '1s');
  assert.equal(formatEta(42), '42s');
  assert.equal(formatEta(185), '3m05s');
  assert.equal(formatEta(7620), '2h07m');
  assert.equal(formatEta(Infinity), '?');
  assert.equal(formatEta(NaN), '?');
});

test('the progress line: bar, counts, rate and ETA', () => {
  const line = formatProgressLine({ done: 4210, ok: 4210, failed: 0, total: 10000, elapsedMs: 1076 }, 10);
  assert.equal(line, '[####......] 4,210/10,000  3,913 msg/s  ETA 2s');
  assert.equal(formatProgressLine({ done: 0, ok: 0, failed: 0, total: 100, elapsedMs: 0 }, 10), '[..........] 0/100  0 msg/s  ETA ?');
  assert.equal(formatProgressLine({ done: 100, ok: 97, failed: 3, total: 100, elapsedMs: 1000 }, 10), '[##########] 100/100  100 msg/s  ETA 0s  3 failed');
  assert.equal(formatProgressLine({ done: 50, ok: 50, failed: 0, total: 0, elapsedMs: 500 }), '50  100 msg/s', 'total not known yet: no bar');
});

test('the summary table: aligned rows, "-" for latencies without samples, errors most frequent first', () => {
  const r: LoadResult = {
    ok: 9998,
    failed: 3,
    seconds: 1.23456,
    rate: 8098.4,
    bytes: 10_238_000,
    mbPerSec: 7.908,
    p50Ms: 1.8123,
    p95Ms: 3.2,
    p99Ms: 9.64,
    errors: { ECONNRESET: 1, '550': 2 },
    firstError: '550 5.1.1 nope',
    cpuSeconds: 0.4,
  };
  assert.deepEqual(formatSummary(r, [['target', 'smtp 127.0.0.1:2525']]), [
    'target       smtp 127.0.0.1:2525',
    'messages ok  9,998',
    'failed       3',
    'seconds      1.235',
    'msg/s        8,098',
    'MB/s         7.91',
    'latency p50  1.81 ms',
    'latency p95  3.20 ms',
    'latency p99  9.64 ms',
    'errors       550: 2, ECONNRESET: 1',
    'client cpu   0.40 s (40 µs per message)',
  ]);
  const empty = formatSummary({ ...r, ok: 0, p50Ms: NaN, p95Ms: NaN, p99Ms: NaN, errors: {} });
  assert.ok(empty.includes('latency p50  -'));
  assert.ok(empty.includes('errors       none'));
  assert.equal(formatErrors({}), 'none');
});
