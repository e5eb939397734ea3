/**
 * The socket side of the SMTP client: connect, write commands, read replies
 * with a time limit each, write the body with back-pressure, upgrade to TLS.
 * All protocol decisions live in connection.ts / transaction.ts; this module
 * only turns socket events into replies or PostlineErrors.
 *
 * Failure model: the first problem (timeout, close, reset, garbage) is kept
 * as `error`, the socket is destroyed, and every later read rejects with it.
 * After a timeout or a garbled reply the command/reply stream is out of step,
 * so the connection is never used again. Replies that arrived before a close
 * are still handed out first: "421 shutting down" followed by a FIN must be
 * read as the 421.
 *
 * Every timer goes through the injected Clock and is unref'd: a pending
 * timeout alone never keeps the process alive (the socket does).
 */
import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { PostlineError } from '../core/errors.js';
import { REPLY_LIMITS, ReplyReader, type Reply, type ReplyLimits } from './reply-reader.js';

/** Body bytes per socket write: big enough for throughput, small enough that the data-block timer means something. */
const BODY_CHUNK_BYTES = 64 * 1024;
/** After QUIT (or on close), how long we wait for the server to close its side before we destroy ours. */
const LINGER_MS = 2_000;

type Waiter = { resolve(reply: Reply): void; reject(err: PostlineError): void; timer: object };
type DrainWaiter = { resolve(): void; reject(err: PostlineError): void; timer: object };

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EPIPE: 'Broken pipe',
};

export function describeSocketError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && ERRNO_TEXT[code] !== undefined) return ERRNO_TEXT[code]!;
  return err instanceof Error ? err.message : String(err);
}

export class SmtpChannel {
  private socket: Socket;
  private reader: ReplyReader;
  private error: PostlineError | null = null;
  private waiter: Waiter | null = null;
  private drainWaiter: DrainWaiter | null = null;
  /** The server name for error texts, `host[ip]:port`. */
  readonly name: string;
  tls = false;

  private constructor(
    socket: Socket,
    name: string,
    private readonly clock: Clock,
    private readonly limits: ReplyLimits,
  ) {
    this.socket = socket;
    this.name = name;
    this.reader = new ReplyReader(limits);
    this.attach(socket);
  }

