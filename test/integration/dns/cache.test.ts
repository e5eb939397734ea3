/**
 * The shared cache in front of the real stub resolver and a loopback DNS
 * server: the server's query log shows which lookups reached the wire. The
 * cache runs on a fake clock (TTL expiry without waiting); the stub's
 * per-query timers use the system clock.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { StubResolver } from '../../../src/dns/client.js';
import { DnsCache } from '../../../src/dns/cache.js';
import { resolveMailHosts } from '../../../src/dns/mx.js';
import { createResolver } from '../../../src/dns/index.js';
import { systemClock } from '../../../src/core/clock.js';
import { fakeClock } from '../../helpers/fake-clock.js';
import { startDnsServer, type DnsTestServer, type ZoneRecord } from '../../helpers/dns-server.js';

const zone: ZoneRecord[] = [
  { name: 'example.com', type: 'SOA', data: { minimum: 30 }, ttl: 3600 },
  { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx.example.com' }, ttl: 600 },
  { name: 'mx.example.com', type: 'A', data: '192.0.2.1', ttl: 600 },
  { name: 'short.example.com', type: 'A', data: '192.0.2.2', ttl: 5 },
  { name: 'a.example.com', type: 'A', data: '192.0.2.3' },
  { name: 'b.example.com', type: 'A', data: '192.0.2.4' },
  { name: 'c.example.com', type: 'A', data: '192.0.2.5' },
];

let server: DnsTestServer;
before(async () => {
  server = await startDnsServer(zone);
});
after(async () => {
  await server.close();
});

function setup(maxEntries?: number) {
  const clock = fakeClock();
  const stub = new StubResolver({ servers: [server.server], timeoutMs: 500, clock: systemClock });
  return { clock, cache: new DnsCache(stub, maxEntries === undefined ? { clock } : { clock, maxEntries }) };
}

test('a second lookup is answered from the cache: no query reaches the server', async () => {
  const { cache } = setup();
  const before = server.count('mx.example.com', 'A');
  await cache.a('mx.example.com');
  await cache.a('MX.example.com');
  assert.equal(server.count('mx.example.com', 'A') - before, 1);
  assert.equal(cache.stats().hits, 1);
});

test('a hot domain costs ~0 lookups per message: 100 deliveries, 3 queries', async () => {
  const { cache } = setup();
  const before = server.log.length;
  for (let i = 0; i < 100; i++) assert.equal((await resolveMailHosts(cache, 'example.com')).kind, 'hosts');
  // MX example.com, A mx.example.com, AAAA mx.example.com (NODATA, cached by SOA minimum)
  assert.equal(server.log.length - before, 3);
  const s = cache.stats();
  assert.equal(s.queries, 3);
  assert.equal(s.hits, 297);
});

test('TTL expiry: a 5 s record is asked for again after 5 s', async () => {
  const { cache, clock } = setup();
  const before = server.count('short.example.com');
  await cache.a('short.example.com');
  clock.advance(4999);
  await cache.a('short.example.com');
  assert.equal(server.count('short.example.com') - before, 1);
  clock.advance(1);
  assert.deepEqual(await cache.a('short.example.com'), { kind: 'records', records: ['192.0.2.2'], ttl: 5 });
  assert.equal(server.count('short.example.com') - before, 2);
});

test('negative answers are cached for the SOA minimum (30 s here)', async () => {
  const { cache, clock } = setup();
  const before = server.count('nope.example.com');
  assert.deepEqual(await cache.mx('nope.example.com'), { kind: 'nxdomain', ttl: 30 });
  clock.advance(29_000);
  assert.deepEqual(await cache.mx('nope.example.com'), { kind: 'nxdomain', ttl: 1 });
  assert.equal(server.count('nope.example.com') - before, 1);
  clock.advance(1000);
  await cache.mx('nope.example.com');
  assert.equal(server.count('nope.example.com') - before, 2);
});

test('two concurrent lookups → one query', async () => {
  const { cache } = setup();
  server.fault('b.example.com', null);
  const before = server.count('b.example.com');
  const [x, y] = await Promise.all([cache.a('b.example.com'), cache.a('b.example.com')]);
  assert.deepEqual(x, y);
  assert.equal(server.count('b.example.com') - before, 1);
  assert.equal(cache.stats().coalesced, 1);
});

test('SERVFAIL is not cached: the next lookup asks again and can succeed', async () => {
  const { cache } = setup();
  server.fault('c.example.com', 'servfail');
  try {
    assert.equal((await cache.a('c.example.com')).kind, 'temporary');
  } finally {
    server.fault('c.example.com', null);
  }
  assert.deepEqual(await cache.a('c.example.com'), { kind: 'records', records: ['192.0.2.5'], ttl: 300 });
});

test('the LRU bound holds: beyond maxEntries the oldest name is asked for again', async () => {
  const { cache } = setup(2);
  await cache.a('a.example.com');
  await cache.a('b.example.com');
  await cache.a('c.example.com');
  assert.equal(cache.stats().entries, 2);
  const before = server.count('a.example.com');
  await cache.a('a.example.com');
  assert.equal(server.count('a.example.com') - before, 1);
});

test('createResolver builds the cache + stub from config.dns', async () => {
  const resolver = createResolver({ servers: [server.server], doh: '' }, systemClock);
  assert.deepEqual(await resolver.a('a.example.com'), { kind: 'records', records: ['192.0.2.3'], ttl: 300 });
  assert.equal(resolver.stats().queries, 1);
});
