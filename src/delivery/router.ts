/**
 * Where mail for a domain goes (SPEC §4.4): a static route first, then the
 * relay host, then DNS — MX by preference (equal preferences shuffled), no
 * MX → the domain's own addresses, null MX / no such domain → bounce at
 * once, DNS trouble → try again later. A route may also be an http(s) URL:
 * the message is POSTed there (webhook delivery).
 */
import { isIP } from 'node:net';
import type { HostPort } from '../config/types.js';
import { resolveMailHosts, type DnsResolver } from '../dns/index.js';

export interface RouteHost {
  name: string;
  port: number;
  /** Addresses to try in turn. */
  addresses: string[];
}

export type Route =
  | { kind: 'smtp'; hosts: RouteHost[] }
  | { kind: 'webhook'; url: string }
  /** The domain cannot receive mail: bounce every recipient (status is the enhanced code, e.g. 5.1.10 for null MX). */
  | { kind: 'bounce'; status: string; text: string }
  | { kind: 'defer'; text: string };

export interface RouterOptions {
  /** domain → "host:port" or an http(s) URL (config delivery.routes). */
  routes: Readonly<Record<string, string>>;
  relayHost: HostPort | null;
  /** Port for MX hosts (config delivery.port). */
  port: number;
  resolver: DnsResolver;
  random?: () => number;
}

export class Router {
  constructor(private readonly options: RouterOptions) {}

  async route(domain: string): Promise<Route> {
    const key = domain.toLowerCase();
    const fixed = this.options.routes[key];
    if (fixed !== undefined) {
      if (/^https?:\/\//i.test(fixed)) return { kind: 'webhook', url: fixed };
      const hp = splitHostPort(fixed, this.options.port);
      return this.fixedHost(hp.host, hp.port);
    }
    if (this.options.relayHost) return this.fixedHost(this.options.relayHost.host, this.options.relayHost.port);

    const found = await resolveMailHosts(this.options.resolver, key, this.options.random ? { random: this.options.random } : {});
    switch (found.kind) {
      case 'hosts':
        return { kind: 'smtp', hosts: found.hosts.map((h) => ({ name: h.name, port: this.options.port, addresses: h.addresses })) };
      case 'null-mx':
        return { kind: 'bounce', status: '5.1.10', text: `${key} does not accept mail (null MX, RFC 7505)` };
      case 'nxdomain':
        return { kind: 'bounce', status: '5.1.2', text: `no such domain: ${key}` };
      case 'no-hosts':
        return { kind: 'bounce', status: '5.4.4', text: `no mail host for ${key}: ${found.detail}` };
      case 'temporary':
        return { kind: 'defer', text: `DNS lookup for ${key} failed: ${found.detail}` };
    }
  }

  /** A route or relay host: an IP literal is used as is, a name is looked up (A, then AAAA). */
  private async fixedHost(host: string, port: number): Promise<Route> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare)) return { kind: 'smtp', hosts: [{ name: bare, port, addresses: [bare] }] };
    const [v4, v6] = await Promise.all([this.options.resolver.a(bare), this.options.resolver.aaaa(bare)]);
    const addresses = [...(v4.kind === 'records' ? v4.records : []), ...(v6.kind === 'records' ? v6.records : [])];
    if (addresses.length > 0) return { kind: 'smtp', hosts: [{ name: bare, port, addresses }] };
    if (v4.kind === 'temporary' || v6.kind === 'temporary') return { kind: 'defer', text: `DNS lookup for relay ${bare} failed` };
    // A configured route that does not resolve is the operator's mistake: keep the mail and retry, never bounce it.
    return { kind: 'defer', text: `relay host ${bare} has no address` };
  }
}

function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) return { host: value, port: defaultPort };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}
