import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CACHE_DEFAULTS, DnsCache } from '../../../src/dns/cache.js';
import type { Answer, DnsResolver } from '../../../src/dns/types.js';
import { fakeClock } from '../../helpers/fake-clock.js';

/** An upstream whose answers tests set per "TYPE name", counting calls; `hold` makes lookups wait for release(). */
function upstream() {
  const answers = new Map<string, Answer<unknown>>();
  const calls: string[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  const lookup = async (key: string): Promise<Answer<never>> => {
    calls.push(key);
    if (gate) await gate;
    return (answers.get(key) ?? { kind: 'nxdomain', ttl: 60 }) as Answer<never>;
  };
  const resolver: DnsResolver = {
    mx: (d) => lookup(`MX ${d}`),
    a: (n) => lookup(`A ${n}`),
    aaaa: (n) => lookup(`AAAA ${n}`),
    ptr: (ip) => lookup(`PTR ${ip}`),
  };
  return {
    resolver,
    calls,
    set: (key: string, a: Answer<unknown>) => answers.set(key, a),
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
  };
}

test('a positive answer is served from the cache until its TTL passes', async () => {
  const up = upstream();
  const clock = fakeClock();
  const cache = new DnsCache(up.resolver, { clock });
  up.set('A mx.example.com', { kind: 'records', records: ['192.0.2.1'], ttl: 30 });
  assert.deepEqual(await cache.a('mx.example.com'), { kind: 'records', records: ['192.0.2.1'], ttl: 30 });
  clock.advance(10_000);
  assert.deepEqual(await cache.a('MX.Example.com.'), { kind: 'records', records: ['192.0.2.1'], ttl: 20 }, 'same key; remaining TTL reported');
  assert.equal(up.calls.length, 1);
  clock.advance(20_000);
  await cache.a('mx.example.com');
  assert.equal(up.calls.length, 2, 'expired at exactly the TTL');
  assert.deepEqual(cache.stats(), { hits: 1, misses: 2, coalesced: 0, queries: 2, evictions: 0, entries: 1 });
});

test('TTL 0 is not cached; huge TTLs are capped at a day', async () => {
  const up = upstream();
  const clock = fakeClock();
  const cache = new DnsCache(up.resolver, { clock });
  up.set('A zero', { kind: 'records', records: ['192.0.2.1'], ttl: 0 });
  await cache.a('zero');
  await cache.a('zero');
  assert.equal(up.calls.length, 2);
  up.set('A long', { kind: 'records', records: ['192.0.2.2'], ttl: 7 * 86_400 });
  await cache.a('long');
  clock.advance(CACHE_DEFAULTS.maxTtlS * 1000 - 1);
  await cache.a('long');
  assert.equal(up.calls.length, 3);
  clock.advance(1);
  await cache.a('long');
  assert.equal(up.calls.length, 4);
});

test('negative answers live for their SOA TTL (capped at 3 h), or 5 min without SOA', async () => {
  const up = upstream();
  const clock = fakeClock();
  const cache = new DnsCache(up.resolver, { clock });
  up.set('MX soa.example', { kind: 'nxdomain', ttl: 45 });
  up.set('MX nosoa.example', { kind: 'nodata', ttl: null });
  up.set('MX long.example', { kind: 'nxdomain', ttl: 86_400 });
  for (const d of ['soa.example', 'nosoa.example', 'long.example']) await cache.mx(d);
  const count = (d: string) => up.calls.filter((c) => c === `MX ${d}`).length;
  clock.advance(44_999);
  for (const d of ['soa.example', 'nosoa.example', 'long.example']) await cache.mx(d);
  assert.deepEqual([count('soa.example'), count('nosoa.example'), count('long.example')], [1, 1, 1]);
  clock.advance(1);
  await cache.mx('soa.example');
  assert.equal(count('soa.example'), 2);
  clock.advance(300_000 - 45_000);
  await cache.mx('nosoa.example');
  assert.equal(count('nosoa.example'), 2);
  clock.advance(10_800_000 - 300_000);
  await cache.mx('long.example');
  assert.equal(count('long.example'), 2, 'cap 3 h');
});

test('temporary failures are not cached by default; temporaryTtlS caches them briefly', async () => {
  const up = upstream();
  const clock = fakeClock();
  up.set('A flaky', { kind: 'temporary', detail: 'SERVFAIL' });
  const cache = new DnsCache(up.resolver, { clock });
  await cache.a('flaky');
  await cache.a('flaky');
  assert.equal(up.calls.length, 2);
  const brief = new DnsCache(up.resolver, { clock, temporaryTtlS: 5 });
  await brief.a('flaky');
  await brief.a('flaky');
  assert.equal(up.calls.length, 3);
  clock.advance(5000);
  await brief.a('flaky');
  assert.equal(up.calls.length, 4);
});

test('concurrent lookups of one key share one upstream query', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock() });
  up.set('MX hot.example', { kind: 'records', records: [{ exchange: 'mx.hot.example', preference: 0 }], ttl: 60 });
  up.hold();
  const pending = [cache.mx('hot.example'), cache.mx('HOT.example'), cache.mx('hot.example.')];
  up.release();
  const results = await Promise.all(pending);
  assert.equal(up.calls.length, 1);
  assert.ok(results.every((r) => r === results[0]));
  assert.deepEqual(cache.stats(), { hits: 0, misses: 3, coalesced: 2, queries: 1, evictions: 0, entries: 1 });
});

