/**
 * One SMTP connection: the state machine and dispatch. Parsing lives in
 * src/codec/smtp, decisions in the policy port, storage behind the intake
 * port, TLS in src/net. Commands are handled strictly in order; while one
 * waits (AUTH, DATA commit, STARTTLS), later pipelined lines stay in the
 * framer and input is paused if too much piles up.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { newId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { isPostlineError } from '../../core/errors.js';
import { LineFramer } from '../../codec/smtp/framer.js';
import { DataDecoder } from '../../codec/smtp/data.js';
import { parseCommand, type SmtpCommand } from '../../codec/smtp/command.js';
import { formatReply } from '../../codec/smtp/reply.js';
import type { Path } from '../../codec/smtp/address.js';
import { decodeLoginField, decodePlain, LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE } from '../../auth/sasl.js';
import type { ClientContext, Recipient } from '../../policy/recipients.js';
import type { Verdict } from '../../policy/verdict.js';
import { isLoopback } from '../../policy/networks.js';
import { Replies, type Reply } from './replies.js';
import { countReceived, protocolName, receivedHeader } from './received.js';
import type { AddressParts, AuthLimiterPort, AuthPort, EnvelopeForIntake, IntakePort, SmtpPolicyPort } from './ports.js';
import { SMTP_LIMITS } from './limits.js';
import { IdleTimer } from '../../core/idle.js';
import { SEQUENCE, type SessionState } from './sequence.js';

export type SmtpListenerKind = 'smtp' | 'submission' | 'smtps';

export interface SmtpSessionDeps {
  kind: SmtpListenerKind;
  hostname: string;
  maxMessageSize: number;
  idleTimeoutMs: number;
  authPlaintext: 'loopback' | 'never' | 'always';
  tlsContext: SecureContext | null;
  upgradeToTls: ((socket: Socket, context: SecureContext) => Promise<Duplex>) | null;
  policy: SmtpPolicyPort;
  intake: IntakePort;
  auth: AuthPort;
  authLimiter: AuthLimiterPort;
  clock: Clock;
  logger: Logger;
}

export interface SmtpConnection {
  id: string;
  remoteAddress: string;
  tls: boolean;
}

interface Transaction {
  id: string;
  sender: string | null;
  recipients: Recipient[];
  rcptAddresses: string[];
  dsn: EnvelopeForIntake['dsn'];
  smtputf8: boolean;
  body8bit: boolean;
  declaredSize: number | null;
  /** BDAT chunks so far (null until the first BDAT). */
  chunks: Buffer[] | null;
  chunkBytes: number;
  tooBig: boolean;
}

type Phase = { kind: 'command' } | { kind: 'data'; decoder: DataDecoder } | { kind: 'bdat'; remaining: number; last: boolean; discard: boolean } | { kind: 'auth-login-user' } | { kind: 'auth-login-pass'; username: string } | { kind: 'auth-plain' } | { kind: 'closed' };

type State = 'fresh' | 'greeted';

export class SmtpSession {
  private socket: Duplex;
  private readonly deps: SmtpSessionDeps;
  private readonly conn: SmtpConnection;
  private readonly framer = new LineFramer(SMTP_LIMITS.commandLineBytes);
  private phase: Phase = { kind: 'command' };
  private state: State = 'fresh';
  private esmtp = false;
  private helo = '';
  private authenticatedAs: string | null = null;
  private tx: Transaction | null = null;
  private busy = false;
  private errors = 0;
  private idle: IdleTimer | null = null;
  private forceClose: object | null = null;
  private readonly onClose: () => void;
  /** Our closing reply is sent; nothing more is read or written. */
  private ending = false;
  /** The socket is gone. */
  private closed = false;

  constructor(socket: Duplex, conn: SmtpConnection, deps: SmtpSessionDeps, onClose: () => void) {
    this.socket = socket;
    this.conn = conn;
    this.deps = deps;
    this.onClose = onClose;
  }

