/**
 * A stub resolver: sends recursive queries to the configured resolvers (or
 * DoH endpoint) and turns replies into the port's answers.
 *
 * Why not node:dns's Resolver: it reports no TTL for MX or PTR answers and
 * nothing at all for negative answers (no SOA minimum), and the cache must
 * honour both (SPEC §4.4, RFC 2308). It also folds SERVFAIL and timeouts into
 * errors that are awkward to tell from NXDOMAIN.
 *
 * Retry order (as glibc's resolver): every server once, then every server
 * again, up to `tries` rounds; each try waits at most `timeoutMs`, and the
 * whole lookup — CNAME re-queries included — ends by `totalTimeoutMs`, so a
 * dead resolver costs a bounded, known time. SERVFAIL/REFUSED from one server
 * moves on to the next; NXDOMAIN and NODATA are final.
 */
import { randomInt } from 'node:crypto';
import dns from 'node:dns';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { Answer, DnsResolver, MxAnswer, AddrAnswer, NameAnswer, QueryType } from './types.js';
import { normalizeName, reverseName } from './names.js';
import { encodeQuery, isAnswerTo, MAX_CNAME_HOPS, readResponse, type Query, type Reading, type RecordOf } from './wire.js';
import { dohExchange, serverLabel, tcpExchange, udpExchange, type Server } from './transport.js';

export interface StubResolverOptions {
  /** Recursive resolvers; empty = the system's (node:dns getServers, i.e. /etc/resolv.conf). */
  servers?: readonly Server[];
  /** A DNS-over-HTTPS URL; when set, it is the only transport (an operator choosing DoH does not want UDP leaks). */
  doh?: string;
  clock?: Clock;
  timeoutMs?: number;
  tries?: number;
  totalTimeoutMs?: number;
  /** Send an EDNS0 OPT record (payload 1232); a server that answers FORMERR/NOTIMP is asked again without it. */
  edns?: boolean;
}

export const STUB_DEFAULTS = {
  // 2 s per try, 2 rounds: the same order as resolv.conf's `timeout:5 attempts:2`
  // but shorter, because an SMTP client is waiting on the PTR check.
  timeoutMs: 2000,
  tries: 2,
  // Whole lookup, whatever the number of servers: well inside the 5 minutes an
  // SMTP client waits for a reply to MAIL (RFC 5321 §4.5.3.2.3), and short
  // enough that a dead resolver does not stall delivery workers.
  totalTimeoutMs: 10_000,
  edns: true,
} as const;

export class StubResolver implements DnsResolver {
  private readonly servers: readonly Server[] | null;
  private readonly doh: string;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly tries: number;
  private readonly totalTimeoutMs: number;
  private readonly edns: boolean;

  constructor(options: StubResolverOptions = {}) {
    this.servers = options.servers && options.servers.length > 0 ? options.servers : null;
    this.doh = options.doh ?? '';
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? STUB_DEFAULTS.timeoutMs;
    this.tries = Math.max(1, options.tries ?? STUB_DEFAULTS.tries);
    this.totalTimeoutMs = options.totalTimeoutMs ?? STUB_DEFAULTS.totalTimeoutMs;
    this.edns = options.edns ?? STUB_DEFAULTS.edns;
  }

  mx(domain: string): Promise<MxAnswer> {
    return this.lookup(domain, 'MX');
  }

  a(name: string): Promise<AddrAnswer> {
    return this.lookup(name, 'A');
  }

  aaaa(name: string): Promise<AddrAnswer> {
    return this.lookup(name, 'AAAA');
  }

  ptr(ip: string): Promise<NameAnswer> {
    const name = reverseName(ip);
    return name === null ? Promise.resolve({ kind: 'nxdomain', ttl: null }) : this.lookup(name, 'PTR');
  }

  /**
   * A name that cannot exist in DNS (bad label, too long) is answered
   * NXDOMAIN without a query: it is the true answer, and it keeps hostile
   * input (a MAIL FROM domain) from ever reaching the wire encoder.
   */
  private async lookup<T extends QueryType>(name: string, type: T): Promise<Answer<RecordOf[T]>> {
    const first = normalizeName(name);
    if (first === null) return { kind: 'nxdomain', ttl: null };
    const deadline = this.clock.now() + this.totalTimeoutMs;
    let qname = first;
    let ttl = Infinity;
    let hops = 0;
    for (;;) {
      const reading = await this.query(qname, type, deadline);
      if (reading.kind === 'temporary') return reading;
      hops += reading.hops;
      if (reading.kind === 'answer') return withChainTtl(reading.answer, ttl);
      ttl = Math.min(ttl, reading.ttl);
      if (++hops > MAX_CNAME_HOPS) return { kind: 'temporary', detail: `CNAME chain longer than ${MAX_CNAME_HOPS} at ${first}` };
      qname = reading.target;
    }
  }

