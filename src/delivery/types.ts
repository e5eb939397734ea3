/**
 * The outbound delivery contract: what the queue hands over (a destination
 * and a message) and what comes back (one outcome per recipient, plus the
 * session failure when the whole attempt failed at one point). Plain data.
 */
import type { ErrorCode } from '../core/errors.js';

/** One server to talk to: `host` is its name (EHLO/TLS SNI/DSN Remote-MTA), `ip` the address actually connected to. */
export interface Destination {
  host: string;
  port: number;
  ip: string;
}

/** DSN parameters (RFC 3461) as the intake stored them. */
export interface OutboundDsn {
  ret?: 'FULL' | 'HDRS';
  /** ENVID, decoded (we xtext-encode it again). */
  envid?: string;
  /** NOTIFY per recipient address. */
  notify?: Record<string, string[]>;
  /** ORCPT per recipient address, as `addr-type;address` with the address decoded. */
  orcpt?: Record<string, string>;
}

/** One message for recipients of one destination. */
export interface OutboundMessage {
  /** Envelope sender, `local@domain`; null for the null sender `<>`. */
  sender: string | null;
  recipients: string[];
  /** The whole message, our Received header included. CRLF line endings (bare LF / CR are normalised before sending). */
  body: Buffer;
  /** Size announced with SIZE= (RFC 1870); defaults to body.length. */
  size?: number;
  /** The message was received with SMTPUTF8 (RFC 6531). */
  smtputf8: boolean;
  /** The message was received with BODY=8BITMIME. */
  body8bit: boolean;
  dsn?: OutboundDsn;
}

export type OutcomeStatus = 'delivered' | 'temporary' | 'permanent';

/** Where in the session a failure (or a recipient's answer) happened. */
export type Stage =
  | 'connect'
  | 'greeting'
  | 'helo'
  | 'starttls'
  | 'local' // our own decision before sending anything (SIZE, SMTPUTF8, unsafe address)
  | 'rset'
  | 'mail'
  | 'rcpt'
  | 'data' // the DATA command (354 expected)
  | 'message'; // sending the body and the reply after the final "."

export interface RecipientOutcome {
  recipient: string;
  status: OutcomeStatus;
  /** The server's reply code, or the code we chose for a local decision; null when there was no reply at all (connection failure, timeout). */
  code: number | null;
  /** RFC 3463 status for the DSN: the server's enhanced code, else derived from the reply class (x.0.0), else ours. */
  enhanced: string;
  /** Reply text (lines joined by spaces) or our description. */
  text: string;
  /** For the DSN Diagnostic-Code field: `smtp; 550 5.1.1 text`, or `X-Postline; text` when no reply says it. */
  diagnostic: string;
  /** The command the answer was in reply to (for "in reply to RCPT TO command" in logs and bounces). */
  stage: Stage;
  /** The server's name (DSN Remote-MTA: dns; host) and the address we talked to. */
  remoteHost: string;
  remoteIp: string;
}

/** The whole attempt failed at one point, for every recipient not already answered. */
export interface SessionFailure {
  stage: Stage;
  status: Exclude<OutcomeStatus, 'delivered'>;
  code: number | null;
  enhanced: string;
  text: string;
  diagnostic: string;
  /** Catalog code for logs (src/core/errors.ts). */
  errorCode: ErrorCode;
}

export interface DeliveryResult {
  destination: Destination;
  /** One outcome per requested recipient, in the order given. */
  recipients: RecipientOutcome[];
  /** Set when the attempt failed as a whole (connection, greeting, MAIL, DATA, ...); null when the recipients got their own answers. */
  failure: SessionFailure | null;
  /** The transaction ran over TLS. */
  tls: boolean;
  /** The TLS handshake failed and the attempt was repeated without TLS (see connection.ts). */
  tlsFallback: boolean;
}
