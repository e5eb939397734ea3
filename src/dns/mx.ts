/**
 * "Where do I deliver mail for domain D?" (RFC 5321 §5.1, RFC 7505, SPEC §4.4)
 * as one function over the resolver port, for the delivery code.
 *
 *   MX records        → hosts by ascending preference, equal preferences shuffled
 *   null MX (`MX 0 .`) → the domain accepts no mail: bounce at once
 *   no MX (NODATA)     → implicit MX: the domain itself, preference 0
 *   NXDOMAIN           → no such domain: bounce
 *   temporary          → try again later
 *
 * Each host carries its addresses, IPv4 first then IPv6. Why IPv4 first: many
 * container and cloud hosts have an IPv6 address but no working IPv6 route,
 * and there a v6 attempt costs a whole connect timeout per address before the
 * v4 one runs; every MX on the Internet is reachable over IPv4. A fuller
 * answer (RFC 8305 Happy Eyeballs, RFC 6724 ordering) belongs in delivery.
 */
import type { DnsResolver, MxRecord } from './types.js';
import { normalizeName } from './names.js';

export interface MailHost {
  name: string;
  preference: number;
  addresses: string[];
}

export type MailHosts =
  | { kind: 'hosts'; hosts: MailHost[] }
  | { kind: 'null-mx' }
  | { kind: 'nxdomain' }
  /** The domain exists, but no MX host (or, without MX, the domain itself) has an address: permanent. */
  | { kind: 'no-hosts'; detail: string }
  | { kind: 'temporary'; detail: string };

// At most this many MX hosts get address lookups: bounds the queries one
// hostile MX set can cost (Postfix tries 5 addresses by default; 10 hosts is generous).
export const MAX_MX_HOSTS = 10;

/**
 * Ascending preference; within one preference a uniform shuffle (RFC 5321
 * §5.1: "randomize them to spread the load"). `random` returns [0, 1) and is
 * injected so tests can pin the order. Returns a new array.
 */
export function orderMx(records: readonly MxRecord[], random: () => number = Math.random): MxRecord[] {
  const out = records.slice();
  // Fisher–Yates over the whole list, then a stable sort by preference: each
  // group of equal preference keeps its shuffled order.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.sort((x, y) => x.preference - y.preference);
}

/**
 * RFC 7505: a domain publishing only `MX 0 .` accepts no mail. Lenient about
 * the preference and about duplicates: every record pointing at the root is
 * enough. A "." mixed with real hosts is a misconfiguration; the real hosts win.
 */
export function isNullMx(records: readonly MxRecord[]): boolean {
  return records.length > 0 && records.every((r) => r.exchange === '.');
}

export async function resolveMailHosts(resolver: DnsResolver, domain: string, options: { random?: () => number } = {}): Promise<MailHosts> {
  const name = normalizeName(domain);
  if (name === null) return { kind: 'nxdomain' };
  const mx = await resolver.mx(name);
  let candidates: MxRecord[];
  switch (mx.kind) {
    case 'temporary':
      return { kind: 'temporary', detail: `MX ${name}: ${mx.detail}` };
    case 'nxdomain':
      return { kind: 'nxdomain' };
    case 'nodata':
      candidates = [{ exchange: name, preference: 0 }];
      break;
    case 'records':
      if (isNullMx(mx.records)) return { kind: 'null-mx' };
      candidates = orderMx(
        mx.records.filter((r) => r.exchange !== '.'),
        options.random,
      ).slice(0, MAX_MX_HOSTS);
      break;
  }

  const looked = await Promise.all(candidates.map((c) => hostAddresses(resolver, c.exchange)));
  const hosts: MailHost[] = [];
  const temporary: string[] = [];
  looked.forEach((r, i) => {
    const c = candidates[i]!;
    if (r.addresses.length > 0) hosts.push({ name: c.exchange, preference: c.preference, addresses: r.addresses });
    else if (r.temporary !== null) temporary.push(`${c.exchange}: ${r.temporary}`);
  });
  if (hosts.length > 0) return { kind: 'hosts', hosts };
  // No address at all: worth a retry if any lookup failed for now, else final.
  if (temporary.length > 0) return { kind: 'temporary', detail: temporary.join('; ') };
  return { kind: 'no-hosts', detail: `no address for ${candidates.map((c) => c.exchange).join(', ')}` };
}

async function hostAddresses(resolver: DnsResolver, host: string): Promise<{ addresses: string[]; temporary: string | null }> {
  const [v4, v6] = await Promise.all([resolver.a(host), resolver.aaaa(host)]);
  const addresses: string[] = [];
  const failures: string[] = [];
  for (const answer of [v4, v6]) {
    if (answer.kind === 'records') addresses.push(...answer.records.filter((a) => !addresses.includes(a)));
    else if (answer.kind === 'temporary') failures.push(answer.detail);
  }
  return { addresses, temporary: failures.length > 0 ? failures.join('; ') : null };
}
