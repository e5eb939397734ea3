/**
 * The POP3 session as C:/S: transcripts on an in-memory duplex, with an
 * in-memory mailbox and a clock that moves only when told: the paths real
 * sockets cannot reach on demand (a failing expunge, a message removed under
 * the session, a slow store, the idle timer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import type { Clock } from '../../../../src/core/clock.js';
import { PostlineError } from '../../../../src/core/errors.js';
import { silentLogger } from '../../../../src/core/log.js';
import type { MessageBatch, FolderView } from '../../../../src/protocol/mailbox-port.js';
import { MaildropLock } from '../../../../src/protocol/pop3/maildrop-lock.js';
import { Pop3Session, type Pop3MailboxPort } from '../../../../src/protocol/pop3/session.js';

/** The server's end of a connection: what the session writes is collected; the test pushes what the client sends. */
class FakeSocket extends Duplex {
  out = '';
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.out += chunk.toString('latin1');
    cb();
  }
  override _final(cb: () => void): void {
    cb();
    queueMicrotask(() => this.destroy());
  }
}

class ManualClock implements Clock {
  private time = 0;
  private readonly timers = new Map<object, { at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): object {
    const handle = {};
    this.timers.set(handle, { at: this.time + ms, fn });
    return handle;
  }
  clearTimeout(handle: object): void {
    this.timers.delete(handle);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [handle, t] of [...this.timers]) {
      if (t.at > this.time) continue;
      this.timers.delete(handle);
      t.fn();
    }
  }
}

const USER = 'ivanov@example.org';

/** An INBOX of `bodies` (uids 1..n) with hooks to make operations fail or wait. */
class FakeMailbox implements Pop3MailboxPort {
  uids: number[];
  readonly bodies = new Map<number, Buffer>();
  expunged: number[][] = [];
  seen: number[][] = [];
  failExpunge = false;
  gate: Promise<void> | null = null;

  constructor(bodies: string[]) {
    this.uids = bodies.map((_, i) => i + 1);
    bodies.forEach((b, i) => this.bodies.set(i + 1, Buffer.from(b)));
  }
  async ensureUser(): Promise<void> {}
  folder(owner: string, name: string): (FolderView & { box: number }) | undefined {
    const uids = Uint32Array.from(this.uids);
    return {
      box: 1,
      owner,
      name,
      uidValidity: 1700000000,
      uidNext: Math.max(0, ...this.uids) + 1,
      count: uids.length,
      uids,
      size: Uint32Array.from(this.uids.map((u) => this.bodies.get(u)!.length)),
      date: new Uint32Array(uids.length),
      flags: new Uint32Array(uids.length),
      keywords: [],
      indexOf: (uid: number) => this.uids.indexOf(uid),
      flagNames: () => [],
    };
  }
  async readMessage(_owner: string, _name: string, uid: number): Promise<Buffer> {
    if (this.gate) await this.gate;
    const body = this.bodies.get(uid);
    if (!body || !this.uids.includes(uid)) throw new PostlineError('ERR_MESSAGE_NOT_FOUND', `no message ${uid}`);
    return body;
  }
  /** The uid batches readMessageBatch was asked for, in order. */
  readonly batches: number[][] = [];
  /** The record of this uid is damaged: decoding it from a batch fails. */
  damaged: number | null = null;
  /** A batch read holding this uid fails as a whole (an I/O error). */
  failBatchWith: number | null = null;
  /** How many bodies were decoded from batches so far. */
  decoded = 0;
  async readMessageBatch(_owner: string, _name: string, uids: readonly number[]): Promise<MessageBatch> {
    this.batches.push([...uids]);
    if (this.gate) await this.gate;
    if (this.failBatchWith !== null && uids.includes(this.failBatchWith)) throw new PostlineError('ERR_STORE_IO', 'read failed');
    const bodies = uids.map((uid) => (this.uids.includes(uid) ? (this.bodies.get(uid) ?? null) : null));
    return {
      length: uids.length,
      body: (k: number): Buffer | null => {
        if (uids[k] === this.damaged) throw new PostlineError('ERR_STORE_CRC', 'damaged record');
        this.decoded++;
        return bodies[k]!;
      },
    };
  }
  async setFlags(_owner: string, _name: string, uids: number[]): Promise<void> {
    this.seen.push(uids);
  }
  async expunge(_owner: string, _name: string, uids: number[] = []): Promise<number[]> {
    if (this.gate) await this.gate;
    if (this.failExpunge) throw new PostlineError('ERR_STORE_IO', 'disk on fire');
    this.expunged.push(uids);
    this.uids = this.uids.filter((u) => !uids.includes(u));
    return uids;
  }
}

