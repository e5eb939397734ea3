/**
 * The stub resolver against a real loopback DNS server: answers of each kind,
 * faults (SERVFAIL, timeouts, truncation, stray replies, old servers), CNAMEs,
 * retry order across servers, and resolveMailHosts end to end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { StubResolver, type StubResolverOptions } from '../../../src/dns/client.js';
import { resolveMailHosts, type MailHosts } from '../../../src/dns/mx.js';
import { ptrName, startDnsServer, type DnsTestServer, type ZoneRecord } from '../../helpers/dns-server.js';

const zone: ZoneRecord[] = [
  { name: 'example.com', type: 'SOA', data: { minimum: 60 }, ttl: 600 },
  { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx1.example.com' }, ttl: 3600 },
  { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx2.example.com' }, ttl: 1800 },
  { name: 'example.com', type: 'MX', data: { preference: 5, exchange: 'mx0.example.com' } },
  { name: 'mx0.example.com', type: 'A', data: '192.0.2.10' },
  { name: 'mx1.example.com', type: 'A', data: '192.0.2.11' },
  { name: 'mx1.example.com', type: 'AAAA', data: '2001:db8::11' },
  { name: 'mx2.example.com', type: 'A', data: '192.0.2.12' },
  { name: 'www.example.com', type: 'CNAME', data: 'web.example.com', ttl: 30 },
  { name: 'web.example.com', type: 'CNAME', data: 'mx1.example.com', ttl: 100 },
  { name: 'loop1.example.com', type: 'CNAME', data: 'loop2.example.com' },
  { name: 'loop2.example.com', type: 'CNAME', data: 'loop1.example.com' },
  { name: 'nullmx.example.com', type: 'MX', data: { preference: 0, exchange: '.' } },
  { name: 'implicit.example.com', type: 'A', data: '192.0.2.20' },
  { name: ptrName('192.0.2.11'), type: 'PTR', data: 'mx1.example.com' },
  { name: ptrName('2001:db8::11'), type: 'PTR', data: 'MX1.example.com.' },
  { name: 'in-addr.arpa', type: 'SOA', data: { minimum: 120 } },
];

let dnsA: DnsTestServer;
let dnsB: DnsTestServer;
before(async () => {
  dnsA = await startDnsServer(zone);
  dnsB = await startDnsServer(zone);
});
after(async () => {
  await dnsA.close();
  await dnsB.close();
});

// Short timeouts: the fault tests must finish fast, and prove the bound.
const resolver = (servers: DnsTestServer[], extra: StubResolverOptions = {}) =>
  new StubResolver({ servers: servers.map((s) => s.server), timeoutMs: 150, tries: 2, totalTimeoutMs: 2000, ...extra });

test('MX, A, AAAA and PTR answers with TTLs', async () => {
  const r = resolver([dnsA]);
  const mx = await r.mx('Example.com.');
  assert.equal(mx.kind, 'records');
  assert.equal(mx.kind === 'records' && mx.ttl, 300, 'min over the RRset');
  assert.deepEqual(mx.kind === 'records' && [...mx.records].sort((x, y) => x.exchange.localeCompare(y.exchange)), [
    { exchange: 'mx0.example.com', preference: 5 },
    { exchange: 'mx1.example.com', preference: 10 },
    { exchange: 'mx2.example.com', preference: 10 },
  ]);
  assert.deepEqual(await r.a('mx1.example.com'), { kind: 'records', records: ['192.0.2.11'], ttl: 300 });
  assert.deepEqual(await r.aaaa('mx1.example.com'), { kind: 'records', records: ['2001:db8::11'], ttl: 300 });
  assert.deepEqual(await r.ptr('192.0.2.11'), { kind: 'records', records: ['mx1.example.com'], ttl: 300 });
  assert.deepEqual(await r.ptr('::ffff:192.0.2.11'), { kind: 'records', records: ['mx1.example.com'], ttl: 300 });
  assert.deepEqual(await r.ptr('2001:DB8::11'), { kind: 'records', records: ['mx1.example.com'], ttl: 300 });
});

test('NXDOMAIN and NODATA, each with min(SOA TTL, MINIMUM)', async () => {
  const r = resolver([dnsA]);
  assert.deepEqual(await r.a('nope.example.com'), { kind: 'nxdomain', ttl: 60 });
  assert.deepEqual(await r.mx('mx1.example.com'), { kind: 'nodata', ttl: 60 });
  assert.deepEqual(await r.ptr('192.0.2.99'), { kind: 'nxdomain', ttl: 120 });
  assert.deepEqual(await r.a('no-soa.test'), { kind: 'nxdomain', ttl: null });
});

test('names that cannot exist are NXDOMAIN without a query', async () => {
  const r = resolver([dnsA]);
  const before = dnsA.log.length;
  assert.deepEqual(await r.mx('bad..example.com'), { kind: 'nxdomain', ttl: null });
  assert.deepEqual(await r.ptr('not-an-ip'), { kind: 'nxdomain', ttl: null });
  assert.equal(dnsA.log.length, before);
});

test('CNAME chains are followed; the TTL is the chain minimum', async () => {
  assert.deepEqual(await resolver([dnsA]).a('www.example.com'), { kind: 'records', records: ['192.0.2.11'], ttl: 30 });
});

test('a server that does not chase CNAMEs: the target is asked for separately', async () => {
  const auth = await startDnsServer(zone, { chaseCnames: false });
  try {
    assert.deepEqual(await resolver([auth]).a('www.example.com'), { kind: 'records', records: ['192.0.2.11'], ttl: 30 });
    assert.deepEqual(
      auth.log.map((q) => q.name),
      ['www.example.com', 'web.example.com', 'mx1.example.com'],
    );
  } finally {
    await auth.close();
  }
});

test('a CNAME loop is a temporary failure, not a hang', async () => {
  const a = await resolver([dnsA]).a('loop1.example.com');
  assert.equal(a.kind, 'temporary');
});

test('SERVFAIL → temporary after every server and try', async () => {
  dnsA.fault('*', 'servfail');
  try {
    const start = dnsA.log.length;
    const a = await resolver([dnsA]).a('mx1.example.com');
    assert.equal(a.kind, 'temporary');
    assert.match(a.kind === 'temporary' ? a.detail : '', /SERVFAIL/);
    assert.equal(dnsA.log.length - start, 2, 'two tries');
  } finally {
    dnsA.fault('*', null);
  }
});

test('SERVFAIL or REFUSED from the first server: the next one answers', async () => {
  for (const fault of ['servfail', 'refused'] as const) {
    dnsA.fault('mx2.example.com', fault);
    try {
      assert.deepEqual(await resolver([dnsA, dnsB]).a('mx2.example.com'), { kind: 'records', records: ['192.0.2.12'], ttl: 300 });
    } finally {
      dnsA.fault('mx2.example.com', null);
    }
  }
});

test('timeout → temporary within the bounded time; every server tried in rounds', async () => {
  dnsA.fault('*', 'drop');
  dnsB.fault('*', 'drop');
  try {
    const logA = dnsA.log.length;
    const logB = dnsB.log.length;
    const t0 = Date.now();
    const a = await resolver([dnsA, dnsB], { timeoutMs: 100, tries: 2, totalTimeoutMs: 5000 }).a('mx1.example.com');
    const elapsed = Date.now() - t0;
    assert.equal(a.kind, 'temporary');
    assert.match(a.kind === 'temporary' ? a.detail : '', /timeout/);
    assert.equal(dnsA.log.length - logA, 2);
    assert.equal(dnsB.log.length - logB, 2);
    assert.ok(elapsed >= 380 && elapsed < 3000, `4 tries × 100 ms, took ${elapsed} ms`);

    const t1 = Date.now();
    const bounded = await resolver([dnsA, dnsB], { timeoutMs: 100, tries: 10, totalTimeoutMs: 250 }).a('mx1.example.com');
    const elapsed2 = Date.now() - t1;
    assert.equal(bounded.kind, 'temporary');
    assert.ok(elapsed2 >= 240 && elapsed2 < 2000, `totalTimeoutMs bounds the lookup, took ${elapsed2} ms`);
  } finally {
    dnsA.fault('*', null);
    dnsB.fault('*', null);
  }
});

test('a first server that drops the query: the second answers after one timeout', async () => {
  dnsA.fault('*', 'drop');
  try {
    assert.deepEqual(await resolver([dnsA, dnsB], { timeoutMs: 100 }).a('mx0.example.com'), { kind: 'records', records: ['192.0.2.10'], ttl: 300 });
  } finally {
    dnsA.fault('*', null);
  }
});

test('a reply with the wrong id is ignored (not an error): the lookup waits, then moves on', async () => {
  dnsA.fault('*', 'wrong-id');
  try {
    assert.deepEqual(await resolver([dnsA, dnsB], { timeoutMs: 100 }).a('mx0.example.com'), { kind: 'records', records: ['192.0.2.10'], ttl: 300 });
    const alone = await resolver([dnsA], { timeoutMs: 100 }).a('mx0.example.com');
    assert.equal(alone.kind, 'temporary');
  } finally {
    dnsA.fault('*', null);
  }
});

test('TC bit → the same question over TCP', async () => {
  dnsA.fault('mx1.example.com', 'truncate');
  try {
    const start = dnsA.log.length;
    assert.deepEqual(await resolver([dnsA]).a('mx1.example.com'), { kind: 'records', records: ['192.0.2.11'], ttl: 300 });
    assert.deepEqual(
      dnsA.log.slice(start).map((q) => q.transport),
      ['udp', 'tcp'],
    );
  } finally {
    dnsA.fault('mx1.example.com', null);
  }
});

test('EDNS0: sent by default; a server answering FORMERR is asked again without it', async () => {
  const start = dnsA.log.length;
  await resolver([dnsA]).a('mx0.example.com');
  assert.equal(dnsA.log[start]!.edns, true);
  dnsA.fault('mx0.example.com', 'no-edns');
  try {
    const s2 = dnsA.log.length;
    assert.deepEqual(await resolver([dnsA]).a('mx0.example.com'), { kind: 'records', records: ['192.0.2.10'], ttl: 300 });
    assert.deepEqual(
      dnsA.log.slice(s2).map((q) => q.edns),
      [true, false],
    );
    const s3 = dnsA.log.length;
    await resolver([dnsA], { edns: false }).a('mx0.example.com');
    assert.equal(dnsA.log[s3]!.edns, false);
  } finally {
    dnsA.fault('mx0.example.com', null);
  }
});

test('no servers configured: the system resolvers (node:dns getServers) are used', async () => {
  const saved = dns.getServers();
  dns.setServers([`127.0.0.1:${dnsB.port}`]);
  try {
    assert.deepEqual(await new StubResolver({ servers: [], timeoutMs: 500 }).a('mx2.example.com'), { kind: 'records', records: ['192.0.2.12'], ttl: 300 });
  } finally {
    dns.setServers(saved);
  }
});

test('resolveMailHosts end to end: MX order, null MX, implicit MX, NXDOMAIN', async () => {
  const r = resolver([dnsA]);
  const first = await resolveMailHosts(r, 'example.com', { random: () => 0 });
  const second = await resolveMailHosts(r, 'example.com', { random: () => 0.99 });
  assert.equal(first.kind, 'hosts');
  const names = (h: MailHosts) => (h.kind === 'hosts' ? h.hosts.map((x) => x.name) : []);
  assert.equal(names(first)[0], 'mx0.example.com');
  assert.deepEqual(new Set(names(first).slice(1)), new Set(['mx1.example.com', 'mx2.example.com']));
  assert.notDeepEqual(names(first), names(second), 'equal preferences follow the random source');
  assert.deepEqual(first.kind === 'hosts' && first.hosts.find((h) => h.name === 'mx1.example.com')!.addresses, ['192.0.2.11', '2001:db8::11']);
  assert.deepEqual(await resolveMailHosts(r, 'nullmx.example.com'), { kind: 'null-mx' });
  assert.deepEqual(await resolveMailHosts(r, 'implicit.example.com'), { kind: 'hosts', hosts: [{ name: 'implicit.example.com', preference: 0, addresses: ['192.0.2.20'] }] });
  assert.deepEqual(await resolveMailHosts(r, 'nope.example.com'), { kind: 'nxdomain' });
});
