/**
 * What command handlers see of their session (the session implements it):
 * its state, the selected folder, output, and the few exchanges that need
 * the session's input (a SASL continuation, IDLE, STARTTLS).
 */
import type { Frame } from '../../codec/imap/index.js';
import type { ImapConnection, ImapSessionDeps } from './ports.js';
import type { Output } from './output.js';
import type { Completion } from './responses.js';
import type { SelectedFolder } from './selected.js';

/** RFC 3501 §3; LOGOUT is the closing state no command runs in. */
export type State = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface ImapContext {
  readonly deps: ImapSessionDeps;
  readonly conn: ImapConnection;
  readonly out: Output;
  readonly state: State;
  /** The logged-in user (lower-case address); null before login. */
  readonly user: string | null;
  readonly selected: SelectedFolder | null;

  capabilities(): string[];
  /** auth.plaintext: may a password travel on this connection now? */
  loginAllowed(): boolean;
  /** Login succeeded: authenticated state for `owner`. */
  authenticated(owner: string): void;
  /**
   * Selects (or, with null, deselects) a folder: the state follows. The
   * \Recent window of the folder left is remembered for its next SELECT.
   */
  select(folder: SelectedFolder | null): void;
  /** Where \Recent starts in this folder for this session, if it was selected before. */
  recentFrom(box: number): number | undefined;
  /** Sends `+ text` and resolves with the client's next line; null when it was not a usable line or the connection went. */
  continuation(text: string): Promise<Frame | null>;
  /** IDLE: sends "+ idling", pushes folder changes as they happen, resolves with the next client line (DONE, one hopes). */
  idle(): Promise<Frame | null>;
  /** STARTTLS with our tagged OK as the go-ahead; resolves null once the handshake is done, or with a refusal. */
  startTls(tag: string): Promise<Completion | null>;
}