interface Harness {
  socket: FakeSocket;
  mailbox: FakeMailbox;
  locks: MaildropLock;
  clock: ManualClock;
  session: Pop3Session;
  closed: () => boolean;
  logins: string[];
}

function harness(bodies: string[], options: { verify?: () => Promise<boolean>; idleTimeoutMs?: number; locks?: MaildropLock; mailbox?: FakeMailbox } = {}): Harness {
  const socket = new FakeSocket();
  const mailbox = options.mailbox ?? new FakeMailbox(bodies);
  const locks = options.locks ?? new MaildropLock();
  const clock = new ManualClock();
  const logins: string[] = [];
  let closed = false;
  const session = new Pop3Session(
    socket,
    { id: 'test', remoteAddress: '127.0.0.1', tls: false },
    {
      hostname: 'mx.example.org',
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      authPlaintext: 'loopback',
      tlsContext: null,
      startTls: null,
      mailbox,
      auth: { verify: options.verify ?? (async (u, p) => u === USER && p === 'secret') },
      authLimiter: { recordFailure: () => {}, blocked: () => false },
      locks,
      onLogin: (ip) => logins.push(ip),
      clock,
      logger: silentLogger,
    },
    () => (closed = true),
  );
  session.start();
  return { socket, mailbox, locks, clock, session, closed: () => closed, logins };
}

/** Lets the session's promises and microtask flushes run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs a dialogue: "C: line" is sent, "S: line" must come back, in order.
 * Server lines are compared once everything sent so far has been answered.
 */
async function transcript(h: Harness, script: string): Promise<void> {
  const expected: string[] = [];
  for (const raw of script.split('\n')) {
    const line = raw.trimStart();
    if (line.startsWith('C: ')) h.socket.push(line.slice(3) + '\r\n');
    else if (line.startsWith('S: ')) expected.push(line.slice(3));
    else if (line === 'S:') expected.push('');
  }
  await settle();
  assert.deepEqual(h.socket.out.split('\r\n').slice(0, -1), expected);
}

test('the RFC 1939 §10 dialogue, as a transcript', async () => {
  const h = harness(['Subject: one\r\n\r\nbody 1\r\n', 'Subject: two\r\n\r\n.dot\r\n']);
  await transcript(
    h,
    `S: +OK mx.example.org POP3 ready
     C: USER ivanov@example.org
     S: +OK send PASS
     C: PASS secret
     S: +OK maildrop has 2 messages (46 octets)
     C: STAT
     S: +OK 2 46
     C: LIST
     S: +OK 2 messages (46 octets)
     S: 1 24
     S: 2 22
     S: .
     C: RETR 1
     S: +OK 24 octets
     S: Subject: one
     S:
     S: body 1
     S: .
     C: DELE 1
     S: +OK message 1 deleted
     C: RETR 2
     S: +OK 22 octets
     S: Subject: two
     S:
     S: ..dot
     S: .
     C: DELE 2
     S: +OK message 2 deleted
     C: QUIT
     S: +OK mx.example.org POP3 server signing off (0 messages left)`,
  );
  assert.deepEqual(h.mailbox.expunged, [[1, 2]]);
  assert.deepEqual(h.mailbox.seen, [], 'nothing to flag: both are deleted');
  assert.deepEqual(h.logins, ['127.0.0.1']);
  assert.ok(h.closed());
  assert.equal(h.locks.size, 0);
});

