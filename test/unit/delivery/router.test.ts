import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/delivery/router.js';
import type { AddrAnswer, DnsResolver, MxAnswer, NameAnswer } from '../../../src/dns/index.js';

/** A resolver answering from plain maps; names not listed are NXDOMAIN, names in `failing` temporary. */
function fakeResolver(zone: { mx?: Record<string, [number, string][]>; a?: Record<string, string[]>; failing?: string[] }): DnsResolver & { queries: string[] } {
  const queries: string[] = [];
  const known = new Set([...Object.keys(zone.mx ?? {}), ...Object.keys(zone.a ?? {})]);
  const miss = (name: string) => (known.has(name) ? { kind: 'nodata' as const, ttl: 60 } : { kind: 'nxdomain' as const, ttl: 60 });
  return {
    queries,
    async mx(name): Promise<MxAnswer> {
      queries.push(`MX ${name}`);
      if (zone.failing?.includes(name)) return { kind: 'temporary', detail: 'SERVFAIL' };
      const recs = zone.mx?.[name];
      return recs ? { kind: 'records', ttl: 60, records: recs.map(([preference, exchange]) => ({ preference, exchange })) } : miss(name);
    },
    async a(name): Promise<AddrAnswer> {
      queries.push(`A ${name}`);
      const recs = zone.a?.[name];
      return recs ? { kind: 'records', ttl: 60, records: recs } : miss(name);
    },
    async aaaa(name): Promise<AddrAnswer> {
      queries.push(`AAAA ${name}`);
      return miss(name);
    },
    async ptr(): Promise<NameAnswer> {
      return { kind: 'nxdomain', ttl: null };
    },
  };
}

test('static routes win over relayHost and MX; a URL route is a webhook', async () => {
  const resolver = fakeResolver({ a: { 'relay.example': ['192.0.2.50'] } });
  const router = new Router({ routes: { 'example.com': '127.0.0.1:2526', 'hook.example': 'https://hooks.example/in' }, relayHost: { host: 'relay.example', port: 587 }, port: 25, resolver });
  assert.deepEqual(await router.route('Example.COM'), { kind: 'smtp', hosts: [{ name: '127.0.0.1', port: 2526, addresses: ['127.0.0.1'] }] });
  assert.deepEqual(await router.route('hook.example'), { kind: 'webhook', url: 'https://hooks.example/in' });
  assert.deepEqual(await router.route('anything.example'), { kind: 'smtp', hosts: [{ name: 'relay.example', port: 587, addresses: ['192.0.2.50'] }] });
  assert.ok(!resolver.queries.some((q) => q.startsWith('MX')), 'no MX lookups with a relay host');
});

test('MX by preference with the delivery port, A fallback, null MX, NXDOMAIN, temporary failure', async () => {
  const resolver = fakeResolver({
    mx: { 'example.org': [[20, 'mx2.example.org'], [10, 'mx1.example.org']], 'nomail.example': [[0, '.']], 'slow.example': [] },
    a: { 'mx1.example.org': ['192.0.2.1'], 'mx2.example.org': ['192.0.2.2'], 'plain.example': ['192.0.2.7'] },
    failing: ['slow.example'],
  });
  const router = new Router({ routes: {}, relayHost: null, port: 2525, resolver });
  assert.deepEqual(await router.route('example.org'), {
    kind: 'smtp',
    hosts: [
      { name: 'mx1.example.org', port: 2525, addresses: ['192.0.2.1'] },
      { name: 'mx2.example.org', port: 2525, addresses: ['192.0.2.2'] },
    ],
  });
  assert.deepEqual(await router.route('plain.example'), { kind: 'smtp', hosts: [{ name: 'plain.example', port: 2525, addresses: ['192.0.2.7'] }] });
  assert.equal((await router.route('nomail.example')).kind, 'bounce');
  const nx = await router.route('nowhere.example');
  assert.equal(nx.kind, 'bounce');
  assert.equal(nx.kind === 'bounce' && nx.status, '5.1.2');
  assert.equal((await router.route('slow.example')).kind, 'defer');
});
