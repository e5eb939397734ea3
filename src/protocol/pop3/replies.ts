/**
 * Every POP3 reply postline sends, by name. Handlers return these values;
 * only the session turns them into bytes (src/codec/pop3/response.ts).
 * Client-visible text reveals nothing about configuration or whether an
 * account exists; logs carry the detail.
 *
 * Response codes (RFC 2449 §8, RFC 3206), each used for one kind of failure:
 * - [IN-USE]   the maildrop is locked by another POP3 session (RFC 2449 §8.1.1).
 * - [AUTH]     credentials refused, and authentication refused by policy:
 *              plaintext login without TLS where auth.plaintext forbids it,
 *              and an IP blocked after too many failures. RFC 3206 §5 names
 *              "an attempt to authenticate in violation of policy (such as
 *              from an invalid location …)" as an [AUTH] case, and Dovecot
 *              answers plaintext-without-TLS the same way; [SYS/PERM] would
 *              tell the user to call the administrator about a fault that is
 *              not one.
 * - [SYS/TEMP] our side failed or is busy: store errors, too many
 *              connections, shutdown (RFC 3206 §4: retrying later may work).
 */
import type { Pop3Response } from '../../codec/pop3/response.js';

export interface Reply extends Pop3Response {
  /** Close the connection after sending. */
  close?: boolean;
}

const ok = (text: string): Reply => ({ status: '+OK', text });
const err = (text: string, code: string | null = null, close = false): Reply => ({ status: '-ERR', code, text, close });
const continuation = (challenge: string): Reply => ({ status: '+', text: challenge });

export const Replies = {
  greeting: (hostname: string): Reply => ok(`${hostname} POP3 ready`),
  capabilities: (caps: string[]): Reply => ({ status: '+OK', text: 'Capability list follows', lines: caps }),
  mechanisms: (names: string[]): Reply => ({ status: '+OK', text: 'Mechanisms follow', lines: names }),
  userOk: ok('send PASS'),
  /** After login and after RSET (RFC 1939's examples report the maildrop this way). */
  maildrop: (count: number, octets: number): Reply => ok(`maildrop has ${count} message${count === 1 ? '' : 's'} (${octets} octets)`),
  stat: (count: number, octets: number): Reply => ok(`${count} ${octets}`),
  scanListing: (msg: number, octets: number): Reply => ok(`${msg} ${octets}`),
  scanListings: (count: number, octets: number, lines: string[]): Reply => ({ status: '+OK', text: `${count} messages (${octets} octets)`, lines }),
  uidListing: (msg: number, uid: string): Reply => ok(`${msg} ${uid}`),
  uidListings: (lines: string[]): Reply => ({ status: '+OK', text: 'unique-id listing follows', lines }),
  /** RETR's first line; the body follows, streamed. */
  retr: (octets: number): Reply => ok(`${octets} octets`),
  top: ok('top of message follows'),
  deleted: (msg: number): Reply => ok(`message ${msg} deleted`),
  noop: ok(''),
  stls: ok('Begin TLS negotiation'),
  /** RFC 5034 §4: PLAIN has an empty challenge, "+ ". */
  authContinue: continuation(''),
  bye: (hostname: string): Reply => ({ status: '+OK', text: `${hostname} POP3 server signing off`, close: true }),
  byeAfterUpdate: (hostname: string, left: number): Reply => ({ status: '+OK', text: `${hostname} POP3 server signing off (${left} message${left === 1 ? '' : 's'} left)`, close: true }),

  // Client mistakes (counted towards POP3_LIMITS.maxErrors)
  unknownCommand: err('unknown command'),
  syntax: (what: string): Reply => err(`syntax error: ${what}`),
  badBytes: err('invalid characters in command'),
  lineTooLong: err('line too long'),
  notLoggedIn: err('not logged in; send USER/PASS or AUTH first'),
  alreadyLoggedIn: err('command not valid after login'),
  needUser: err('send USER first'),
  noSuchMessage: err('no such message'),
  messageDeleted: (msg: number): Reply => err(`message ${msg} already deleted`),
  apopUnsupported: err('APOP not supported; use USER/PASS or AUTH PLAIN'),
  mechanismUnsupported: err('unsupported authentication mechanism'),
  authCancelled: err('authentication cancelled'),
  tlsActive: err('command not permitted when TLS active'),
  tlsNotAvailable: err('TLS not available'),

  // Authentication
  authFailed: err('authentication failed', 'AUTH'),
  plaintextDisallowed: err('plaintext authentication disallowed without TLS; use STLS', 'AUTH'),
  authBlocked: err('too many authentication failures from your address, try again later', 'AUTH', true),
  authTemporary: err('temporary authentication failure, try again later', 'SYS/TEMP'),
  inUse: err('maildrop already locked', 'IN-USE'),

  // Our side
  maildropUnavailable: err('cannot open maildrop, try again later', 'SYS/TEMP'),
  messageUnavailable: err('cannot read message, try again later', 'SYS/TEMP'),
  internalError: err('internal error, try again later', 'SYS/TEMP'),
  messageGone: err('message was removed by another session'),
  updateFailed: err('some deleted messages not removed, try again later', 'SYS/TEMP', true),
  tooManyConnections: err('too many connections, try again later', 'SYS/TEMP', true),
  tooManyConnectionsFromIp: err('too many connections from your address, try again later', 'SYS/TEMP', true),
  shuttingDown: err('server shutting down', 'SYS/TEMP', true),
  idleTimeout: err('idle timeout, closing connection', null, true),
  tooManyErrors: err('too many bad commands, closing connection', null, true),
} as const;
