/** createMetrics on plain sources: counters read at scrape time, bounded label sets, the fsync hook. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, type MetricsSources } from '../../../src/metrics/metrics.js';

function sources(overrides: Partial<MetricsSources> = {}): MetricsSources & { fsync?: (r: number, s: number) => void; unsubscribed: boolean } {
  const s: MetricsSources & { fsync?: (r: number, s: number) => void; unsubscribed: boolean } = {
    unsubscribed: false,
    listeners: () => [{ protocol: 'smtp', up: true, open: 2, accepted: 7, refused: 1 }],
    intake: () => ({ local: 3, queued: 1, mixed: 0 }),
    outcomes: () => ({ delivered: 4, deferred: 2, bounced: 1, deferredByStatus: new Map([['4.4.1', 2]]) }),
    queueItems: () => [],
    store: () => ({ segments: 1, logBytes: 1000, messages: 3, appends: 9, fsyncs: 5 }),
    storeWriteFailure: () => null,
    observeFsync: (fn) => {
      s.fsync = fn;
      return () => void (s.unsubscribed = true);
    },
    now: () => 1_000_000,
    ...overrides,
  };
  return s;
}

test('values come from the sources at scrape time', async () => {
  let accepted = 7;
  const src = sources({ listeners: () => [{ protocol: 'smtp', up: true, open: 2, accepted, refused: 1 }] });
  const m = createMetrics(src);
  assert.match(await m.render(), /^postline_connections_accepted_total\{protocol="smtp"\} 7$/m);
  accepted = 8;
  const text = await m.render();
  assert.match(text, /^postline_connections_accepted_total\{protocol="smtp"\} 8$/m);
  assert.match(text, /^postline_connections_open\{protocol="smtp"\} 2$/m);
  assert.match(text, /^postline_messages_accepted_total\{kind="local"\} 3$/m);
  assert.match(text, /^postline_deferrals_total\{status="4\.4\.1"\} 2$/m);
  assert.match(text, /^postline_store_bytes 1000$/m);
  assert.doesNotMatch(text, /postline_worker_pool|postline_dns/, 'optional sources absent');
  m.close();
  assert.ok(src.unsubscribed);
});

test('fsync observations feed the histograms', async () => {
  const src = sources();
  const m = createMetrics(src);
  src.fsync!(12, 0.0007);
  src.fsync!(1, 0.02);
  const text = await m.render();
  assert.match(text, /^postline_store_fsync_batch_records_count 2$/m);
  assert.match(text, /^postline_store_fsync_batch_records_sum 13$/m);
  assert.match(text, /^postline_store_fsync_batch_records_bucket\{le="16"\} 2$/m);
  assert.match(text, /^postline_store_fsync_duration_seconds_bucket\{le="0\.001"\} 1$/m);
  m.close();
});

test('queue gauges per domain, at most 100 domains (the rest as "other"), ages from the clock', async () => {
  const items: { pending: string[]; arrived: number }[] = [];
  for (let i = 0; i < 150; i++) items.push({ pending: [`u@d${i}.test`], arrived: 1_000_000 - i * 1000 });
  items.push({ pending: ['a@big.test', 'b@big.test', 'c@D0.TEST'], arrived: 1_000_000 - 500_000 });
  items.push({ pending: ['a@big.test'], arrived: 1_000_000 });
  items.push({ pending: [], arrived: 0 });
  const m = createMetrics(sources({ queueItems: () => items }));
  const text = await m.render();
  const depth = [...text.matchAll(/^postline_queue_depth\{domain="([^"]+)"\} (\d+)$/gm)];
  assert.equal(depth.length, 100);
  const byDomain = new Map(depth.map((d) => [d[1], Number(d[2])]));
  assert.equal(byDomain.get('big.test'), 2, 'a message counts once per domain');
  assert.equal(byDomain.get('d0.test'), 2);
  assert.equal([...byDomain.values()].reduce((a, b) => a + b), 150 + 2 + 1, 'nothing lost in "other"');
  assert.ok(byDomain.has('other'));
  assert.match(text, /^postline_queue_messages 152$/m);
  assert.match(text, /^postline_queue_oldest_age_seconds\{domain="big\.test"\} 500$/m);
  // "other" is as old as the oldest message among the domains it sums up.
  const unlisted = Array.from({ length: 150 }, (_, i) => i).filter((i) => !byDomain.has(`d${i}.test`));
  assert.match(text, new RegExp(`^postline_queue_oldest_age_seconds\\{domain="other"\\} ${Math.max(...unlisted)}$`, 'm'));
  m.close();
});

test('pool and DNS sources when given', async () => {
  const m = createMetrics(
    sources({
      pool: () => ({ threads: 4, utilization: 0.25, queueSize: 0, waitTimeMs: { p50: 1, p90: 2, p99: 3, max: 10, mean: 1.5 } }),
      dns: () => ({ hits: 3, misses: 1, queries: 1, entries: 1, evictions: 0 }),
    }),
  );
  const text = await m.render();
  assert.match(text, /^postline_worker_pool_utilization 0\.25$/m);
  assert.match(text, /^postline_worker_pool_wait_seconds\{quantile="0\.99"\} 0\.003$/m);
  assert.match(text, /^postline_dns_cache_hit_ratio 0\.75$/m);
  m.close();
});