test('QUIT answers +OK only after the expunge is durable', async () => {
  const h = harness(['a\r\n']);
  let open!: () => void;
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 1 message (3 octets)\nC: DELE 1\nS: +OK message 1 deleted`);
  h.mailbox.gate = new Promise((resolve) => (open = resolve));
  h.socket.out = '';
  h.socket.push('QUIT\r\n');
  await settle();
  assert.equal(h.socket.out, '', 'no reply while the expunge is pending');
  open();
  await settle();
  assert.equal(h.socket.out, '+OK mx.example.org POP3 server signing off (0 messages left)\r\n');
});

test('a failing expunge at QUIT: -ERR [SYS/TEMP], nothing lost, the maildrop freed', async () => {
  const h = harness(['a\r\n', 'b\r\n']);
  h.mailbox.failExpunge = true;
  await transcript(
    h,
    `S: +OK mx.example.org POP3 ready
     C: USER ${USER}
     S: +OK send PASS
     C: PASS secret
     S: +OK maildrop has 2 messages (6 octets)
     C: RETR 2
     S: +OK 3 octets
     S: b
     S: .
     C: DELE 1
     S: +OK message 1 deleted
     C: QUIT
     S: -ERR [SYS/TEMP] some deleted messages not removed, try again later`,
  );
  assert.deepEqual(h.mailbox.uids, [1, 2]);
  assert.deepEqual(h.mailbox.seen, [[2]], '\\Seen still recorded for what was fetched');
  assert.equal(h.locks.size, 0);
  assert.ok(h.closed());
});

test('a close without QUIT deletes nothing, flags what RETR fetched, frees the maildrop', async () => {
  const h = harness(['a\r\n', 'b\r\n']);
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 2 messages (6 octets)\nC: RETR 1\nS: +OK 3 octets\nS: a\nS: .\nC: TOP 2 0\nS: +OK top of message follows\nS: b\nS: .\nC: DELE 2\nS: +OK message 2 deleted`);
  assert.equal(h.locks.size, 1);
  h.socket.destroy();
  await settle();
  assert.deepEqual(h.mailbox.expunged, []);
  assert.deepEqual(h.mailbox.seen, [[1]], 'RETR, not TOP');
  assert.equal(h.locks.size, 0);
});