  /** Opens a TCP connection to `ip:port`; rejects with ERR_DELIVERY_CONNECT (refused, unreachable, or no connection within timeoutMs). */
  static connect(ip: string, port: number, name: string, timeoutMs: number, clock: Clock, limits: ReplyLimits = REPLY_LIMITS): Promise<SmtpChannel> {
    return new Promise((resolve, reject) => {
      let socket: Socket;
      try {
        socket = net.connect({ host: ip, port });
      } catch (err) {
        // A malformed address or port throws synchronously.
        reject(new PostlineError('ERR_DELIVERY_CONNECT', `connect to ${name}: ${describeSocketError(err)}`, { cause: err }));
        return;
      }
      let settled = false;
      const timer = clock.setTimeout(() => {
        // A coarse or fake clock may run a timer already cleared: only an unsettled connect times out.
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new PostlineError('ERR_DELIVERY_CONNECT', `connect to ${name}: Connection timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      const onError = (err: Error): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        socket.destroy();
        reject(new PostlineError('ERR_DELIVERY_CONNECT', `connect to ${name}: ${describeSocketError(err)}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        socket.removeListener('error', onError);
        // Commands are written whole (a pipelined group in one write); no need to wait for Nagle.
        socket.setNoDelay(true);
        resolve(new SmtpChannel(socket, name, clock, limits));
      });
    });
  }

  /** True until the first failure or close. */
  get alive(): boolean {
    return this.error === null && !this.socket.destroyed;
  }

  /**
   * The server sent something nobody asked for yet. Between transactions
   * that means the streams are out of step (or a "421 closing" is on its
   * way), so the connection must not carry another message.
   */
  get hasUnreadInput(): boolean {
    return this.reader.pending;
  }

  /** The next reply; rejects with the connection's failure, or ERR_DELIVERY_TIMEOUT after timeoutMs (which ends the connection). */
  read(timeoutMs: number, what: string): Promise<Reply> {
    const ready = this.take();
    if (ready !== null) return Promise.resolve(ready);
    if (this.error !== null) return Promise.reject(this.error);
    if (this.waiter !== null) return Promise.reject(new PostlineError('ERR_DELIVERY_PROTOCOL', 'internal: two reads at once'));
    return new Promise<Reply>((resolve, reject) => {
      const timer: ReturnType<Clock['setTimeout']> = this.clock.setTimeout(() => {
        if (this.waiter?.timer !== timer) return; // cleared already (a coarse or fake clock may still run it)
        this.fail(new PostlineError('ERR_DELIVERY_TIMEOUT', `${this.name}: no reply to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.waiter = { resolve, reject, timer };
    });
  }

  /** Writes command lines; a failure shows up at the next read, so callers need not handle it twice. */
  write(text: string): void {
    if (!this.alive) return;
    this.socket.write(text, 'utf8');
  }

  /** Writes the encoded body with back-pressure; each block must drain within blockTimeoutMs (RFC 5321 §4.5.3.2.5). */
  async writeBody(data: Buffer, blockTimeoutMs: number): Promise<void> {
    for (let off = 0; off < data.length; off += BODY_CHUNK_BYTES) {
      if (this.error !== null) throw this.error;
      const flushed = this.socket.write(data.subarray(off, off + BODY_CHUNK_BYTES));
      if (!flushed) await this.drain(blockTimeoutMs);
    }
    if (this.error !== null) throw this.error;
  }

  /**
   * STARTTLS after the server's 220 (RFC 3207). Whatever the server sent
   * after its 220 in plaintext is dropped unread: a man in the middle could
   * have appended forged replies (e.g. a fake EHLO reply without SIZE) that
   * we would otherwise take as coming over TLS — the client-side twin of
   * CVE-2011-0411.
   *
   * Opportunistic TLS (Postfix smtp_tls_security_level = may): the
   * certificate is not verified, because an unverified encrypted channel is
   * still better than the plaintext we would otherwise use. SNI carries the
   * host name (never an IP address, RFC 6066 §3).
   */
  async startTls(host: string, timeoutMs: number): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    this.reader = new ReplyReader(this.limits);
    plain.on('error', () => {}); // the TLS socket reports problems; this one must not throw
    const servername = net.isIP(host) === 0 && host.length > 0 ? host : undefined;
    let secure: TLSSocket;
    try {
      secure = tls.connect({ socket: plain, servername, rejectUnauthorized: false });
    } catch (err) {
      throw this.fail(new PostlineError('ERR_DELIVERY_TLS', `TLS handshake with ${this.name} failed: ${describeSocketError(err)}`, { cause: err }));
    }
    secure.on('error', () => {}); // handshake errors are handled below, later ones by attach()
    const handshake = new Promise<void>((resolve, reject) => {
      let timer: object | null = null;
      const finish = (err: PostlineError | null): void => {
        secure.removeListener('secureConnect', onSecure);
        secure.removeListener('error', onError);
        secure.removeListener('close', onClose);
        if (timer !== null) this.clock.clearTimeout(timer);
        if (err === null) resolve();
        else reject(err);
      };
      const onSecure = (): void => finish(null);
      const onError = (err: Error): void => finish(new PostlineError('ERR_DELIVERY_TLS', `TLS handshake with ${this.name} failed: ${describeSocketError(err)}`, { cause: err }));
      const onClose = (): void => finish(new PostlineError('ERR_DELIVERY_TLS', `TLS handshake with ${this.name} failed: connection closed`));
      secure.once('secureConnect', onSecure);
      secure.once('error', onError);
      secure.once('close', onClose);
      timer = this.clock.setTimeout(() => finish(new PostlineError('ERR_DELIVERY_TLS', `TLS handshake with ${this.name} timed out after ${timeoutMs} ms`)), timeoutMs);
      (timer as { unref?(): unknown }).unref?.();
    });
    try {
      await handshake;
    } catch (err) {
      secure.destroy();
      plain.destroy();
      throw this.fail(err as PostlineError);
    }
    this.socket = secure;
    this.tls = true;
    this.attach(secure);
  }

  /** Half-closes now and destroys a little later if the server does not close its side. Idempotent. */
  close(): void {
    const socket = this.socket;
    if (this.error === null) this.error = new PostlineError('ERR_DELIVERY_CLOSED', `${this.name}: connection closed`);
    this.rejectWaiters(this.error);
    if (socket.destroyed) return;
    socket.end();
    const timer = this.clock.setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref?.();
    socket.once('close', () => this.clock.clearTimeout(timer));
  }

  /** Ends the connection at once (a failure elsewhere, or shutdown). */
  destroy(): void {
    this.fail(new PostlineError('ERR_DELIVERY_CLOSED', `${this.name}: connection closed`));
  }

  private take(): Reply | null {
    const event = this.reader.next();
    if (event === null) return null;
    if (event.kind === 'reply') return event.reply;
    this.fail(new PostlineError('ERR_DELIVERY_PROTOCOL', `${this.name}: ${event.problem}`));
    return null;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
    const waiter = this.waiter;
    if (waiter === null) {
      // Nobody is reading: still notice garbage now, so a broken connection is
      // not reused. Replies queued before the garbage stay readable.
      const problem = this.reader.problem;
      if (problem !== null) this.fail(new PostlineError('ERR_DELIVERY_PROTOCOL', `${this.name}: ${problem}`));
      return;
    }
    const reply = this.take();
    if (reply === null) return;
    this.waiter = null;
    this.clock.clearTimeout(waiter.timer);
    waiter.resolve(reply);
  };

  private readonly onEnd = (): void => {
    const midReply = this.reader.midReply ? ' in the middle of a reply' : '';
    this.fail(new PostlineError('ERR_DELIVERY_CLOSED', `${this.name}: connection closed by the server${midReply}`));
  };

  private readonly onError = (err: Error): void => {
    this.fail(new PostlineError('ERR_DELIVERY_CLOSED', `${this.name}: ${describeSocketError(err)}`, { cause: err }));
  };

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('close', this.onEnd);
    socket.removeListener('error', this.onError);
  }

  /** Records the first failure, ends the socket, and fails whoever waits. Returns the failure in effect. */
  private fail(err: PostlineError): PostlineError {
    if (this.error === null) this.error = err;
    this.socket.destroy();
    // Replies that arrived before the failure still go to a waiting reader first.
    const waiter = this.waiter;
    if (waiter !== null) {
      const reply = this.takeQuietly();
      if (reply !== null) {
        this.waiter = null;
        this.clock.clearTimeout(waiter.timer);
        waiter.resolve(reply);
      }
    }
    this.rejectWaiters(this.error);
    return this.error;
  }

  /** take() without recursion into fail(): a garbage event here only confirms the failure. */
  private takeQuietly(): Reply | null {
    const event = this.reader.next();
    return event?.kind === 'reply' ? event.reply : null;
  }

  private rejectWaiters(err: PostlineError): void {
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      this.clock.clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    const drain = this.drainWaiter;
    if (drain !== null) {
      this.drainWaiter = null;
      this.clock.clearTimeout(drain.timer);
      drain.reject(err);
    }
  }

  private drain(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = this.socket;
      const onDrain = (): void => {
        if (this.drainWaiter === null) return;
        this.drainWaiter = null;
        this.clock.clearTimeout(timer);
        resolve();
      };
      const timer: ReturnType<Clock['setTimeout']> = this.clock.setTimeout(() => {
        if (this.drainWaiter?.timer !== timer) return;
        socket.removeListener('drain', onDrain);
        this.fail(new PostlineError('ERR_DELIVERY_TIMEOUT', `${this.name}: could not send a block of the message within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.drainWaiter = {
        resolve,
        reject: (err) => {
          socket.removeListener('drain', onDrain);
          reject(err);
        },
        timer,
      };
      socket.once('drain', onDrain);
    });
  }
}
