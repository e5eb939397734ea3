/**
 * An outbound SMTP connection that can carry several transactions:
 *
 *   connect → 220 greeting → EHLO (HELO if EHLO gets a 5xx)
 *           → [STARTTLS → handshake → EHLO again]      when offered
 *           → transaction, [RSET, transaction]...      (transaction.ts)
 *           → QUIT
 *
 * Decisions, each the one Postfix users know:
 * - 5xx greeting: temporary, not a bounce (Postfix smtp_skip_5xx_greeting =
 *   yes): a banner refusal is about that host right now, so the queue
 *   should try the next MX and retry later.
 * - STARTTLS is opportunistic (smtp_tls_security_level = may): used when
 *   offered, certificate not verified; a refused STARTTLS (454) means we go
 *   on in plaintext. When the handshake itself fails the connection is
 *   unusable, so open() connects once more to the same address without
 *   STARTTLS and says so in `tlsFallback` (Postfix does the same: "trying
 *   plaintext"). That way one broken TLS stack does not hold mail forever,
 *   and the queue needs no TLS state of its own.
 * - No 8BITMIME: the body goes as it is, without BODY=. Postfix would
 *   convert to quoted-printable; practically every server that lacks the
 *   keyword passes 8-bit data through anyway (Exim and sendmail send it the
 *   same way), and a conversion would alter signed (DKIM) messages.
 */
import { PostlineError } from '../core/errors.js';
import { NO_CAPABILITIES, parseEhloReply, type Capabilities } from './capabilities.js';
import { SmtpChannel } from './channel.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { classOf, failureFromError, failureFromReply, serverName } from './outcome.js';
import { runTransaction } from './transaction.js';
import type { DeliveryResult, Destination, OutboundMessage, SessionFailure, Stage } from './types.js';

export interface ConnectionOptions extends ClientOptions {
  /** Our name in EHLO/HELO (config `hostname`). */
  localHostname: string;
}

export type OpenResult = { ok: true; connection: SmtpConnection } | { ok: false; failure: SessionFailure; tlsFallback: boolean };

type Greeted = { ok: true; channel: SmtpChannel; caps: Capabilities } | { ok: false; failure: SessionFailure; tlsHandshakeFailed: boolean };

export class SmtpConnection {
  /** Transactions started on this connection. */
  private transactions = 0;
  private busy = false;
  /** clock.now() when the connection was ready; lets a pool retire long-lived connections. */
  readonly openedAt: number;

  private constructor(
    readonly destination: Destination,
    private readonly channel: SmtpChannel,
    /** What the server offered in its (last) EHLO reply. */
    readonly capabilities: Capabilities,
    private readonly options: ResolvedOptions,
    readonly tlsFallback: boolean,
  ) {
    this.openedAt = options.clock.now();
  }

  /** Connects and greets; never throws. See the module comment for the TLS fallback. */
  static async open(destination: Destination, options: ConnectionOptions): Promise<OpenResult> {
    const resolved = resolveOptions(options);
    const first = await greet(destination, options.localHostname, resolved, resolved.starttls);
    if (first.ok) return { ok: true, connection: new SmtpConnection(destination, first.channel, first.caps, resolved, false) };
    if (!first.tlsHandshakeFailed) return { ok: false, failure: first.failure, tlsFallback: false };
    const second = await greet(destination, options.localHostname, resolved, false);
    if (second.ok) return { ok: true, connection: new SmtpConnection(destination, second.channel, second.caps, resolved, true) };
    return { ok: false, failure: second.failure, tlsFallback: true };
  }

  get tls(): boolean {
    return this.channel.tls;
  }

  /** The connection is alive and idle: another transaction may be tried (a dead server is still found out by RSET). */
  get reusable(): boolean {
    return !this.busy && this.channel.alive && !this.channel.hasUnreadInput;
  }

  get transactionCount(): number {
    return this.transactions;
  }

  /** Runs one transaction. Never throws on anything the server does; one transaction at a time. */
  async send(message: OutboundMessage): Promise<DeliveryResult> {
    if (this.busy) throw new Error('SmtpConnection.send: a transaction is already running on this connection');
    this.busy = true;
    try {
      const reset = this.transactions > 0;
      this.transactions++;
      return await runTransaction(
        { channel: this.channel, caps: this.capabilities, destination: this.destination, timeouts: this.options.timeouts, reset, tlsFallback: this.tlsFallback },
        message,
      );
    } finally {
      this.busy = false;
    }
  }

