/**
 * DNS-over-HTTPS (RFC 8484 POST, application/dns-message) against a local
 * HTTP endpoint serving the same zone data as the UDP server. Plain http on
 * loopback: the transport is the same fetch call as for https.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { StubResolver } from '../../../src/dns/client.js';
import { resolveMailHosts } from '../../../src/dns/mx.js';
import { startDnsServer, type DnsTestServer, type ZoneRecord } from '../../helpers/dns-server.js';

const zone: ZoneRecord[] = [
  { name: 'example.com', type: 'SOA', data: { minimum: 60 } },
  { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx.example.com' } },
  { name: 'mx.example.com', type: 'A', data: '192.0.2.1' },
  { name: 'alias.example.com', type: 'CNAME', data: 'mx.example.com', ttl: 20 },
];

let server: DnsTestServer;
before(async () => {
  server = await startDnsServer(zone, { doh: true });
});
after(async () => {
  await server.close();
});

const doh = (url = server.dohUrl, timeoutMs = 1000) => new StubResolver({ doh: url, timeoutMs, tries: 2, totalTimeoutMs: 3000 });

test('answers over DoH, and only over DoH (no UDP leak)', async () => {
  const start = server.log.length;
  const r = doh();
  assert.deepEqual(await r.a('mx.example.com'), { kind: 'records', records: ['192.0.2.1'], ttl: 300 });
  assert.deepEqual(await r.a('alias.example.com'), { kind: 'records', records: ['192.0.2.1'], ttl: 20 });
  assert.deepEqual(await r.mx('nope.example.com'), { kind: 'nxdomain', ttl: 60 });
  assert.deepEqual(await resolveMailHosts(r, 'example.com'), { kind: 'hosts', hosts: [{ name: 'mx.example.com', preference: 10, addresses: ['192.0.2.1'] }] });
  assert.ok(server.log.slice(start).every((q) => q.transport === 'doh'));
});

test('DoH: SERVFAIL and timeouts are temporary', async () => {
  server.fault('mx.example.com', 'servfail');
  try {
    assert.equal((await doh().a('mx.example.com')).kind, 'temporary');
  } finally {
    server.fault('mx.example.com', null);
  }
  server.fault('mx.example.com', 'drop');
  try {
    const t0 = Date.now();
    const a = await doh(server.dohUrl, 100).a('mx.example.com');
    assert.equal(a.kind, 'temporary');
    assert.match(a.kind === 'temporary' ? a.detail : '', /timeout/);
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    server.fault('mx.example.com', null);
  }
});

test('DoH: an HTTP error or an unreachable endpoint is temporary', async () => {
  const broken = await startDnsServer(zone, { doh: true, dohStatus: 500 });
  try {
    const a = await doh(broken.dohUrl).a('mx.example.com');
    assert.equal(a.kind, 'temporary');
    assert.match(a.kind === 'temporary' ? a.detail : '', /HTTP 500/);
  } finally {
    await broken.close();
  }
  assert.equal((await doh(broken.dohUrl).a('mx.example.com')).kind, 'temporary', 'connection refused');
});
