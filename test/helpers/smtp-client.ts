/**
 * A raw-socket SMTP client for transcript tests: send exact bytes, read
 * exact replies. Written for tests only; real-client tests use nodemailer.
 */
import { connect, type Socket } from 'node:net';

export interface RawReply {
  code: number;
  lines: string[];
  text: string;
}

export class RawSmtp {
  private buffer = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  /** `localAddress` binds the client's side (e.g. 127.0.0.3, to be another host for PTR checks). */
  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawSmtp> {
    const socket = connect(localAddress ? { port, host, localAddress } : { port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSmtp(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads one complete (possibly multi-line) reply. */
  async reply(timeoutMs = 5000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(\d{3})[ ][^\r\n]*\r\n/m.exec(this.buffer);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        const lines = text.split('\r\n').filter(Boolean);
        return { code: Number(m[1]), lines, text };
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command line and returns its reply. */
  async cmd(line: string): Promise<RawReply> {
    this.write(line + '\r\n');
    return this.reply();
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
