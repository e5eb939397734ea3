/**
 * A small authoritative-and-recursive-looking DNS server for tests, on
 * loopback UDP + TCP (same port) and optionally DoH (HTTP POST,
 * application/dns-message), serving zones given as plain data. Built on
 * dns-packet, independent of the resolver under test.
 *
 * Also `zoneResolver(records)`: the same zone data as an in-memory
 * DnsResolver, for unit tests that must not open sockets.
 *
 * Faults, per query name or for every name ('*'):
 *   servfail / refused  answer with that rcode
 *   drop                never answer (the client times out)
 *   truncate            over UDP: an empty answer with TC set; TCP answers fully
 *   wrong-id            answer with another id (a stray/spoofed datagram)
 *   no-edns             FORMERR to any query carrying an EDNS0 OPT record (an old server)
 */
import dgram from 'node:dgram';
import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { Answer, DnsResolver, MxRecord } from '../../src/dns/types.js';

export type ZoneRecord =
  | { name: string; type: 'A' | 'AAAA' | 'PTR' | 'CNAME'; data: string; ttl?: number }
  | { name: string; type: 'MX'; data: { preference: number; exchange: string }; ttl?: number }
  /** Zone apex; its TTL and minimum give the negative TTL of names under it (RFC 2308). */
  | { name: string; type: 'SOA'; data: { minimum: number }; ttl?: number };

export type Fault = 'servfail' | 'refused' | 'drop' | 'truncate' | 'wrong-id' | 'no-edns';
export type Transport = 'udp' | 'tcp' | 'doh';

export interface LoggedQuery {
  name: string;
  type: string;
  transport: Transport;
  edns?: boolean;
}

export const DEFAULT_TTL = 300;

/** `127.0.0.3` → `3.0.0.127.in-addr.arpa`; IPv6 → nibbles under ip6.arpa. Written independently of src/dns/names.ts. */
export function ptrName(ip: string): string {
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return (addr as ipaddr.IPv4).octets.slice().reverse().join('.') + '.in-addr.arpa';
  const nibbles = (addr as ipaddr.IPv6).parts.map((p) => p.toString(16).padStart(4, '0')).join('');
  return nibbles.split('').reverse().join('.') + '.ip6.arpa';
}

export interface ZoneResult {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: ZoneRecord[]; // CNAME chain, then the records of the asked type
  soa: Extract<ZoneRecord, { type: 'SOA' }> | null;
}

const lc = (s: string): string => s.toLowerCase().replace(/\.$/, '');

/** What a recursive resolver would say about (name, type) given this zone data. */
export function resolveInZone(records: readonly ZoneRecord[], name: string, type: string, chase = true): ZoneResult {
  const answers: ZoneRecord[] = [];
  let current = lc(name);
  for (let hops = 0; hops < 16; hops++) {
    const found = records.filter((r) => lc(r.name) === current && r.type === type);
    if (found.length > 0) return { rcode: 'NOERROR', answers: [...answers, ...found], soa: null };
    const cname = type === 'CNAME' ? undefined : records.find((r) => lc(r.name) === current && r.type === 'CNAME');
    if (cname === undefined) break;
    answers.push(cname);
    current = lc(cname.data as string);
    if (!chase) return { rcode: 'NOERROR', answers, soa: null };
  }
  // A name exists if it owns records or has names below it (empty non-terminal).
  const exists = records.some((r) => lc(r.name) === current || lc(r.name).endsWith('.' + current));
  const soa =
    (records.filter((r) => r.type === 'SOA' && (current === lc(r.name) || current.endsWith('.' + lc(r.name)))) as Array<Extract<ZoneRecord, { type: 'SOA' }>>).sort(
      (x, y) => y.name.length - x.name.length,
    )[0] ?? null;
  return { rcode: exists ? 'NOERROR' : 'NXDOMAIN', answers, soa };
}

function toPacketAnswer(r: ZoneRecord): dnsPacket.Answer {
  const base = { name: r.name, ttl: r.ttl ?? DEFAULT_TTL, class: 'IN' as const };
  if (r.type === 'SOA') {
    return { ...base, type: 'SOA', data: { mname: 'ns.' + r.name, rname: 'hostmaster.' + r.name, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: r.data.minimum } };
  }
  if (r.type === 'MX') return { ...base, type: 'MX', data: r.data };
  return { ...base, type: r.type, data: r.data };
}

export interface DnsTestServer {
  /** For StubResolver's `servers`. */
  server: { host: string; port: number };
  port: number;
  /** http://127.0.0.1:PORT/dns-query when started with { doh: true }. */
  dohUrl: string;
  records: ZoneRecord[];
  log: LoggedQuery[];
  /** Sets (or with null clears) a fault for a query name, or '*' for all. */
  fault(name: string, fault: Fault | null): void;
  /** Queries seen for name (and type), any transport. */
  count(name: string, type?: string): number;
  close(): Promise<void>;
}

export interface DnsServerOptions {
  doh?: boolean;
  /** false: answer a CNAME alone, like an authoritative server for the first zone only. */
  chaseCnames?: boolean;
  /** HTTP status the DoH endpoint answers with (tests of non-200 replies). */
  dohStatus?: number;
}

