/**
 * The one catalog of postline error codes. Clients see generic text; logs get
 * the code, the message and the cause. `temporary` says whether retrying the
 * same operation later can succeed (maps to 4xx vs 5xx in protocols).
 */
export const ErrorCodes = {
  ERR_CONFIG_INVALID: { temporary: false },
  ERR_CONFIG_READ: { temporary: false },
  ERR_CLI_USAGE: { temporary: false },
  ERR_USER_INVALID: { temporary: false },
  ERR_USER_NOT_FOUND: { temporary: false },
  ERR_STORE_CRC: { temporary: false },
  ERR_STORE_CORRUPT: { temporary: false },
  ERR_STORE_CLOSED: { temporary: true },
  ERR_STORE_IO: { temporary: true },
  ERR_STORE_FULL: { temporary: true }, // no space left on the device (or quota): refuse new mail until freed
  ERR_STORE_LOCKED: { temporary: false },
  ERR_STORE_TOO_LARGE: { temporary: false },
  ERR_MAILBOX_NOT_FOUND: { temporary: false },
  ERR_MAILBOX_EXISTS: { temporary: false },
  ERR_MAILBOX_INVALID: { temporary: false },
  ERR_MESSAGE_NOT_FOUND: { temporary: false },
  // Outbound SMTP (src/delivery). No reply at all says nothing about the message, so those are temporary.
  ERR_DELIVERY_CONNECT: { temporary: true }, // refused, unreachable, connect timeout
  ERR_DELIVERY_TIMEOUT: { temporary: true }, // no reply within the RFC 5321 §4.5.3.2 limit
  ERR_DELIVERY_CLOSED: { temporary: true }, // the server closed the connection mid-session
  ERR_DELIVERY_PROTOCOL: { temporary: true }, // garbage, oversized or out-of-sequence replies
  ERR_DELIVERY_TLS: { temporary: true }, // the STARTTLS handshake failed
  ERR_DELIVERY_DEFERRED: { temporary: true }, // a 4xx reply
  ERR_DELIVERY_REJECTED: { temporary: false }, // a 5xx reply
  ERR_DELIVERY_TOO_BIG: { temporary: false }, // larger than the server's SIZE
  ERR_DELIVERY_SMTPUTF8: { temporary: false }, // needs SMTPUTF8, the server lacks it
  ERR_DELIVERY_BAD_ADDRESS: { temporary: false }, // an address unsafe to put on the wire
  ERR_DELIVERY_POOL_CLOSED: { temporary: true }, // shutting down
  // A DNS exchange that can succeed later: timeout, SERVFAIL/REFUSED, network error.
  ERR_DNS_TEMPORARY: { temporary: true },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class PostlineError extends Error {
  readonly code: ErrorCode;
  readonly temporary: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostlineError';
    this.code = code;
    this.temporary = ErrorCodes[code].temporary;
  }
}

export function isPostlineError(err: unknown, code?: ErrorCode): err is PostlineError {
  return err instanceof PostlineError && (code === undefined || err.code === code);
}
