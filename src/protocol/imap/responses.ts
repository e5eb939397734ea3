/**
 * Every IMAP response postline sends, by name: tagged completions (handlers
 * return these) and the untagged data lines. Only the session turns them
 * into bytes (formatCompletion / the line builders below). Client-visible
 * text reveals nothing about configuration or whether an account exists;
 * logs carry the detail.
 *
 * Status choice (RFC 3501 §7.1):
 * - BAD: the command itself is wrong — syntax, unknown command, wrong state,
 *   a sequence number past the end, a cancelled AUTHENTICATE.
 * - NO: a valid command that failed — wrong password, no such mailbox, a
 *   read-only mailbox, a literal too large, a store error.
 * - BYE (untagged, then close): logout, idle timeout, too many errors or
 *   auth failures, shutdown, a literal too large to even skip.
 *
 * Response codes are RFC 3501 §7.1, RFC 5530 (AUTHENTICATIONFAILED,
 * PRIVACYREQUIRED, UNAVAILABLE, OVERQUOTA, NONEXISTENT, ALREADYEXISTS, CANNOT, LIMIT,
 * EXPUNGEISSUED, SERVERBUG, INUSE, CLIENTBUG), RFC 4315 (APPENDUID, COPYUID),
 * RFC 7889 (TOOBIG) and RFC 6154 (USEATTR).
 */
import { flagList, imapString, mailboxName } from '../../codec/imap/index.js';

export type Status = 'OK' | 'NO' | 'BAD';

export interface Completion {
  status: Status;
  /** Response code, without brackets (e.g. "TRYCREATE", "APPENDUID 38505 3955"). */
  code: string | null;
  text: string;
  /** Say `* BYE <close>` before the tagged line, then close the connection. */
  close?: string;
}

const ok = (text: string, code: string | null = null): Completion => ({ status: 'OK', code, text });
const no = (text: string, code: string | null = null): Completion => ({ status: 'NO', code, text });
const bad = (text: string, code: string | null = null): Completion => ({ status: 'BAD', code, text });

