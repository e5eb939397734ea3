/**
 * A minimal, fast IMAP client for load generation (plain TCP, LOGIN): used
 * by `postline bench imap` (runImapLoad, below) and bench/macro/mda.ts.
 *
 * It parses responses only as far as a benchmark needs: where a response
 * starts (to count `* n FETCH`, read `* n EXISTS` and `* SEARCH`), where a
 * literal `{N}` follows (its N bytes are skipped by counting, never copied or
 * decoded), and the tagged completion. A 40 MB `FETCH 1:* BODY.PEEK[]`
 * therefore costs the client one `indexOf` per line outside literals and
 * nothing per literal byte, so the figure is the server's, not the client's.
 *
 * Every operation also returns what it saw (responses, literal bytes, search
 * hits) so the caller can check the answer before trusting the time: a fast
 * wrong answer is not a result.
 */
import { connect, type Socket } from 'node:net';
import { Connector, DEFAULT_TIMEOUT_MS, errorKey, LoadError, percentile, reusedReadBuffer, runSessions, Tally, type LoadResult, type ProgressListener } from './stats.js';

export interface ImapTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Default INBOX. */
  mailbox?: string;
}

export interface CommandStats {
  /** Untagged `* n FETCH` responses. */
  fetches: number;
  /** Sum of the sizes of every literal in the command's responses. */
  literalBytes: number;
  literals: number;
  /** Numbers in `* SEARCH` responses. */
  searchHits: number;
  /** Last `* n EXISTS` seen. */
  exists: number;
  /** OK / NO / BAD of the tagged completion. */
  status: string;
  /** The tagged completion line (without CRLF). */
  completion: string;
  ms: number;
}

