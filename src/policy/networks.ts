/**
 * IP networks for relay permission (relay.trustedNetworks) and the loopback
 * test (auth.plaintext: loopback), plus the one IP normalisation every
 * per-IP table in policy keys on.
 *
 * Dual-stack sockets report IPv4 clients as IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`). We turn those into plain IPv4 before any decision, so
 * a client is the same client — for trust, for POP-before-SMTP, for per-IP
 * limits — whichever listener it reached.
 */
import ipaddr from 'ipaddr.js';
import { PostlineError } from '../core/errors.js';

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Strict parse of socket-style IP text; null if it is not one. Only
 * dotted-quad IPv4: ipaddr.js alone also accepts `10.1`, octal and hex forms,
 * which no socket reports and which must not match a network by surprise.
 */
function parseIp(text: string): Ip | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/**
 * Canonical text for an IP, used as a map key: IPv4-mapped → IPv4, IPv6
 * compressed and lower-case. Text that is not an IP is returned lower-cased,
 * so it still works as a key (it just never equals a real address).
 */
export function normalizeIp(ip: string): string {
  const parsed = parseIp(ip);
  return parsed === null ? ip.toLowerCase() : parsed.toString();
}

/** 127.0.0.0/8, ::1, and ::ffff:127.x (the same thing seen through a dual-stack socket). */
export function isLoopback(ip: string): boolean {
  return parseIp(ip)?.range() === 'loopback';
}

export class NetworkList {
  private constructor(
    private readonly v4: ReadonlyArray<[ipaddr.IPv4, number]>,
    private readonly v6: ReadonlyArray<[ipaddr.IPv6, number]>,
  ) {}

  /**
   * `192.168.0.0/16`, `2001:db8::/32`, or a bare address (/32, /128). The
   * config validator has already checked these; a bad entry here is a wiring
   * bug, so it throws rather than being silently skipped (skipping a trusted
   * network is harmless, but skipping silently hides the mistake).
   */
  static parse(cidrs: readonly string[]): NetworkList {
    const v4: Array<[ipaddr.IPv4, number]> = [];
    const v6: Array<[ipaddr.IPv6, number]> = [];
    for (const cidr of cidrs) {
      const [addr = '', bits, extra] = cidr.split('/');
      // Networks are parsed without the mapped → IPv4 step: `::ffff:10.0.0.0/104`
      // stays an IPv6 network and is matched through the client's mapped form below.
      const ip = ipaddr.IPv4.isValidFourPartDecimal(addr) ? ipaddr.IPv4.parse(addr) : ipaddr.IPv6.isValid(addr) ? ipaddr.IPv6.parse(addr) : null;
      const max = ip?.kind() === 'ipv4' ? 32 : 128;
      const len = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (ip === null || extra !== undefined || !(len >= 0 && len <= max)) {
        throw new PostlineError('ERR_CONFIG_INVALID', `relay network ${JSON.stringify(cidr)} is not an IP network`);
      }
      if (ip.kind() === 'ipv4') v4.push([ip as ipaddr.IPv4, len]);
      else v6.push([ip as ipaddr.IPv6, len]);
    }
    return new NetworkList(v4, v6);
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /**
   * An IPv4 client (plain or mapped) matches IPv4 networks directly, and IPv6
   * networks through its `::ffff:a.b.c.d` form — so `::ffff:192.168.0.0/112`
   * written by an operator means what it says. Non-IP text matches nothing.
   */
  contains(ip: string): boolean {
    const parsed = parseIp(ip);
    if (parsed === null) return false;
    if (parsed.kind() === 'ipv4') {
      const v4 = parsed as ipaddr.IPv4;
      if (this.v4.some((net) => v4.match(net))) return true;
      if (this.v6.length === 0) return false;
      const mapped = v4.toIPv4MappedAddress();
      return this.v6.some((net) => mapped.match(net));
    }
    const v6 = parsed as ipaddr.IPv6;
    return this.v6.some((net) => v6.match(net));
  }
}
