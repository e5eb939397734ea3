/**
 * The SMTP command sequence (RFC 5321 §4.1.4) as data: which reply a verb
 * gets in the states where it is out of order.
 */
import type { SmtpCommand } from '../../codec/smtp/command.js';
import { Replies, type Reply } from './replies.js';

/** fresh: no EHLO/HELO yet; greeted: no transaction; mail: MAIL accepted; rcpt: at least one recipient. */
export type SessionState = 'fresh' | 'greeted' | 'mail' | 'rcpt';

const NEED_HELO = Replies.badSequence('send EHLO/HELO first');
const NEED_MAIL = Replies.badSequence('need MAIL first');
const IN_TRANSACTION = Replies.badSequence('not allowed during a mail transaction');

/**
 * The command sequence of RFC 5321 §4.1.4 in one table: for each verb, the
 * reply in the states where it is out of order. Verbs not listed (EHLO, HELO,
 * RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS) are allowed in every state;
 * BDAT checks its own state because its chunk must be read either way.
 */
export const SEQUENCE: Partial<Record<SmtpCommand['verb'], Partial<Record<SessionState, Reply>>>> = {
  MAIL: { fresh: NEED_HELO, mail: Replies.badSequence('nested MAIL command'), rcpt: Replies.badSequence('nested MAIL command') },
  RCPT: { fresh: NEED_HELO, greeted: NEED_MAIL },
  DATA: { fresh: NEED_HELO, greeted: NEED_MAIL, mail: Replies.noValidRecipients },
  AUTH: { fresh: Replies.badSequence('send EHLO first'), mail: IN_TRANSACTION, rcpt: IN_TRANSACTION },
};

