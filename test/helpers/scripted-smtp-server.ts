/**
 * A loopback SMTP server for outbound-delivery tests whose every reply can be
 * scripted per command (and per connection), recording what it received:
 * the envelope of each transaction and the exact DATA bytes, both as sent
 * (dot-stuffed) and as decoded. Not a test file.
 *
 * Commands are parsed with the project's own server-side parser (so a
 * command our client gets wrong shows up in `badCommands`), lines are framed
 * with LineFramer and DATA is decoded with DataDecoder.
 *
 * `transcript(n)` gives connection n's dialogue as C:/S: lines. Client lines
 * are logged as soon as they arrive (before earlier replies are sent), so a
 * pipelined group shows as several C: lines in a row.
 */
import net, { type Socket } from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { parseCommand } from '../../src/codec/smtp/command.js';
import { DataDecoder } from '../../src/codec/smtp/data.js';
import { LineFramer } from '../../src/codec/smtp/framer.js';
import { startTls } from '../../src/net/starttls.js';

/** A reply: a string (lines separated by CRLF; a final CRLF is added), or more control. */
export type Action =
  | string
  | {
      /** Bytes to send; a string gets a final CRLF if it has none. */
      reply?: string | Buffer;
      /** Wait this long first. */
      delayMs?: number;
      /** Close the connection after the reply (or instead of one). */
      close?: boolean;
      /** Never answer (until the client goes away). */
      hang?: boolean;
    };

export type DataAction = Action | { reply?: string; delayMs?: number; close?: boolean; hang?: boolean; dropAfterBytes?: number };
export type StartTlsAction =
  | Action
  | {
      reply?: string;
      delayMs?: number;
      close?: boolean;
      /** Answer 220, then plaintext garbage instead of a TLS handshake. */
      breakHandshake?: boolean;
      /** Plaintext sent right after the 220, in the same write, before the real handshake (a man-in-the-middle's forged replies). */
      inject?: string;
    };

export interface RecordedTransaction {
  connection: number;
  tls: boolean;
  helo: string;
  /** MAIL FROM address ('' for <>). */
  sender: string;
  /** Everything after the path on the MAIL line. */
  mailParams: string;
  mailCode: number | null;
  rcpts: Array<{ address: string; params: string; code: number | null }>;
  /** Decoded body (dot-stuffing removed); null if DATA never completed. */
  data: Buffer | null;
  /** The bytes received after 354 up to and including CRLF.CRLF. */
  raw: Buffer | null;
  /** The final reply was 2xx. */
  completed: boolean;
}

export interface Session {
  /** 1-based connection number. */
  connection: number;
  tls: boolean;
  /** The transaction in progress (after MAIL), if any. */
  transaction: RecordedTransaction | null;
}

export interface Script {
  greeting?(s: Session): Action | undefined;
  ehlo?(s: Session, domain: string): Action | undefined;
  helo?(s: Session, domain: string): Action | undefined;
  starttls?(s: Session): StartTlsAction | undefined;
  mail?(s: Session, sender: string, params: string): Action | undefined;
  rcpt?(s: Session, recipient: string, params: string): Action | undefined;
  data?(s: Session): DataAction | undefined;
  dataEnd?(s: Session, body: Buffer): Action | undefined;
  rset?(s: Session): Action | undefined;
  quit?(s: Session): Action | undefined;
}

export interface ScriptedServerOptions {
  hostname?: string;
  /** EHLO keywords (STARTTLS is added when `tls` is set and the session is not yet encrypted). */
  extensions?: string[];
  /** Certificate and key: offer STARTTLS. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  script?: Script;
}

export const DEFAULT_EXTENSIONS = ['PIPELINING', 'SIZE 10485760', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'CHUNKING'];

export class ScriptedSmtpServer {
  readonly transactions: RecordedTransaction[] = [];
  readonly badCommands: string[] = [];
  private readonly transcripts: string[][] = [];
  private readonly sockets = new Set<Socket>();
  private open = 0;
  /** Most connections open at the same time. */
  maxConcurrent = 0;
  readonly context: SecureContext | null;

