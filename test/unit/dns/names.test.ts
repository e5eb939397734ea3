import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, normalizeName, reverseName } from '../../../src/dns/names.js';

test('normalizeName: lower-case, trailing dot gone, IDN to A-labels, impossible names null', () => {
  assert.equal(normalizeName('Mail.Example.COM.'), 'mail.example.com');
  assert.equal(normalizeName('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeName('_dmarc.example.com'), '_dmarc.example.com');
  assert.equal(normalizeName(''), null);
  assert.equal(normalizeName('.'), null);
  assert.equal(normalizeName('a..b'), null, 'empty label');
  assert.equal(normalizeName('a'.repeat(64) + '.com'), null, 'label over 63');
  assert.equal(normalizeName(('a'.repeat(60) + '.').repeat(5) + 'com'), null, 'name over 253');
  assert.equal(normalizeName('[192.0.2.1]'), null, 'address literal');
  assert.equal(normalizeName('a b.com'), null);
  assert.equal(normalizeName('0x7f.1'), '0x7f.1', 'ASCII is never rewritten as an IPv4 number');
});

test('reverseName: IPv4, IPv4-mapped IPv6 and IPv6 nibbles; not an IP → null', () => {
  assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.equal(reverseName('::ffff:192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.equal(reverseName('2001:db8::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  assert.equal(reverseName('mail.example.com'), null);
  assert.equal(reverseName('10.1'), null, 'only the dotted quad a socket reports');
});

test('canonicalIp: one text per address', () => {
  assert.equal(canonicalIp('::FFFF:C000:0201'), '192.0.2.1');
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('nope'), null);
});
