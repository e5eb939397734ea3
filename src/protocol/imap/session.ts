/**
 * One IMAP4rev1 connection (RFC 3501) with IDLE, UIDPLUS, MOVE, LITERAL+,
 * SPECIAL-USE, NAMESPACE, ENABLE, ID, UNSELECT, STARTTLS and AUTHENTICATE
 * PLAIN with SASL-IR: lifecycle, framing, dispatch. Commands and their
 * states are in commands.ts, replies in responses.ts, caps in limits.ts,
 * the selected folder's state in selected.ts; parsing lives in
 * src/codec/imap, storage behind the mailbox port, TLS in src/net
 * (injected as startTls).
 *
 * Input: the framer cuts commands (literals included, each checked against
 * its limit before a byte of it is read); commands run strictly in order.
 * While one runs, later input stays in the framer — except during IDLE and
 * an AUTHENTICATE exchange, when the running command itself waits for the
 * client's next line (`waiter`). Input stops being read when too much of it,
 * or too much unread output, piles up.
 *
 * Folder changes made by other sessions and deliveries reach this session
 * through the store's onChange and are queued in the SelectedFolder. They
 * are told to the client: right away during IDLE; right away, EXPUNGE
 * excepted, when no command is in progress (RFC 3501 §5.2, §7.4.1: EXISTS
 * and FETCH may come at any time, EXPUNGE only while a command is in
 * progress); and otherwise at the end of the next command, before its
 * tagged reply (EXPUNGE held back for FETCH, STORE and SEARCH).
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isPostlineError } from '../../core/errors.js';
import { ImapFramer, parseCommand, peekCommand, type Command, type Frame, type FramerEvent, type LiteralAnnouncement } from '../../codec/imap/index.js';
import { IdleTimer } from '../../core/idle.js';
import { isLoopback } from '../../policy/networks.js';
import type { MailboxChange } from '../mailbox-port.js';
import { commandSpec, expungeAllowed } from './commands.js';
import type { ImapContext, State } from './context.js';
import { IMAP_LIMITS } from './limits.js';
import { Output } from './output.js';
import type { ImapConnection, ImapSessionDeps } from './ports.js';
import { Done, formatCompletion, Untagged, type Completion } from './responses.js';
import type { SelectedFolder } from './selected.js';

export type { ImapConnection, ImapSessionDeps, StartTls } from './ports.js';

/** Extensions offered in every state (the rest depend on state, TLS and auth.plaintext). */
const BASE_CAPABILITIES = [
  'IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE',
  'SPECIAL-USE', 'CHILDREN', 'LIST-EXTENDED', 'LIST-STATUS',
] as const;

export class ImapSession implements ImapContext {
  private socket: Duplex;
  readonly conn: ImapConnection;
  readonly deps: ImapSessionDeps;
  readonly out: Output;
  private readonly onClose: () => void;
  private readonly framer: ImapFramer;
  state: State = 'not-authenticated';
  user: string | null = null;
  selected: SelectedFolder | null = null;
  /** Per folder (box) this session selected before: where \Recent starts when it selects it again. */
  private readonly recentWindows = new Map<number, number>();
  /** A command is running; later commands wait in the framer. */
  private busy = false;
  private idling = false;
  /** A running command (IDLE, AUTHENTICATE) waits for the client's next line. */
  private waiter: ((frame: Frame | null) => void) | null = null;
  /** The literal the framer asked about last was an APPEND message (for the refusal's wording). */
  private literalIsMessage = false;
  private upgrading = false;
  private shutdownRequested = false;
  private syncScheduled = false;
  private errors = 0;
  private commandsBeforeAuth = 0;
  private idleTimer: IdleTimer | null = null;
  private forceClose: object | null = null;
  private stopListening: (() => void) | null = null;
  /** Our closing response is sent; nothing more is read or written. */
  private ending = false;
  /** The socket is gone. */
  private closed = false;

  constructor(socket: Duplex, conn: ImapConnection, deps: ImapSessionDeps, onClose: () => void) {
    this.socket = socket;
    this.conn = conn;
    this.deps = deps;
    this.onClose = onClose;
    this.out = new Output(socket);
    this.framer = new ImapFramer({
      maxLineBytes: IMAP_LIMITS.maxLineBytes,
      maxDiscardBytes: IMAP_LIMITS.maxDiscardBytes,
      literalLimit: (frame, announced) => this.literalLimit(frame, announced),
    });
  }