  private constructor(
    private readonly server: net.Server,
    readonly options: ScriptedServerOptions,
  ) {
    this.context = options.tls ? tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key }) : null;
  }

  static async start(options: ScriptedServerOptions = {}): Promise<ScriptedSmtpServer> {
    const server = net.createServer();
    const scripted = new ScriptedSmtpServer(server, options);
    server.on('connection', (socket) => scripted.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return scripted;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.transcripts.length;
  }

  get openConnections(): number {
    return this.open;
  }

  /** Transactions whose final reply was 2xx. */
  delivered(): RecordedTransaction[] {
    return this.transactions.filter((t) => t.completed);
  }

  transcript(connection: number): string[] {
    return this.transcripts[connection - 1] ?? [];
  }

  /** Closes every open connection from the server side (an idle timeout, a restart). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const log: string[] = [];
    this.transcripts.push(log);
    this.sockets.add(socket);
    this.open++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.open);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.open--;
    });
    socket.on('error', () => {});
    void new ScriptedSession(this, socket, this.transcripts.length, log).run();
  }

  /** For ScriptedSession. */
  record(t: RecordedTransaction): void {
    this.transactions.push(t);
  }
}

class ScriptedSession {
  private socket: Socket;
  private readonly framer = new LineFramer(4096);
  private readonly lines: Array<Buffer | null> = []; // null: a too-long line
  private stopAtLine = false; // a DATA/STARTTLS line was framed: the bytes after it are not lines
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly session: Session;
  private helo = '';
  private data: { decoder: DataDecoder; body: Buffer[]; raw: Buffer[]; rawBytes: number; dropAfter: number; done(body: Buffer): void } | null = null;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(
    private readonly server: ScriptedSmtpServer,
    socket: Socket,
    connection: number,
    private readonly log: string[],
  ) {
    this.socket = socket;
    this.session = { connection, tls: false, transaction: null };
    socket.on('data', this.onData);
    socket.on('close', () => this.markClosed());
  }

  private get script(): Script {
    return this.server.options.script ?? {};
  }

  private get hostname(): string {
    return this.server.options.hostname ?? 'scripted.test';
  }

  async run(): Promise<void> {
    await this.act(this.script.greeting?.(this.session), `220 ${this.hostname} ESMTP scripted`);
    while (!this.closed) {
      const line = await this.nextLine();
      if (line === undefined) return;
      if (line === null) {
        await this.act(undefined, '500 5.5.6 line too long');
        continue;
      }
      await this.handle(line);
    }
  }

  private async handle(line: Buffer): Promise<void> {
    const text = line.toString('utf8');
    const parsed = parseCommand(line, { smtputf8Allowed: true });
    const verb = text.split(' ')[0]!.toUpperCase();
    if (!parsed.ok) {
      this.server.badCommands.push(text);
      if (verb === 'DATA' || verb === 'STARTTLS') this.stopAtLine = false;
      await this.act(undefined, `501 5.5.4 ${parsed.message}`);
      return;
    }
    const cmd = parsed.command;
    const s = this.session;
    switch (cmd.verb) {
      case 'EHLO':
        this.helo = cmd.domain;
        await this.act(this.script.ehlo?.(s, cmd.domain), this.ehloReply());
        return;
      case 'HELO':
        this.helo = cmd.domain;
        await this.act(this.script.helo?.(s, cmd.domain), `250 ${this.hostname}`);
        return;
      case 'STARTTLS':
        await this.startTls();
        return;
      case 'MAIL': {
        const t: RecordedTransaction = {
          connection: s.connection,
          tls: s.tls,
          helo: this.helo,
          sender: cmd.path.kind === 'null' ? '' : cmd.path.address,
          mailParams: paramsOf(text),
          mailCode: null,
          rcpts: [],
          data: null,
          raw: null,
          completed: false,
        };
        this.server.record(t);
        s.transaction = t;
        t.mailCode = await this.act(this.script.mail?.(s, t.sender, t.mailParams), '250 2.1.0 Ok');
        if (t.mailCode === null || t.mailCode >= 400) s.transaction = null;
        return;
      }
      case 'RCPT': {
        const t = s.transaction;
        if (t === null) {
          await this.act(undefined, '503 5.5.1 Error: need MAIL command');
          return;
        }
        const rcpt = { address: cmd.path.address, params: paramsOf(text), code: null as number | null };
        t.rcpts.push(rcpt);
        rcpt.code = await this.act(this.script.rcpt?.(s, rcpt.address, rcpt.params), '250 2.1.5 Ok');
        return;
      }
      case 'DATA':
        await this.dataCommand();
        return;
      case 'RSET':
        s.transaction = null;
        await this.act(this.script.rset?.(s), '250 2.0.0 Ok');
        return;
      case 'NOOP':
        await this.act(undefined, '250 2.0.0 Ok');
        return;
      case 'QUIT':
        await this.act(this.script.quit?.(s) ?? { reply: '221 2.0.0 Bye', close: true }, '221 2.0.0 Bye');
        this.socket.end();
        return;
      default:
        await this.act(undefined, '502 5.5.2 Error: command not implemented');
    }
  }

