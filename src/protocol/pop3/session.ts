/**
 * One POP3 connection (RFC 1939, with RFC 2449 CAPA/PIPELINING/RESP-CODES,
 * RFC 2595 STLS, RFC 5034 AUTH PLAIN): the AUTHORIZATION → TRANSACTION →
 * UPDATE state machine and dispatch. Parsing lives in src/codec/pop3,
 * storage behind the mailbox port, TLS in src/net (injected as startTls).
 *
 * Commands are handled strictly in order. While one waits (login, RETR,
 * QUIT's expunge, STLS), later pipelined lines stay in the framer; input
 * stops being read when too much of it, or too much unread output, piles up.
 *
 * The maildrop is a snapshot taken at login (uids and sizes in UID order):
 * message numbers never shift under the client, and mail delivered during
 * the session shows up at the next login (RFC 1939 §4). DELE only marks;
 * QUIT in TRANSACTION expunges the marked messages and answers +OK only once
 * that is durable. A connection that ends any other way deletes nothing.
 *
 * \Seen: messages fetched with RETR (not TOP) get \Seen, as Dovecot does, so
 * an IMAP client on the same account sees them as read. The flags are written
 * in one record when the session ends (QUIT or disconnect), not per RETR:
 * one fsync per downloaded message would be the slowest part of a download.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Clock } from '../../core/clock.js';
import { isPostlineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { DotStuffer, formatResponse, LineFramer, parseCommand, topOf, type FramerEvent, type Pop3Command, type Pop3Verb } from '../../codec/pop3/index.js';
import { decodePlain } from '../../auth/sasl.js';
import { isLoopback } from '../../policy/networks.js';
import type { MailboxPort } from '../mailbox-port.js';
// The same small ports as SMTP: one user directory and one failure limiter behind every protocol.
import type { AuthLimiterPort, AuthPort } from '../smtp/ports.js';
import { Replies, type Reply } from './replies.js';
import { POP3_LIMITS } from './limits.js';
import type { MaildropLock } from './maildrop-lock.js';
import { Maildrop, type Lookup } from './maildrop.js';
import { IdleTimer } from '../../core/idle.js';
import { BufferPool, writeCopied } from '../../core/buffer-pool.js';
import { MaildropReader } from './reader.js';

/** The part of the mailbox port POP3 uses: INBOX only, read, flag, expunge. */
export type Pop3MailboxPort = Pick<MailboxPort, 'ensureUser' | 'folder' | 'readMessage' | 'readMessageBatch' | 'setFlags' | 'expunge'>;

/**
 * A message decoded from a read-ahead window brings following ones with
 * it: one native decompression call for the run (~3 µs a call, besides the
 * bytes). A RETR that finds its message undecoded (a pipelining client, ahead
 * of prepareNext) decodes the rest of the window; prepareNext decodes
 * PREPARE_RUN (~50 µs of 4 KB messages), which fits in the time a
 * one-at-a-time client takes to read a message.
 */
const REST_OF_WINDOW = Number.POSITIVE_INFINITY;
const PREPARE_RUN = 8;

/** Output up to this size is copied into one buffer per flush; more leaves as pieces (see flush). */
const FLUSH_COPY_MAX_BYTES = 256 * 1024;

/** The flush buffers, shared by every POP3 session: 16 × 256 KB at most stay allocated between flushes. */
const FLUSH_BUFFERS = new BufferPool(FLUSH_COPY_MAX_BYTES, 16);

/**
 * STLS, injected by main (src/net/starttls.ts startTls): drops the plaintext
 * still unread (and `framerRest`), writes `goAhead`, and resolves with the
 * TLS socket once the handshake is done.
 */
export type StartTls = (socket: Socket, context: SecureContext, goAhead: Buffer, framerRest: Buffer) => Promise<Duplex>;

export interface Pop3SessionDeps {
  hostname: string;
  idleTimeoutMs: number;
  authPlaintext: 'loopback' | 'never' | 'always';
  tlsContext: SecureContext | null;
  startTls: StartTls | null;
  mailbox: Pop3MailboxPort;
  auth: AuthPort;
  authLimiter: AuthLimiterPort;
  locks: MaildropLock;
  /** After a successful login (feeds POP-before-SMTP). */
  onLogin(ip: string): void;
  clock: Clock;
  logger: Logger;
}

export interface Pop3Connection {
  id: string;
  remoteAddress: string;
  tls: boolean;
}

