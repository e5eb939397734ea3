/**
 * What an SMTP session needs from the rest of postline, as small ports
 * injected by the composition root. The session never imports the store,
 * the queue or the user directory.
 */
import type { Verdict } from '../../policy/verdict.js';
import type { ClientContext, Recipient } from '../../policy/recipients.js';

export interface AddressParts {
  address: string;
  local: string;
  domain: string;
  quotedLocal: boolean;
  route: string[];
}

export interface SmtpPolicyPort {
  checkSender(client: ClientContext, sender: AddressParts | null): Verdict;
  /** The MX port's reverse-DNS check of the client (SPEC §4.3); null when no check applies (off, authenticated, trusted). */
  checkClientHost(client: ClientContext, senderDomain: string | null): Promise<Verdict> | null;
  checkRecipient(client: ClientContext, rcpt: AddressParts, countSoFar: number): Verdict<Recipient>;
}

export interface EnvelopeForIntake {
  id: string;
  sender: string | null;
  recipients: Recipient[];
  /** DSN parameters kept on the envelope (RFC 3461). */
  dsn: { ret?: 'FULL' | 'HDRS'; envid?: string; notify: Map<string, string[]>; orcpt: Map<string, string> };
  smtputf8: boolean;
  body8bit: boolean;
}

export interface IntakePort {
  /** Stores the message durably (fsync) for every recipient; resolves only then. */
  commit(envelope: EnvelopeForIntake, message: Buffer): Promise<void>;
}

export interface AuthPort {
  verify(username: string, password: string): Promise<boolean>;
}

export interface AuthLimiterPort {
  recordFailure(ip: string): void;
  blocked(ip: string): boolean;
}
