/**
 * A minimal, fast POP3 client for load generation (`postline bench pop3`:
 * runPop3Load, below; bench/macro/mda.ts): USER/PASS, STAT, then
 * RETR 1..n pipelined (RFC 2449 PIPELINING, when CAPA announces it; one
 * command at a time otherwise), counting messages and bytes.
 *
 * The multi-line data is scanned for "\n." only (one native indexOf per
 * occurrence, which in ordinary mail is once per message: the terminator),
 * so the client does not copy, split or decode the 40 MB it reads. Byte
 * counts are of the messages as the server holds them: dot-stuffing undone,
 * the terminating ".CRLF" excluded.
 */
import { connect, type Socket } from 'node:net';
import { Connector, DEFAULT_TIMEOUT_MS, errorKey, LoadError, reusedReadBuffer, runSessions, Tally, type LoadResult, type ProgressListener } from './stats.js';

export interface Pop3Target {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface RetrAllResult {
  /** STAT's message count. */
  stat: { messages: number; octets: number };
  messages: number;
  /** Content bytes of every retrieved message (dot-unstuffed). */
  bytes: number;
  errors: string[];
  /** From the first RETR sent to the last message's terminator. */
  ms: number;
  pipelined: boolean;
  /** Largest number of RETR commands in flight. */
  window: number;
}

const NL = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const NL_DOT = Buffer.from('\n.', 'latin1');

type Reply = { ok: boolean; line: string; bytes?: number; text?: string };

/** One connection; replies are matched to commands in order (pipelining-safe). */
export class Pop3Connection {
  private readonly socket: Socket;
  private carry: Buffer | null = null;
  /** FIFO of commands awaiting replies; `multi` = the +OK reply has a data block. */
  private readonly queue: { multi: boolean; capture?: boolean; resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  /** Data of the current reply as text, for small replies that asked for it (CAPA). */
  private captured: string | null = null;
  private inData = false;
  private lineStart = true;
  private dataBytes = 0;
  private current: Reply | null = null;
  private closed = false;
  private expectingClose = false;
  readonly transcript: string[] = [];
  /** Bumped on every read: how a run's stall check sees that the server is still answering. */
  activity = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', (err) => this.failAll(err));
    socket.on('close', () => {
      this.closed = true;
      if (!this.expectingClose || this.queue.length > 0) this.failAll(new LoadError('closed', `connection closed; last lines: ${this.transcript.join(' | ')}`));
    });
  }

