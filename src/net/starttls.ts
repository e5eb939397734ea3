/**
 * STARTTLS (SMTP, RFC 3207), STLS (POP3, RFC 2595), STARTTLS (IMAP, RFC 3501):
 * turn a plaintext connection into a TLS one, server side. Implicit-TLS
 * listeners use the same upgrade right after accept.
 *
 * The one security rule (CVE-2011-0411, "STARTTLS command injection"):
 * nothing the client sent in plaintext after the STARTTLS line may be acted
 * on after the handshake. A man in the middle can append commands to the
 * client's STARTTLS packet; a server that keeps them in its line buffer and
 * runs them once TLS is up executes the attacker's commands as if the client
 * had sent them encrypted. So when the STARTTLS line is parsed, the session:
 *
 *   1. detaches its 'data' listener (stops reading plaintext),
 *   2. throws away whatever its framer holds beyond the STARTTLS line, and
 *      whatever the socket has buffered unread — `discardPlaintext()`,
 *   3. writes the go-ahead reply, and
 *   4. calls `upgradeToTls()` in the same tick.
 *
 * `startTls()` does 2–4 in that order. Step 2 must precede step 3: until the
 * client has our go-ahead, a well-behaved client sends nothing, so every byte
 * received so far is plaintext to drop; after it, the next bytes are the
 * TLS ClientHello and must reach the TLS engine.
 */
import type { Socket } from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

export interface UpgradeOptions {
  /** A client that opens TLS and stalls must not hold the connection forever. 0 = no limit. */
  timeoutMs?: number;
  clock?: Clock;
  /** Errors on the TLS socket (during and after the handshake) are logged here at debug. */
  logger?: Logger;
  /** For log lines. */
  connectionId?: string;
}

/**
 * Server-side TLS on an existing plaintext socket. Resolves with the TLS
 * socket once the handshake is done; rejects (and destroys the connection)
 * on a handshake error, on close, or after `timeoutMs` (default 30 s).
 *
 * The caller must have stopped reading plaintext and discarded every
 * plaintext byte received after the STARTTLS command line — see the module
 * comment and `discardPlaintext()` / `startTls()`, which make that easy.
 * The TLS socket is created synchronously, before this returns, so no bytes
 * can arrive in between and be lost or misread.
 *
 * The returned socket always has an 'error' listener: a reset after the
 * handshake never becomes an uncaught exception. The session still sees
 * 'close'.
 */
export function upgradeToTls(socket: Socket, context: SecureContext, options: UpgradeOptions = {}): Promise<TLSSocket> {
  const { timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS, clock = systemClock, logger, connectionId } = options;
  // The client may hang up between its STARTTLS and our upgrade; a TLS socket on a dead one would only wait for the timeout.
  if (socket.destroyed) return Promise.reject(new Error('connection closed before the TLS handshake'));
  const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false });
  let settled = false;
  // Permanent, so a reset after the handshake never becomes an uncaught
  // exception; handshake errors are the caller's to log (via the rejection).
  secure.on('error', (err) => {
    if (settled) logger?.debug({ err, conn: connectionId }, 'tls socket error');
  });
  return new Promise<TLSSocket>((resolve, reject) => {
    const timer = timeoutMs > 0 ? clock.setTimeout(() => fail(new Error(`TLS handshake timed out after ${timeoutMs} ms`)), timeoutMs) : null;
    timer?.unref?.();
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer) clock.clearTimeout(timer);
      secure.removeListener('secure', succeed);
      secure.removeListener('error', fail);
      secure.removeListener('close', closed);
      return true;
    };
    function succeed(): void {
      if (done()) resolve(secure);
    }
    function fail(err: Error): void {
      if (!done()) return;
      secure.destroy();
      socket.destroy();
      reject(err);
    }
    function closed(): void {
      fail(new Error('connection closed during the TLS handshake'));
    }
    // A server-side TLSSocket built on an existing socket signals completion
    // with 'secure' (tls.Server's 'secureConnection' is not emitted here).
    secure.once('secure', succeed);
    secure.once('error', fail);
    secure.once('close', closed);
  });
}

/**
 * Step 2 of the module comment: pause the socket and drop the plaintext
 * that must never be processed — `framerRest` (what the session's line
 * framer holds after the STARTTLS line, e.g. `framer.takeRest()`) and
 * anything buffered in the socket but not yet read. Call it after detaching
 * your 'data' listener and before writing the go-ahead. Returns how many
 * bytes were dropped: more than 0 means the client (or someone in between)
 * pipelined plaintext after STARTTLS, worth a log line.
 */
export function discardPlaintext(socket: Socket, framerRest: Uint8Array | null): number {
  // With a 'data' listener still attached, read() below would hand the
  // bytes to it instead of dropping them: exactly the bug this prevents.
  if (socket.listenerCount('data') > 0) throw new Error("discardPlaintext: detach the session's 'data' listener first");
  socket.pause();
  let dropped = framerRest?.length ?? 0;
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) dropped += chunk.length;
  return dropped;
}

/**
 * Steps 2–4 in the right order: drop pending plaintext, write `goAhead`
 * ("220 2.0.0 Ready to start TLS", "+OK Begin TLS", "OK Begin TLS"), upgrade.
 * The go-ahead is written straight to the socket, not through a queue that
 * flushes later: it must leave in plaintext before the TLS layer owns the socket.
 */
export async function startTls(
  socket: Socket,
  context: SecureContext,
  options: UpgradeOptions & { framerRest: Uint8Array | null; goAhead: Uint8Array | string },
): Promise<{ socket: TLSSocket; discardedBytes: number }> {
  const discardedBytes = discardPlaintext(socket, options.framerRest);
  if (discardedBytes > 0) options.logger?.warn({ conn: options.connectionId, bytes: discardedBytes }, 'plaintext after STARTTLS discarded');
  socket.write(options.goAhead);
  const secure = await upgradeToTls(socket, context, options);
  return { socket: secure, discardedBytes };
}
