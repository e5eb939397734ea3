/**
 * Caps on what one IMAP client can make us hold or do, each with its reason.
 * (Connections, auth failures, the message size and the idle timeout come
 * from config; see ImapSessionDeps.)
 */
export const IMAP_LIMITS = {
  /**
   * Non-literal bytes of one command (the framer's maxLineBytes). RFC 7162
   * §4 asks clients to keep lines under 8192 octets and servers to take at
   * least that; long UID sets from clients that do not compress them (a
   * "UID FETCH 1,3,5,..." of a few thousand messages) still fit in 64 KiB,
   * which is Dovecot's imap_max_line_length too.
   */
  maxLineBytes: 64 * 1024,
  /**
   * Any literal but an APPEND message (a password, a SEARCH string, a
   * mailbox name): SPEC §3 says 64 KB. Larger ones are refused before a byte
   * of them is read.
   */
  maxLiteralBytes: 64 * 1024,
  /**
   * All literals of one non-APPEND command together. The line cap bounds
   * how many literals a command can announce (about one per 6 bytes), so
   * without a total a SEARCH could make us hold 10,000 × 64 KiB.
   */
  maxCommandLiteralBytes: 256 * 1024,
  /**
   * Bytes of refused non-synchronizing literals the framer reads and drops
   * to keep the connection (RFC 7888 §4); past that (a 4 GB announcement)
   * we say BYE instead of reading gigabytes for nothing.
   */
  maxDiscardBytes: 1024 * 1024,
  /** RFC 3501 §5.4: an autologout timer must be at least 30 minutes; main passes max(limits.idleTimeout, this). */
  minIdleTimeoutMs: 30 * 60_000,
  /** Pipelined input we buffer while a command is in progress before we stop reading the socket. */
  pipelinedBytes: 64 * 1024,
  /**
   * Replies queued before a producer waits for the socket to drain (FETCH of
   * bodies), and before we stop handling pipelined commands: one short
   * command can ask for far more bytes than it took to send.
   */
  pendingOutputBytes: 256 * 1024,
  /**
   * FETCH/SEARCH read bodies in batches: at most this many messages and
   * this many stored bytes per batch (whichever comes first; a single
   * message larger than the byte cap is a batch of its own). A few hundred
   * messages let the store coalesce preads; the byte cap bounds memory.
   */
  batchMessages: 256,
  batchBytes: 8 * 1024 * 1024,
  /** Bad commands (BAD replies) before we say BYE: a protocol error storm is not a mail client. */
  maxErrors: 50,
  /**
   * Commands before authentication: a client that never logs in (a scanner
   * hammering CAPABILITY/NOOP) is cut after this many.
   */
  maxCommandsBeforeAuth: 100,
  /**
   * Keyword slots per folder: the store keeps flags in a 32-bit word, five
   * bits for the system flags, 27 for keywords. PERMANENTFLAGS offers \*
   * (new keywords allowed) only while slots are free.
   */
  keywordSlots: 27,
  /** After our closing reply (BYE), how long a client that does not read may keep the socket. */
  closeGraceMs: 10_000,
} as const;