  static async open(host: string, port: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Pop3Connection> {
    let conn: Pop3Connection | null = null;
    const socket = connect({ host, port, noDelay: true, onread: reusedReadBuffer((chunk) => conn?.feed(chunk)) });
    conn = new Pop3Connection(socket);
    const greeting = new Promise<Reply>((resolve, reject) => conn.queue.push({ multi: false, resolve, reject }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LoadError('timeout', `no POP3 greeting from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const g = await Promise.race([greeting, timeout]);
      if (!g.ok) throw new LoadError('-ERR', `POP3 greeting: ${g.line}`);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return conn;
  }

  /**
   * Queues a command; `multi`: a +OK reply is followed by a data block (RETR,
   * CAPA, LIST, UIDL, TOP); `capture`: keep that block as text (small replies only).
   */
  send(line: string, multi = false, capture = false): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('connection is closed'));
    const p = new Promise<Reply>((resolve, reject) => this.queue.push({ multi, capture, resolve, reject }));
    this.socket.write(`${line}\r\n`);
    return p;
  }

  /** Writes several commands in one write; returns their replies in order. */
  sendMany(lines: readonly string[], multi: boolean): Promise<Reply>[] {
    if (this.closed) return lines.map(() => Promise.reject(new Error('connection is closed')));
    const ps = lines.map(() => new Promise<Reply>((resolve, reject) => this.queue.push({ multi, resolve, reject })));
    this.socket.write(lines.join('\r\n') + '\r\n');
    return ps;
  }

  async ok(line: string, multi = false): Promise<Reply> {
    const r = await this.send(line, multi);
    if (!r.ok) throw new LoadError('-ERR', `${line.startsWith('PASS') ? 'PASS …' : line} → ${r.line}`);
    return r;
  }

  async quit(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.expectingClose = true;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    await this.send('QUIT').catch(() => undefined);
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    this.socket.end();
    await closed;
    clearTimeout(timer);
  }

  /** Closes the connection at once; commands still waiting fail with `err` when given. */
  destroy(err?: Error): void {
    this.expectingClose = true;
    if (err) this.failAll(err);
    this.socket.destroy();
  }

  /** Commands are waiting for the server. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  private failAll(err: Error): void {
    for (const w of this.queue.splice(0)) w.reject(err);
  }

  private remember(line: string): void {
    this.transcript.push(line.slice(0, 200));
    if (this.transcript.length > 8) this.transcript.shift();
  }

  private feed(input: Buffer): void {
    this.activity++;
    let chunk = input;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.inData) {
        if (this.lineStart) {
          if (chunk[pos] === DOT) {
            if (len - pos < 3) {
              this.carry = Buffer.from(chunk.subarray(pos)); // need ".\r\n" or ".x" to decide
              return;
            }
            if (chunk[pos + 1] === CR && chunk[pos + 2] === NL) {
              pos += 3;
              this.endData();
              continue;
            }
            pos += 1; // a stuffed dot: not part of the message
          }
          this.lineStart = false;
        }
        const i = chunk.indexOf(NL_DOT, pos);
        if (this.captured !== null) this.captured += chunk.toString('latin1', pos, i === -1 ? len : i + 1);
        if (i === -1) {
          this.dataBytes += len - pos;
          this.lineStart = chunk[len - 1] === NL;
          pos = len;
        } else {
          this.dataBytes += i + 1 - pos;
          pos = i + 1;
          this.lineStart = true;
        }
        continue;
      }
      // A status line.
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        this.carry = Buffer.from(chunk.subarray(pos));
        return;
      }
      const line = chunk.toString('latin1', pos, nl + 1).replace(/\r?\n$/, '');
      pos = nl + 1;
      this.statusLine(line);
    }
  }

  private statusLine(line: string): void {
    const head = this.queue[0];
    this.remember(line);
    if (!head) return; // unsolicited: ignore
    const ok = line.startsWith('+OK');
    if (!ok && !line.startsWith('-ERR')) {
      this.queue.shift();
      head.reject(new LoadError('protocol', `not a POP3 status line: ${line}`));
      return;
    }
    const reply: Reply = { ok, line };
    if (ok && head.multi) {
      this.current = reply;
      this.inData = true;
      this.lineStart = true;
      this.dataBytes = 0;
      this.captured = head.capture ? '' : null;
      return;
    }
    this.queue.shift();
    head.resolve(reply);
  }

  private endData(): void {
    this.inData = false;
    const reply = this.current!;
    this.current = null;
    reply.bytes = this.dataBytes;
    if (this.captured !== null) reply.text = this.captured;
    this.captured = null;
    const head = this.queue.shift();
    head?.resolve(reply);
  }
}

interface Mailbox {
  stat: { messages: number; octets: number };
  pipelined: boolean;
}

/** CAPA (for PIPELINING), USER/PASS, STAT. */
async function login(conn: Pop3Connection, target: Pop3Target): Promise<Mailbox> {
  const capa = await conn.send('CAPA', true, true).catch(() => ({ ok: false, line: '' }) as Reply);
  await conn.ok(`USER ${target.user}`);
  await conn.ok(`PASS ${target.password}`);
  const stat = await conn.ok('STAT');
  const m = /^\+OK (\d+) (\d+)/.exec(stat.line);
  if (!m) throw new LoadError('protocol', `STAT: ${stat.line}`);
  return { stat: { messages: Number(m[1]), octets: Number(m[2]) }, pipelined: capa.ok && /^PIPELINING\b/im.test(capa.text ?? '') };
}

/**
 * RETR 1..n with up to `width` commands in flight (refilled in batches when
 * half have been answered); `each` gets every reply and when its batch was sent.
 */
function retrieve(conn: Pop3Connection, n: number, width: number, each: (r: Reply, sentAt: number) => void): Promise<void> {
  let next = 1;
  let inFlight = 0;
  return new Promise<void>((resolve, reject) => {
    const refill = (): void => {
      if (next > n) {
        if (inFlight === 0) resolve();
        return;
      }
      if (inFlight > width / 2) return;
      const lines: string[] = [];
      while (next <= n && inFlight + lines.length < width) lines.push(`RETR ${next++}`);
      inFlight += lines.length;
      const sentAt = performance.now();
      for (const p of conn.sendMany(lines, true)) {
        p.then((r) => {
          inFlight--;
          each(r, sentAt);
          refill();
        }, reject);
      }
    };
    refill();
  });
}

/**
 * Logs in, STAT, then RETR 1..n with up to `window` commands in flight
 * (refilled in batches when half have been answered), then QUIT (untimed).
 */
export async function retrAll(target: Pop3Target, window = 64): Promise<RetrAllResult> {
  const conn = await Pop3Connection.open(target.host, target.port);
  try {
    const { stat, pipelined } = await login(conn, target);
    const width = pipelined ? Math.max(1, window) : 1;
    const result: RetrAllResult = { stat, messages: 0, bytes: 0, errors: [], ms: 0, pipelined, window: width };
    const started = performance.now();
    await retrieve(conn, stat.messages, width, (r) => {
      if (r.ok) {
        result.messages++;
        result.bytes += r.bytes ?? 0;
      } else if (result.errors.length < 10) result.errors.push(r.line);
    });
    result.ms = performance.now() - started;
    await conn.quit();
    return result;
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

// ---------------------------------------------------------------- load (postline bench pop3)

export interface Pop3LoadOptions extends Pop3Target {
  /**
   * Concurrent sessions. A POP3 server locks a maildrop for one session
   * (RFC 1939 §8; postline answers -ERR [IN-USE]), so more than 1 only makes
   * sense where the server allows it.
   */
  sessions: number;
  /** Each session logs in, retrieves every message, QUITs, this many times (default 1). */
  rounds?: number;
  /** RETR commands in flight when the server announces PIPELINING (default 64). */
  window?: number;
  /** Commands with no reply for this long drop their connection, counted as "timeout" (default 30 s). */
  timeoutMs?: number;
  onProgress?: ProgressListener;
}

/**
 * Runs a POP3 retrieval load: per session and round, LOGIN, STAT, RETR of
 * every message (pipelined), QUIT — nothing is deleted. `ok` counts messages
 * retrieved, `bytes` their size as the server holds them; latency is per RETR,
 * from the write of its batch to its last byte; `failed` counts -ERR replies,
 * failed logins and dropped connections.
 */
export async function runPop3Load(o: Pop3LoadOptions): Promise<LoadResult> {
  const rounds = o.rounds ?? 1;
  const window = o.window ?? 64;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tally = new Tally(1024);
  const connector = new Connector(o.host, o.port, tally);
  const conns: (Pop3Connection | null)[] = Array.from({ length: o.sessions }, () => null);
  let total = 0;

  const session = async (i: number): Promise<void> => {
    for (let r = 0; r < rounds; r++) {
      const conn = await connector.open(() => Pop3Connection.open(o.host, o.port, timeoutMs));
      if (conn === null) return;
      conns[i] = conn;
      try {
        const { stat, pipelined } = await login(conn, o);
        if (r === 0) total += rounds * stat.messages;
        await retrieve(conn, stat.messages, pipelined ? Math.max(1, window) : 1, (reply, sentAt) => {
          if (reply.ok) {
            tally.ok++;
            tally.bytes += reply.bytes ?? 0;
            tally.latencies.add(performance.now() - sentAt);
          } else {
            tally.fail('-ERR', reply.line);
          }
        });
        conns[i] = null;
        await conn.quit();
      } catch (err) {
        conns[i] = null;
        tally.fail(errorKey(err), (err as Error).message);
        conn.destroy();
        return; // a refused login or a dropped connection would only repeat
      }
    }
  };

  const progress = (elapsedMs: number): void => {
    const done = tally.ok + tally.failed;
    o.onProgress?.({ done, ok: tally.ok, failed: tally.failed, total: Math.max(total, done), elapsedMs });
  };
  const seconds = await runSessions({ conns, session, progress, reportProgress: o.onProgress !== undefined, timeoutMs });
  connector.throwIfUnreachable();
  progress(seconds * 1000);
  return tally.result(seconds);
}
