/**
 * DNS messages in and out, as pure functions over dns-packet: build a query,
 * check that a response answers it, and read a response into the port's
 * answer kinds. No sockets, no timers — transport.ts and client.ts do those.
 */
import dnsPacket from 'dns-packet';
import type { Answer, MxRecord, QueryType } from './types.js';
import { canonicalIp } from './names.js';

export type Packet = dnsPacket.DecodedPacket & { rcode?: string };

/** The record each query type yields (the port's answer payloads). */
export interface RecordOf {
  MX: MxRecord;
  A: string;
  AAAA: string;
  PTR: string;
}

export interface Query {
  id: number;
  name: string; // normalised (names.ts)
  type: QueryType;
  edns: boolean;
}

// EDNS0 payload size of DNS Flag Day 2020: fits in one unfragmented datagram
// on any path with an MTU of 1280 (IPv6 minimum), so answers up to this size
// need no TCP retry, and nothing relies on IP fragments (a spoofing vector).
export const EDNS_PAYLOAD = 1232;

// A chain of CNAMEs inside one answer is followed at most this far; a longer
// one is a loop or a misconfiguration, reported as a (temporary) failure.
export const MAX_CNAME_HOPS = 8;

export function encodeQuery(q: Query): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: q.type, name: q.name, class: 'IN' }],
    additionals: q.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [],
  });
}

/** null for bytes that are not a DNS message (dns-packet throws on those). */
export function decodePacket(buf: Buffer): Packet | null {
  try {
    return dnsPacket.decode(buf) as Packet;
  } catch {
    return null;
  }
}

const hostText = (name: string): string => (name === '' || name === '.' ? '.' : name.replace(/\.$/, '').toLowerCase());

/**
 * Is this response the answer to our query? Same id, a response, and the same
 * question (names compare case-insensitively). A spoofed or stale datagram
 * fails this and is ignored, not treated as an error. Error replies may omit
 * the question section (some servers do for FORMERR); the id must still match.
 */
export function isAnswerTo(resp: Packet, q: Query): boolean {
  if (resp.id !== q.id || !resp.flag_qr) return false;
  const qs = resp.questions ?? [];
  if (qs.length === 0) return resp.rcode !== 'NOERROR' && resp.rcode !== 'NXDOMAIN';
  const [question] = qs;
  return qs.length === 1 && hostText(question!.name) === q.name && question!.type === q.type && (question!.class ?? 'IN') === 'IN';
}

export type Reading<T> =
  | { kind: 'answer'; answer: Exclude<Answer<T>, { kind: 'temporary' }>; hops: number }
  /** The chain left this message without an answer for its last name: ask again for `target`. */
  | { kind: 'cname'; target: string; ttl: number; hops: number }
  /** SERVFAIL, REFUSED, FORMERR, …: this server cannot answer; another may. */
  | { kind: 'failed'; rcode: string; detail: string };

function recordOf<T extends QueryType>(type: T, a: dnsPacket.Answer): RecordOf[T] | null {
  let value: MxRecord | string | null = null;
  switch (a.type) {
    case 'MX':
      value = { exchange: hostText(a.data.exchange), preference: a.data.preference ?? 0 };
      break;
    case 'A':
    case 'AAAA':
      value = canonicalIp(a.data);
      break;
    case 'PTR':
      value = hostText(a.data);
      break;
    default:
      return null;
  }
  return a.type === type ? (value as RecordOf[T] | null) : null;
}

/** RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM); null when no SOA came with it. */
function negativeTtl(resp: Packet): number | null {
  const soa = (resp.authorities ?? []).find((a): a is dnsPacket.SoaAnswer => a.type === 'SOA');
  return soa === undefined ? null : Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
}

/**
 * Reads a response for (name, type): follows CNAMEs inside the answer section
 * (bounded), then classifies. TTL of a positive answer = the minimum over the
 * records and every CNAME on the way — the answer is only as fresh as its
 * shortest link.
 */
export function readResponse<T extends QueryType>(resp: Packet, name: string, type: T): Reading<RecordOf[T]> {
  const rcode = resp.rcode ?? 'NOERROR';
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { kind: 'failed', rcode, detail: rcode };

  const rrs = (resp.answers ?? []).filter((a) => a.type !== 'OPT' && (a.class ?? 'IN') === 'IN') as Array<Exclude<dnsPacket.Answer, dnsPacket.OptAnswer>>;
  let current = name;
  let ttl = Infinity;
  let hops = 0;
  for (;;) {
    const records: Array<RecordOf[T]> = [];
    for (const rr of rrs) {
      if (hostText(rr.name) !== current) continue;
      const value = recordOf(type, rr);
      if (value === null) continue;
      records.push(value);
      ttl = Math.min(ttl, rr.ttl ?? 0);
    }
    if (records.length > 0) return { kind: 'answer', answer: { kind: 'records', records, ttl }, hops };
    const cname = rrs.find((rr): rr is dnsPacket.StringAnswer => rr.type === 'CNAME' && hostText(rr.name) === current);
    if (cname === undefined) break;
    if (++hops > MAX_CNAME_HOPS) return { kind: 'failed', rcode, detail: `CNAME chain longer than ${MAX_CNAME_HOPS} at ${name}` };
    ttl = Math.min(ttl, cname.ttl ?? 0);
    current = hostText(cname.data);
  }

  const negative = negativeTtl(resp);
  // RFC 6604: after a CNAME chain the rcode describes the last name in it.
  if (rcode === 'NXDOMAIN') return { kind: 'answer', answer: { kind: 'nxdomain', ttl: clip(negative, ttl) }, hops };
  // The chain ended at another name with neither data nor an SOA: the server
  // did not chase it (an authoritative server for the first zone only).
  if (current !== name && negative === null) return { kind: 'cname', target: current, ttl, hops };
  return { kind: 'answer', answer: { kind: 'nodata', ttl: clip(negative, ttl) }, hops };
}

/** A negative TTL cannot outlive the CNAMEs that led to it. */
function clip(negative: number | null, chain: number): number | null {
  return negative === null ? null : Math.min(negative, chain);
}