type State = 'authorization' | 'transaction' | 'update';

/**
 * The command table: where each verb may be used. Checked in one place
 * (dispatch) before any handler runs. RFC 1939 §4–§6 for the base commands,
 * RFC 2449 §5 (CAPA in both states), RFC 2595 §4 (STLS before login only).
 * UPDATE takes no commands: the session is closing.
 */
const COMMAND_STATES: { readonly [V in Pop3Verb]: readonly State[] } = {
  USER: ['authorization'],
  PASS: ['authorization'],
  APOP: ['authorization'],
  AUTH: ['authorization'],
  STLS: ['authorization'],
  CAPA: ['authorization', 'transaction'],
  QUIT: ['authorization', 'transaction'],
  STAT: ['transaction'],
  LIST: ['transaction'],
  RETR: ['transaction'],
  TOP: ['transaction'],
  UIDL: ['transaction'],
  DELE: ['transaction'],
  NOOP: ['transaction'],
  RSET: ['transaction'],
};

const INBOX = 'INBOX';

export class Pop3Session {
  private socket: Duplex;
  private readonly conn: Pop3Connection;
  private readonly deps: Pop3SessionDeps;
  private readonly onClose: () => void;
  // The framer's cap fits the longest line we take (a SASL response); command lines are held to less in handleLine.
  private readonly framer = new LineFramer(POP3_LIMITS.authResponseBytes);
  private state: State = 'authorization';
  /** USER seen, waiting for PASS. */
  private pendingUser: string | null = null;
  /** "+ " sent after AUTH PLAIN, the next line is the SASL response. */
  private awaitingSaslResponse = false;
  private maildrop: Maildrop | null = null;
  /** A command is in progress asynchronously; later lines wait in the framer. */
  private busy = false;
  /** A message body is being written: nothing else may be written until it ends. */
  private streaming = false;
  private upgrading = false;
  private shutdownRequested = false;
  private errors = 0;
  private idle: IdleTimer | null = null;
  private forceClose: object | null = null;
  private drainWaiter: (() => void) | null = null;
  private output: Buffer[] = [];
  private outputBytes = 0;
  private flushScheduled = false;
  /** Inside pump(): replies queued now leave when the pass ends, no flush is scheduled for them. */
  private pumping = false;
  /** Our closing reply is sent; nothing more is read or written. */
  private ending = false;
  /** The socket is gone. */
  private closed = false;

  constructor(socket: Duplex, conn: Pop3Connection, deps: Pop3SessionDeps, onClose: () => void) {
    this.socket = socket;
    this.conn = conn;
    this.deps = deps;
    this.onClose = onClose;
  }

  start(): void {
    this.attach(this.socket);
    this.socket.on('close', () => this.finish());
    // RFC 1939 §4 allows a negative greeting; like SMTP's 421, a blocked IP learns nothing more.
    if (this.deps.authLimiter.blocked(this.conn.remoteAddress)) return this.send(Replies.authBlocked);
    this.send(Replies.greeting(this.deps.hostname));
    this.idle = new IdleTimer(this.deps.idleTimeoutMs, this.deps.clock, () => this.onIdle());
  }

  /** Server shutdown: an idle session is told at once; one in the middle of a command finishes it first. */
  shutdown(): void {
    if (this.busy) this.shutdownRequested = true;
    else this.send(Replies.shuttingDown);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.idle?.touch();
    if (this.ending || chunk.length === 0) return;
    this.framer.push(chunk);
    this.pump();
  };

