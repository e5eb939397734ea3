import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback, NetworkList, normalizeIp } from '../../../src/policy/networks.js';
import { isPostlineError } from '../../../src/core/errors.js';

test('IPv4 networks match plain and IPv4-mapped IPv6 clients', () => {
  const nets = NetworkList.parse(['192.168.0.0/16', '10.1.2.3']);
  assert.equal(nets.contains('192.168.5.6'), true);
  assert.equal(nets.contains('::ffff:192.168.5.6'), true, 'dual-stack socket form');
  assert.equal(nets.contains('::FFFF:C0A8:0506'), true, 'hex mapped form');
  assert.equal(nets.contains('10.1.2.3'), true, 'bare address = /32');
  assert.equal(nets.contains('10.1.2.4'), false);
  assert.equal(nets.contains('192.169.0.1'), false);
  assert.equal(nets.contains('::ffff:192.169.0.1'), false);
});

test('IPv6 networks match IPv6 clients; kinds never throw on mismatch', () => {
  const nets = NetworkList.parse(['2001:db8::/32']);
  assert.equal(nets.contains('2001:db8:1::5'), true);
  assert.equal(nets.contains('2001:DB8::1'), true);
  assert.equal(nets.contains('2001:db9::1'), false);
  assert.equal(nets.contains('192.0.2.1'), false);
  assert.equal(nets.contains('fe80::1%eth0'), false);
});

test('an IPv6-written mapped network matches IPv4 clients', () => {
  const nets = NetworkList.parse(['::ffff:10.0.0.0/104']);
  assert.equal(nets.contains('10.9.9.9'), true);
  assert.equal(nets.contains('::ffff:10.9.9.9'), true);
  assert.equal(nets.contains('11.0.0.1'), false);
});

test('non-IP and sloppy IPv4 text matches nothing', () => {
  const nets = NetworkList.parse(['0.0.0.0/0']);
  assert.equal(nets.contains('1.2.3.4'), true);
  for (const bad of ['', 'localhost', '10.1', '0x7f.0.0.1', '010.0.0.1', '1.2.3.4.5', 'unix:/tmp/s']) {
    assert.equal(nets.contains(bad), false, bad);
  }
  assert.equal(NetworkList.parse([]).contains('127.0.0.1'), false);
});

test('a bad network is a wiring error', () => {
  for (const bad of ['nonsense', '10.0.0.0/33', '10.0.0.0/x', '::/129', '10.0.0.0/8/8']) {
    assert.throws(() => NetworkList.parse([bad]), (err) => isPostlineError(err, 'ERR_CONFIG_INVALID'), bad);
  }
});

test('isLoopback: 127/8, ::1 and mapped 127.x; nothing else', () => {
  for (const ip of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) assert.equal(isLoopback(ip), true, ip);
  for (const ip of ['128.0.0.1', '::2', '::ffff:10.0.0.1', '10.0.0.1', 'localhost', '']) assert.equal(isLoopback(ip), false, ip);
});

test('normalizeIp gives one key per client', () => {
  assert.equal(normalizeIp('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeIp('192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeIp('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(normalizeIp('Not-An-IP'), 'not-an-ip');
});
