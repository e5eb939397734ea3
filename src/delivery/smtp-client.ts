/**
 * Outbound SMTP: relays one message to the recipients of one destination
 * (SPEC §4.4). The entry points the queue uses:
 *
 * - deliverOverSmtp(request, options): one connection, one transaction, QUIT;
 * - DestinationPool#deliver(destination, message) (pool.ts): the same over
 *   reused connections with a per-destination concurrency limit.
 *
 * Neither ever throws or rejects because of what a server or the network
 * does: every problem ends up as a temporary or permanent outcome per
 * recipient (see outcome.ts for the rules, connection.ts for TLS, 8BITMIME
 * and the 5xx greeting, transaction.ts for pipelining).
 */
import { SmtpConnection, type ConnectionOptions } from './connection.js';
import type { ClientOptions } from './options.js';
import { failedAttempt } from './outcome.js';
import type { DeliveryResult, Destination, OutboundMessage } from './types.js';

export { failedAttempt } from './outcome.js';
export type { Capabilities } from './capabilities.js';
export { SmtpConnection, type ConnectionOptions, type OpenResult } from './connection.js';
export { DEFAULT_TIMEOUTS, type ClientOptions, type SmtpTimeouts } from './options.js';
export { DestinationPool, type PoolOptions, type PoolStats } from './pool.js';
export type { DeliveryResult, Destination, OutboundDsn, OutboundMessage, OutcomeStatus, RecipientOutcome, SessionFailure, Stage } from './types.js';

export interface SmtpDeliveryRequest extends Destination, OutboundMessage {
  /** Our EHLO name (config `hostname`). */
  localHostname: string;
}

export async function deliverOverSmtp(request: SmtpDeliveryRequest, options: ClientOptions = {}): Promise<DeliveryResult> {
  const destination: Destination = { host: request.host, port: request.port, ip: request.ip };
  // Nothing to send: no reason to bother a server.
  if (request.recipients.length === 0) return { destination, recipients: [], failure: null, tls: false, tlsFallback: false };
  const connectionOptions: ConnectionOptions = { ...options, localHostname: request.localHostname };
  const opened = await SmtpConnection.open(destination, connectionOptions);
  if (!opened.ok) return failedAttempt(destination, request.recipients, opened.failure, opened.tlsFallback);
  const connection = opened.connection;
  try {
    return await connection.send(request);
  } finally {
    // Bounded by the QUIT timeout; when this resolves the connection is gone.
    await connection.quit();
  }
}
