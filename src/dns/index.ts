/**
 * The DNS layer's entry point for main: one shared cache in front of one stub
 * resolver, built from `config.dns`. Policy and delivery receive it as the
 * `DnsResolver` port; /metrics reads `stats()`.
 */
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/types.js';
import { DnsCache, type DnsCacheOptions } from './cache.js';
import { StubResolver, type StubResolverOptions } from './client.js';

export type { AddrAnswer, Answer, DnsResolver, MxAnswer, MxRecord, NameAnswer } from './types.js';
export { DnsCache, CACHE_DEFAULTS, type DnsCacheStats } from './cache.js';
export { StubResolver, STUB_DEFAULTS } from './client.js';
export { isNullMx, orderMx, resolveMailHosts, type MailHost, type MailHosts } from './mx.js';

export function createResolver(
  dns: Readonly<Config['dns']>,
  clock: Clock,
  tuning: { stub?: Omit<StubResolverOptions, 'servers' | 'doh' | 'clock'>; cache?: Omit<DnsCacheOptions, 'clock'> } = {},
): DnsCache {
  const stub = new StubResolver({ ...tuning.stub, servers: dns.servers, doh: dns.doh, clock });
  return new DnsCache(stub, { ...tuning.cache, clock });
}