  private readonly onDrain = (): void => {
    // Output moving is activity too: a slow reader of a big RETR is not idle.
    this.idle?.touch();
    const wake = this.drainWaiter;
    this.drainWaiter = null;
    wake?.();
    this.pump();
  };

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', (err) => this.deps.logger.debug({ err, conn: this.conn.id }, 'pop3 socket error'));
  }

  private onIdle(): void {
    this.deps.logger.debug({ conn: this.conn.id }, 'idle timeout');
    // A reply now would land inside the answer being produced (a RETR body): just hang up.
    if (this.busy) this.socket.destroy();
    else this.send(Replies.idleTimeout);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    this.idle?.stop();
    if (this.forceClose) this.deps.clock.clearTimeout(this.forceClose);
    const wake = this.drainWaiter;
    this.drainWaiter = null;
    wake?.();
    // No QUIT: no UPDATE, nothing is deleted (RFC 1939 §6). In UPDATE the expunge path releases the lock itself.
    if (this.maildrop && this.state !== 'update') this.closeMaildrop(this.maildrop);
    this.onClose();
  }

  // ------------------------------------------------------------ input

  /**
   * Handles complete lines while no command is in progress, then decides
   * whether to keep reading. What the lines' replies queued leaves in one
   * write at the end of the pass (see scheduleFlush).
   */
  private pump(): void {
    this.pumping = true;
    try {
      this.pumpLines();
    } finally {
      this.pumping = false;
      if (this.outputBytes > 0) this.flush();
      // After the flush: the reply is with the kernel, and the client reads it while we prepare the next one.
      if (this.prepareWanted) this.prepareNext();
    }
  }

  private pumpLines(): void {
    for (;;) {
      while (!this.busy && !this.ending && !this.outputBackedUp()) {
        if (this.shutdownRequested) return this.send(Replies.shuttingDown);
        const event = this.framer.next();
        if (!event) break;
        this.handleEvent(event);
      }
      if (this.busy || this.ending || !this.outputBackedUp()) break;
      this.flush();
      // Still queued: a 'drain' is due and calls us again. Otherwise the kernel
      // took it all at once (write() completes synchronously then, and no
      // 'drain' ever comes): carry on with the lines we hold.
      if (this.socket.writableNeedDrain) break;
    }
    if (this.ending || this.upgrading) return;
    if (this.framer.buffered > POP3_LIMITS.pipelinedBytes || this.outputBackedUp()) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  private outputBackedUp(): boolean {
    return this.outputBytes + this.socket.writableLength > POP3_LIMITS.pendingOutputBytes;
  }

  private handleEvent(event: FramerEvent): void {
    if (event.kind === 'too-long') {
      this.awaitingSaslResponse = false;
      return this.fail(Replies.lineTooLong);
    }
    const line = event.line;
    if (this.awaitingSaslResponse) {
      this.awaitingSaslResponse = false;
      const response = line.toString('latin1');
      // RFC 5034 §4: "*" cancels the exchange.
      if (response === '*') return this.send(Replies.authCancelled);
      return this.run(this.finishPlain(response));
    }
    if (line.length > POP3_LIMITS.commandLineBytes) return this.fail(Replies.lineTooLong);
    const parsed = parseCommand(line);
    if (!parsed.ok) {
      switch (parsed.kind) {
        case 'unknown-command':
          return this.fail(Replies.unknownCommand);
        case 'bad-bytes':
          return this.fail(Replies.badBytes);
        case 'syntax':
          return this.fail(Replies.syntax(parsed.message));
      }
    }
    this.dispatch(parsed.command);
  }

  // ------------------------------------------------------------ commands

  private dispatch(cmd: Pop3Command): void {
    // The state check, once, from the table; handlers only do their work.
    if (this.state === 'update' || !COMMAND_STATES[cmd.verb].includes(this.state)) {
      return this.fail(this.state === 'authorization' ? Replies.notLoggedIn : Replies.alreadyLoggedIn);
    }
    switch (cmd.verb) {
      case 'CAPA':
        return this.send(Replies.capabilities(this.capabilities()));
      case 'USER':
        return this.user(cmd.name);
      case 'PASS':
        return this.pass(cmd.password);
      case 'APOP':
        return this.fail(Replies.apopUnsupported);
      case 'AUTH':
        return this.auth(cmd.mechanism, cmd.initial);
      case 'STLS':
        return this.stls();
      case 'QUIT':
        return this.state === 'transaction' ? this.run(this.update()) : this.send(Replies.bye(this.deps.hostname));
      case 'STAT': {
        const { count, octets } = this.totals();
        return this.send(Replies.stat(count, octets));
      }
      case 'LIST':
        return this.list(cmd.msg);
      case 'UIDL':
        return this.uidl(cmd.msg);
      case 'RETR':
        return this.retrieve(cmd.msg, null);
      case 'TOP':
        return this.retrieve(cmd.msg, cmd.lines);
      case 'DELE':
        return this.dele(cmd.msg);
      case 'RSET': {
        this.maildrop!.reset();
        const { count, octets } = this.totals();
        return this.send(Replies.maildrop(count, octets));
      }
      case 'NOOP':
        return this.send(Replies.noop);
    }
  }

  /** Runs an asynchronous handler: later lines wait until it is done. */
  private run(work: Promise<void>): void {
    this.busy = true;
    work
      .catch((err: unknown) => {
        this.deps.logger.error({ err, conn: this.conn.id }, 'pop3 command failed');
        if (!this.streaming) this.send(Replies.internalError);
        else this.socket.destroy(); // a half-sent body cannot be followed by an error reply
      })
      .finally(() => {
        this.busy = false;
        this.streaming = false;
        this.pump();
      });
  }

  private capabilities(): string[] {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.state === 'authorization') {
      if (this.loginAllowed()) caps.push('USER', 'SASL PLAIN');
      if (this.tlsAvailable()) caps.push('STLS');
    }
    caps.push('IMPLEMENTATION postline');
    return caps;
  }

  private tlsAvailable(): boolean {
    return !this.conn.tls && this.deps.tlsContext !== null && this.deps.startTls !== null;
  }

  /** auth.plaintext: passwords travel in clear only where the operator allows it. */
  private loginAllowed(): boolean {
    if (this.conn.tls) return true;
    const mode = this.deps.authPlaintext;
    return mode === 'always' || (mode === 'loopback' && isLoopback(this.conn.remoteAddress));
  }

  // ------------------------------------------------------------ AUTHORIZATION

  private user(name: string): void {
    if (!this.loginAllowed()) return this.fail(Replies.plaintextDisallowed);
    // Whether the user exists is not revealed here: every name gets the same answer.
    this.pendingUser = name;
    this.send(Replies.userOk);
  }

  private pass(password: string): void {
    if (!this.loginAllowed()) return this.fail(Replies.plaintextDisallowed);
    const user = this.pendingUser;
    if (user === null) return this.fail(Replies.needUser);
    this.pendingUser = null;
    this.run(this.login(user, password));
  }

  private auth(mechanism: string | null, initial: string | null): void {
    this.pendingUser = null;
    if (mechanism === null) return this.send(Replies.mechanisms(this.loginAllowed() ? ['PLAIN'] : []));
    if (!this.loginAllowed()) return this.fail(Replies.plaintextDisallowed);
    if (mechanism !== 'PLAIN') return this.fail(Replies.mechanismUnsupported);
    if (initial === null) {
      this.awaitingSaslResponse = true;
      return this.send(Replies.authContinue);
    }
    // RFC 5034 §4: "=" is an empty initial response.
    this.run(this.finishPlain(initial === '=' ? '' : initial));
  }

  private async finishPlain(response: string): Promise<void> {
    const decoded = decodePlain(response);
    if (!decoded.ok) return this.fail(Replies.syntax(decoded.problem));
    const { authzid, username, password } = decoded.credentials;
    // Acting as someone else (authzid ≠ authcid) is not supported.
    if (authzid && authzid.toLowerCase() !== username.toLowerCase()) return this.authFailure();
    await this.login(username, password);
  }

  private async login(username: string, password: string): Promise<void> {
    const ip = this.conn.remoteAddress;
    const owner = username.toLowerCase();
    // Asked before verifying: a blocked IP learns nothing about passwords, even a right one.
    if (this.deps.authLimiter.blocked(ip)) return this.send(Replies.authBlocked);
    let ok: boolean;
    try {
      ok = await this.deps.auth.verify(owner, password);
    } catch (err) {
      this.deps.logger.error({ err, conn: this.conn.id }, 'auth backend failed');
      return this.send(Replies.authTemporary);
    }
    if (!ok) return this.authFailure();
    const release = this.deps.locks.tryAcquire(owner, this.conn.id);
    if (!release) {
      this.deps.logger.info({ conn: this.conn.id, user: owner, holder: this.deps.locks.holder(owner) }, 'maildrop locked by another session');
      return this.send(Replies.inUse);
    }
    let maildrop: Maildrop | null = null;
    try {
      maildrop = await this.openMaildrop(owner, release);
    } catch (err) {
      this.deps.logger.error({ err, conn: this.conn.id, user: owner }, 'cannot open maildrop');
    }
    // Every way out without a maildrop (error, client gone) gives the lock back (RFC 1939 §4 asks exactly that).
    if (!maildrop || this.closed) {
      release();
      return this.send(Replies.maildropUnavailable);
    }
    this.maildrop = maildrop;
    this.reader = new MaildropReader(this.deps.mailbox, maildrop, (err) => this.deps.logger.warn({ err, conn: this.conn.id }, 'read-ahead failed; reading one by one'));
    this.state = 'transaction';
    this.deps.onLogin(ip);
    const { count, octets } = this.totals();
    this.deps.logger.info({ conn: this.conn.id, user: owner, messages: count, tls: this.conn.tls }, 'pop3 login');
    this.send(Replies.maildrop(count, octets));
  }

  private async openMaildrop(owner: string, release: () => void): Promise<Maildrop | null> {
    await this.deps.mailbox.ensureUser(owner);
    const inbox = this.deps.mailbox.folder(owner, INBOX);
    return inbox ? new Maildrop(owner, inbox, release) : null;
  }

  private authFailure(): void {
    const ip = this.conn.remoteAddress;
    this.deps.authLimiter.recordFailure(ip);
    this.deps.logger.info({ conn: this.conn.id, ip }, 'authentication failed');
    if (this.deps.authLimiter.blocked(ip)) return this.send(Replies.authBlocked);
    this.fail(Replies.authFailed);
  }

  private stls(): void {
    if (this.conn.tls) return this.fail(Replies.tlsActive);
    const context = this.deps.tlsContext;
    const startTls = this.deps.startTls;
    if (!context || !startTls) return this.send(Replies.tlsNotAvailable);
    // Replies to commands before STLS leave first, in plaintext.
    this.flush();
    const raw = this.socket as Socket;
    // Detached before anything is discarded (see src/net/starttls.ts): no plaintext read after the STLS line is ever acted on.
    raw.removeListener('data', this.onData);
    raw.removeListener('drain', this.onDrain);
    this.upgrading = true;
    this.pendingUser = null;
    const upgrade = startTls(raw, context, formatResponse(Replies.stls), this.framer.takeRest()).then(
      (secure) => {
        this.upgrading = false;
        this.socket = secure;
        this.conn.tls = true;
        this.attach(secure);
        this.deps.logger.debug({ conn: this.conn.id }, 'STLS done');
      },
      (err: unknown) => {
        this.deps.logger.debug({ err, conn: this.conn.id }, 'STLS handshake failed');
        raw.destroy();
      },
    );
    this.run(upgrade);
  }

  // ------------------------------------------------------------ TRANSACTION

  /** The slot of message `msg`, or null after telling the client why there is none. */
  private slot(msg: number): number | null {
    const found: Lookup = this.maildrop!.lookup(msg);
    if (found.ok) return found.slot;
    this.fail(found.why === 'deleted' ? Replies.messageDeleted(msg) : Replies.noSuchMessage);
    return null;
  }

  private totals(): { count: number; octets: number } {
    return this.maildrop!.totals();
  }

  private list(msg: number | null): void {
    const md = this.maildrop!;
    if (msg === null) {
      const { count, octets } = md.totals();
      return this.send(Replies.scanListings(count, octets, md.scanListing()));
    }
    const i = this.slot(msg);
    if (i !== null) this.send(Replies.scanListing(msg, md.octets(i)));
  }

  private uidl(msg: number | null): void {
    const md = this.maildrop!;
    if (msg === null) return this.send(Replies.uidListings(md.uidListing()));
    const i = this.slot(msg);
    if (i !== null) this.send(Replies.uidListing(msg, md.uniqueId(i)));
  }

  private dele(msg: number): void {
    const i = this.slot(msg);
    if (i === null) return;
    this.maildrop!.markDeleted(i);
    this.send(Replies.deleted(msg));
  }

  /** RETR (lines null) or TOP. */
  private retrieve(msg: number, lines: number | null): void {
    const i = this.slot(msg);
    if (i === null) return;
    const md = this.maildrop!;
    const reader = this.reader!;
    const now = lines === null && !this.socket.writableNeedDrain;
    // (A prepared reply not used now is replaced by prepareNext once the client has moved on.)
    const prepared = this.prepared;
    if (now && prepared?.slot === i) {
      this.prepared = null;
      reader.taken(i);
      return this.answered(i, prepared.pieces);
    }
    let body: Buffer | undefined;
    try {
      body = reader.inHand(i, REST_OF_WINDOW);
    } catch (err) {
      return this.readFailed(err, md.uid(i));
    }
    if (body !== undefined) reader.taken(i);
    if (now && body !== undefined && body.length <= POP3_LIMITS.bodySliceBytes) return this.answered(i, retrReply(md.octets(i), body));
    this.run(this.sendMessage(i, lines, body));
  }

  /**
   * RETR i answered synchronously (read ahead, small enough for one slice,
   * the socket not backed up): a pipelined burst of RETRs is answered in one
   * pass of the pump loop instead of a chain of promises per message.
   * Backpressure is the pump's: it stops taking lines once enough output is
   * queued.
   */
  private answered(i: number, reply: readonly Buffer[]): void {
    for (const piece of reply) this.queue(piece);
    this.maildrop!.markRetrieved(i);
    this.prepareWanted = true;
    if (this.outputBytes >= POP3_LIMITS.bodySliceBytes) this.flush();
  }

  private async sendMessage(i: number, lines: number | null, inHand: Buffer | undefined): Promise<void> {
    const md = this.maildrop!;
    let message: Buffer;
    try {
      message = inHand ?? (await this.reader!.read(i, REST_OF_WINDOW));
    } catch (err) {
      return this.readFailed(err, md.uid(i));
    }
    if (this.ending) return;
    this.send(lines === null ? Replies.retr(md.octets(i)) : Replies.top);
    await this.streamBody(lines === null ? message : topOf(message, lines));
    if (lines === null && !this.ending) {
      md.markRetrieved(i);
      this.prepareWanted = true;
    }
  }

  /** A message that cannot be read: gone (another client, IMAP, expunged it since our snapshot) or damaged. */
  private readFailed(err: unknown, uid: number): void {
    const gone = isPostlineError(err, 'ERR_MESSAGE_NOT_FOUND') || isPostlineError(err, 'ERR_MAILBOX_NOT_FOUND');
    this.deps.logger[gone ? 'info' : 'error']({ err, conn: this.conn.id, uid }, 'cannot read message');
    this.send(gone ? Replies.messageGone : Replies.messageUnavailable);
  }

  /**
   * After RETR n, the reply to RETR n+1 is made ready (decoded, dot-stuffed)
   * at the end of the pump pass, once n's reply is with the kernel: a client
   * that asks one message at a time is reading n meanwhile, and its next
   * RETR is answered with no work in its way. Measured with Python's
   * poplib: see docs/decisions.md.
   */
  private prepareNext(): void {
    this.prepareWanted = false;
    const md = this.maildrop;
    const reader = this.reader;
    if (!md || !reader || this.busy || this.ending) return;
    const i = reader.expected;
    if (this.prepared?.slot === i) return;
    this.prepared = null;
    if (i >= md.messages || !md.lookup(i + 1).ok) return;
    let body: Buffer | undefined;
    try {
      body = reader.inHand(i, PREPARE_RUN);
    } catch {
      return; // damaged or gone: the RETR will say so
    }
    if (body && body.length <= POP3_LIMITS.bodySliceBytes) this.prepared = { slot: i, pieces: retrReply(md.octets(i), body) };
  }

  private reader: MaildropReader | null = null;
  /** The reply to the RETR a sequential client asks for next, made ready in advance (see prepareNext). */
  private prepared: { slot: number; pieces: Buffer[] } | null = null;
  /** A RETR was answered in this pump pass: prepare the next one when the pass ends. */
  private prepareWanted = false;

  /** A message body, dot-stuffed, in slices, waiting for the socket whenever it backs up. */
  private async streamBody(body: Buffer): Promise<void> {
    const stuffer = new DotStuffer();
    this.streaming = true;
    for (let off = 0; off < body.length; off += POP3_LIMITS.bodySliceBytes) {
      if (this.ending) return;
      for (const piece of stuffer.push(body.subarray(off, off + POP3_LIMITS.bodySliceBytes))) this.queue(piece);
      if (this.outputBytes >= POP3_LIMITS.bodySliceBytes) this.flush();
      if (this.socket.writableNeedDrain) await this.drained();
    }
    this.queue(stuffer.end());
    this.streaming = false;
    this.scheduleFlush();
  }

  private drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiter = resolve));
  }

  // ------------------------------------------------------------ UPDATE

  /** QUIT in TRANSACTION (RFC 1939 §6): remove the marked messages, durably, then say goodbye. */
  private async update(): Promise<void> {
    const md = this.maildrop!;
    this.state = 'update';
    const doomed = md.deletedUids();
    let reply: Reply;
    try {
      await Promise.all([this.markSeen(md), doomed.length > 0 ? this.deps.mailbox.expunge(md.owner, INBOX, doomed) : null]);
      reply = Replies.byeAfterUpdate(this.deps.hostname, md.messages - doomed.length);
      this.deps.logger.info({ conn: this.conn.id, user: md.owner, deleted: doomed.length }, 'pop3 update');
    } catch (err) {
      // Nothing is lost: the expunge record was not written, every message is still there.
      this.deps.logger.error({ err, conn: this.conn.id, user: md.owner }, 'pop3 update failed');
      reply = Replies.updateFailed;
    } finally {
      this.dropMaildrop();
      // Released before the reply, so a client that reconnects right after +OK finds the maildrop free.
      md.release();
    }
    this.send(reply);
  }

  /** Session end without UPDATE: keep the \Seen flags, delete nothing, free the maildrop. */
  private closeMaildrop(md: Maildrop): void {
    this.dropMaildrop();
    md.release();
    void this.markSeen(md);
  }

  private dropMaildrop(): void {
    this.maildrop = null;
    this.reader = null;
    this.prepared = null;
  }

  /** \Seen on what RETR fetched (and is not being deleted). Never fails the session: the flag is a courtesy to IMAP. */
  private async markSeen(md: Maildrop): Promise<void> {
    const uids = md.seenUids();
    if (uids.length === 0) return;
    try {
      await this.deps.mailbox.setFlags(md.owner, INBOX, uids, '+', ['\\Seen']);
    } catch (err) {
      this.deps.logger.warn({ err, conn: this.conn.id, user: md.owner }, 'could not set \\Seen after RETR');
    }
  }

  // ------------------------------------------------------------ output

  /** A reply to a client mistake; too many of them end the session. */
  private fail(reply: Reply): void {
    this.errors++;
    this.send(this.errors > POP3_LIMITS.maxErrors ? Replies.tooManyErrors : reply);
  }

  /**
   * Queues a reply. Replies to one burst of pipelined commands leave in one
   * write, flushed after the current run of microtasks (as in SMTP).
   */
  private send(reply: Reply): void {
    if (this.ending) return;
    this.queue(formatResponse(reply));
    if (!reply.close) return this.scheduleFlush();
    this.flush();
    this.ending = true;
    this.idle?.stop();
    const socket = this.socket;
    socket.end();
    // A client that never reads must not keep the socket open forever.
    const timer = this.deps.clock.setTimeout(() => socket.destroy(), POP3_LIMITS.closeGraceMs);
    timer.unref?.();
    this.forceClose = timer;
  }

  private queue(bytes: Buffer): void {
    this.output.push(bytes);
    this.outputBytes += bytes.length;
  }

  /**
   * Replies to the lines of one pump pass leave together when the pass ends
   * (a pipelined burst of RETRs served from the read-ahead is one pass: one
   * write for the burst, where a write per message was measured at half the
   * time of a retrieve-all). Replies queued outside a pass (an asynchronous
   * command finishing, the greeting) leave at the end of the event-loop
   * turn, not the current microtask, so those finishing together share a
   * write too. A client sending one command at a time thus gets its reply
   * in the same turn, with no setImmediate per command.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.pumping) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.output;
    const bytes = this.outputBytes;
    this.output = [];
    this.outputBytes = 0;
    if (out.length === 0 || this.closed || this.socket.writableEnded) return;
    if (out.length === 1) return void this.socket.write(out[0]!);
    // A flush of RETR replies is ~64 KB in ~60 pieces (status line, body slices, terminator per message):
    // one copy into one buffer costs less than a write() per piece (10,000 4 KB replies over loopback,
    // alternating runs: 61–82 ms of CPU against 74–100). Bigger output goes as pieces, in one writev.
    if (bytes <= FLUSH_COPY_MAX_BYTES) return writeCopied(this.socket, out, bytes, FLUSH_BUFFERS);
    this.socket.cork();
    for (const piece of out) this.socket.write(piece);
    this.socket.uncork();
  }
}

/** The whole reply to a RETR of `body`: status line, the body dot-stuffed, the terminating dot. */
function retrReply(octets: number, body: Buffer): Buffer[] {
  const stuffer = new DotStuffer();
  const pieces = [formatResponse(Replies.retr(octets)), ...stuffer.push(body)];
  pieces.push(stuffer.end());
  return pieces;
}
