/**
 * SMTP load generator: N concurrent sessions send a fixed number of messages
 * with PIPELINING (MAIL, RCPT and DATA in one write; body and end-of-data in
 * the next, with QUIT behind it when it is the connection's last message),
 * reusing connections or one message per connection (like smtp-source
 * without and with -d). Reports messages/s and latency from MAIL to the
 * final 250.
 *
 * Lean on purpose, so that it measures servers and not itself: each session
 * is a small state machine driven by reply codes read straight from the
 * bytes (no strings, promises or parser objects per reply); reads land in
 * one reused buffer per session (net `onread`); the commands are encoded
 * once per run; stalls are found by one timer per run, not one per socket.
 *
 *   connect → 220 → EHLO → 250 [→ STARTTLS → 220 → TLS → EHLO → 250]
 *     → MAIL+RCPT+DATA → 250 250 354 → body "." [QUIT] → 250 [→ 221 close]
 *
 * A refused transaction is counted under its first failing reply code
 * ("550"), then RSET (reused connection) or QUIT; a connection that fails is
 * counted under its socket error code ("ECONNRESET"), "closed" or "timeout".
 * When no connection to the target has ever succeeded, the run stops with
 * UnreachableError instead of counting N refusals.
 */
import { isIP, Socket, type SocketConstructorOpts } from 'node:net';
import { lookup } from 'node:dns/promises';
import { connect as tlsConnect } from 'node:tls';
import { DEFAULT_TIMEOUT_MS, errorKey, formatTarget, LoadError, PROGRESS_INTERVAL_MS, StallCheck, Tally, Ticker, UnreachableError, type LoadResult, type ProgressListener } from './stats.js';

export interface SmtpLoadOptions {
  host: string;
  port: number;
  sessions: number;
  messages: number;
  /** The message (headers + body, CRLF line endings, already dot-stuffed if needed). */
  body: Buffer;
  from: string;
  to: string;
  /** true: many messages per connection; false: QUIT and reconnect after each. */
  reuse: boolean;
  /** STARTTLS after EHLO (then EHLO again). The certificate is not verified: this is a load tool. */
  tls?: boolean;
  /** EHLO name (default load.example). */
  helo?: string;
  /** A connection with no reply for this long is dropped and counted as "timeout" (default 30 s). */
  timeoutMs?: number;
  /** Called with counters at most every 100 ms while the run lasts, and once at the end. */
  onProgress?: ProgressListener;
}

export type SmtpLoadResult = LoadResult;

const LF = 0x0a;
const DASH = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

// Session states.
const CLOSED = 0; // no connection; the next one may be opened
const CLOSING = 12; // we closed it and wait for its 'close' event
const CONNECTING = 1;
const GREETING = 2;
const EHLO = 3;
const STARTTLS = 4;
const HANDSHAKE = 5;
const READY = 6;
const ENVELOPE = 7;
const BODY = 8;
const ABORT_DOT = 9;
const RSET = 10;
const QUIT = 11;

const STARTTLS_LINE = Buffer.from('STARTTLS\r\n');
const RSET_LINE = Buffer.from('RSET\r\n');
const QUIT_LINE = Buffer.from('QUIT\r\n');
const DOT_LINE = Buffer.from('.\r\n');

const is2xx = (code: number): boolean => code >= 200 && code < 300;

/** What the sessions of one run share: the encoded commands and the counters. */
class Run {
  claimed = 0;
  everConnected = false;
  unreachable: UnreachableError | null = null;
  tlsSession: Buffer | undefined;
  readonly tally: Tally;
  readonly ehlo: Buffer;
  readonly envelope: Buffer;
  readonly payload: Buffer;
  readonly payloadQuit: Buffer;
  readonly target: string;
  /** The address connections go to: a host name is looked up once per run, not once per connection. */
  address: string;

