/**
 * The shared DNS cache: one in front of the stub resolver for the whole
 * process, so a hot destination domain or a returning client IP costs no
 * query (SPEC §4.4 "DNS answers are cached by TTL (negative answers too)").
 *
 * - Keyed by type + normalised name (PTR: by reverse name, so `::ffff:1.2.3.4`
 *   and `1.2.3.4` share an entry).
 * - Positive answers live for their TTL (min over the RRset and its CNAMEs),
 *   capped; a TTL of 0 means "do not cache" (RFC 1035 §3.2.1).
 * - NXDOMAIN/NODATA live for the SOA-derived TTL (RFC 2308 §5), capped; with
 *   no SOA, a default.
 * - Temporary failures are not cached by default: the next lookup should
 *   really try again. Concurrent lookups still share one query.
 * - Bounded: least recently used entries are evicted past `maxEntries`.
 * - Concurrent lookups of one key share one upstream query.
 *
 * No LRU library is installed; a Map keeps insertion order, and re-inserting
 * on every hit makes that order "least recently used first" — enough here.
 * Time comes from the injected clock (now() only; expiry is checked lazily).
 */
import type { Clock } from '../core/clock.js';
import { normalizeName, reverseName } from './names.js';
import type { AddrAnswer, Answer, DnsResolver, MxAnswer, NameAnswer, QueryType } from './types.js';

export interface DnsCacheOptions {
  clock: Clock;
  maxEntries?: number;
  maxTtlS?: number;
  negativeTtlS?: number;
  maxNegativeTtlS?: number;
  temporaryTtlS?: number;
}

export const CACHE_DEFAULTS = {
  // ~10k names × a few hundred bytes: a few MB at most, and far more distinct
  // domains and client IPs than a busy relay sees within a day's TTLs.
  maxEntries: 10_000,
  // One day: a record with a week-long TTL still gets re-checked daily, so a
  // moved MX is noticed even if its operator forgot to lower the TTL first.
  maxTtlS: 86_400,
  // RFC 2308 §5: negative TTL when the server gave no SOA (5 min); and the
  // 3 h cap it suggests, so a typo'd domain fixed by its owner recovers.
  negativeTtlS: 300,
  maxNegativeTtlS: 10_800,
  temporaryTtlS: 0,
} as const;

/** Counters for /metrics and the benchmark ("lookups per delivered message → ~0 for a hot domain"). */
export interface DnsCacheStats {
  /** Answered from the cache. */
  hits: number;
  /** Not in the cache (each either started a query or joined one). */
  misses: number;
  /** Misses that joined an in-flight query instead of starting one. */
  coalesced: number;
  /** Upstream lookups started (misses − coalesced). */
  queries: number;
  /** Entries dropped to stay within maxEntries. */
  evictions: number;
  /** Entries held now (some may have expired and not been looked at yet). */
  entries: number;
}

interface Entry {
  answer: Answer<unknown>;
  expires: number; // clock ms
}

export class DnsCache implements DnsResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Answer<unknown>>>();
  private readonly counters = { hits: 0, misses: 0, coalesced: 0, queries: 0, evictions: 0 };
  private readonly clock: Clock;
  private readonly limits: Required<Omit<DnsCacheOptions, 'clock'>>;

  constructor(
    private readonly upstream: DnsResolver,
    options: DnsCacheOptions,
  ) {
    this.clock = options.clock;
    this.limits = { ...CACHE_DEFAULTS, ...stripUndefined(options) };
  }

  mx(domain: string): Promise<MxAnswer> {
    return this.lookup('MX', normalizeName(domain) ?? domain.toLowerCase(), () => this.upstream.mx(domain));
  }

  a(name: string): Promise<AddrAnswer> {
    return this.lookup('A', normalizeName(name) ?? name.toLowerCase(), () => this.upstream.a(name));
  }

  aaaa(name: string): Promise<AddrAnswer> {
    return this.lookup('AAAA', normalizeName(name) ?? name.toLowerCase(), () => this.upstream.aaaa(name));
  }

  ptr(ip: string): Promise<NameAnswer> {
    return this.lookup('PTR', reverseName(ip) ?? ip.toLowerCase(), () => this.upstream.ptr(ip));
  }

  stats(): DnsCacheStats {
    return { ...this.counters, entries: this.entries.size };
  }

  clear(): void {
    this.entries.clear();
  }

  private lookup<T>(type: QueryType, name: string, ask: () => Promise<Answer<T>>): Promise<Answer<T>> {
    const key = `${type} ${name}`;
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      if (entry.expires > now) {
        this.entries.set(key, entry); // most recently used goes last
        this.counters.hits++;
        return Promise.resolve(withRemainingTtl(entry, now) as Answer<T>);
      }
    }
    this.counters.misses++;
    const pending = this.inflight.get(key);
    if (pending !== undefined) {
      this.counters.coalesced++;
      return pending as Promise<Answer<T>>;
    }
    this.counters.queries++;
    const query = ask()
      .then((answer) => {
        this.store(key, answer);
        return answer;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, query as Promise<Answer<unknown>>);
    return query;
  }

  private store(key: string, answer: Answer<unknown>): void {
    const seconds = this.lifetime(answer);
    if (!(seconds > 0) || this.limits.maxEntries <= 0) return;
    // Frozen: every caller shares this object; a caller sorting `records` in
    // place would otherwise reorder the cache for everyone.
    if (answer.kind === 'records') Object.freeze(answer.records);
    this.entries.delete(key);
    this.entries.set(key, { answer: Object.freeze(answer), expires: this.clock.now() + seconds * 1000 });
    while (this.entries.size > this.limits.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.counters.evictions++;
    }
  }

  private lifetime(answer: Answer<unknown>): number {
    const l = this.limits;
    switch (answer.kind) {
      case 'records':
        return Math.min(answer.ttl, l.maxTtlS);
      case 'nodata':
      case 'nxdomain':
        return answer.ttl === null ? l.negativeTtlS : Math.min(answer.ttl, l.maxNegativeTtlS);
      case 'temporary':
        return l.temporaryTtlS;
    }
  }
}

/** A cached answer reports the TTL it has left, as a caching resolver would. */
function withRemainingTtl(entry: Entry, now: number): Answer<unknown> {
  const a = entry.answer;
  if (a.kind === 'temporary') return a;
  const ttl = Math.ceil((entry.expires - now) / 1000);
  return { ...a, ttl };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'clock')) as Partial<T>;
}
