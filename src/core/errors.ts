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
  ERR_STORE_LOCKED: { temporary: false },
  ERR_STORE_TOO_LARGE: { temporary: false },
  ERR_MAILBOX_NOT_FOUND: { temporary: false },
  ERR_MAILBOX_EXISTS: { temporary: false },
  ERR_MAILBOX_INVALID: { temporary: false },
  ERR_MESSAGE_NOT_FOUND: { temporary: false },
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