  private ehloReply(): string {
    const ext = [...(this.server.options.extensions ?? DEFAULT_EXTENSIONS)];
    if (this.server.context !== null && !this.session.tls) ext.push('STARTTLS');
    const lines = [this.hostname, ...ext];
    return lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n');
  }

  private async dataCommand(): Promise<void> {
    const s = this.session;
    const t = s.transaction;
    this.stopAtLine = false;
    const accepted = t?.rcpts.some((r) => r.code !== null && r.code < 300) ?? false;
    if (t === null || !accepted) {
      await this.act(undefined, '554 5.5.1 Error: no valid recipients');
      this.extract();
      return;
    }
    const scripted = this.script.data?.(s);
    const dropAfter = typeof scripted === 'object' && 'dropAfterBytes' in scripted && scripted.dropAfterBytes !== undefined ? scripted.dropAfterBytes : Infinity;
    const code = await this.act(scripted, '354 End data with <CR><LF>.<CR><LF>');
    if (code !== 354 || this.closed) {
      this.extract();
      return;
    }
    const body = await new Promise<Buffer | null>((resolve) => {
      this.data = { decoder: new DataDecoder(64 * 1024 * 1024), body: [], raw: [], rawBytes: 0, dropAfter, done: resolve };
      this.wake = () => resolve(null); // closed mid-data
      this.feed(this.framer.takeRest());
    });
    if (body === null) return;
    t.data = body;
    const final = await this.act(this.script.dataEnd?.(s, body), '250 2.0.0 Ok: queued');
    t.completed = final !== null && final >= 200 && final < 300;
    s.transaction = null;
  }

  private feed(chunk: Buffer): void {
    const d = this.data;
    if (d === null || chunk.length === 0) return;
    const r = d.decoder.push(chunk);
    const used = chunk.subarray(0, chunk.length - r.rest.length);
    d.raw.push(used);
    d.rawBytes += used.length;
    d.body.push(...r.body);
    if (d.rawBytes >= d.dropAfter && !r.done) {
      this.socket.destroy();
      return;
    }
    if (!r.done) return;
    this.data = null;
    this.wake = null; // it was the "closed mid-data" resolver
    const t = this.session.transaction;
    if (t !== null) t.raw = Buffer.concat(d.raw);
    this.log.push(`C: <${d.rawBytes} bytes of data>`);
    d.done(Buffer.concat(d.body));
    // Bytes after the end marker are commands again.
    this.framer.push(r.rest);
    this.extract();
  }

