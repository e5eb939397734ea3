/**
 * SMTP load generator: N concurrent sessions send a fixed number of messages
 * with PIPELINING (MAIL, RCPT and DATA in one write; body and end-of-data in
 * the next), reusing connections or one message per connection. Reports
 * messages/s and latency from MAIL to the final 250. Kept lean (no parser
 * objects per reply) so that it measures servers, not itself.
 */
import { connect, type Socket } from 'node:net';

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
  timeoutMs?: number;
}

export interface SmtpLoadResult {
  sent: number;
  failed: number;
  seconds: number;
  rate: number;
  mbPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: Record<string, number>;
}

/** Reads whole replies off a socket; resolves one waiter per final reply line. */
class ReplyReader {
  private buf = '';
  private waiters: ((code: number) => void)[] = [];
  private failed: Error | null = null;
  private rejecters: ((e: Error) => void)[] = [];

  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.length >= 4 && line[3] === '-') continue; // continuation of a multi-line reply
        const code = Number(line.slice(0, 3));
        this.rejecters.shift();
        const w = this.waiters.shift();
        if (w) w(code);
      }
    });
    const fail = (e: Error): void => {
      this.failed = e;
      for (const r of this.rejecters.splice(0)) r(e);
      this.waiters.length = 0;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  next(): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.rejecters.push(reject);
    });
  }
}

async function open(host: string, port: number): Promise<{ socket: Socket; reader: ReplyReader }> {
  const socket = connect({ host, port, noDelay: true });
  const reader = new ReplyReader(socket);
  const greeting = reader.next();
  greeting.catch(() => {}); // a refused connection is reported by the connect promise below
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const code = await greeting;
  if (code !== 220) throw new Error(`greeting ${code}`);
  socket.write('EHLO load.example\r\n');
  const ehlo = await reader.next();
  if (ehlo !== 250) throw new Error(`EHLO ${ehlo}`);
  return { socket, reader };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runSmtpLoad(o: SmtpLoadOptions): Promise<SmtpLoadResult> {
  const envelope = Buffer.from(`MAIL FROM:<${o.from}> SIZE=${o.body.length}\r\nRCPT TO:<${o.to}>\r\nDATA\r\n`);
  const payload = Buffer.concat([o.body, o.body.subarray(-2).toString() === '\r\n' ? Buffer.alloc(0) : Buffer.from('\r\n'), Buffer.from('.\r\n')]);
  const latencies = new Float64Array(o.messages);
  const errors: Record<string, number> = {};
  let next = 0;
  let sent = 0;
  let failed = 0;
  const note = (what: string): void => {
    errors[what] = (errors[what] ?? 0) + 1;
  };

  const worker = async (): Promise<void> => {
    let conn: Awaited<ReturnType<typeof open>> | null = null;
    while (next < o.messages) {
      next++;
      try {
        conn ??= await open(o.host, o.port);
        const t0 = performance.now();
        conn.socket.write(envelope);
        const [mail, rcpt, data] = await Promise.all([conn.reader.next(), conn.reader.next(), conn.reader.next()]);
        if (mail !== 250 || rcpt !== 250 || data !== 354) {
          note(`${mail}/${rcpt}/${data}`);
          failed++;
          if (data === 354) {
            conn.socket.write('.\r\n');
            await conn.reader.next();
          }
          conn.socket.write('RSET\r\n');
          await conn.reader.next();
          continue;
        }
        conn.socket.write(payload);
        const end = await conn.reader.next();
        if (end === 250) {
          latencies[sent++] = performance.now() - t0;
        } else {
          note(String(end));
          failed++;
        }
        if (!o.reuse) {
          conn.socket.write('QUIT\r\n');
          await conn.reader.next().catch(() => 0);
          conn.socket.destroy();
          conn = null;
        }
      } catch (err) {
        note((err as Error).message);
        failed++;
        conn?.socket.destroy();
        conn = null;
      }
    }
    if (conn) {
      conn.socket.write('QUIT\r\n');
      await conn.reader.next().catch(() => 0);
      conn.socket.destroy();
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: o.sessions }, worker));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, sent).sort();
  return {
    sent,
    failed,
    seconds,
    rate: sent / seconds,
    mbPerSec: (sent * o.body.length) / seconds / 1048576,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    errors,
  };
}
