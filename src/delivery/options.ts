/**
 * Client options: the injected clock, TLS policy, reply limits and the
 * per-command time limits. Defaults are RFC 5321 §4.5.3.2 where it names
 * one, Postfix's where it does not; tests shorten them.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { REPLY_LIMITS, type ReplyLimits } from './reply-reader.js';

/** Milliseconds to wait for each step. */
export interface SmtpTimeouts {
  /** TCP connect (Postfix smtp_connect_timeout is 30 s). */
  connect: number;
  /** The 220 greeting: 5 min (§4.5.3.2.1). */
  greeting: number;
  /** EHLO/HELO reply: 5 min (Postfix smtp_helo_timeout). */
  helo: number;
  /** STARTTLS reply, and the handshake separately: 5 min (Postfix smtp_starttls_timeout). */
  starttls: number;
  /** MAIL reply: 5 min (§4.5.3.2.2). */
  mail: number;
  /** Each RCPT reply: 5 min (§4.5.3.2.3). */
  rcpt: number;
  /** DATA's 354: 2 min (§4.5.3.2.4). */
  dataInit: number;
  /** Each block of the body to drain into the socket: 3 min (§4.5.3.2.5). */
  dataBlock: number;
  /** The reply after the final ".": 10 min (§4.5.3.2.6). It is long because the server may be filtering the message; giving up early causes duplicates. */
  dataEnd: number;
  /** RSET before reusing a connection: 20 s (Postfix smtp_rset_timeout). Short because a dead cached connection should cost little. */
  rset: number;
  /** QUIT reply: we do not need it, so little is spent on it (Postfix waits up to 300 s). */
  quit: number;
}

export const DEFAULT_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connect: 30_000,
  greeting: 300_000,
  helo: 300_000,
  starttls: 300_000,
  mail: 300_000,
  rcpt: 300_000,
  dataInit: 120_000,
  dataBlock: 180_000,
  dataEnd: 600_000,
  rset: 20_000,
  quit: 5_000,
});

export interface ClientOptions {
  clock?: Clock;
  timeouts?: Partial<SmtpTimeouts>;
  /** Use STARTTLS when offered (opportunistic, Postfix smtp_tls_security_level = may). Default true. */
  starttls?: boolean;
  replyLimits?: ReplyLimits;
}

export type ResolvedOptions = { clock: Clock; timeouts: SmtpTimeouts; starttls: boolean; replyLimits: ReplyLimits };

export function resolveOptions(options: ClientOptions = {}): ResolvedOptions {
  return {
    clock: options.clock ?? systemClock,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    starttls: options.starttls !== false,
    replyLimits: options.replyLimits ?? REPLY_LIMITS,
  };
}
