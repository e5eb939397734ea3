/**
 * The DNS port: what policy (PTR checks) and delivery (MX lookup) ask of DNS.
 * main injects one implementation (a cache in front of the stub resolver);
 * tests inject the same classes pointed at a loopback server, or a fake.
 *
 * Every answer is a value, never an exception, and says which of four things
 * happened, because callers act differently on each (RFC 2308, RFC 5321 §5.1):
 *
 *   records    the name has records of this type (ttl: seconds, min of the RRset)
 *   nodata     the name exists but has no records of this type
 *   nxdomain   the name does not exist
 *   temporary  no usable answer now (timeout, SERVFAIL, REFUSED, network error):
 *              retry later; never treat as "does not exist"
 *
 * A thrown error from a resolver is a bug, not a DNS outcome.
 */

export interface MxRecord {
  /** Lower-case, no trailing dot; "." is the null MX target (RFC 7505). */
  exchange: string;
  preference: number;
}

export type Answer<T> =
  | { kind: 'records'; records: readonly T[]; ttl: number }
  /** ttl: the negative TTL from the SOA in the authority section (RFC 2308 §5); null when the server sent no SOA. */
  | { kind: 'nodata'; ttl: number | null }
  | { kind: 'nxdomain'; ttl: number | null }
  /** detail is for logs only. */
  | { kind: 'temporary'; detail: string };

export type MxAnswer = Answer<MxRecord>;
/** IP addresses as text: dotted quad, or compressed lower-case IPv6. */
export type AddrAnswer = Answer<string>;
/** Host names, lower-case, no trailing dot. */
export type NameAnswer = Answer<string>;

export interface DnsResolver {
  mx(domain: string): Promise<MxAnswer>;
  a(name: string): Promise<AddrAnswer>;
  aaaa(name: string): Promise<AddrAnswer>;
  /** Reverse lookup of an IPv4/IPv6 address (IPv4-mapped IPv6 is looked up as IPv4). Not an IP → nxdomain. */
  ptr(ip: string): Promise<NameAnswer>;
}

/** The record types the port asks for; also the cache key prefix. */
export type QueryType = 'MX' | 'A' | 'AAAA' | 'PTR';
