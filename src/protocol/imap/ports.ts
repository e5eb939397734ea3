/**
 * What an IMAP session needs from the rest of postline, injected by the
 * composition root: the mailbox port (the store, structurally), the user
 * directory and the auth failure limiter shared with SMTP and POP3, TLS,
 * the clock and a logger.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { MailboxPort } from '../mailbox-port.js';
// The same small ports as SMTP and POP3: one user directory and one failure limiter behind every protocol.
import type { AuthLimiterPort, AuthPort } from '../smtp/ports.js';

export type { AuthLimiterPort, AuthPort } from '../smtp/ports.js';

/**
 * STARTTLS, injected by main (src/net/starttls.ts startTls): drops the
 * plaintext the socket still holds unread, writes `goAhead` (our tagged OK),
 * and resolves with the TLS socket once the handshake is done. The session
 * has already stopped reading and cleared its framer (framer.clear()).
 */
export type StartTls = (socket: Socket, context: SecureContext, goAhead: Buffer) => Promise<Duplex>;

export interface ImapSessionDeps {
  hostname: string;
  /** Autologout; main passes max(limits.idleTimeout, IMAP_LIMITS.minIdleTimeoutMs) (RFC 3501 §5.4). */
  idleTimeoutMs: number;
  /** limits.maxMessageSize: the largest APPEND literal, announced as APPENDLIMIT (RFC 7889). */
  maxMessageSize: number;
  authPlaintext: 'loopback' | 'never' | 'always';
  tlsContext: SecureContext | null;
  startTls: StartTls | null;
  mailbox: MailboxPort;
  auth: AuthPort;
  authLimiter: AuthLimiterPort;
  /** After a successful login (feeds POP-before-SMTP). */
  onLogin(ip: string): void;
  clock: Clock;
  logger: Logger;
}

export interface ImapConnection {
  id: string;
  remoteAddress: string;
  /** Implicit TLS (imaps), or STARTTLS done. */
  tls: boolean;
}
