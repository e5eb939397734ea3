/**
 * SPEC §4.3 PTR checks over an in-memory resolver (same zone data shape as
 * the loopback DNS server; no sockets here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPtr, MAX_PTR_NAMES } from '../../../src/policy/ptr-check.js';
import { accept, defer, reject, type Verdict } from '../../../src/policy/verdict.js';
import { ptrName, zoneResolver, type ZoneRecord } from '../../helpers/dns-server.js';

const zone: ZoneRecord[] = [
  // The scenario: a spam host and a real MX.
  { name: ptrName('127.0.0.3'), type: 'PTR', data: 'mail.spam.com' },
  { name: 'mail.spam.com', type: 'A', data: '127.0.0.3' },
  { name: ptrName('127.0.0.2'), type: 'PTR', data: 'mx.example.com' },
  { name: 'mx.example.com', type: 'A', data: '127.0.0.2' },
  // PTR that does not resolve back.
  { name: ptrName('127.0.0.4'), type: 'PTR', data: 'liar.example.com' },
  { name: 'liar.example.com', type: 'A', data: '127.0.0.99' },
  { name: ptrName('127.0.0.5'), type: 'PTR', data: 'dangling.example.com' },
  // Public Suffix List: example.co.uk is registrable, co.uk is not.
  { name: ptrName('127.0.0.6'), type: 'PTR', data: 'mail.example.co.uk' },
  { name: 'mail.example.co.uk', type: 'A', data: '127.0.0.6' },
  // Several PTR names; only the second is confirmed.
  { name: ptrName('127.0.0.7'), type: 'PTR', data: 'fake.example.com' },
  { name: ptrName('127.0.0.7'), type: 'PTR', data: 'real.example.org' },
  { name: 'fake.example.com', type: 'A', data: '127.0.0.8' },
  { name: 'real.example.org', type: 'A', data: '127.0.0.7' },
  // IPv6.
  { name: ptrName('2001:db8::25'), type: 'PTR', data: 'mx6.example.com' },
  { name: 'mx6.example.com', type: 'AAAA', data: '2001:db8::25' },
  { name: 'mx6.example.com', type: 'A', data: '127.0.0.99' },
  // A private PSL suffix: tenants of github.io are separate domains.
  { name: ptrName('127.0.0.9'), type: 'PTR', data: 'alice.github.io' },
  { name: 'alice.github.io', type: 'A', data: '127.0.0.9' },
];

const kind = (v: Verdict) => (v.kind === 'accept' ? 'accept' : `${v.kind}:${v.reason}`);

test("issue scenario: 127.0.0.3 (PTR mail.spam.com) claiming boss@example.com is refused; 127.0.0.2 (mx.example.com) for kozlov@example.com accepted", async () => {
  const r = zoneResolver(zone);
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.3', 'example.com', r)), 'reject:ptr-mismatch');
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.2', 'example.com', r), accept());
  // The spam host does have FCrDNS: fcrdns alone lets it through.
  assert.deepEqual(await checkPtr('fcrdns', '127.0.0.3', 'example.com', r), accept());
});

test('fcrdns: a PTR name that does not resolve back, or no PTR at all, is refused', async () => {
  const r = zoneResolver(zone);
  for (const ip of ['127.0.0.4', '127.0.0.5', '127.0.0.200']) {
    for (const mode of ['fcrdns', 'sender-domain'] as const) {
      assert.equal(kind(await checkPtr(mode, ip, 'example.com', r)), 'reject:ptr-mismatch', `${mode} ${ip}`);
    }
  }
  const v = await checkPtr('fcrdns', '127.0.0.4', null, r);
  assert.equal(v.kind === 'reject' && v.detail, '127.0.0.4 PTR liar.example.com does not resolve back to it');
});

test('off: no lookups at all', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('off', '127.0.0.200', 'example.com', r), accept());
  assert.equal(r.calls.length, 0);
});

test('DNS temporary failure (SERVFAIL/timeout) → defer dns-temporary, for PTR and forward lookups', async () => {
  const r = zoneResolver(zone);
  r.fault(ptrName('127.0.0.2'), 'servfail');
  assert.equal(kind(await checkPtr('fcrdns', '127.0.0.2', null, r)), 'defer:dns-temporary');
  r.fault(ptrName('127.0.0.2'), null);
  r.fault('mx.example.com', 'servfail');
  assert.equal(kind(await checkPtr('fcrdns', '127.0.0.2', null, r)), 'defer:dns-temporary');
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.2', 'example.com', r)), 'defer:dns-temporary');
});

test('a temporary failure on one PTR name does not block a confirmed other', async () => {
  const r = zoneResolver(zone);
  r.fault('fake.example.com', 'servfail');
  assert.deepEqual(await checkPtr('fcrdns', '127.0.0.7', null, r), accept());
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.7', 'example.org', r), accept());
  // The only name in the sender's domain could not be checked: not a refusal yet.
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.7', 'example.com', r)), 'defer:dns-temporary');
});

test('any confirmed PTR name counts; an unconfirmed name in the sender domain does not', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.7', 'sub.example.org', r), accept());
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.7', 'example.com', r)), 'reject:ptr-mismatch');
});

test('null sender: fcrdns only', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.3', null, r), accept());
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.4', null, r)), 'reject:ptr-mismatch');
});

test('registrable domains via the Public Suffix List', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.6', 'example.co.uk', r), accept());
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.6', 'Lists.Example.CO.UK.', r), accept());
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.6', 'other.co.uk', r)), 'reject:ptr-mismatch');
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.6', 'co.uk', r)), 'reject:ptr-mismatch');
  // Private section: alice.github.io cannot send as bob.github.io.
  assert.deepEqual(await checkPtr('sender-domain', '127.0.0.9', 'alice.github.io', r), accept());
  assert.equal(kind(await checkPtr('sender-domain', '127.0.0.9', 'bob.github.io', r)), 'reject:ptr-mismatch');
});

test('IPv4-mapped IPv6 is checked as IPv4; IPv6 clients are confirmed by AAAA', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('sender-domain', '::ffff:127.0.0.2', 'example.com', r), accept());
  assert.deepEqual(await checkPtr('sender-domain', '2001:DB8:0::25', 'example.com', r), accept());
  assert.ok(r.calls.some((c) => c.type === 'AAAA' && c.name === 'mx6.example.com'));
  assert.ok(!r.calls.some((c) => c.type === 'A' && c.name === 'mx6.example.com'), 'an IPv6 client is never confirmed by an A record');
});

test('a client address that is not an IP is refused, not looked up', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await checkPtr('fcrdns', 'unix:/tmp/sock', null, r), reject('ptr-mismatch', 'client address unix:/tmp/sock is not an IP'));
  assert.equal(r.calls.length, 0);
});

test(`at most ${MAX_PTR_NAMES} PTR names are forward-checked`, async () => {
  const many: ZoneRecord[] = [];
  for (let i = 0; i < 30; i++) many.push({ name: ptrName('127.0.1.1'), type: 'PTR', data: `h${i}.example.net` });
  many.push({ name: 'h29.example.net', type: 'A', data: '127.0.1.1' });
  const r = zoneResolver(many);
  assert.equal(kind(await checkPtr('fcrdns', '127.0.1.1', null, r)), 'reject:ptr-mismatch');
  assert.equal(r.calls.length, 1 + MAX_PTR_NAMES);
});

test('verdict shapes', async () => {
  const r = zoneResolver(zone);
  r.fault('*', 'servfail');
  const v = await checkPtr('fcrdns', '127.0.0.2', null, r);
  assert.deepEqual({ ...v, detail: undefined }, { ...defer('dns-temporary'), detail: undefined });
});