  start(): void {
    this.attach(this.socket);
    this.socket.on('close', () => this.finish());
    // Like SMTP's 421: a blocked IP is told at once and learns nothing more.
    if (this.deps.authLimiter.blocked(this.conn.remoteAddress)) return this.end(Untagged.authBlocked);
    this.out.push(Untagged.greeting(this.deps.hostname, this.capabilities()));
    this.idleTimer = new IdleTimer(this.deps.idleTimeoutMs, this.deps.clock, () => this.onIdle());
  }

  /** Server shutdown: an idle (or IDLE-ing) session is told at once; one in the middle of a command finishes it first. */
  shutdown(): void {
    if (this.busy && !this.idling) this.shutdownRequested = true;
    else this.end(Untagged.shuttingDown);
  }

  // ------------------------------------------------------------ ImapContext

  capabilities(): string[] {
    const caps: string[] = [...BASE_CAPABILITIES, `APPENDLIMIT=${this.deps.maxMessageSize}`];
    if (this.state === 'not-authenticated') {
      if (!this.conn.tls && this.deps.tlsContext !== null && this.deps.startTls !== null) caps.push('STARTTLS');
      // RFC 3501 §6.2.3 / §7.2.1: LOGINDISABLED when a password may not travel here.
      caps.push(this.loginAllowed() ? 'AUTH=PLAIN' : 'LOGINDISABLED');
    }
    return caps;
  }

  loginAllowed(): boolean {
    if (this.conn.tls) return true;
    const mode = this.deps.authPlaintext;
    return mode === 'always' || (mode === 'loopback' && isLoopback(this.conn.remoteAddress));
  }

  authenticated(owner: string): void {
    // The client may have gone while the password was checked: no listener for a dead session.
    if (this.ending) return;
    this.user = owner;
    this.state = 'authenticated';
    this.stopListening ??= this.deps.mailbox.onChange((change) => this.onStoreChange(change));
  }

  select(folder: SelectedFolder | null): void {
    const left = this.selected;
    if (left !== null) this.recentWindows.set(left.box, left.nextRecentFrom);
    this.selected = folder;
    if (this.state !== 'logout') this.state = folder !== null ? 'selected' : 'authenticated';
  }

  recentFrom(box: number): number | undefined {
    return this.recentWindows.get(box);
  }

  continuation(text: string): Promise<Frame | null> {
    this.out.push(Untagged.continuation(text));
    return this.nextFrame();
  }

  idle(): Promise<Frame | null> {
    if (this.selected !== null) this.out.push(this.selected.sync(true));
    this.out.push(Untagged.continuation('idling'));
    this.idling = true;
    return this.nextFrame().finally(() => {
      this.idling = false;
    });
  }

  async startTls(tag: string): Promise<Completion | null> {
    const context = this.deps.tlsContext;
    const startTls = this.deps.startTls;
    if (context === null || startTls === null) return Done.tlsUnavailable;
    // Replies to earlier commands leave first, in plaintext.
    this.out.flush();
    const raw = this.socket as Socket;
    // Detached before anything is discarded (src/net/starttls.ts): nothing sent in plaintext after STARTTLS is ever acted on.
    raw.removeListener('data', this.onData);
    raw.removeListener('drain', this.onDrain);
    this.upgrading = true;
    const dropped = this.framer.clear();
    if (dropped > 0) this.deps.logger.warn({ conn: this.conn.id, bytes: dropped }, 'plaintext after STARTTLS discarded');
    try {
      const secure = await startTls(raw, context, Buffer.from(formatCompletion(tag, Done.startTls)));
      this.socket = secure;
      this.out.setSocket(secure);
      this.conn.tls = true;
      this.attach(secure);
      this.deps.logger.debug({ conn: this.conn.id }, 'STARTTLS done');
    } catch (err) {
      this.deps.logger.debug({ err, conn: this.conn.id }, 'STARTTLS handshake failed');
      raw.destroy();
    } finally {
      this.upgrading = false;
    }
    return null;
  }

  // ------------------------------------------------------------ socket

  private readonly onData = (chunk: Buffer): void => {
    this.idleTimer?.touch();
    if (this.ending || chunk.length === 0) return;
    this.framer.push(chunk);
    this.pump();
  };

