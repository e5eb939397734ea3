/**
 * A raw-socket POP3 client for tests: send exact bytes, read single-line and
 * multi-line responses as bytes (dot-unstuffed), switch to TLS with STLS.
 * Written for tests only; every wait is on data or close, never a sleep.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface Pop3Line {
  ok: boolean;
  /** The whole status line without CRLF, e.g. "+OK 2 320". */
  line: string;
  /** After the status indicator and one space. */
  text: string;
}

export interface Pop3Multi extends Pop3Line {
  /** The body lines, unstuffed, without CRLF (empty for a -ERR). */
  lines: string[];
  /** The body as bytes: each line plus CRLF — a RETR gives back the message exactly. */
  body: Buffer;
}

const CRLF = Buffer.from('\r\n');

export class Pop3Client {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  socket: Socket | TLSSocket;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.listen(socket);
  }

  /** Connects (implicit TLS with `tls: true`) and reads nothing: call greeting() next. */
  static async connect(port: number, options: { tls?: boolean; host?: string } = {}): Promise<Pop3Client> {
    const host = options.host ?? '127.0.0.1';
    const socket = options.tls ? tlsConnect({ port, host, rejectUnauthorized: false }) : netConnect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new Pop3Client(socket);
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async waitForData(deadline: number, what: string): Promise<void> {
    if (this.closed) throw new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${what} in time; buffer: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 500))}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** One CRLF-terminated line, as bytes without the CRLF. */
  async rawLine(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf(CRLF);
      if (end !== -1) {
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      await this.waitForData(deadline, 'line');
    }
  }

  /** A single-line response. */
  async response(timeoutMs = 5000): Promise<Pop3Line> {
    return statusLine((await this.rawLine(timeoutMs)).toString('utf8'));
  }

  /** A multi-line response: the status line, then (if +OK) lines up to the lone ".". */
  async multi(timeoutMs = 5000): Promise<Pop3Multi> {
    const first = await this.response(timeoutMs);
    if (!first.ok) return { ...first, lines: [], body: Buffer.alloc(0) };
    const raw: Buffer[] = [];
    for (;;) {
      let line = await this.rawLine(timeoutMs);
      if (line.length === 1 && line[0] === 0x2e) break;
      if (line[0] === 0x2e) line = line.subarray(1); // dot-unstuffing (RFC 1939 §3)
      raw.push(line);
    }
    const body = Buffer.concat(raw.flatMap((l) => [l, CRLF]));
    return { ...first, lines: raw.map((l) => l.toString('utf8')), body };
  }

  async greeting(): Promise<Pop3Line> {
    return this.response();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a command and reads a single-line response. */
  async cmd(line: string): Promise<Pop3Line> {
    this.write(line + '\r\n');
    return this.response();
  }

  /** Sends a command and reads a multi-line response. */
  async cmdMulti(line: string): Promise<Pop3Multi> {
    this.write(line + '\r\n');
    return this.multi();
  }

  /** USER + PASS; returns PASS's response. */
  async login(user: string, password: string): Promise<Pop3Line> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.ok) return u;
    return this.cmd(`PASS ${password}`);
  }

  /** STLS, then the TLS handshake on the same connection. */
  async stls(): Promise<Pop3Line> {
    const r = await this.cmd('STLS');
    if (!r.ok) return r;
    if (this.buffer.length > 0) throw new Error(`bytes after the STLS go-ahead: ${JSON.stringify(this.buffer.toString('latin1'))}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return r;
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      this.buffer = Buffer.alloc(0); // whatever comes before the close is not of interest here
      await this.waitForData(deadline, 'close').catch((err: Error) => {
        if (!this.closed) throw err;
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function statusLine(line: string): Pop3Line {
  if (line.startsWith('+OK')) return { ok: true, line, text: line.slice(4) };
  if (line.startsWith('-ERR')) return { ok: false, line, text: line.slice(5) };
  if (line.startsWith('+ ') || line === '+') return { ok: true, line, text: line.slice(2) };
  throw new Error(`not a POP3 status line: ${JSON.stringify(line)}`);
}
