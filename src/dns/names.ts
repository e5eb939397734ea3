/**
 * Name and address text as DNS sees it. Pure functions; the one place that
 * decides what a query name looks like, so the client and the cache key on
 * exactly the same text.
 */
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';

// RFC 1035 §2.3.4: labels of 1-63 octets, names of at most 253 characters in
// text form. Letters, digits, hyphen, and underscore (SRV/DKIM-style labels
// exist in the wild). Anything else cannot be a mail host, so it is never sent.
const LABEL = /^[a-z0-9_-]{1,63}$/;

/**
 * Lower-case, trailing dot removed, non-ASCII converted to its A-label
 * (punycode) form; null when the text cannot be a DNS name. The IDN step runs
 * only for non-ASCII input: WHATWG's domainToASCII also rewrites ASCII such
 * as `0x7f.1` into `127.0.0.1`, which must not happen to a name we were given.
 */
export function normalizeName(name: string): string | null {
  let n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (/[^\x00-\x7f]/.test(n)) n = domainToASCII(n);
  n = n.toLowerCase();
  if (n.length === 0 || n.length > 253) return null;
  return n.split('.').every((label) => LABEL.test(label)) ? n : null;
}

/** An IP as text → the parsed address; IPv4-mapped IPv6 becomes IPv4. Strict dotted quad only. */
function parseIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return ipaddr.IPv4.parse(ip);
  if (!ipaddr.IPv6.isValid(ip)) return null;
  const v6 = ipaddr.IPv6.parse(ip);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** Canonical address text (dotted quad; RFC 5952 IPv6), so answers compare with `===`; null if not an IP. */
export function canonicalIp(ip: string): string | null {
  return parseIp(ip)?.toString() ?? null;
}

/** `192.0.2.1` → `1.2.0.192.in-addr.arpa`; IPv6 → nibbles under `ip6.arpa` (RFC 3596 §2.5); null if not an IP. */
export function reverseName(ip: string): string | null {
  const addr = parseIp(ip);
  if (addr === null) return null;
  if (addr.kind() === 'ipv4') return `${(addr as ipaddr.IPv4).octets.slice().reverse().join('.')}.in-addr.arpa`;
  const hex = (addr as ipaddr.IPv6).parts.map((p) => p.toString(16).padStart(4, '0')).join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}