  private readonly onDrain = (): void => {
    // Output moving is activity too: a slow reader of a big FETCH is not idle.
    this.idleTimer?.touch();
    this.pump();
  };

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', (err) => this.deps.logger.debug({ err, conn: this.conn.id }, 'imap socket error'));
  }

  private onIdle(): void {
    this.deps.logger.debug({ conn: this.conn.id }, 'idle timeout');
    // A response now could land inside a FETCH being written: just hang up then.
    if (this.busy && !this.idling) this.socket.destroy();
    else this.end(Untagged.idleTimeout);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    this.idleTimer?.stop();
    if (this.forceClose) this.deps.clock.clearTimeout(this.forceClose);
    this.out.stop();
    this.stopListening?.();
    this.stopListening = null;
    this.resolveWaiter(null);
    this.selected = null;
    this.state = 'logout';
    this.onClose();
  }

  // ------------------------------------------------------------ input

  /**
   * The framer's literal check, before any literal byte is read: an APPEND
   * message may be as large as limits.maxMessageSize once logged in; any
   * other literal 64 KiB, and all of a command's literals together
   * maxCommandLiteralBytes.
   */
  private literalLimit(frame: Frame, _announced: LiteralAnnouncement): number {
    const name = this.waiter !== null ? null : peekCommand(frame).name;
    let used = 0;
    for (const l of frame.literals) used += l.data.length;
    this.literalIsMessage = name === 'APPEND' && this.state !== 'not-authenticated';
    if (this.literalIsMessage) {
      const max = this.deps.maxMessageSize;
      return Math.min(max, max + IMAP_LIMITS.maxLiteralBytes - used);
    }
    return Math.min(IMAP_LIMITS.maxLiteralBytes, IMAP_LIMITS.maxCommandLiteralBytes - used);
  }

  /** Handles framer events while no command runs (or one waits for a line), then decides whether to keep reading. */
  private pump(): void {
    while (!this.ending) {
      if (this.busy && this.waiter === null) break;
      if (!this.busy && this.shutdownRequested) return this.end(Untagged.shuttingDown);
      if (!this.busy && this.out.pending > IMAP_LIMITS.pendingOutputBytes) {
        this.out.flush();
        // Still backed up: a 'drain' is due and calls us again.
        if (this.out.needsDrain) break;
      }
      const event = this.framer.next();
      if (event === null) break;
      try {
        this.handleEvent(event);
      } catch (err) {
        this.deps.logger.error({ err, conn: this.conn.id }, 'imap session error');
        this.end(Untagged.internalError);
      }
    }
    if (this.ending || this.upgrading) return;
    const hold =
      (this.busy && this.waiter === null && this.framer.buffered > IMAP_LIMITS.pipelinedBytes) || this.out.pending > IMAP_LIMITS.pendingOutputBytes;
    if (hold) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  private handleEvent(event: FramerEvent): void {
    switch (event.kind) {
      case 'continue':
        this.out.push(Untagged.literalReady);
        return;
      case 'line-too-long':
        if (event.fatal) return this.end(Untagged.literalTooLarge);
        if (this.waiter !== null) return this.resolveWaiter(null);
        return this.complete(event.tag, Done.lineTooLong);
      case 'literal-refused': {
        const refusal = Done.literalTooLarge(this.literalIsMessage);
        if (event.fatal) {
          if (event.tag !== null) this.out.push(formatCompletion(event.tag, refusal));
          return this.end(Untagged.literalTooLarge);
        }
        if (this.waiter !== null) return this.resolveWaiter(null);
        return this.complete(event.tag, refusal);
      }
      case 'frame':
        if (this.waiter !== null) return this.resolveWaiter(event.frame);
        return this.command(event.frame);
    }
  }

  private command(frame: Frame): void {
    const parsed = parseCommand(frame);
    if (!parsed.ok) {
      if (parsed.kind === 'bad-charset') return this.complete(parsed.tag, Done.badCharset);
      return this.complete(parsed.tag, parsed.kind === 'unknown-command' ? Done.unknownCommand : Done.syntax(parsed.message));
    }
    this.dispatch(parsed.command);
  }

  private dispatch(cmd: Command): void {
    if (this.state === 'not-authenticated' && ++this.commandsBeforeAuth > IMAP_LIMITS.maxCommandsBeforeAuth) return this.end(Untagged.tooManyCommands);
    // The state check, once, from the table; handlers only do their work.
    const spec = commandSpec(cmd);
    if (!spec.states.includes(this.state)) return this.complete(cmd.tag, wrongState(this.state, spec.states));
    this.busy = true;
    let result: Completion | null | Promise<Completion | null>;
    try {
      result = spec.handler(this, cmd);
    } catch (err) {
      result = this.internalError(err, cmd);
    }
    if (!(result instanceof Promise)) return this.done(cmd, result);
    result.then(
      (completion) => this.done(cmd, completion),
      (err: unknown) => this.done(cmd, this.internalError(err, cmd)),
    ).finally(() => this.pump());
  }

  /** A command finished: pending folder news first (as far as the command allows), then its tagged reply. */
  private done(cmd: Command, completion: Completion | null): void {
    this.busy = false;
    if (completion === null || this.ending) return;
    if (this.selected !== null) this.out.push(this.selected.sync(expungeAllowed(cmd)));
    this.complete(cmd.tag, completion);
  }

  private internalError(err: unknown, cmd: Command): Completion {
    this.deps.logger.error({ err, conn: this.conn.id, command: cmd.name }, 'imap command failed');
    return isPostlineError(err, 'ERR_STORE_FULL') ? Done.storeFull : Done.storeFailed;
  }

  private nextFrame(): Promise<Frame | null> {
    if (this.ending) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
      // Lines already buffered (a pipelined DONE) are delivered by the pump loop we are called from, or here.
      queueMicrotask(() => this.pump());
    });
  }

  private resolveWaiter(frame: Frame | null): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.(frame);
  }

  // ------------------------------------------------------------ folder changes

  private onStoreChange(change: MailboxChange): void {
    const sel = this.selected;
    if (sel === null || this.ending) return;
    if (change.kind === 'folders') {
      if (change.owner === this.user) this.followSelectedFolder(sel);
      return;
    }
    if (sel.onChange(change)) this.scheduleSync();
  }

  /** After a folder rename or delete: keep the selected folder's name current, or end the session if it is gone. */
  private followSelectedFolder(sel: SelectedFolder): void {
    const { mailbox } = this.deps;
    if (mailbox.folder(sel.owner, sel.name)?.box === sel.box) return;
    for (const f of mailbox.listFolders(sel.owner)) {
      if (mailbox.folder(sel.owner, f.name)?.box === sel.box) {
        sel.name = f.name;
        return;
      }
    }
    // Deleted by another session: no message of it can be served any more (Dovecot does the same).
    this.end(Untagged.mailboxDeleted);
  }

  /** Changes arrive one record at a time; tell the client once per burst. */
  private scheduleSync(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    queueMicrotask(() => {
      this.syncScheduled = false;
      const sel = this.selected;
      if (sel === null || this.ending) return;
      if (this.idling) this.out.push(sel.sync(true));
      else if (!this.busy && sel.hasPending(false)) this.out.push(sel.sync(false));
    });
  }

  // ------------------------------------------------------------ output

  /** The tagged reply (`* BAD` without a tag); too many BADs end the session. */
  private complete(tag: string | null, c: Completion): void {
    if (this.ending) return;
    if (c.close !== undefined) {
      this.out.push(Untagged.bye(c.close) + formatCompletion(tag ?? '*', c));
      return this.end('');
    }
    this.out.push(formatCompletion(tag ?? '*', c));
    if (c.status === 'BAD' && ++this.errors > IMAP_LIMITS.maxErrors) this.end(Untagged.tooManyErrors);
  }

  /** Sends `last` (a BYE) and closes. */
  private end(last: string): void {
    if (this.ending) return;
    this.out.push(last);
    this.out.flush();
    this.out.stop();
    this.ending = true;
    this.state = 'logout';
    this.idleTimer?.stop();
    this.resolveWaiter(null);
    const socket = this.socket;
    socket.end();
    // A client that never reads must not keep the socket open forever.
    const timer = this.deps.clock.setTimeout(() => socket.destroy(), IMAP_LIMITS.closeGraceMs);
    timer.unref?.();
    this.forceClose = timer;
  }
}

/** The BAD for a command used in the wrong state, saying what is missing. */
function wrongState(state: State, valid: readonly State[]): Completion {
  if (state === 'not-authenticated') return Done.notLoggedIn;
  if (valid.length === 1 && valid[0] === 'not-authenticated') return Done.alreadyLoggedIn;
  if (state === 'authenticated' && valid.includes('selected')) return Done.noMailboxSelected;
  return Done.wrongState;
}