test('a message removed by another session since login is reported, and the session goes on', async () => {
  const h = harness(['a\r\n', 'b\r\n']);
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 2 messages (6 octets)`);
  h.mailbox.uids = [2]; // an IMAP client expunged uid 1
  h.socket.out = '';
  await transcript(h, `C: RETR 1\nS: -ERR message was removed by another session\nC: STAT\nS: +OK 2 6`);
});

test('read-ahead: the next window is asked for while the current one is sent; a damaged record costs only its message, a failed window read only what cannot be read', async () => {
  const bodies = Array.from({ length: 300 }, (_, i) => `Subject: ${i + 1}\r\n\r\nbody ${i + 1}\r\n`);
  const h = harness(bodies);
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 300 messages (${bodies.join('').length} octets)`);
  h.socket.out = '';
  h.socket.push('RETR 1\r\nRETR 2\r\n');
  await settle();
  // RETR 1 is a single read; RETR 2 starts a window (2..65) and the one after it (66..129) is asked for at once.
  const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(h.mailbox.batches, [range(2, 65), range(66, 129)]);
  // Message 150's record is damaged: only RETR 150 is refused, its window's other messages are served.
  h.mailbox.damaged = 150;
  // The window 194..257 cannot be read at all: its messages are read one by one, and message 200 not even alone.
  h.mailbox.failBatchWith = 200;
  const readMessage = h.mailbox.readMessage.bind(h.mailbox);
  const singles: number[] = [];
  h.mailbox.readMessage = async (owner, name, uid) => {
    singles.push(uid);
    if (uid === 200) throw new PostlineError('ERR_STORE_IO', 'read failed');
    return readMessage(owner, name, uid);
  };
  h.socket.out = '';
  h.socket.push(range(3, 300).map((n) => `RETR ${n}\r\n`).join(''));
  await settle();
  for (const n of range(3, 300)) {
    if (n === 150 || n === 200) continue;
    assert.ok(h.socket.out.includes(`+OK ${bodies[n - 1]!.length} octets\r\n${bodies[n - 1]}.\r\n`), `message ${n}`);
  }
  assert.equal(h.socket.out.match(/^-ERR/gm)?.length, 2, 'only the damaged and the unreadable message are refused');
  assert.equal(h.socket.out.match(/^-ERR \[SYS\/TEMP\]/gm)?.length, 2);
  assert.deepEqual(singles, range(194, 257), 'one by one only over the window that failed');
  assert.deepEqual(h.mailbox.batches.slice(2), [range(130, 193), range(194, 257), range(258, 300)]);
  assert.equal(h.closed(), false);
});

test('one RETR at a time: the next reply is made ready after each one; a DELE, an out-of-order RETR or a big message in between costs only that step', async () => {
  const bodies = Array.from({ length: 100 }, (_, i) => `Subject: ${i + 1}\r\n\r\n${i % 7 === 0 ? '.dot line\r\n' : ''}body ${i + 1}\r\n`);
  // Message 50 is too big to be made ready (more than one output slice): it is streamed when asked for.
  bodies[49] = `Subject: 50\r\n\r\n${'.x\r\n'.repeat(30_000)}`;
  const h = harness(bodies);
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 100 messages (${bodies.join('').length} octets)`);
  const stuffed = (n: number): string => bodies[n - 1]!.replace(/^\./gm, '..');
  /** RETR n; `ready`: its reply was made ready in advance (the only body asked for meanwhile is the next one's). */
  const retr = async (n: number, ready: boolean): Promise<void> => {
    const before = h.mailbox.decoded;
    h.socket.out = '';
    h.socket.push(`RETR ${n}\r\n`);
    await settle();
    assert.equal(h.socket.out, `+OK ${bodies[n - 1]!.length} octets\r\n${stuffed(n)}.\r\n`, `RETR ${n}`);
    const preparing = n < bodies.length ? 1 : 0; // the next one is made ready, if there is one
    assert.equal(h.mailbox.decoded - before, (ready ? 0 : 1) + preparing, `RETR ${n} ${ready ? 'was' : 'was not'} made ready`);
  };
  // RETR 1 is a single read, RETR 2 opens a window; from then on each reply is ready before it is asked for.
  h.socket.push('RETR 1\r\nRETR 2\r\n');
  await settle();
  for (let n = 3; n <= 10; n++) await retr(n, true);
  h.socket.out = '';
  await transcript(h, 'C: DELE 11\nS: +OK message 11 deleted\nC: RETR 11\nS: -ERR message 11 already deleted');
  // 11 was made ready and deleted: 12 is read now, 13 made ready after it.
  await retr(12, false);
  await retr(13, true);
  // Out of order: 5 is read, 6 made ready; the client goes back to 14, which is read, 15 made ready.
  await retr(5, false);
  await retr(14, false);
  await retr(15, true);
  h.socket.out = '';
  await transcript(h, 'C: RSET\nS: +OK maildrop has 100 messages (' + bodies.join('').length + ' octets)');
  await retr(11, false);
  await retr(12, true);
  for (let n = 13; n <= 100; n++) await retr(n, n !== 50);
  assert.equal(h.closed(), false);
});

test('the maildrop lock: a second login waits in AUTHORIZATION until the first session ends', async () => {
  const locks = new MaildropLock();
  const mailbox = new FakeMailbox(['a\r\n']);
  const first = harness([], { locks, mailbox });
  const second = harness([], { locks, mailbox });
  await transcript(first, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 1 message (3 octets)`);
  await transcript(second, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: -ERR [IN-USE] maildrop already locked\nC: STAT\nS: -ERR not logged in; send USER/PASS or AUTH first`);
  first.socket.push('QUIT\r\n');
  await settle();
  second.socket.out = '';
  await transcript(second, `C: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 1 message (3 octets)`);
});

test('an auth backend failure is a temporary error, not a failed login', async () => {
  const h = harness([], { verify: async () => Promise.reject(new Error('directory down')) });
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: -ERR [SYS/TEMP] temporary authentication failure, try again later`);
});