export const Done = {
  capability: ok('CAPABILITY completed'),
  noop: ok('NOOP completed'),
  check: ok('CHECK completed'),
  id: ok('ID completed'),
  enable: ok('ENABLE completed'),
  namespace: ok('NAMESPACE completed'),
  list: ok('LIST completed'),
  lsub: ok('LSUB completed'),
  status: ok('STATUS completed'),
  create: ok('CREATE completed'),
  delete: ok('DELETE completed'),
  rename: ok('RENAME completed'),
  subscribe: ok('SUBSCRIBE completed'),
  unsubscribe: ok('UNSUBSCRIBE completed'),
  close: ok('CLOSE completed'),
  unselect: ok('UNSELECT completed'),
  expunge: ok('EXPUNGE completed'),
  search: ok('SEARCH completed'),
  fetch: ok('FETCH completed'),
  store: ok('STORE completed'),
  idle: ok('IDLE terminated'),
  logout: { ...ok('LOGOUT completed'), close: 'postline IMAP4rev1 server logging out' } as Completion,
  startTls: ok('Begin TLS negotiation now'),
  loggedIn: (capabilities: readonly string[]): Completion => ok('Logged in', `CAPABILITY ${capabilities.join(' ')}`),
  selected: (readOnly: boolean, verb: 'SELECT' | 'EXAMINE'): Completion => ok(`${verb} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE'),
  appended: (uidValidity: number, uid: number): Completion => ok('APPEND completed', `APPENDUID ${uidValidity} ${uid}`),
  copied: (copyUid: string | null): Completion => ok('COPY completed', copyUid),
  moved: ok('MOVE completed'),
  nothingCopied: ok('No messages copied'),

  // Client mistakes (BAD counts towards IMAP_LIMITS.maxErrors)
  syntax: (message: string): Completion => bad(`Syntax error: ${message}`),
  unknownCommand: bad('Unknown command'),
  notLoggedIn: bad('Not logged in; LOGIN or AUTHENTICATE first'),
  alreadyLoggedIn: bad('Already logged in'),
  noMailboxSelected: bad('No mailbox selected'),
  wrongState: bad('Command not valid in this state'),
  lineTooLong: bad('Command line too long'),
  badSequence: bad('Invalid message sequence number'),
  badCharset: no('Unsupported charset', 'BADCHARSET (US-ASCII UTF-8)'),
  badFlag: (flag: string): Completion => bad(`Invalid system flag ${flag.slice(0, 40)}`),
  selectParams: bad('SELECT parameters are not supported'),
  authCancelled: bad('AUTHENTICATE cancelled'),
  authInvalid: (problem: string): Completion => bad(`Invalid SASL response: ${problem}`),
  notIdle: bad('Expected DONE to end IDLE'),
  tlsActive: bad('TLS is already active'),

  // Authentication
  authFailed: no('Authentication failed', 'AUTHENTICATIONFAILED'),
  privacyRequired: no('Plaintext authentication disallowed without TLS; use STARTTLS', 'PRIVACYREQUIRED'),
  authBlocked: { ...no('Too many authentication failures from your address, try again later', 'UNAVAILABLE'), close: 'Too many authentication failures' } as Completion,
  authTemporary: no('Temporary authentication failure, try again later', 'UNAVAILABLE'),
  mechanismUnsupported: no('Unsupported authentication mechanism', 'CANNOT'),
  authzidUnsupported: no('Acting as another user is not supported', 'AUTHORIZATIONFAILED'),
  tlsUnavailable: no('TLS not available', 'UNAVAILABLE'),

  // Mailboxes
  noSuchMailbox: no("Mailbox doesn't exist", 'NONEXISTENT'),
  tryCreate: no("Mailbox doesn't exist", 'TRYCREATE'),
  alreadyExists: no('Mailbox already exists', 'ALREADYEXISTS'),
  invalidName: no('Invalid mailbox name', 'CANNOT'),
  inboxDelete: no('INBOX cannot be deleted', 'CANNOT'),
  useAttrUnsupported: no('Special-use attributes cannot be set', 'USEATTR'),
  readOnly: no('Mailbox is read-only', 'READ-ONLY'),
  tooManyKeywords: no('Too many keywords in this mailbox', 'LIMIT'),
  expungeIssued: no('Some of the requested messages no longer exist', 'EXPUNGEISSUED'),
  literalTooLarge: (append: boolean): Completion => no(append ? 'Message too large' : 'Literal too large', 'TOOBIG'),

  // Our side
  storeFailed: no('Internal error, try again later', 'SERVERBUG'),
  // As Dovecot says it: a full disk is reported like a full quota.
  storeFull: no('Not enough disk space, try again later', 'OVERQUOTA'),
  unreadable: no('Some messages could not be read', 'SERVERBUG'),
} as const;

export function formatCompletion(tag: string, c: Completion): string {
  return `${tag} ${c.status}${c.code === null ? '' : ` [${c.code}]`} ${c.text}\r\n`;
}

/** Untagged responses, each one line (CRLF added here). Names go out in modified UTF-7. */
export const Untagged = {
  greeting: (hostname: string, capabilities: readonly string[]): string => `* OK [CAPABILITY ${capabilities.join(' ')}] ${hostname} IMAP4rev1 ready\r\n`,
  bye: (text: string): string => `* BYE ${text}\r\n`,
  /** Refusal at connect (main): per-IP or global connection limit. */
  tooManyConnections: (fromIp: boolean): string =>
    `* BYE [UNAVAILABLE] Too many connections${fromIp ? ' from your address' : ''}, try again later\r\n`,
  authBlocked: '* BYE [UNAVAILABLE] Too many authentication failures from your address, try again later\r\n',
  idleTimeout: '* BYE Autologout; idle for too long\r\n',
  tooManyErrors: '* BYE Too many invalid commands\r\n',
  tooManyCommands: '* BYE Too many commands without logging in\r\n',
  shuttingDown: '* BYE [UNAVAILABLE] Server shutting down\r\n',
  literalTooLarge: '* BYE [TOOBIG] Literal too large to skip; closing connection\r\n',
  mailboxDeleted: '* BYE Selected mailbox was deleted, closing connection\r\n',
  internalError: '* BYE [SERVERBUG] Internal error, closing connection\r\n',
  /** A client error we could not attribute to a tag. */
  bad: (text: string): string => `* BAD ${text}\r\n`,
  capability: (capabilities: readonly string[]): string => `* CAPABILITY ${capabilities.join(' ')}\r\n`,
  flags: (flags: readonly string[]): string => `* FLAGS ${flagList(flags)}\r\n`,
  permanentFlags: (flags: readonly string[]): string => `* OK [PERMANENTFLAGS ${flagList(flags)}] Flags permitted\r\n`,
  exists: (n: number): string => `* ${n} EXISTS\r\n`,
  recent: (n: number): string => `* ${n} RECENT\r\n`,
  expunge: (msn: number): string => `* ${msn} EXPUNGE\r\n`,
  unseen: (msn: number): string => `* OK [UNSEEN ${msn}] First unseen\r\n`,
  uidValidity: (v: number): string => `* OK [UIDVALIDITY ${v}] UIDs valid\r\n`,
  uidNext: (n: number): string => `* OK [UIDNEXT ${n}] Predicted next UID\r\n`,
  /** FETCH response carrying flags (STORE results and unsolicited flag changes). */
  fetchFlags: (msn: number, flags: string, uid: number | null): string => `* ${msn} FETCH (${uid === null ? '' : `UID ${uid} `}FLAGS ${flags})\r\n`,
  copyUid: (code: string): string => `* OK [${code}] Moved\r\n`,
  list: (verb: 'LIST' | 'LSUB', attributes: readonly string[], name: string, extra = ''): string =>
    `* ${verb} (${attributes.join(' ')}) "/" ${mailboxName(name)}${extra}\r\n`,
  /** LIST "" "": the hierarchy delimiter and root (RFC 3501 §6.3.8). */
  listRoot: '* LIST (\\Noselect) "/" ""\r\n',
  status: (name: string, pairs: readonly string[]): string => `* STATUS ${mailboxName(name)} (${pairs.join(' ')})\r\n`,
  search: (numbers: readonly number[]): string => (numbers.length === 0 ? '* SEARCH\r\n' : `* SEARCH ${numbers.join(' ')}\r\n`),
  /** RFC 2342: one personal namespace, no prefix, "/" as the delimiter; no other users' or shared ones. */
  namespace: '* NAMESPACE (("" "/")) NIL NIL\r\n',
  id: (name: string): string => `* ID ("name" ${imapString(name)})\r\n`,
  enabled: (capabilities: readonly string[]): string => `* ENABLED${capabilities.map((c) => ` ${c}`).join('')}\r\n`,
  /** "+" continuation request (RFC 3501 §7.5). */
  continuation: (text: string): string => `+ ${text}\r\n`,
  literalReady: '+ Ready for literal data\r\n',
} as const;