  constructor(readonly o: SmtpLoadOptions) {
    this.address = o.host;
    this.tally = new Tally(o.messages);
    this.ehlo = Buffer.from(`EHLO ${o.helo ?? 'load.example'}\r\n`);
    this.envelope = Buffer.from(`MAIL FROM:<${o.from}> SIZE=${o.body.length}\r\nRCPT TO:<${o.to}>\r\nDATA\r\n`);
    const crlf = o.body.length >= 2 && o.body[o.body.length - 2] === 0x0d && o.body[o.body.length - 1] === LF;
    this.payload = Buffer.concat([o.body, crlf ? Buffer.alloc(0) : Buffer.from('\r\n'), DOT_LINE]);
    this.payloadQuit = Buffer.concat([this.payload, QUIT_LINE]);
    this.target = formatTarget(o.host, o.port);
  }
}

class Session {
  /** The current connection's socket (the plain socket stays set while CLOSED: it is reconnected). */
  private sock: Socket | null = null;
  /**
   * Without TLS one socket object serves every connection of the session
   * (net.Socket#connect after 'close'): building a socket and its streams
   * is a large part of a short connection's cost in JS.
   */
  private plain: Socket | null = null;
  private state = CLOSED;
  private connected = false;
  private secured = false;
  private lastError: Error | null = null;
  /** A claimed message that is not yet counted as ok or failed. */
  private inFlight = false;
  /** QUIT went out behind the body. */
  private quitSent = false;
  // The reply being read (it may span reads).
  private lineLen = 0;
  private code = 0;
  private cont = false;
  // The pipelined MAIL/RCPT/DATA replies.
  private replies = 0;
  private badCode = 0;
  private badText: string | null = null;
  private t0 = 0;
  private readonly buffer = Buffer.allocUnsafe(16 * 1024);
  private activity = 0;
  private readonly stall = new StallCheck();
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(private readonly run: Run) {}

  /** Claims the next message and sends it, connecting first when needed; or ends the session. */
  next(): void {
    const run = this.run;
    if (run.unreachable !== null || run.claimed >= run.o.messages) return this.finish();
    run.claimed++;
    this.inFlight = true;
    if (this.state === READY) this.sendEnvelope();
    else this.open();
  }

  /** No more messages: QUIT an idle connection; done once it is closed. */
  private finish(): void {
    if (this.state === READY) {
      this.write(QUIT_LINE);
      this.state = QUIT;
    } else if (this.state === CLOSED) {
      this.resolveDone();
    }
  }

  /** Once a second: a connection waiting for a reply that did not move for timeoutMs is dropped. */
  checkStall(periodMs: number, timeoutMs: number): void {
    const waiting = this.state !== READY && this.state !== CLOSED && this.state !== CLOSING;
    if (this.sock === null || !this.stall.check(this.activity, waiting, periodMs, timeoutMs)) return;
    this.lastError = new LoadError('timeout', `no reply within ${timeoutMs / 1000} s`);
    this.sock.destroy();
  }

  // ------------------------------------------------------------ connection

  private open(): void {
    const { port, tls } = this.run.o;
    const host = this.run.address;
    this.connected = false;
    this.secured = false;
    this.lastError = null;
    this.lineLen = 0;
    this.code = 0;
    this.cont = false;
    this.state = CONNECTING;
    if (!tls && this.plain !== null) {
      this.sock = this.plain;
      this.plain.connect({ host, port });
      return;
    }
    // TLS wraps the socket later, so its plain phase reads through 'data' events; otherwise into our buffer.
    // `onread` is read by the Socket constructor (net.connect passes its options there); @types/node lists it for connect() only.
    const onread = { buffer: this.buffer, callback: (n: number, buf: Uint8Array): boolean => this.feed(sock, buf, n) };
    const sock: Socket = tls ? new Socket() : new Socket({ onread } as SocketConstructorOpts);
    sock.setNoDelay(true); // kept for every connection of this socket
    if (tls) sock.on('data', (chunk: Buffer) => this.feed(sock, chunk, chunk.length));
    else this.plain = sock;
    sock.on('connect', () => this.onConnect(sock));
    sock.on('error', (err: Error) => this.onError(sock, err));
    sock.on('close', () => this.onClose(sock));
    this.sock = sock;
    sock.connect({ host, port });
  }

  private onConnect(sock: Socket): void {
    if (sock !== this.sock) return;
    this.connected = true;
    this.run.everConnected = true;
    this.activity++;
    this.state = GREETING;
  }