test('pipelined commands wait for a slow login and are answered in order', async () => {
  let allow!: (ok: boolean) => void;
  const h = harness(['a\r\n'], { verify: () => new Promise((resolve) => (allow = resolve)) });
  h.socket.push(`USER ${USER}\r\nPASS secret\r\nSTAT\r\nQUIT\r\n`);
  await settle();
  assert.equal(h.socket.out, '+OK mx.example.org POP3 ready\r\n+OK send PASS\r\n');
  allow(true);
  await settle();
  assert.equal(h.socket.out, '+OK mx.example.org POP3 ready\r\n+OK send PASS\r\n+OK maildrop has 1 message (3 octets)\r\n+OK 1 3\r\n+OK mx.example.org POP3 server signing off (1 message left)\r\n');
});

test('idle timeout: -ERR and close; activity restarts the timer', async () => {
  const h = harness([], { idleTimeoutMs: 1000 });
  await settle();
  h.clock.advance(900);
  h.socket.push('CAPA\r\n');
  await settle();
  h.clock.advance(900);
  assert.ok(!h.socket.out.includes('idle'));
  h.clock.advance(100);
  await settle();
  assert.ok(h.socket.out.endsWith('-ERR idle timeout, closing connection\r\n'), h.socket.out);
  assert.ok(h.closed());
});

test('shutdown: an idle session is told at once; a RETR in progress finishes first', async () => {
  const idle = harness([]);
  await settle();
  idle.session.shutdown();
  await settle();
  assert.ok(idle.socket.out.endsWith('-ERR [SYS/TEMP] server shutting down\r\n'));
  assert.ok(idle.closed());

  const h = harness(['a\r\n']);
  await transcript(h, `S: +OK mx.example.org POP3 ready\nC: USER ${USER}\nS: +OK send PASS\nC: PASS secret\nS: +OK maildrop has 1 message (3 octets)`);
  let open!: () => void;
  h.mailbox.gate = new Promise((resolve) => (open = resolve));
  h.socket.out = '';
  h.socket.push('RETR 1\r\nNOOP\r\n');
  await settle();
  h.session.shutdown();
  open();
  await settle();
  assert.equal(h.socket.out, '+OK 3 octets\r\na\r\n.\r\n-ERR [SYS/TEMP] server shutting down\r\n', 'the body whole, then the goodbye; the pipelined NOOP is not run');
  assert.deepEqual(h.mailbox.expunged, []);
});

test('AUTH PLAIN continuation, and a too-long SASL line cancels the exchange', async () => {
  const h = harness([]);
  const good = Buffer.from(`\u0000${USER}\u0000secret`).toString('base64');
  await transcript(
    h,
    `S: +OK mx.example.org POP3 ready
     C: AUTH PLAIN
     S: + 
     C: ${'A'.repeat(3000)}
     S: -ERR line too long
     C: AUTH PLAIN
     S: + 
     C: ${good}
     S: +OK maildrop has 0 messages (0 octets)`,
  );
});
