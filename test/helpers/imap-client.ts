/**
 * A raw-socket IMAP client for tests: send exact bytes, read responses (a
 * line, with any literals it announces read as bytes and inlined), run a
 * tagged command and collect everything up to its tagged reply, switch to
 * TLS with STARTTLS. Written for tests only; every wait is on data or close,
 * never a sleep.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface ImapResponse {
  /** The response with its literals inlined (as latin1 text), line ends removed, e.g. `* 1 FETCH (BODY[] {5}\r\nhello)`. */
  text: string;
  /** The literals' bytes, in order. */
  literals: Buffer[];
}

export interface TaggedResult {
  /** The untagged (and "+") responses before the tagged one. */
  untagged: ImapResponse[];
  /** The tagged response line, e.g. "a1 OK LOGIN completed". */
  tagged: string;
  status: 'OK' | 'NO' | 'BAD';
  /** The tagged line after the status, e.g. "[READ-WRITE] SELECT completed". */
  text: string;
}

const CRLF = Buffer.from('\r\n');

export class ImapClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private nextTag = 1;
  closed = false;
  socket: Socket | TLSSocket;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.listen(socket);
  }

  static async connect(port: number, options: { tls?: boolean; host?: string } = {}): Promise<ImapClient> {
    const host = options.host ?? '127.0.0.1';
    const socket = options.tls ? tlsConnect({ port, host, rejectUnauthorized: false }) : netConnect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new ImapClient(socket);
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
    if (this.closed) throw new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 500))}`);
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

  /** Bytes received and not read yet. */
  get unread(): number {
    return this.buffer.length;
  }

  /** One line as bytes, without its CRLF. */
  private async rawLine(deadline: number): Promise<Buffer> {
    for (;;) {
      const end = this.buffer.indexOf(CRLF);
      if (end !== -1) {
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      await this.waitForData(deadline, 'a line');
    }
  }

  private async rawBytes(n: number, deadline: number): Promise<Buffer> {
    while (this.buffer.length < n) await this.waitForData(deadline, `${n} literal bytes`);
    const out = Buffer.from(this.buffer.subarray(0, n));
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** One whole response: a line, and when it ends in {N}, the N bytes and the rest of the response. */
  async response(timeoutMs = 5000): Promise<ImapResponse> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    const literals: Buffer[] = [];
    for (;;) {
      const line = (await this.rawLine(deadline)).toString('latin1');
      text += line;
      const m = /\{(\d+)\}$/.exec(line);
      if (m === null) return { text, literals };
      const bytes = await this.rawBytes(Number(m[1]), deadline);
      literals.push(bytes);
      text += '\r\n' + bytes.toString('latin1');
    }
  }

  async greeting(): Promise<string> {
    return (await this.response()).text;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  tag(): string {
    return `a${this.nextTag++}`;
  }

  /** Reads responses until the tagged reply to `tag`. */
  async until(tag: string, timeoutMs = 10_000): Promise<TaggedResult> {
    const untagged: ImapResponse[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.response(Math.max(1, deadline - Date.now()));
      if (r.text.startsWith(`${tag} `)) {
        const m = /^\S+ (OK|NO|BAD) ?(.*)$/s.exec(r.text);
        if (m === null) throw new Error(`malformed tagged response ${JSON.stringify(r.text)}`);
        return { untagged, tagged: r.text, status: m[1] as TaggedResult['status'], text: m[2]! };
      }
      untagged.push(r);
    }
  }

  /** Sends `tag command` (a fresh tag unless given) and collects the responses up to its tagged reply. */
  async command(command: string, options: { tag?: string; timeoutMs?: number } = {}): Promise<TaggedResult> {
    const tag = options.tag ?? this.tag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, options.timeoutMs);
  }

  /** Like command(), asserting an OK; returns the untagged responses' text. */
  async ok(command: string): Promise<string[]> {
    const r = await this.command(command);
    if (r.status !== 'OK') throw new Error(`${command} → ${r.tagged}`);
    return r.untagged.map((u) => u.text);
  }

  async login(user: string, password: string): Promise<TaggedResult> {
    return this.command(`LOGIN ${quote(user)} ${quote(password)}`);
  }

  /** STARTTLS, then the TLS handshake on the same connection. */
  async startTls(): Promise<TaggedResult> {
    const r = await this.command('STARTTLS');
    if (r.status !== 'OK') return r;
    if (this.buffer.length > 0) throw new Error(`bytes after the STARTTLS go-ahead: ${JSON.stringify(this.buffer.toString('latin1'))}`);
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

  /** Waits for the server to close the connection; returns what it sent meanwhile. */
  async waitClosed(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      await this.waitForData(deadline, 'close').catch((err: Error) => {
        if (!this.closed) throw err;
      });
    }
    const rest = this.buffer.toString('latin1');
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A quoted string (test inputs are plain ASCII). */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}