export async function startDnsServer(records: ZoneRecord[], options: DnsServerOptions = {}): Promise<DnsTestServer> {
  const faults = new Map<string, Fault>();
  const log: LoggedQuery[] = [];

  /** The reply bytes for a query, or null to stay silent. */
  function reply(query: Buffer, transport: Transport): Buffer | null {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(query);
    } catch {
      return null;
    }
    const question = q.questions?.[0];
    if (question === undefined) return null;
    const name = lc(question.name);
    log.push({ name, type: question.type, transport, edns: (q.additionals ?? []).some((a) => a.type === 'OPT') });
    const fault = faults.get(name) ?? faults.get('*');
    if (fault === 'drop') return null;
    const head = { type: 'response' as const, id: fault === 'wrong-id' ? (q.id! + 1) & 0xffff : q.id, questions: [question] };
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;
    if (fault === 'servfail') return dnsPacket.encode({ ...head, flags: flags | 2 });
    if (fault === 'refused') return dnsPacket.encode({ ...head, flags: flags | 5 });
    if (fault === 'no-edns' && (q.additionals ?? []).some((a) => a.type === 'OPT')) return dnsPacket.encode({ ...head, flags: flags | 1 });
    if (fault === 'truncate' && transport === 'udp') return dnsPacket.encode({ ...head, flags: flags | dnsPacket.TRUNCATED_RESPONSE });
    const result = resolveInZone(records, name, question.type, options.chaseCnames ?? true);
    return dnsPacket.encode({
      ...head,
      flags: flags | (result.rcode === 'NXDOMAIN' ? 3 : 0),
      answers: result.answers.map(toPacketAnswer),
      authorities: result.soa && result.answers.every((a) => a.type === 'CNAME') ? [toPacketAnswer(result.soa)] : [],
    });
  }

  const udpSocket = (): dgram.Socket => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      const out = reply(msg, 'udp');
      if (out !== null) socket.send(out, rinfo.port, rinfo.address);
    });
    return socket;
  };
  let udp = udpSocket();
  const tcpSockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    tcpSockets.add(socket);
    socket.on('close', () => tcpSockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        const out = reply(buffered.subarray(2, 2 + len), 'tcp');
        buffered = buffered.subarray(2 + len);
        if (out !== null) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        }
      }
    });
  });

  // UDP first on port 0, then TCP on the same number; another process may
  // hold that TCP port, so try a few times.
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => {
        udp.off('error', reject);
        resolve();
      });
    });
    port = udp.address().port;
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) break;
    if (attempt > 10) throw new Error('dns test server: no port free for both UDP and TCP');
    // A closed dgram socket cannot be bound again: the next attempt gets a new one.
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    udp = udpSocket();
  }

  let httpServer: http.Server | null = null;
  let dohUrl = '';
  if (options.doh) {
    httpServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/dns-message') {
          res.writeHead(415).end();
          return;
        }
        const out = reply(Buffer.concat(chunks), 'doh');
        if (out === null) return; // drop: leave the request hanging
        if (options.dohStatus !== undefined && options.dohStatus !== 200) {
          res.writeHead(options.dohStatus).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/dns-message', 'content-length': out.length }).end(out);
      });
    });
    await new Promise<void>((resolve) => httpServer!.listen(0, '127.0.0.1', resolve));
    dohUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/dns-query`;
  }

  return {
    server: { host: '127.0.0.1', port },
    port,
    dohUrl,
    records,
    log,
    fault(name, fault) {
      if (fault === null) faults.delete(lc(name));
      else faults.set(name === '*' ? '*' : lc(name), fault);
    },
    count(name, type) {
      return log.filter((q) => q.name === lc(name) && (type === undefined || q.type === type)).length;
    },
    async close() {
      for (const s of tcpSockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        httpServer
          ? new Promise<void>((resolve) => {
              httpServer!.closeAllConnections();
              httpServer!.close(() => resolve());
            })
          : Promise.resolve(),
      ]);
    },
  };
}

/**
 * The same zone data as an in-memory DnsResolver (no sockets), with the same
 * faults: 'drop' and 'servfail' become temporary answers. `calls` counts lookups.
 */
export function zoneResolver(records: ZoneRecord[]): DnsResolver & { fault(name: string, f: 'servfail' | null): void; calls: LoggedQuery[] } {
  const faults = new Set<string>();
  const calls: LoggedQuery[] = [];
  function lookup<T>(name: string, type: string, pick: (r: ZoneRecord) => T): Promise<Answer<T>> {
    const n = lc(name);
    calls.push({ name: n, type, transport: 'udp' });
    if (faults.has(n) || faults.has('*')) return Promise.resolve({ kind: 'temporary', detail: 'SERVFAIL' });
    const result = resolveInZone(records, n, type);
    const found = result.answers.filter((r) => r.type === type);
    const negTtl = result.soa ? Math.min(result.soa.ttl ?? DEFAULT_TTL, result.soa.data.minimum) : null;
    if (found.length > 0) return Promise.resolve({ kind: 'records', records: found.map(pick), ttl: Math.min(...result.answers.map((r) => r.ttl ?? DEFAULT_TTL)) });
    return Promise.resolve({ kind: result.rcode === 'NXDOMAIN' ? 'nxdomain' : 'nodata', ttl: negTtl });
  }
  const text = (r: ZoneRecord): string => lc(r.data as string);
  return {
    calls,
    fault(name, f) {
      if (f === null) faults.delete(lc(name));
      else faults.add(name === '*' ? '*' : lc(name));
    },
    mx: (d) => lookup(d, 'MX', (r) => ({ ...(r.data as MxRecord), exchange: lc((r.data as MxRecord).exchange) || '.' })),
    a: (n) => lookup(n, 'A', text),
    aaaa: (n) => lookup(n, 'AAAA', (r) => ipaddr.parse(r.data as string).toString()),
    ptr: (ip) => lookup(ptrName(ip.startsWith('::ffff:') ? ip.slice(7) : ip), 'PTR', text),
  };
}
