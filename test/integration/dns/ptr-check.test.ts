/**
 * The §4.3 PTR check through the production stack (cache → stub resolver →
 * UDP) against a loopback DNS server: the scenario, SERVFAIL and a
 * timeout as 451-type defers, and repeated checks answered from the cache.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../../src/dns/index.js';
import { checkPtr } from '../../../src/policy/ptr-check.js';
import { accept, type Verdict } from '../../../src/policy/verdict.js';
import { systemClock } from '../../../src/core/clock.js';
import { ptrName, startDnsServer, type DnsTestServer, type ZoneRecord } from '../../helpers/dns-server.js';

const zone: ZoneRecord[] = [
  { name: 'in-addr.arpa', type: 'SOA', data: { minimum: 60 } },
  { name: ptrName('127.0.0.3'), type: 'PTR', data: 'mail.spam.com' },
  { name: 'mail.spam.com', type: 'A', data: '127.0.0.3' },
  { name: ptrName('127.0.0.2'), type: 'PTR', data: 'mx.example.com' },
  { name: 'mx.example.com', type: 'A', data: '127.0.0.2' },
  { name: ptrName('127.0.0.4'), type: 'PTR', data: 'liar.example.com' },
  { name: 'liar.example.com', type: 'A', data: '127.0.0.44' },
];

let server: DnsTestServer;
before(async () => {
  server = await startDnsServer(zone);
});
after(async () => {
  await server.close();
});

const kind = (v: Verdict) => (v.kind === 'accept' ? 'accept' : `${v.kind}:${v.reason}`);
// The system clock: the stub's per-try timeout must really fire for the drop test.
const resolver = () => createResolver({ servers: [server.server], doh: '' }, systemClock, { stub: { timeoutMs: 100, tries: 1 } });

test('issue scenario over real DNS: spam.com claiming example.com refused, mx.example.com accepted', async () => {
  const r = resolver();
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.3', 'example.com', r)), 'reject:ptr-mismatch');
  assert.deepEqual(await checkPtr('sender-domain', '::ffff:127.0.0.2', 'example.com', r), accept());
  assert.equal(kind(await checkPtr('fcrdns', '127.0.0.4', null, r)), 'reject:ptr-mismatch');
  assert.equal(kind(await checkPtr('fcrdns', '127.0.0.77', null, r)), 'reject:ptr-mismatch', 'no PTR');
});

test('SERVFAIL and timeout → defer dns-temporary', async () => {
  const r = resolver();
  server.fault(ptrName('127.0.0.2'), 'servfail');
  try {
    assert.equal(kind(await checkPtr('fcrdns', '127.0.0.2', null, r)), 'defer:dns-temporary');
  } finally {
    server.fault(ptrName('127.0.0.2'), null);
  }
  server.fault('mx.example.com', 'drop');
  try {
    assert.equal(kind(await checkPtr('fcrdns', '127.0.0.2', null, r)), 'defer:dns-temporary');
  } finally {
    server.fault('mx.example.com', null);
  }
  assert.deepEqual(await checkPtr('fcrdns', '127.0.0.2', null, r), accept(), 'failures were not cached');
});

test('repeated checks for one client are answered from the cache', async () => {
  const r = resolver();
  const before = server.log.length;
  for (let i = 0; i < 20; i++) assert.deepEqual(await checkPtr('sender-domain', '127.0.0.2', 'example.com', r), accept());
  assert.equal(server.log.length - before, 2, 'one PTR and one A query');
  assert.equal(r.stats().hits, 38);
});
