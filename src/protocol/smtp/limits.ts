/**
 * Caps on what one SMTP client can make us hold or do, each with its reason.
 * (Message size, recipients, connections and auth failures come from config.)
 */
export const SMTP_LIMITS = {
  /** RFC 5321 §4.5.3.1.4 says 512 octets; AUTH PLAIN initial responses and long EHLO names need more. */
  commandLineBytes: 4096,
  /** Pipelined input we buffer while a command is in progress before we stop reading the socket. */
  pipelinedBytes: 1024 * 1024,
  /** Replies queued for a client that does not read before we stop reading its commands. */
  pendingOutputBytes: 256 * 1024,
  /** Bad commands before we hang up (a protocol error storm is not a mail client). */
  maxErrors: 20,
  /** Received: headers beyond which a message is looping (RFC 5321 §6.3 suggests about 100; Postfix uses 50). */
  maxHops: 30,
  /** After our closing reply, how long a client that does not read may keep the socket. */
  closeGraceMs: 10_000,
} as const;