test('a failing upstream is not cached and does not wedge the in-flight table', async () => {
  let fail = true;
  const throwing: DnsResolver = {
    mx: async () => {
      if (fail) throw new Error('bug');
      return { kind: 'nodata', ttl: 10 };
    },
    a: async () => ({ kind: 'nodata', ttl: 10 }),
    aaaa: async () => ({ kind: 'nodata', ttl: 10 }),
    ptr: async () => ({ kind: 'nodata', ttl: 10 }),
  };
  const cache = new DnsCache(throwing, { clock: fakeClock() });
  await assert.rejects(cache.mx('x.example'), /bug/);
  fail = false;
  assert.deepEqual(await cache.mx('x.example'), { kind: 'nodata', ttl: 10 });
});

test('bounded: the least recently used entry is evicted', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock(), maxEntries: 2 });
  for (const n of ['a', 'b', 'c']) up.set(`A ${n}`, { kind: 'records', records: ['192.0.2.1'], ttl: 60 });
  await cache.a('a');
  await cache.a('b');
  await cache.a('a'); // a is now the most recent
  await cache.a('c'); // evicts b
  assert.equal(cache.stats().entries, 2);
  assert.equal(cache.stats().evictions, 1);
  up.calls.length = 0;
  await cache.a('a');
  await cache.a('c');
  assert.deepEqual(up.calls, []);
  await cache.a('b');
  assert.deepEqual(up.calls, ['A b']);
});

test('maxEntries 0 caches nothing (an explicit 0 stays 0)', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock(), maxEntries: 0 });
  up.set('A a', { kind: 'records', records: ['192.0.2.1'], ttl: 60 });
  await cache.a('a');
  await cache.a('a');
  assert.equal(up.calls.length, 2);
});

test('PTR: an IPv4-mapped client and its IPv4 form share one entry', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock() });
  up.set('PTR 192.0.2.5', { kind: 'records', records: ['mx.example.com'], ttl: 60 });
  await cache.ptr('192.0.2.5');
  await cache.ptr('::ffff:192.0.2.5');
  assert.equal(up.calls.length, 1);
});

test('cached records are frozen: a caller cannot reorder them for everyone', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock() });
  up.set('A a', { kind: 'records', records: ['192.0.2.2', '192.0.2.1'], ttl: 60 });
  await cache.a('a');
  const hit = await cache.a('a');
  assert.throws(() => (hit.kind === 'records' ? (hit.records as string[]).sort() : null), TypeError);
});

test('types are separate keys', async () => {
  const up = upstream();
  const cache = new DnsCache(up.resolver, { clock: fakeClock() });
  await cache.a('x.example');
  await cache.aaaa('x.example');
  await cache.mx('x.example');
  assert.deepEqual(up.calls, ['A x.example', 'AAAA x.example', 'MX x.example']);
});