  /** One question, asked of each server in turn until one gives a usable reply. */
  private async query<T extends QueryType>(
    name: string,
    type: T,
    deadline: number,
  ): Promise<Exclude<Reading<RecordOf[T]>, { kind: 'failed' }> | { kind: 'temporary'; detail: string }> {
    const failures: string[] = [];
    const targets: ReadonlyArray<Server | string> = this.doh !== '' ? [this.doh] : this.servers ?? systemServers();
    if (targets.length === 0) return { kind: 'temporary', detail: 'no DNS servers configured' };
    for (let round = 0; round < this.tries; round++) {
      for (const target of targets) {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return { kind: 'temporary', detail: [...failures, `gave up after ${this.totalTimeoutMs} ms`].join('; ') };
        try {
          let reading = await this.ask(target, name, type, Math.min(this.timeoutMs, remaining), this.edns && typeof target !== 'string');
          if (reading.kind === 'failed' && (reading.rcode === 'FORMERR' || reading.rcode === 'NOTIMP') && this.edns && typeof target !== 'string') {
            // An old server that rejects EDNS0: the same question without it.
            reading = await this.ask(target, name, type, Math.max(1, Math.min(this.timeoutMs, deadline - this.clock.now())), false);
          }
          if (reading.kind !== 'failed') return reading;
          failures.push(`${reading.detail} from ${label(target)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }
    return { kind: 'temporary', detail: failures.join('; ') };
  }

  /** A random id per query (RFC 5452); a UDP reply with TC set is asked again over TCP. */
  private async ask<T extends QueryType>(target: Server | string, name: string, type: T, timeoutMs: number, edns: boolean): Promise<Reading<RecordOf[T]>> {
    if (typeof target === 'string') {
      const q: Query = { id: 0, name, type, edns: false };
      const resp = await dohExchange(target, encodeQuery(q), (r) => isAnswerTo(r, q), timeoutMs, this.clock);
      return readResponse(resp, name, type);
    }
    const q: Query = { id: randomInt(0, 0x10000), name, type, edns };
    const wire = encodeQuery(q);
    const started = this.clock.now();
    let resp = await udpExchange(target, wire, (r) => isAnswerTo(r, q), timeoutMs, this.clock);
    if (resp.flag_tc) {
      const left = Math.max(1, timeoutMs - (this.clock.now() - started));
      resp = await tcpExchange(target, wire, (r) => isAnswerTo(r, q), left, this.clock);
    }
    return readResponse(resp, name, type);
  }
}

function label(target: Server | string): string {
  return typeof target === 'string' ? 'doh' : serverLabel(target);
}

/** A positive or negative answer reached through CNAMEs lives no longer than the CNAMEs. */
function withChainTtl<T>(answer: Exclude<Answer<T>, { kind: 'temporary' }>, chainTtl: number): Answer<T> {
  if (chainTtl === Infinity) return answer;
  if (answer.kind === 'records') return { ...answer, ttl: Math.min(answer.ttl, chainTtl) };
  return answer.ttl === null ? answer : { ...answer, ttl: Math.min(answer.ttl, chainTtl) };
}

/**
 * node:dns's view of /etc/resolv.conf: "1.2.3.4", "1.2.3.4:5353", "::1",
 * "[::1]:5353". Read per lookup — it is a cheap getter — so a resolver set
 * with dns.setServers at startup is honoured.
 */
function systemServers(): Server[] {
  let list: string[];
  try {
    // Through the module object: node's named `getServers` export stays bound
    // to the resolver that existed before any dns.setServers call.
    list = dns.getServers();
  } catch {
    return [];
  }
  const out: Server[] = [];
  for (const entry of list) {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) out.push({ host: bracketed[1]!, port: Number(bracketed[2] ?? 53) });
    else if (entry.includes(':') && entry.indexOf(':') === entry.lastIndexOf(':')) {
      const [host, port] = entry.split(':');
      out.push({ host: host!, port: Number(port) });
    } else out.push({ host: entry, port: 53 });
  }
  return out;
}