  private onError(sock: Socket, err: Error): void {
    if (sock === this.sock) this.lastError ??= err;
  }

  /** After a close we asked for, the next connection; after any other, the message in flight counts as failed first. */
  private onClose(sock: Socket): void {
    if (sock !== this.sock) return; // the plain socket under TLS
    this.sock = null;
    const state = this.state;
    this.state = CLOSED;
    const run = this.run;
    if (state === CLOSING) {
      // expected
    } else if (!this.connected && !run.everConnected && this.lastError !== null) {
      run.unreachable ??= new UnreachableError(run.target, errorKey(this.lastError));
      this.inFlight = false;
    } else if (this.inFlight && state === ENVELOPE && this.badCode !== 0) {
      // A refusal followed by a hang-up (421 to MAIL, then close): the reply says more than the close.
      this.failMessage(String(this.badCode), this.badText);
    } else if (this.inFlight) {
      this.inFlight = false;
      const key = this.lastError ? errorKey(this.lastError) : 'closed';
      run.tally.fail(key, this.lastError?.message ?? (state === GREETING ? 'connection closed before the greeting' : 'connection closed by the server'));
    }
    this.next();
  }

  /** Closes the connection; its 'close' event goes on with next(). */
  private close(): void {
    this.state = CLOSING;
    this.sock!.destroy();
  }

  private write(buf: Buffer): void {
    this.sock!.write(buf);
  }