const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const STAR = 0x2a;
const PLUS = 0x2b;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function startsWith(buf: Buffer, at: number, ascii: string): boolean {
  if (buf.length - at < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) {
    let c = buf[at + i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20; // case-insensitive for letters
    let d = ascii.charCodeAt(i);
    if (d >= 0x61 && d <= 0x7a) d -= 0x20;
    if (c !== d) return false;
  }
  return true;
}

/** The N of a trailing `{N}` / `{N+}` before the line end, or -1. */
function trailingLiteral(line: Buffer): number {
  let end = line.length;
  if (end > 0 && line[end - 1] === NL) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  if (end < 3 || line[end - 1] !== RBRACE) return -1;
  let i = end - 2;
  if (line[i] === PLUS) i--;
  let n = 0;
  let mul = 1;
  let digits = 0;
  while (i >= 0 && isDigit(line[i])) {
    n += (line[i]! - 0x30) * mul;
    mul *= 10;
    digits++;
    i--;
  }
  if (digits === 0 || i < 0 || line[i] !== LBRACE) return -1;
  return n;
}

function freshStats(): CommandStats {
  return { fetches: 0, literalBytes: 0, literals: 0, searchHits: 0, exists: -1, status: '', completion: '', ms: 0 };
}

/** One connection. Commands run one at a time (no pipelining: the benchmark measures one command's response stream). */
export class ImapConnection {
  private readonly socket: Socket;
  private partial: Buffer[] = [];
  private literalLeft = 0;
  /** The next line continues the current response (it follows a literal). */
  private continuation = false;
  private stats: CommandStats = freshStats();
  private tagCounter = 0;
  private pendingTag: string | null = null;
  private waiter: { resolve: (s: CommandStats) => void; reject: (e: Error) => void } | null = null;
  private greeting: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private closed = false;
  private closeError: Error | null = null;
  private closeWaiters: (() => void)[] = [];
  /** The last few lines seen, for error messages. */
  readonly transcript: string[] = [];
  /** Bumped on every read: how a run's stall check sees that the server is still answering. */
  activity = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      this.closed = true;
      this.fail(this.closeError ?? new LoadError('closed', `connection closed; last lines: ${this.transcript.join(' | ')}`));
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  /** Connects and waits for the `* OK` greeting. */
  static async open(host: string, port: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ImapConnection> {
    let conn: ImapConnection | null = null;
    const socket = connect({ host, port, noDelay: true, onread: reusedReadBuffer((chunk) => conn?.feed(chunk)) });
    conn = new ImapConnection(socket);
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LoadError('timeout', `no IMAP greeting from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      conn.greeting = {
        resolve: (l) => { clearTimeout(timer); resolve(l); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    }).catch((err: Error) => {
      socket.destroy();
      throw err;
    });
    if (!/^\* (OK|PREAUTH)\b/i.test(line)) {
      socket.destroy();
      throw new LoadError(/^\* BYE\b/i.test(line) ? 'BYE' : 'protocol', `unexpected IMAP greeting: ${line}`);
    }
    return conn;
  }

  /** Sends one command (tag added) and resolves at its tagged completion, whatever the status. */
  command(text: string): Promise<CommandStats> {
    if (this.waiter) return Promise.reject(new Error('a command is already running'));
    if (this.closed) return Promise.reject(new Error('connection is closed'));
    const tag = `b${++this.tagCounter}`;
    this.pendingTag = tag;
    this.stats = freshStats();
    const started = performance.now();
    return new Promise<CommandStats>((resolve, reject) => {
      this.waiter = {
        resolve: (s) => { s.ms = performance.now() - started; resolve(s); },
        reject,
      };
      this.socket.write(`${tag} ${text}\r\n`);
    });
  }

  /** As command(), but anything other than OK is an error carrying the server's words. */
  async ok(text: string): Promise<CommandStats> {
    const s = await this.command(text);
    if (s.status !== 'OK') throw new LoadError(s.status || 'protocol', `${text.startsWith('LOGIN') ? 'LOGIN …' : text} → ${s.completion}`);
    return s;
  }

  async login(user: string, password: string): Promise<void> {
    await this.ok(`LOGIN ${quote(user)} ${quote(password)}`);
  }

  /** SELECT; returns EXISTS. */
  async select(mailbox = 'INBOX'): Promise<number> {
    const s = await this.ok(`SELECT ${quote(mailbox)}`);
    if (s.exists < 0) throw new LoadError('protocol', `SELECT ${mailbox} gave no EXISTS`);
    return s.exists;
  }

  /** LOGOUT, then waits for the server to close (bounded). */
  async logout(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.closeError = new Error('closed after LOGOUT'); // the close is expected now
    await this.command('LOGOUT').catch(() => undefined);
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    this.socket.end();
    await closed;
    clearTimeout(timer);
  }

  /** Closes the connection at once; a running command fails with `err` (default "destroyed"). */
  destroy(err?: Error): void {
    this.closeError ??= err ?? new Error('destroyed');
    this.socket.destroy();
  }

  /** A command (or the greeting) is waiting for the server. */
  get busy(): boolean {
    return this.waiter !== null || this.greeting !== null;
  }

  /** `* n FETCH` responses of the running command so far (progress while a long FETCH streams in). */
  get runningFetches(): number {
    return this.waiter !== null ? this.stats.fetches : 0;
  }

  // ------------------------------------------------------------ response stream

  private fail(err: Error): void {
    const w = this.waiter;
    const g = this.greeting;
    this.waiter = null;
    this.greeting = null;
    w?.reject(err);
    g?.reject(err);
  }

  private feed(chunk: Buffer): void {
    this.activity++;
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, len - pos);
        this.literalLeft -= take;
        pos += take;
        continue;
      }
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) {
        this.partial.push(Buffer.from(chunk.subarray(pos))); // a copy: the read buffer is reused
        return;
      }
      let line = chunk.subarray(pos, nl + 1); // used before feed() returns
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = Buffer.concat(this.partial);
        this.partial = [];
      }
      pos = nl + 1;
      this.segment(line);
    }
  }

  /** One line up to CRLF, or up to a literal's `{N}` CRLF. */
  private segment(line: Buffer): void {
    const literal = trailingLiteral(line);
    if (!this.continuation) this.responseStart(line);
    if (literal >= 0) {
      this.stats.literals++;
      this.stats.literalBytes += literal;
      this.literalLeft = literal;
      this.continuation = true;
    } else {
      this.continuation = false;
    }
  }

  private remember(line: Buffer): void {
    this.transcript.push(line.subarray(0, 200).toString('latin1').replace(/\r?\n$/, ''));
    if (this.transcript.length > 8) this.transcript.shift();
  }

  private responseStart(line: Buffer): void {
    const s = this.stats;
    if (line[0] === STAR && line[1] === SP) {
      if (this.greeting) {
        this.remember(line);
        const g = this.greeting;
        this.greeting = null;
        g.resolve(line.toString('latin1').replace(/\r?\n$/, ''));
        return;
      }
      if (isDigit(line[2])) {
        let i = 2;
        let n = 0;
        while (isDigit(line[i])) n = n * 10 + (line[i++]! - 0x30);
        if (line[i] === SP) {
          if (startsWith(line, i + 1, 'FETCH')) { s.fetches++; return; }
          if (startsWith(line, i + 1, 'EXISTS')) s.exists = n;
        }
        this.remember(line);
        return;
      }
      if (startsWith(line, 2, 'SEARCH')) {
        // Count the numbers: digit runs after the keyword.
        let inNumber = false;
        for (let i = 8; i < line.length; i++) {
          const d = isDigit(line[i]);
          if (d && !inNumber) s.searchHits++;
          inNumber = d;
        }
        return;
      }
      this.remember(line);
      if (startsWith(line, 2, 'BYE')) this.closeError ??= new LoadError('BYE', `server said ${line.toString('latin1').trim()}`);
      return;
    }
    this.remember(line);
    if (line[0] === PLUS) return; // continuation request: not used by these commands
    const tag = this.pendingTag;
    if (tag !== null && startsWith(line, 0, tag) && line[tag.length] === SP) {
      const text = line.toString('latin1', tag.length + 1).replace(/\r?\n$/, '');
      s.status = (/^\S+/.exec(text)?.[0] ?? '').toUpperCase();
      s.completion = text;
      this.pendingTag = null;
      const w = this.waiter;
      this.waiter = null;
      w?.resolve(s);
    }
  }
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

// ---------------------------------------------------------------- operations

export interface TimedResult {
  ms: number;
  stats: CommandStats;
}

/** Opens a connection, LOGIN, SELECT; the caller runs commands and closes it. */
export async function openSelected(target: ImapTarget): Promise<{ conn: ImapConnection; exists: number }> {
  const conn = await ImapConnection.open(target.host, target.port);
  try {
    await conn.login(target.user, target.password);
    const exists = await conn.select(target.mailbox ?? 'INBOX');
    return { conn, exists };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

async function timedOnSelected(target: ImapTarget, command: string): Promise<TimedResult> {
  const { conn } = await openSelected(target);
  try {
    const stats = await conn.ok(command);
    return { ms: stats.ms, stats };
  } finally {
    await conn.logout().catch(() => conn.destroy());
  }
}

/**
 * `UID FETCH 1:* BODY.PEEK[]` (or `BODY[]` with peek false) on a fresh
 * connection after LOGIN+SELECT; the time is the command's alone. stats.fetches
 * is the number of messages, stats.literalBytes their total size.
 */
export function bulkFetch(target: ImapTarget, peek = true): Promise<TimedResult> {
  return timedOnSelected(target, `UID FETCH 1:* (${peek ? 'BODY.PEEK[]' : 'BODY[]'})`);
}

/** `FETCH 1:* (FLAGS)`. */
export function fetchFlags(target: ImapTarget): Promise<TimedResult> {
  return timedOnSelected(target, 'FETCH 1:* (FLAGS)');
}

/** `SEARCH UNSEEN`; stats.searchHits is the number of unseen messages. */
export function searchUnseen(target: ImapTarget): Promise<TimedResult> {
  return timedOnSelected(target, 'SEARCH UNSEEN');
}

export interface LatencyResult {
  p50Ms: number;
  p95Ms: number;
  samples: number[];
  /** p50 of each step: connect to greeting, LOGIN, SELECT (where the time goes). */
  steps: { greetingP50Ms: number; loginP50Ms: number; selectP50Ms: number };
}

/**
 * `iterations` sequential sessions: the time from connect() to SELECT's
 * tagged OK (what a client waits before it can show a mailbox); then LOGOUT,
 * untimed, and the close is awaited before the next session.
 */
export async function loginSelectLatency(target: ImapTarget, iterations: number): Promise<LatencyResult> {
  const samples: number[] = [];
  const greeting: number[] = [];
  const login: number[] = [];
  const select: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    const conn = await ImapConnection.open(target.host, target.port);
    const greeted = performance.now();
    try {
      await conn.login(target.user, target.password);
      const loggedIn = performance.now();
      await conn.select(target.mailbox ?? 'INBOX');
      const selected = performance.now();
      samples.push(selected - started);
      greeting.push(greeted - started);
      login.push(loggedIn - greeted);
      select.push(selected - loggedIn);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    await conn.logout().catch(() => conn.destroy());
  }
  const p50 = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    samples,
    steps: { greetingP50Ms: p50(greeting), loginP50Ms: p50(login), selectP50Ms: p50(select) },
  };
}

// ---------------------------------------------------------------- load (postline bench imap)

export interface ImapLoadOptions extends ImapTarget {
  /** Concurrent sessions (connections), each LOGIN + SELECT first. */
  sessions: number;
  /**
   * Rounds mode (the default, 1 round): each session fetches the whole
   * mailbox this many times, `UID FETCH 1:* (BODY.PEEK[])`; latency is per
   * round (one command).
   */
  rounds?: number;
  /**
   * Messages mode: this many single-message fetches in all,
   * `FETCH n (BODY.PEEK[])`, spread over the sessions and cycling through
   * the mailbox; latency is per message. Excludes `rounds`.
   */
  messages?: number;
  /** A command with no response for this long drops its connection, counted as "timeout" (default 30 s). */
  timeoutMs?: number;
  onProgress?: ProgressListener;
}

/**
 * Runs an IMAP retrieval load. `ok` counts messages fetched (`* n FETCH`
 * responses), `bytes` their literal bytes; `failed` counts failed commands,
 * logins and connections, by tagged status ("NO", "BAD") or socket error.
 * BODY.PEEK leaves \Seen alone, so a run changes nothing in the mailbox.
 */
export async function runImapLoad(o: ImapLoadOptions): Promise<LoadResult> {
  if (o.rounds !== undefined && o.messages !== undefined) throw new RangeError('rounds and messages exclude each other');
  const rounds = o.rounds ?? 1;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const mailbox = o.mailbox ?? 'INBOX';
  const tally = new Tally(o.messages ?? 1024);
  const connector = new Connector(o.host, o.port, tally);
  const conns: (ImapConnection | null)[] = Array.from({ length: o.sessions }, () => null);
  let total = o.messages ?? 0;
  let claimed = 0;

  const session = async (i: number): Promise<void> => {
    const conn = await connector.open(() => ImapConnection.open(o.host, o.port, timeoutMs));
    if (conn === null) return;
    conns[i] = conn;
    try {
      await conn.login(o.user, o.password);
      const exists = await conn.select(mailbox);
      if (o.messages === undefined) {
        total += rounds * exists;
        for (let r = 0; r < rounds; r++) {
          const s = await conn.command('UID FETCH 1:* (BODY.PEEK[])');
          if (s.status !== 'OK') {
            tally.fail(s.status || 'protocol', `UID FETCH 1:* → ${s.completion}`);
            continue;
          }
          tally.ok += s.fetches;
          tally.bytes += s.literalBytes;
          tally.latencies.add(s.ms);
        }
      } else {
        if (exists === 0) throw new LoadError('empty', `${mailbox} is empty: nothing to fetch`);
        while (claimed < o.messages && connector.unreachable === null) {
          const seq = (claimed++ % exists) + 1;
          const s = await conn.command(`FETCH ${seq} (BODY.PEEK[])`);
          if (s.status !== 'OK' || s.fetches === 0) {
            tally.fail(s.status === 'OK' ? 'protocol' : s.status || 'protocol', `FETCH ${seq} → ${s.completion}`);
            continue;
          }
          tally.ok += s.fetches;
          tally.bytes += s.literalBytes;
          tally.latencies.add(s.ms);
        }
      }
      conns[i] = null;
      await conn.logout().catch(() => conn.destroy());
    } catch (err) {
      conns[i] = null;
      tally.fail(errorKey(err), (err as Error).message);
      conn.destroy();
    }
  };

  const progress = (elapsedMs: number): void => {
    let running = 0;
    for (const c of conns) if (c !== null) running += c.runningFetches;
    const done = tally.ok + tally.failed + running;
    o.onProgress?.({ done, ok: tally.ok + running, failed: tally.failed, total: Math.max(total, done), elapsedMs });
  };
  const seconds = await runSessions({ conns, session, progress, reportProgress: o.onProgress !== undefined, timeoutMs });
  connector.throwIfUnreachable();
  progress(seconds * 1000);
  return tally.result(seconds);
}
