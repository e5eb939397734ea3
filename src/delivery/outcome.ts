/**
 * Turning replies and errors into outcomes (pure). One place decides what is
 * temporary and what is permanent:
 *
 *   2xx            success
 *   4xx            temporary (retry later, or another MX now)
 *   5xx            permanent (bounce)
 *   anything else  temporary: an out-of-sequence code (a 354 to RCPT) or no
 *                  reply at all (timeout, closed, garbage) says nothing about
 *                  the message, so we must not bounce it.
 *
 * Enhanced codes: the server's when it sent one, else x.0.0 from the reply
 * class as Postfix does, so the DSN always has a Status.
 */
import { PostlineError, type ErrorCode } from '../core/errors.js';
import { replyText, type Reply } from './reply-reader.js';
import type { DeliveryResult, Destination, OutcomeStatus, RecipientOutcome, SessionFailure, Stage } from './types.js';

/** The Diagnostic-Code type for our own descriptions (RFC 3464 §2.3.6 allows X- types, as Postfix's "X-Postfix"). */
export const LOCAL_DIAGNOSTIC_TYPE = 'X-Postline';

export function classOf(code: number): 'success' | 'temporary' | 'permanent' | 'unexpected' {
  const c = Math.floor(code / 100);
  return c === 2 ? 'success' : c === 4 ? 'temporary' : c === 5 ? 'permanent' : 'unexpected';
}

export function enhancedOf(reply: Reply): string {
  if (reply.enhanced !== null) return reply.enhanced;
  const c = classOf(reply.code);
  return c === 'success' ? '2.0.0' : c === 'permanent' ? '5.0.0' : c === 'temporary' ? '4.0.0' : '4.5.0';
}

export function diagnosticOf(reply: Reply): string {
  const text = replyText(reply);
  return `smtp; ${[String(reply.code), reply.enhanced ?? '', text].filter((s) => s.length > 0).join(' ')}`;
}

/**
 * A failure from a non-success reply. `softenPermanent` treats a 5xx as
 * temporary: used for the greeting, where Postfix (smtp_skip_5xx_greeting =
 * yes) takes a 5xx banner as "this host is not serving now", tries the next
 * MX and defers rather than bounce.
 */
export function failureFromReply(stage: Stage, reply: Reply, softenPermanent = false): SessionFailure {
  // A success code where a failure is reported (a 250 greeting, a 250 to DATA) is out of sequence.
  const cls = classOf(reply.code);
  const c = cls === 'success' ? 'unexpected' : cls;
  const permanent = c === 'permanent' && !softenPermanent;
  return {
    stage,
    status: permanent ? 'permanent' : 'temporary',
    code: reply.code,
    // A softened 5xx must not carry a 5.x.x status into a "delayed" DSN.
    enhanced: c === 'permanent' && softenPermanent ? `4${enhancedOf(reply).slice(1)}` : c === 'unexpected' ? '4.5.0' : enhancedOf(reply),
    text: replyText(reply),
    diagnostic: diagnosticOf(reply),
    errorCode: permanent ? 'ERR_DELIVERY_REJECTED' : c === 'unexpected' ? 'ERR_DELIVERY_PROTOCOL' : 'ERR_DELIVERY_DEFERRED',
  };
}

/** A failure without a reply (connection, timeout, protocol) or a local decision. */
export function localFailure(stage: Stage, errorCode: ErrorCode, status: Exclude<OutcomeStatus, 'delivered'>, enhanced: string, text: string, code: number | null = null): SessionFailure {
  return { stage, status, code, enhanced, text, diagnostic: `${LOCAL_DIAGNOSTIC_TYPE}; ${text}`, errorCode };
}

export function outcomeFromReply(recipient: string, stage: Stage, reply: Reply, dest: Destination): RecipientOutcome {
  const c = classOf(reply.code);
  return {
    recipient,
    status: c === 'success' ? 'delivered' : c === 'permanent' ? 'permanent' : 'temporary',
    code: reply.code,
    enhanced: c === 'unexpected' ? '4.5.0' : enhancedOf(reply),
    text: replyText(reply),
    diagnostic: diagnosticOf(reply),
    stage,
    remoteHost: dest.host,
    remoteIp: dest.ip,
  };
}

export function outcomeFromFailure(recipient: string, failure: SessionFailure, dest: Destination): RecipientOutcome {
  return {
    recipient,
    status: failure.status,
    code: failure.code,
    enhanced: failure.enhanced,
    text: failure.text,
    diagnostic: failure.diagnostic,
    stage: failure.stage,
    remoteHost: dest.host,
    remoteIp: dest.ip,
  };
}

/** RFC 3463 codes for failures without a reply. */
const ENHANCED_FOR_ERROR: Partial<Record<ErrorCode, string>> = {
  ERR_DELIVERY_CONNECT: '4.4.1', // no answer from host
  ERR_DELIVERY_TIMEOUT: '4.4.2', // bad connection
  ERR_DELIVERY_CLOSED: '4.4.2',
  ERR_DELIVERY_PROTOCOL: '4.5.0', // other protocol status
  ERR_DELIVERY_TLS: '4.7.5', // cryptographic failure
  ERR_DELIVERY_POOL_CLOSED: '4.3.0',
};

/** A failure from an error thrown while talking to the server (always temporary: it says nothing about the message). */
export function failureFromError(stage: Stage, err: unknown): SessionFailure {
  const e = err instanceof PostlineError ? err : new PostlineError('ERR_DELIVERY_PROTOCOL', err instanceof Error ? err.message : String(err), { cause: err });
  return localFailure(stage, e.code, 'temporary', ENHANCED_FOR_ERROR[e.code] ?? '4.0.0', e.message);
}

/** `mx.example.com[192.0.2.1]:25`, as Postfix names a server in its messages. */
export function serverName(dest: Destination): string {
  return `${dest.host}[${dest.ip}]:${dest.port}`;
}

/** The result of an attempt that failed before any transaction: every recipient shares the failure. */
export function failedAttempt(destination: Destination, recipients: string[], failure: SessionFailure, tlsFallback = false): DeliveryResult {
  return {
    destination,
    recipients: recipients.map((r) => outcomeFromFailure(r, failure, destination)),
    failure,
    tls: false,
    tlsFallback,
  };
}
