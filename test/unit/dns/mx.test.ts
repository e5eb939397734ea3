import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNullMx, MAX_MX_HOSTS, orderMx, resolveMailHosts } from '../../../src/dns/mx.js';
import type { MxRecord } from '../../../src/dns/types.js';
import { zoneResolver, type ZoneRecord } from '../../helpers/dns-server.js';

/** A deterministic "random" source: returns the given values in a cycle. */
const seq = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

const mx = (preference: number, exchange: string): MxRecord => ({ preference, exchange });

test('orderMx: ascending preference; equal preferences follow the random source', () => {
  const records = [mx(20, 'c'), mx(10, 'a'), mx(10, 'b'), mx(30, 'd')];
  const orders = new Set<string>();
  for (const r of [0, 0.3, 0.6, 0.99]) {
    for (const s of [0, 0.5, 0.99]) {
      const out = orderMx(records, seq(r, s, r));
      assert.deepEqual(
        out.map((m) => m.preference),
        [10, 10, 20, 30],
      );
      orders.add(out.map((m) => m.exchange).join(''));
    }
  }
  assert.deepEqual([...orders].sort(), ['abcd', 'bacd'], 'both orders of the equal pair occur, nothing else moves');
  assert.deepEqual(records.map((m) => m.exchange), ['c', 'a', 'b', 'd'], 'input untouched');
});

test('orderMx: with Math.random, equal preferences come out in both orders over many runs', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 3; i++) seen.add(orderMx([mx(5, 'x'), mx(5, 'y'), mx(5, 'z')]).map((m) => m.exchange)[0]!);
  assert.equal(seen.size, 3);
});

test('orderMx: works on a frozen (cached) array', () => {
  const frozen = Object.freeze([mx(2, 'b'), mx(1, 'a')]);
  assert.deepEqual(orderMx(frozen, () => 0).map((m) => m.exchange), ['a', 'b']);
});

test('isNullMx: only records pointing at the root', () => {
  assert.equal(isNullMx([mx(0, '.')]), true);
  assert.equal(isNullMx([mx(0, '.'), mx(0, '.')]), true);
  assert.equal(isNullMx([mx(0, '.'), mx(10, 'mx.example.com')]), false);
  assert.equal(isNullMx([]), false);
});

const zone: ZoneRecord[] = [
  { name: 'example.com', type: 'SOA', data: { minimum: 60 } },
  { name: 'example.com', type: 'MX', data: { preference: 20, exchange: 'mx2.example.com' } },
  { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx1.example.com' } },
  { name: 'mx1.example.com', type: 'A', data: '192.0.2.1' },
  { name: 'mx1.example.com', type: 'AAAA', data: '2001:db8::1' },
  { name: 'mx2.example.com', type: 'A', data: '192.0.2.2' },
  { name: 'nullmx.example.com', type: 'MX', data: { preference: 0, exchange: '.' } },
  { name: 'implicit.example.com', type: 'A', data: '192.0.2.9' },
  { name: 'mixed.example.com', type: 'MX', data: { preference: 0, exchange: '.' } },
  { name: 'mixed.example.com', type: 'MX', data: { preference: 5, exchange: 'mx1.example.com' } },
  { name: 'dangling.example.com', type: 'MX', data: { preference: 5, exchange: 'gone.example.com' } },
  // An empty non-terminal: the name exists (a name below it does) but has no records.
  { name: 'host.noaddr.example.com', type: 'A', data: '192.0.2.77' },
  { name: 'flaky.example.com', type: 'MX', data: { preference: 5, exchange: 'broken.example.com' } },
  { name: 'flaky.example.com', type: 'MX', data: { preference: 9, exchange: 'gone.example.com' } },
];

test('resolveMailHosts: MX hosts by preference, each with IPv4 then IPv6 addresses', async () => {
  assert.deepEqual(await resolveMailHosts(zoneResolver(zone), 'Example.COM'), {
    kind: 'hosts',
    hosts: [
      { name: 'mx1.example.com', preference: 10, addresses: ['192.0.2.1', '2001:db8::1'] },
      { name: 'mx2.example.com', preference: 20, addresses: ['192.0.2.2'] },
    ],
  });
});

test('resolveMailHosts: null MX, implicit MX, NXDOMAIN, mixed "." ignored', async () => {
  const r = zoneResolver(zone);
  assert.deepEqual(await resolveMailHosts(r, 'nullmx.example.com'), { kind: 'null-mx' });
  assert.deepEqual(await resolveMailHosts(r, 'implicit.example.com'), { kind: 'hosts', hosts: [{ name: 'implicit.example.com', preference: 0, addresses: ['192.0.2.9'] }] });
  assert.deepEqual(await resolveMailHosts(r, 'nope.example.com'), { kind: 'nxdomain' });
  assert.deepEqual(await resolveMailHosts(r, 'bad..name'), { kind: 'nxdomain' });
  assert.deepEqual(await resolveMailHosts(r, 'mixed.example.com'), { kind: 'hosts', hosts: [{ name: 'mx1.example.com', preference: 5, addresses: ['192.0.2.1', '2001:db8::1'] }] });
});

test('resolveMailHosts: no address anywhere → no-hosts (permanent); a temporary failure → temporary', async () => {
  const r = zoneResolver(zone);
  const dangling = await resolveMailHosts(r, 'dangling.example.com');
  assert.equal(dangling.kind, 'no-hosts');
  assert.equal((await resolveMailHosts(r, 'noaddr.example.com')).kind, 'no-hosts', 'no MX and no A/AAAA');
  r.fault('broken.example.com', 'servfail');
  const flaky = await resolveMailHosts(r, 'flaky.example.com');
  assert.equal(flaky.kind, 'temporary');
  assert.match(flaky.kind === 'temporary' ? flaky.detail : '', /broken\.example\.com/);
  r.fault('example.com', 'servfail');
  assert.equal((await resolveMailHosts(r, 'example.com')).kind, 'temporary', 'MX lookup itself failed');
});

test('resolveMailHosts: a host whose lookup failed is skipped when another host has addresses', async () => {
  const r = zoneResolver(zone);
  r.fault('mx1.example.com', 'servfail');
  assert.deepEqual(await resolveMailHosts(r, 'example.com'), { kind: 'hosts', hosts: [{ name: 'mx2.example.com', preference: 20, addresses: ['192.0.2.2'] }] });
});

test(`resolveMailHosts: at most ${MAX_MX_HOSTS} MX hosts are looked up`, async () => {
  const many: ZoneRecord[] = [];
  for (let i = 0; i < 30; i++) {
    many.push({ name: 'big.example', type: 'MX', data: { preference: i, exchange: `mx${i}.big.example` } });
    many.push({ name: `mx${i}.big.example`, type: 'A', data: `192.0.2.${i}` });
  }
  const r = zoneResolver(many);
  const out = await resolveMailHosts(r, 'big.example');
  assert.equal(out.kind === 'hosts' && out.hosts.length, MAX_MX_HOSTS);
  assert.equal(r.calls.length, 1 + 2 * MAX_MX_HOSTS);
});
