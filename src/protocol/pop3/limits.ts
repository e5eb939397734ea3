/**
 * Caps on what one POP3 client can make us hold or do, each with its reason.
 * (Connections, auth failures and the idle timeout come from config.)
 */
export const POP3_LIMITS = {
  /**
   * RFC 2449 §4 allows 255 octets per command line, CRLF included; we accept
   * up to 512 (a few clients overshoot with long AUTH initial responses)
   * before answering "-ERR line too long".
   */
  commandLineBytes: 512,
  /**
   * A SASL response line after "+ " (RFC 5034 §4 does not hold it to 255
   * octets): PLAIN with a long address and password still fits. This is the
   * framer's cap; longer lines are dropped as they arrive, never buffered.
   */
  authResponseBytes: 2048,
  /** Pipelined input we buffer while a command is in progress before we stop reading the socket. */
  pipelinedBytes: 64 * 1024,
  /**
   * Replies queued for a client that does not read before we stop handling
   * its commands and reading its input: one "LIST" can answer with far more
   * bytes than it took to ask, so output, not input, is what a pipelining
   * client could blow up.
   */
  pendingOutputBytes: 256 * 1024,
  /** RETR/TOP bodies go out in slices of this size, each waiting for the socket to drain. */
  bodySliceBytes: 64 * 1024,
  /** Bad commands before we hang up (a protocol error storm is not a mail client). */
  maxErrors: 20,
  /** After our closing reply, how long a client that does not read may keep the socket. */
  closeGraceMs: 10_000,
} as const;
