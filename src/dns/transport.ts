/**
 * One DNS exchange with one server: UDP, TCP (RFC 7766, after a truncated UDP
 * answer) or DNS-over-HTTPS (RFC 8484). Each resolves with the decoded
 * response that answers the query, or rejects with ERR_DNS_TEMPORARY
 * (timeout, network error, broken reply). Choosing servers, retrying and
 * reading the answer is client.ts's job.
 *
 * Timers come from the injected clock (STYLE: no direct setTimeout).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock } from '../core/clock.js';
import { PostlineError } from '../core/errors.js';
import { canonicalIp } from './names.js';
import { decodePacket, type Packet } from './wire.js';

export interface Server {
  host: string; // an IP address
  port: number;
}

/** Accepts the response that answers our query (wire.isAnswerTo bound to it). */
export type Matcher = (resp: Packet) => boolean;

export const serverLabel = (s: Server): string => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

const temporary = (message: string, cause?: unknown): PostlineError =>
  new PostlineError('ERR_DNS_TEMPORARY', message, cause === undefined ? undefined : { cause });

/**
 * Settles a promise once, with a timeout from the injected clock; `cleanup`
 * closes whatever socket the exchange opened, on every path.
 */
function settleOnce<T>(clock: Clock, timeoutMs: number, what: string, cleanup: () => void) {
  let done = false;
  let resolveFn!: (v: T) => void;
  let rejectFn!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  const finish = (err: unknown, value?: T): void => {
    if (done) return;
    done = true;
    clock.clearTimeout(timer);
    cleanup();
    if (err === null) resolveFn(value as T);
    else rejectFn(err);
  };
  const timer = clock.setTimeout(() => finish(temporary(`timeout after ${timeoutMs} ms (${what})`)), timeoutMs);
  return { promise, finish };
}

/**
 * UDP from a fresh socket per query, so the OS picks a random source port
 * each time (with the random id: ~32 bits an off-path spoofer must guess).
 * Datagrams from another address/port, undecodable ones, and ones that do not
 * answer our question are ignored — the exchange keeps waiting — so junk
 * cannot fail a lookup, only a timeout can.
 */
export function udpExchange(server: Server, query: Buffer, matches: Matcher, timeoutMs: number, clock: Clock): Promise<Packet> {
  const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
  const { promise, finish } = settleOnce<Packet>(clock, timeoutMs, `udp ${serverLabel(server)}`, () => socket.close());
  const peer = canonicalIp(server.host) ?? server.host;
  socket.on('error', (err) => finish(temporary(`udp ${serverLabel(server)}: ${err.message}`, err)));
  socket.on('message', (msg, rinfo) => {
    if (rinfo.port !== server.port || (canonicalIp(rinfo.address) ?? rinfo.address) !== peer) return;
    const resp = decodePacket(msg);
    if (resp !== null && matches(resp)) finish(null, resp);
  });
  socket.send(query, server.port, server.host, (err) => {
    if (err) finish(temporary(`udp ${serverLabel(server)}: ${err.message}`, err));
  });
  return promise;
}

// A DNS message over TCP carries a 2-byte length, so 65535 is the most any
// server can send; we read exactly one message and close.
export function tcpExchange(server: Server, query: Buffer, matches: Matcher, timeoutMs: number, clock: Clock): Promise<Packet> {
  const socket = net.connect({ host: server.host, port: server.port });
  const label = `tcp ${serverLabel(server)}`;
  const { promise, finish } = settleOnce<Packet>(clock, timeoutMs, label, () => socket.destroy());
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(query.length);
  socket.on('connect', () => socket.write(Buffer.concat([prefix, query])));
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 2) return;
    const length = buffered.readUInt16BE(0);
    if (buffered.length < 2 + length) return;
    const resp = decodePacket(buffered.subarray(2, 2 + length));
    // One connection, one question: anything else is a broken server.
    if (resp === null || !matches(resp)) finish(temporary(`${label}: reply does not answer the query`));
    else finish(null, resp);
  });
  socket.on('error', (err) => finish(temporary(`${label}: ${err.message}`, err)));
  socket.on('close', () => finish(temporary(`${label}: connection closed before the answer`)));
  return promise;
}

/**
 * RFC 8484 POST with the global fetch (undici on Node, Bun's own on Bun). The
 * query id is 0 (§4.1: HTTP already pairs request and response, and id 0 keeps
 * HTTP caches effective). The DoH server is operator-configured, so the body
 * is read whole; a message over 65535 bytes is still refused.
 */
export async function dohExchange(url: string, query: Buffer, matches: Matcher, timeoutMs: number, clock: Clock): Promise<Packet> {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' },
      body: query,
      signal: controller.signal,
    });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw temporary(`doh: HTTP ${res.status}`);
    if (!(res.headers.get('content-type') ?? '').startsWith('application/dns-message')) throw temporary('doh: reply is not application/dns-message');
    const resp = body.length <= 0xffff ? decodePacket(body) : null;
    if (resp === null || !matches(resp)) throw temporary('doh: reply does not answer the query');
    return resp;
  } catch (err) {
    if (err instanceof PostlineError) throw err;
    throw temporary(controller.signal.aborted ? `timeout after ${timeoutMs} ms (doh)` : `doh: ${(err as Error).message}`, err);
  } finally {
    clock.clearTimeout(timer);
  }
}