  start(): void {
    this.attach(this.socket);
    if (this.deps.authLimiter.blocked(this.conn.remoteAddress)) {
      this.send(Replies.authBlocked);
      return;
    }
    this.send(Replies.greeting(this.deps.hostname));
    this.idle = new IdleTimer(this.deps.idleTimeoutMs, this.deps.clock, () => {
      this.deps.logger.debug({ conn: this.conn.id }, 'idle timeout');
      this.send(Replies.idleTimeout(this.deps.hostname));
    });
  }

  /**
   * Server shutdown: an idle session is told 421 at once; one in the middle
   * of a transaction finishes it first (the listener's grace period bounds that).
   */
  shutdown(): void {
    if (this.tx || this.busy || this.phase.kind !== 'command') this.closeAfterTransaction = true;
    else this.send(Replies.shuttingDown(this.deps.hostname));
  }

  private closeAfterTransaction = false;

  private readonly onData = (chunk: Buffer): void => {
    this.idle?.touch();
    this.feed(chunk);
  };

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('error', (err) => this.deps.logger.debug({ err, conn: this.conn.id }, 'smtp socket error'));
    socket.on('close', () => this.finish());
    socket.on('drain', () => this.maybeResumeInput());
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    this.phase = { kind: 'closed' };
    this.clearIdle();
    if (this.forceClose) this.deps.clock.clearTimeout(this.forceClose);
    this.onClose();
  }

  // ------------------------------------------------------------ input routing

  /** Routes bytes to whatever consumes input in the current phase. */
  private feed(bytes: Buffer): void {
    if (bytes.length === 0 || this.ending) return;
    const phase = this.phase;
    if (phase.kind === 'data') {
      const out = phase.decoder.push(bytes);
      if (this.tx && !out.tooBig) for (const b of out.body) this.appendBody(b);
      if (out.done) {
        this.phase = { kind: 'command' };
        this.framer.push(out.rest);
        void this.endData(out.tooBig, out.bareLineEnding);
      }
      return;
    }
    if (phase.kind === 'bdat') {
      const take = Math.min(phase.remaining, bytes.length);
      if (!phase.discard && this.tx && !this.tx.tooBig) this.appendBody(bytes.subarray(0, take));
      phase.remaining -= take;
      if (phase.remaining === 0) {
        this.phase = { kind: 'command' };
        this.framer.push(bytes.subarray(take));
        void this.endChunk(phase.last, phase.discard);
      }
      return;
    }
    this.framer.push(bytes);
    this.drainLines();
  }

  /** Handles complete command lines while not waiting on something asynchronous. */
  private drainLines(): void {
    while (!this.busy && !this.ending && this.phase.kind !== 'data' && this.phase.kind !== 'bdat') {
      const event = this.framer.next();
      if (!event) break;
      if (event.kind === 'too-long') {
        this.fail(Replies.lineTooLong);
        continue;
      }
      this.handleLine(event.line);
    }
    // Too much pipelined input while we wait: stop reading until we catch up.
    const socket = this.socket as Socket;
    if (this.framer.buffered > SMTP_LIMITS.pipelinedBytes) socket.pause?.();
    else this.maybeResumeInput();
  }

  private maybeResumeInput(): void {
    const socket = this.socket as Socket;
    if (!this.ending && socket.isPaused?.() && this.framer.buffered <= SMTP_LIMITS.pipelinedBytes && socket.writableLength <= SMTP_LIMITS.pendingOutputBytes) socket.resume();
  }

  private handleLine(line: Buffer): void {
    const phase = this.phase;
    if (phase.kind === 'auth-plain' || phase.kind === 'auth-login-user' || phase.kind === 'auth-login-pass') {
      this.continueAuth(phase, line.toString('latin1'));
      return;
    }
    // RFC 6531 §3.4: UTF-8 addresses only after EHLO, and in RCPT only when the MAIL asked for SMTPUTF8.
    const parsed = parseCommand(line, { smtputf8Allowed: this.esmtp && (this.tx ? this.tx.smtputf8 : true) });
    if (!parsed.ok) {
      switch (parsed.kind) {
        case 'unknown-command':
          return this.fail(Replies.unknownCommand);
        case 'bad-parameter':
          return this.fail(Replies.badParameter(parsed.message));
        case 'bare-line-ending':
          return this.fail(Replies.bareLineEndingCommand);
        case 'non-ascii':
          return this.fail(Replies.smtputf8Required);
        case 'syntax':
          if (parsed.verb === 'MAIL') return this.fail(Replies.badSenderSyntax(parsed.message));
          if (parsed.verb === 'RCPT') return this.fail(Replies.badRecipientSyntax(parsed.message));
          return this.fail(Replies.syntax(parsed.message));
      }
    }
    this.dispatch(parsed.command);
  }

  // ------------------------------------------------------------ commands

  /** Where the session is, for the sequence table. */
  private sessionState(): SessionState {
    if (this.state === 'fresh') return 'fresh';
    if (!this.tx) return 'greeted';
    return this.tx.recipients.length === 0 ? 'mail' : 'rcpt';
  }

  private dispatch(cmd: SmtpCommand): void {
    // Command order is checked here, once, from the table; handlers only do their work.
    const refusal = SEQUENCE[cmd.verb]?.[this.sessionState()];
    if (refusal) return this.fail(refusal);
    switch (cmd.verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(cmd.verb === 'EHLO', cmd.domain);
      case 'MAIL':
        return this.mail(cmd);
      case 'RCPT':
        return this.rcpt(cmd);
      case 'DATA':
        return this.data();
      case 'BDAT':
        return this.bdat(cmd.size, cmd.last);
      case 'RSET':
        this.tx = null;
        return this.send(Replies.resetOk);
      case 'NOOP':
        return this.send(Replies.noopOk);
      case 'QUIT':
        return this.send(Replies.bye(this.deps.hostname));
      case 'VRFY':
        return this.send(Replies.vrfy);
      case 'EXPN':
        return this.send(Replies.notImplemented);
      case 'HELP':
        return this.send(Replies.help);
      case 'STARTTLS':
        return this.startTls();
      case 'AUTH':
        return this.authStart(cmd.mechanism, cmd.initial);
    }
  }

  private hello(extended: boolean, domain: string): void {
    this.state = 'greeted';
    this.esmtp = extended;
    this.helo = domain;
    this.tx = null; // RFC 5321 §4.1.4: EHLO resets the transaction
    const client = `${domain} [${this.conn.remoteAddress}]`;
    if (!extended) return this.send(Replies.helo(this.deps.hostname, client));
    const ext = ['PIPELINING', `SIZE ${this.deps.maxMessageSize}`, '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'DSN'];
    if (!this.conn.tls && this.deps.tlsContext && this.deps.upgradeToTls) ext.push('STARTTLS');
    if (this.authAllowed() && !this.authenticatedAs) ext.push('AUTH PLAIN LOGIN');
    this.send(Replies.ehlo(this.deps.hostname, client, ext));
  }

  private authAllowed(): boolean {
    if (this.conn.tls) return true;
    const mode = this.deps.authPlaintext;
    return mode === 'always' || (mode === 'loopback' && isLoopback(this.conn.remoteAddress));
  }

  private client(): ClientContext {
    return { ip: this.conn.remoteAddress, authenticatedAs: this.authenticatedAs, tls: this.conn.tls };
  }

  private mail(cmd: Extract<SmtpCommand, { verb: 'MAIL' }>): void {
    if (this.deps.kind !== 'smtp' && !this.authenticatedAs) return this.fail(Replies.authRequired);
    const p = cmd.params;
    if (p.smtputf8 && !this.esmtp) return this.fail(Replies.badParameter('SMTPUTF8 needs EHLO'));
    if (p.size !== undefined && p.size > this.deps.maxMessageSize) return this.send(Replies.messageTooBig);
    const sender = pathParts(cmd.path);
    const verdict = this.deps.policy.checkSender(this.client(), sender);
    if (verdict.kind !== 'accept') return this.send(this.verdictReply(verdict));
    // Reverse-DNS checks (SPEC §4.3) only on the MX port; the policy says null when none applies.
    const hostCheck = this.deps.kind === 'smtp' ? this.deps.policy.checkClientHost(this.client(), sender?.domain ?? null) : null;
    if (!hostCheck) return this.beginTransaction(cmd, sender);
    // Later pipelined commands wait in the framer until the answer is in.
    this.busy = true;
    hostCheck.then(
      (v) => {
        this.busy = false;
        if (this.closed) return;
        if (v.kind === 'accept') this.beginTransaction(cmd, sender);
        else this.send(this.verdictReply(v));
        this.drainLines();
      },
      (err: unknown) => {
        this.busy = false;
        this.deps.logger.error({ err, conn: this.conn.id }, 'reverse DNS check failed');
        if (this.closed) return;
        this.send(Replies.dnsTemporary);
        this.drainLines();
      },
    );
  }

  private beginTransaction(cmd: Extract<SmtpCommand, { verb: 'MAIL' }>, sender: AddressParts | null): void {
    const p = cmd.params;
    this.tx = {
      id: newId(),
      sender: sender?.address ?? null,
      recipients: [],
      rcptAddresses: [],
      dsn: { ret: p.ret, envid: p.envid, notify: new Map(), orcpt: new Map() },
      smtputf8: p.smtputf8,
      body8bit: p.body === '8BITMIME' || p.body === 'BINARYMIME',
      declaredSize: p.size ?? null,
      chunks: null,
      chunkBytes: 0,
      tooBig: false,
    };
    this.send(Replies.senderOk);
  }

  private rcpt(cmd: Extract<SmtpCommand, { verb: 'RCPT' }>): void {
    const tx = this.tx!;
    if (tx.chunks) return this.fail(Replies.badSequence('RCPT after BDAT'));
    const rcpt = pathParts(cmd.path);
    if (!rcpt) return this.fail(Replies.syntax('null recipient'));
    if (rcpt.address.length > 0 && !tx.smtputf8 && /[^\x00-\x7f]/.test(rcpt.address)) return this.send(Replies.smtputf8Required);
    const verdict = this.deps.policy.checkRecipient(this.client(), rcpt, tx.recipients.length);
    if (verdict.kind !== 'accept') return this.send(this.verdictReply(verdict));
    tx.recipients.push(verdict.value);
    tx.rcptAddresses.push(rcpt.address);
    if (cmd.params.notify) tx.dsn.notify.set(rcpt.address, cmd.params.notify);
    if (cmd.params.orcpt) tx.dsn.orcpt.set(rcpt.address, cmd.params.orcpt);
    this.send(Replies.recipientOk);
  }

  private data(): void {
    const tx = this.tx!;
    if (tx.chunks) return this.fail(Replies.badSequence('DATA after BDAT'));
    this.send(Replies.startData);
    this.phase = { kind: 'data', decoder: new DataDecoder(this.deps.maxMessageSize) };
    tx.chunks = [];
    // Bytes already read after the DATA line belong to the message.
    this.feed(this.framer.takeRest());
  }

  private bdat(size: number, last: boolean): void {
    const tx = this.tx;
    // The chunk's bytes follow the command whatever we answer: read and drop them on error.
    const discardReply = !tx ? Replies.badSequence('need MAIL before BDAT') : tx.recipients.length === 0 ? Replies.noValidRecipients : null;
    if (tx && tx.chunks === null) tx.chunks = [];
    if (tx && tx.chunkBytes + size > this.deps.maxMessageSize) tx.tooBig = true;
    this.phase = { kind: 'bdat', remaining: size, last, discard: discardReply !== null };
    this.bdatError = discardReply;
    if (size === 0) {
      this.phase = { kind: 'command' };
      void this.endChunk(last, discardReply !== null);
      return;
    }
    this.feed(this.framer.takeRest());
  }

  private bdatError: Reply | null = null;

  private appendBody(chunk: Buffer): void {
    const tx = this.tx!;
    if (chunk.length === 0) return;
    if (tx.chunkBytes + chunk.length > this.deps.maxMessageSize) {
      tx.tooBig = true;
      return;
    }
    // Copy: the socket may reuse its buffer.
    tx.chunks!.push(Buffer.from(chunk));
    tx.chunkBytes += chunk.length;
  }

  private async endChunk(last: boolean, discard: boolean): Promise<void> {
    if (discard) {
      this.send(this.bdatError ?? Replies.badSequence('BDAT'));
      this.bdatError = null;
      return this.drainLines();
    }
    const tx = this.tx!;
    if (!last) {
      this.send(tx.tooBig ? Replies.messageTooBig : Replies.chunkOk(tx.chunkBytes));
      return this.drainLines();
    }
    await this.commit(tx.tooBig, false);
  }

  private async endData(tooBig: boolean, bareLineEnding: boolean): Promise<void> {
    await this.commit(tooBig || (this.tx?.tooBig ?? false), bareLineEnding);
  }

  /** End of message (DATA's final dot or BDAT LAST): checks, durable storage, then the reply. */
  private async commit(tooBig: boolean, bareLineEnding: boolean): Promise<void> {
    const tx = this.tx!;
    this.tx = null;
    if (tooBig) return this.replyAndContinue(Replies.messageTooBig);
    if (bareLineEnding) return this.replyAndContinue(Replies.bareLineEndingData);
    const body = Buffer.concat(tx.chunks ?? []);
    if (countReceived(body) > SMTP_LIMITS.maxHops) return this.replyAndContinue(Replies.tooManyHops);
    const received = receivedHeader({
      helo: this.helo || 'unknown',
      ip: this.conn.remoteAddress,
      hostname: this.deps.hostname,
      id: tx.id,
      protocol: protocolName(this.esmtp, this.conn.tls, this.authenticatedAs !== null),
      recipient: tx.rcptAddresses.length === 1 ? tx.rcptAddresses[0]! : null,
      date: new Date(this.deps.clock.now()),
    });
    const message = Buffer.concat([received, body]);
    this.busy = true;
    let reply: Reply;
    try {
      await this.deps.intake.commit(
        { id: tx.id, sender: tx.sender, recipients: tx.recipients, dsn: tx.dsn, smtputf8: tx.smtputf8, body8bit: tx.body8bit },
        message,
      );
      reply = Replies.queued(tx.id);
      this.deps.logger.info({ conn: this.conn.id, tx: tx.id, from: tx.sender, rcpts: tx.rcptAddresses.length, size: message.length }, 'message accepted');
    } catch (err) {
      this.deps.logger.error({ err, conn: this.conn.id, tx: tx.id }, 'could not store message');
      reply = isPostlineError(err, 'ERR_STORE_FULL') ? Replies.storageFull : Replies.storageTemporary;
    }
    this.busy = false;
    this.replyAndContinue(reply);
  }

  private replyAndContinue(reply: Reply): void {
    this.send(reply);
    if (this.closeAfterTransaction && !this.tx) return this.send(Replies.shuttingDown(this.deps.hostname));
    this.drainLines();
  }

  // ------------------------------------------------------------ STARTTLS

  private startTls(): void {
    if (this.conn.tls) return this.fail(Replies.badSequence('TLS already active'));
    const context = this.deps.tlsContext;
    const upgrade = this.deps.upgradeToTls;
    if (!context || !upgrade) return this.send(Replies.tlsNotAvailable);
    // RFC 3207 §4.2 / CVE-2011-0411: nothing sent in plaintext after the
    // STARTTLS line may be processed after the handshake.
    this.framer.takeRest();
    this.send(Replies.readyToStartTls);
    // The go-ahead must leave in plaintext before the TLS layer takes the socket.
    this.flush();
    this.busy = true;
    const raw = this.socket as Socket;
    raw.removeListener('data', this.onData);
    raw.pause();
    upgrade(raw, context).then(
      (secure) => {
        this.socket = secure;
        this.conn.tls = true;
        // RFC 3207 §4.2: forget everything learnt before TLS.
        this.state = 'fresh';
        this.esmtp = false;
        this.helo = '';
        this.tx = null;
        this.busy = false;
        secure.on('data', this.onData);
        secure.on('error', (err) => this.deps.logger.debug({ err, conn: this.conn.id }, 'smtp tls error'));
        secure.on('drain', () => this.maybeResumeInput());
      },
      (err) => {
        this.deps.logger.debug({ err, conn: this.conn.id }, 'STARTTLS handshake failed');
        raw.destroy();
      },
    );
  }

  // ------------------------------------------------------------ AUTH

  private authStart(mechanism: string, initial: string | null): void {
    if (!this.esmtp) return this.fail(Replies.badSequence('send EHLO first'));
    if (!this.authAllowed()) return this.fail(Replies.mustStartTls);
    if (this.authenticatedAs) return this.fail(Replies.badSequence('already authenticated'));
    if (mechanism === 'PLAIN') {
      if (initial === null) {
        this.phase = { kind: 'auth-plain' };
        return this.send(Replies.authContinue(''));
      }
      return this.finishPlain(initial);
    }
    if (mechanism === 'LOGIN') {
      if (initial !== null) {
        const username = decodeLoginField(initial);
        if (username === null) return this.fail(Replies.syntax('invalid base64'));
        this.phase = { kind: 'auth-login-pass', username };
        return this.send(Replies.authContinue(LOGIN_PASSWORD_CHALLENGE));
      }
      this.phase = { kind: 'auth-login-user' };
      return this.send(Replies.authContinue(LOGIN_USERNAME_CHALLENGE));
    }
    this.fail(Replies.mechanismUnsupported);
  }

  private continueAuth(phase: Phase, response: string): void {
    this.phase = { kind: 'command' };
    if (response === '*') return this.fail({ code: 501, enhanced: '5.7.0', lines: ['Authentication cancelled'] });
    if (phase.kind === 'auth-plain') return this.finishPlain(response);
    if (phase.kind === 'auth-login-user') {
      const username = decodeLoginField(response);
      if (username === null) return this.fail(Replies.syntax('invalid base64'));
      this.phase = { kind: 'auth-login-pass', username };
      return this.send(Replies.authContinue(LOGIN_PASSWORD_CHALLENGE));
    }
    if (phase.kind === 'auth-login-pass') {
      const password = decodeLoginField(response);
      if (password === null) return this.fail(Replies.syntax('invalid base64'));
      void this.verify(phase.username, password);
    }
  }

  private finishPlain(response: string): void {
    const decoded = decodePlain(response);
    if (!decoded.ok) return this.fail(Replies.syntax(decoded.problem));
    const { authzid, username, password } = decoded.credentials;
    // Acting as someone else (authzid ≠ authcid) is not supported.
    if (authzid && authzid.toLowerCase() !== username.toLowerCase()) return void this.authFailure();
    void this.verify(username, password);
  }

  private async verify(username: string, password: string): Promise<void> {
    const ip = this.conn.remoteAddress;
    if (this.deps.authLimiter.blocked(ip)) return this.send(Replies.authBlocked);
    this.busy = true;
    let ok = false;
    try {
      ok = await this.deps.auth.verify(username.toLowerCase(), password);
    } catch (err) {
      this.deps.logger.error({ err, conn: this.conn.id }, 'auth backend failed');
      this.busy = false;
      return this.replyAndContinue(Replies.authTemporary);
    }
    this.busy = false;
    if (!ok) return this.authFailure();
    this.authenticatedAs = username.toLowerCase();
    this.deps.logger.info({ conn: this.conn.id, user: this.authenticatedAs }, 'authenticated');
    this.replyAndContinue(Replies.authOk);
  }

  private authFailure(): void {
    const ip = this.conn.remoteAddress;
    this.deps.authLimiter.recordFailure(ip);
    this.deps.logger.info({ conn: this.conn.id, ip }, 'authentication failed');
    if (this.deps.authLimiter.blocked(ip)) return this.send(Replies.authBlocked);
    this.fail(Replies.authFailed);
  }

  // ------------------------------------------------------------ replies

  private verdictReply(v: Exclude<Verdict<unknown>, { kind: 'accept' }>): Reply {
    switch (v.reason) {
      case 'unknown-user':
        return Replies.unknownUser;
      case 'relay-denied':
      case 'relay-trick':
        return Replies.relayDenied;
      case 'sender-not-owned':
        return Replies.senderNotOwned;
      case 'too-many-recipients':
        return Replies.tooManyRecipients;
      case 'message-too-big':
        return Replies.messageTooBig;
      case 'auth-required':
        return Replies.authRequired;
      case 'too-many-connections':
        return Replies.tooManyConnections;
      case 'too-many-connections-from-ip':
        return Replies.tooManyConnectionsFromIp;
      case 'auth-failures':
        return Replies.authBlocked;
      case 'ptr-mismatch':
        return Replies.ptrMismatch;
      case 'dns-temporary':
        return Replies.dnsTemporary;
      default:
        return v.kind === 'defer' ? Replies.storageTemporary : Replies.relayDenied;
    }
  }

  /** A reply to a client mistake; too many of them end the session. */
  private fail(reply: Reply): void {
    this.errors++;
    if (this.errors > SMTP_LIMITS.maxErrors) return this.send(Replies.tooManyErrors);
    this.send(reply);
  }

  /**
   * Queues a reply. Replies to one burst of pipelined commands leave in one
   * write (flushed after the current run of microtasks): a TCP write costs
   * ~20 µs here, and three of them per message showed up as the top cost.
   */
  private send(reply: Reply): void {
    if (this.ending) return;
    this.output.push(encodeReply(reply));
    if (reply.close) {
      this.flush();
      const socket = this.socket as Socket;
      this.ending = true;
      this.clearIdle();
      socket.end();
      // A client that never reads must not keep the socket open forever.
      this.forceClose = this.deps.clock.setTimeout(() => socket.destroy(), SMTP_LIMITS.closeGraceMs);
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private output: Buffer[] = [];
  private flushScheduled = false;

  private flush(): void {
    this.flushScheduled = false;
    if (this.output.length === 0 || this.closed) {
      this.output = [];
      return;
    }
    const socket = this.socket as Socket;
    socket.write(this.output.length === 1 ? this.output[0]! : Buffer.concat(this.output));
    this.output = [];
    if (socket.writableLength > SMTP_LIMITS.pendingOutputBytes) socket.pause();
  }

  private clearIdle(): void {
    this.idle?.stop();
  }
}

function pathParts(path: Path): AddressParts | null {
  if (path.kind === 'null') return null;
  return { address: path.address, local: path.local, domain: path.domain, quotedLocal: path.quotedLocal, route: path.route };
}

/** Static replies are the same bytes every time: format each once. */
const encodedStatic = new Map<Reply, Buffer>(
  Object.values(Replies)
    .filter((r): r is Reply => typeof r === 'object')
    .map((r) => [r, formatReply(r.code, r.enhanced, r.lines)]),
);
function encodeReply(reply: Reply): Buffer {
  return encodedStatic.get(reply) ?? formatReply(reply.code, reply.enhanced, reply.lines);
}