  /** QUIT, a short wait for the reply, close. Never throws. */
  async quit(): Promise<void> {
    if (!this.channel.alive) {
      this.channel.destroy();
      return;
    }
    this.channel.write('QUIT\r\n');
    await this.channel.read(this.options.timeouts.quit, 'QUIT').catch(() => undefined);
    this.channel.close();
  }

  /** Drops the connection without QUIT. */
  destroy(): void {
    this.channel.destroy();
  }
}

async function greet(dest: Destination, localHostname: string, options: ResolvedOptions, tryTls: boolean): Promise<Greeted> {
  const t = options.timeouts;
  const name = serverName(dest);
  let channel: SmtpChannel;
  try {
    channel = await SmtpChannel.connect(dest.ip, dest.port, name, t.connect, options.clock, options.replyLimits);
  } catch (err) {
    return { ok: false, failure: failureFromError('connect', err), tlsHandshakeFailed: false };
  }
  const refused = (failure: SessionFailure): Greeted => {
    // Be polite where the session still works (RFC 5321 §4.1.1.10); the reply is not waited for.
    channel.write('QUIT\r\n');
    channel.close();
    return { ok: false, failure, tlsHandshakeFailed: false };
  };
  let stage: Stage = 'greeting';
  try {
    const greeting = await channel.read(t.greeting, 'the greeting');
    if (greeting.code !== 220) return refused(failureFromReply('greeting', greeting, true));
    stage = 'helo';
    let hello = await sayHello(channel, localHostname, t.helo);
    if (!hello.ok) return refused(hello.failure);
    if (tryTls && hello.caps.starttls) {
      stage = 'starttls';
      channel.write('STARTTLS\r\n');
      const reply = await channel.read(t.starttls, 'STARTTLS');
      if (reply.code === 220) {
        try {
          await channel.startTls(dest.host, t.starttls);
        } catch (err) {
          return { ok: false, failure: failureFromError('starttls', err), tlsHandshakeFailed: true };
        }
        // RFC 3207 §4.2: everything learnt before TLS is forgotten; ask again.
        stage = 'helo';
        hello = await sayHello(channel, localHostname, t.helo);
        if (!hello.ok) return refused(hello.failure);
      } else if (reply.code === 421 || classOf(reply.code) === 'success' || classOf(reply.code) === 'unexpected') {
        // 421: the server is leaving. A 2xx/3xx other than 220 is out of sequence: we cannot tell whether it now expects TLS.
        return refused(failureFromReply('starttls', reply));
      }
      // Any other 4xx/5xx: TLS not available right now; go on in plaintext.
    }
    return { ok: true, channel, caps: hello.caps };
  } catch (err) {
    channel.destroy();
    return { ok: false, failure: failureFromError(stage, err), tlsHandshakeFailed: false };
  }
}

type Hello = { ok: true; caps: Capabilities } | { ok: false; failure: SessionFailure };

/** EHLO; on a 5xx, HELO (RFC 5321 §3.2: a server without extensions may refuse EHLO). */
async function sayHello(channel: SmtpChannel, localHostname: string, timeoutMs: number): Promise<Hello> {
  const name = sanitizeHostname(localHostname);
  channel.write(`EHLO ${name}\r\n`);
  const ehlo = await channel.read(timeoutMs, 'EHLO');
  if (ehlo.code === 250) return { ok: true, caps: parseEhloReply(ehlo) };
  if (classOf(ehlo.code) !== 'permanent') return { ok: false, failure: failureFromReply('helo', ehlo) };
  channel.write(`HELO ${name}\r\n`);
  const helo = await channel.read(timeoutMs, 'HELO');
  if (helo.code === 250) return { ok: true, caps: { ...NO_CAPABILITIES } };
  return { ok: false, failure: failureFromReply('helo', helo) };
}

/** Our own configured name, but it still must not be able to break the command line. */
function sanitizeHostname(name: string): string {
  const clean = typeof name === 'string' ? name.replace(/[^\x21-\x7e]/g, '') : '';
  if (clean.length === 0) throw new PostlineError('ERR_CONFIG_INVALID', 'outbound SMTP needs a hostname for EHLO');
  return clean;
}
