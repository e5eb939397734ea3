/**
 * Reads the PROXY protocol header (v1 or v2, see src/codec/proxy) off a
 * freshly accepted socket, before anything else touches it: before
 * admission (so per-IP limits see the real client) and before a TLS
 * handshake (the header precedes the ClientHello). Whatever arrived after
 * the header is put back (`unshift`) for the session or the TLS engine.
 *
 * Used by the mail listeners (src/net/listener.ts) and meant for a plain
 * node:http server too: accept on a net.Server, `await readProxyHeader()`,
 * then `httpServer.emit('connection', socket)`.
 *
 * The socket is read in paused mode ('readable' + read()), never with a
 * 'data' listener: once our 'readable' listener is gone the stream is back
 * in its initial state, so a later `on('data')` starts it flowing as if we
 * had never been there, and a TLSSocket built on it picks up the put-back
 * bytes.
 */
import net, { type Socket } from 'node:net';
import { decodeProxyHeader, type ProxyHeader } from '../codec/proxy/proxy-protocol.js';
import { systemClock, type Clock } from '../core/clock.js';

/**
 * A load balancer sends the header the moment it has connected; 5 s covers
 * any real proxy and keeps a silent or header-less client from holding a
 * not-yet-admitted socket for long.
 */
export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 5_000;

export interface ReadProxyHeaderOptions {
  /** No complete header within this → 'timeout', socket destroyed. 0 = no limit. */
  timeoutMs?: number;
  clock?: Clock;
}

export type ProxyHeaderResult =
  /** The real client, IPv4-mapped IPv6 reported as plain IPv4 (as the listener reports socket peers). */
  | { kind: 'proxied'; remoteAddress: string; remotePort: number; header: ProxyHeader }
  /** LOCAL (a health check by the proxy itself), v1 UNKNOWN, v2 UNSPEC or AF_UNIX: use the socket's own peer. */
  | { kind: 'local'; header: ProxyHeader }
  /** The socket has been destroyed. `problem` is for logs. */
  | { kind: 'failed'; reason: 'malformed' | 'timeout' | 'closed'; problem: string };

/**
 * Waits for the header. Never rejects. On 'proxied'/'local' the socket is
 * untouched but for the header bytes (read and gone); on 'failed' it has
 * been destroyed.
 */
export function readProxyHeader(socket: Socket, options: ReadProxyHeaderOptions = {}): Promise<ProxyHeaderResult> {
  const { timeoutMs = DEFAULT_PROXY_HEADER_TIMEOUT_MS, clock = systemClock } = options;
  if (socket.destroyed || !socket.readable) return Promise.resolve({ kind: 'failed', reason: 'closed', problem: 'connection closed before the PROXY header' });
  return new Promise<ProxyHeaderResult>((resolve) => {
    // Bounded by the codec: it answers 'error' before the bytes pass its caps (v1 107, v2 16 + 4096).
    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = timeoutMs > 0 ? clock.setTimeout(() => fail('timeout', `no complete PROXY header within ${timeoutMs} ms`), timeoutMs) : null;
    timer?.unref?.();

    const finish = (result: ProxyHeaderResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clock.clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      resolve(result);
    };
    function fail(reason: 'malformed' | 'timeout' | 'closed', problem: string): void {
      if (settled) return;
      finish({ kind: 'failed', reason, problem });
      socket.destroy();
    }
    function onEnd(): void {
      fail('closed', `connection closed after ${received.length} bytes, before a complete PROXY header`);
    }
    function onReadable(): void {
      for (let chunk = socket.read() as Buffer | null; chunk !== null && !settled; chunk = socket.read() as Buffer | null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const decoded = decodeProxyHeader(received);
        switch (decoded.kind) {
          case 'need-more':
            continue;
          case 'error':
            return fail('malformed', decoded.problem);
          case 'header': {
            // Bytes after the header (a pipelined command, the TLS ClientHello) are the session's.
            const rest = received.subarray(decoded.consumed);
            const result = interpret(decoded.header);
            if (result.kind === 'failed') return fail(result.reason, result.problem);
            finish(result);
            if (rest.length > 0) socket.unshift(rest);
            return;
          }
        }
      }
    }
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

function interpret(header: ProxyHeader): ProxyHeaderResult {
  if (header.command === 'local' || header.source === null) return { kind: 'local', header };
  // We listen on TCP: a proxy claiming to forward UDP is misconfigured, and its addresses mean nothing here.
  if (header.transport === 'dgram') return { kind: 'failed', reason: 'malformed', problem: 'PROXY header announces a datagram (UDP) connection on a TCP listener' };
  return { kind: 'proxied', remoteAddress: plainAddress(header.source.address), remotePort: header.source.port, header };
}

/** IPv4-mapped IPv6 ("::ffff:1.2.3.4") as plain IPv4, so limits, trusted networks and logs see one form. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}