  private async startTls(): Promise<void> {
    const s = this.session;
    const context = this.server.context;
    const scripted = this.script.starttls?.(s);
    if (context === null || s.tls) {
      this.stopAtLine = false;
      await this.act(undefined, '502 5.5.1 STARTTLS not available');
      this.extract();
      return;
    }
    if (typeof scripted === 'object' && 'breakHandshake' in scripted && scripted.breakHandshake) {
      // Agree, then answer the ClientHello with plaintext garbage: the client's handshake must fail.
      this.write('220 2.0.0 Ready to start TLS\r\n');
      this.write('this is not TLS at all\r\n');
      this.socket.end();
      return;
    }
    const inject = typeof scripted === 'object' && 'inject' in scripted && scripted.inject !== undefined ? scripted.inject : null;
    if (scripted !== undefined && inject === null) {
      const code = await this.act(scripted, '220 2.0.0 Ready to start TLS');
      this.stopAtLine = false;
      if (code !== 220) this.extract();
      return; // a scripted non-220 (or a scripted 220 that does not upgrade): tests use it for refusals
    }
    this.socket.removeListener('data', this.onData);
    this.log.push('S: 220 2.0.0 Ready to start TLS');
    try {
      const goAhead = `220 2.0.0 Ready to start TLS\r\n${inject ?? ''}`;
      const upgraded = await startTls(this.socket, context, { framerRest: this.framer.takeRest(), goAhead, timeoutMs: 5000 });
      this.socket = upgraded.socket;
    } catch {
      this.markClosed();
      return;
    }
    this.socket.on('error', () => {});
    this.socket.on('data', this.onData);
    this.socket.on('close', () => this.markClosed());
    s.tls = true;
    s.transaction = null;
    this.helo = '';
    this.stopAtLine = false;
    this.log.push('-- TLS --');
  }

  /** Performs an action; returns the code of the reply's last line, or null when nothing was sent. */
  private async act(action: Action | DataAction | StartTlsAction | undefined, fallback: string): Promise<number | null> {
    const a = typeof action === 'string' ? { reply: action } : action === undefined ? { reply: fallback } : action;
    if (a.delayMs !== undefined && a.delayMs > 0) await new Promise((r) => setTimeout(r, a.delayMs));
    if (this.closed) return null;
    if ('hang' in a && a.hang) {
      await new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      return null;
    }
    let code: number | null = null;
    const reply = a.reply === undefined && !a.close ? fallback : a.reply;
    if (reply !== undefined) {
      const bytes = typeof reply === 'string' ? Buffer.from(reply.endsWith('\r\n') ? reply : `${reply}\r\n`, 'utf8') : reply;
      this.write(bytes);
      const lines = bytes.toString('latin1').split('\r\n').filter((l) => l.length > 0);
      const m = /^(\d{3})/.exec(lines[lines.length - 1] ?? '');
      code = m ? Number(m[1]) : null;
    }
    if (a.close) {
      this.socket.end();
      this.closed = true;
    }
    return code;
  }

  private write(data: string | Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const text = typeof data === 'string' ? data : data.toString('latin1');
    for (const l of text.split('\r\n').filter((x) => x.length > 0)) this.log.push(`S: ${l.length > 200 ? `${l.slice(0, 200)}...(${l.length})` : l}`);
    this.socket.write(data);
  }

  private receive(chunk: Buffer): void {
    if (this.data !== null) {
      this.feed(chunk);
      return;
    }
    this.framer.push(chunk);
    this.extract();
  }

  /** Frames every complete line now (for the transcript), stopping after DATA/STARTTLS whose following bytes are not lines. */
  private extract(): void {
    while (!this.stopAtLine) {
      const ev = this.framer.next();
      if (ev === null) break;
      if (ev.kind === 'too-long') {
        this.log.push('C: <line too long>');
        this.lines.push(null);
      } else {
        const text = ev.line.toString('utf8');
        this.log.push(`C: ${text}`);
        this.lines.push(Buffer.from(ev.line));
        const verb = text.split(' ')[0]!.toUpperCase();
        if (verb === 'DATA' || verb === 'STARTTLS') this.stopAtLine = true;
      }
    }
    const w = this.wake;
    if (w !== null && this.lines.length > 0 && this.data === null) {
      this.wake = null;
      w();
    }
  }

  /** The next line; undefined once the connection is closed. */
  private async nextLine(): Promise<Buffer | null | undefined> {
    while (this.lines.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.lines.shift();
  }

  private markClosed(): void {
    if (this.closed && this.wake === null) return;
    this.closed = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

function paramsOf(line: string): string {
  const gt = line.indexOf('>');
  return gt === -1 ? '' : line.slice(gt + 1).trim();
}