  private upgrade(): void {
    const raw = this.sock!;
    const run = this.run;
    raw.removeAllListeners('data');
    this.state = HANDSHAKE;
    const host = run.o.host;
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: isIP(host) === 0 ? host : undefined, session: run.tlsSession });
    this.sock = t;
    t.on('session', (session: Buffer) => (run.tlsSession = session));
    t.on('data', (chunk: Buffer) => this.feed(t, chunk, chunk.length));
    t.once('secureConnect', () => {
      if (this.sock !== t) return;
      this.secured = true;
      this.activity++;
      this.write(run.ehlo);
      this.state = EHLO;
    });
    t.on('error', (err) => this.onError(t, err));
    t.on('close', () => this.onClose(t));
  }

  // ------------------------------------------------------------ replies

  /** Reads reply codes off the bytes: the first three of each line, and whether the fourth is "-" (more lines follow). */
  private feed(sock: Socket, buf: Uint8Array, end: number): boolean {
    if (sock !== this.sock || this.state === CLOSING) return true;
    this.activity++;
    let lineLen = this.lineLen;
    let code = this.code;
    let cont = this.cont;
    let start = lineLen === 0 ? 0 : -1;
    for (let i = 0; i < end; i++) {
      const c = buf[i]!;
      if (c === LF) {
        this.lineLen = 0;
        this.code = 0;
        this.cont = false;
        if (!cont) {
          // Failure text is decoded only while the run has none yet (and only when the line is in this read).
          const text = (code < 200 || code >= 400) && start >= 0 && this.run.tally.firstError === null ? Buffer.from(buf.buffer, buf.byteOffset + start, i - start).toString('latin1').trimEnd() : null;
          this.reply(lineLen >= 3 ? code : -1, text);
          if (this.state === CLOSING) return true; // the reply ended this connection; the rest of the read is moot
        }
        lineLen = 0;
        code = 0;
        cont = false;
        start = i + 1;
        continue;
      }
      if (lineLen < 3) code = code < 0 || c < ZERO || c > NINE ? -1 : code * 10 + (c - ZERO);
      else if (lineLen === 3) cont = c === DASH;
      lineLen++;
    }
    this.lineLen = lineLen;
    this.code = code;
    this.cont = cont;
    return true;
  }

  private reply(code: number, text: string | null): void {
    const run = this.run;
    if (code < 100 || code > 599) return this.abandon('protocol', text ?? 'not an SMTP reply');
    switch (this.state) {
      case GREETING:
        if (code !== 220) return this.abandon(String(code), text);
        this.write(run.ehlo);
        this.state = EHLO;
        return;
      case EHLO:
        if (code !== 250) return this.abandon(String(code), text);
        if (run.o.tls && !this.secured) {
          this.write(STARTTLS_LINE);
          this.state = STARTTLS;
          return;
        }
        this.state = READY;
        return this.sendEnvelope(); // a connection is only opened for a claimed message
      case STARTTLS:
        if (code !== 220) return this.abandon(String(code), text);
        return this.upgrade();
      case ENVELOPE:
        if (++this.replies < 3) {
          if (!is2xx(code) && this.badCode === 0) {
            this.badCode = code;
            this.badText = text;
          }
          return;
        }
        if (this.badCode === 0 && code === 354) return this.sendPayload();
        if (this.badCode === 0) {
          this.badCode = code;
          this.badText = text;
        }
        this.failMessage(String(this.badCode), this.badText);
        if (code === 354) {
          this.write(DOT_LINE); // DATA went through although RCPT did not: end it empty
          this.state = ABORT_DOT;
          return;
        }
        return this.afterRefusal();
      case BODY:
        if (is2xx(code)) {
          this.inFlight = false;
          run.tally.ok++;
          run.tally.bytes += run.o.body.length;
          run.tally.latencies.add(performance.now() - this.t0);
        } else {
          this.failMessage(String(code), text);
        }
        if (this.quitSent) {
          this.state = QUIT;
          return;
        }
        this.state = READY;
        return this.next();
      case ABORT_DOT:
        return this.afterRefusal();
      case RSET:
        this.state = READY;
        return this.next();
      case QUIT:
        return this.close();
      default:
        // CONNECTING, HANDSHAKE, READY: the server spoke out of turn.
        return this.abandon('protocol', text ?? `unexpected reply ${code}`);
    }
  }

  private sendEnvelope(): void {
    this.replies = 0;
    this.badCode = 0;
    this.badText = null;
    this.quitSent = false;
    this.t0 = performance.now();
    this.write(this.run.envelope);
    this.state = ENVELOPE;
  }

  private sendPayload(): void {
    const run = this.run;
    // The connection's last message carries QUIT behind it: one write and one round trip fewer.
    this.quitSent = !run.o.reuse || run.claimed >= run.o.messages;
    this.write(this.quitSent ? run.payloadQuit : run.payload);
    this.state = BODY;
  }

  private failMessage(key: string, text: string | null): void {
    this.inFlight = false;
    this.run.tally.fail(key, text ?? key);
  }

  /** After a refused transaction: RSET on a reused connection, else QUIT. */
  private afterRefusal(): void {
    if (this.run.o.reuse) {
      this.write(RSET_LINE);
      this.state = RSET;
    } else {
      this.write(QUIT_LINE);
      this.state = QUIT;
    }
  }

  /** The connection is of no use (greeting, EHLO or STARTTLS refused, garbage): count the message, drop it, go on. */
  private abandon(key: string, text: string | null): void {
    if (this.inFlight) this.failMessage(key, text);
    this.close();
  }
}

export async function runSmtpLoad(o: SmtpLoadOptions): Promise<SmtpLoadResult> {
  if (!(o.sessions >= 1) || !(o.messages >= 0)) throw new RangeError('sessions must be ≥ 1 and messages ≥ 0');
  const run = new Run(o);
  if (isIP(o.host) === 0) {
    try {
      run.address = (await lookup(o.host)).address;
    } catch (err) {
      throw new UnreachableError(run.target, errorKey(err));
    }
  }
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sessions = Array.from({ length: o.sessions }, () => new Session(run));
  const started = performance.now();
  const progress = (): void => {
    const t = run.tally;
    o.onProgress?.({ done: t.ok + t.failed, ok: t.ok, failed: t.failed, total: o.messages, elapsedMs: performance.now() - started });
  };
  const interval = o.onProgress ? PROGRESS_INTERVAL_MS : 1000;
  const ticker = new Ticker(interval, (n) => {
    progress();
    if ((n * interval) % 1000 === 0) for (const s of sessions) s.checkStall(1000, timeoutMs);
  });
  try {
    for (const s of sessions) s.next();
    await Promise.all(sessions.map((s) => s.done));
  } finally {
    ticker.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (run.unreachable) throw run.unreachable;
  progress();
  return run.tally.result(seconds);
}
