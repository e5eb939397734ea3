/**
 * The floor for a durable SMTP server on this runtime and this disk: an SMTP
 * sink in Node that does no work at all — canned replies, no parsing beyond
 * finding line ends and CRLF.CRLF, no policy, no headers, no encoding, no
 * index — except that, like postline, it answers 250 after DATA only once the
 * message's bytes are written and fdatasync'ed, with every message that
 * arrived meanwhile sharing the fsync (group commit, one group in flight).
 *
 * The SMTP bench runs it beside postline and smtp-sink so the table shows how
 * much of the gap to smtp-sink is the runtime plus the fsync, not postline:
 * postline cannot be faster than this.
 *
 * Not a server: no limits, no error handling worth the name. Run as
 * `node dist/bench/lib/fsync-sink.js FILE`; it prints its port on stdout.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';

const END_OF_DATA = Buffer.from('\r\n.\r\n');

interface Waiting {
  body: Buffer;
  acknowledge(): void;
}

class GroupCommit {
  private pending: Waiting[] = [];
  private writing = false;
  private position = 0;

  constructor(private readonly file: FileHandle) {}

  add(w: Waiting): void {
    this.pending.push(w);
    if (!this.writing) void this.drain();
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      const bodies = group.map((w) => w.body);
      await this.file.writev(bodies, this.position);
      for (const b of bodies) this.position += b.length;
      await this.file.datasync();
      for (const w of group) w.acknowledge();
    }
    this.writing = false;
  }
}

function serve(socket: Socket, commit: GroupCommit): void {
  let inData = false;
  let buffered: Buffer = Buffer.alloc(0);
  let replies: string[] = [];
  let flushQueued = false;
  // Replies to a pipelined burst leave in one write, as postline's do.
  const reply = (text: string): void => {
    replies.push(text);
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      socket.write(replies.join(''));
      replies = [];
    });
  };
  reply('220 fsync-sink ESMTP\r\n');
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      if (inData) {
        const end = buffered.indexOf(END_OF_DATA);
        if (end < 0) return;
        const body = Buffer.from(buffered.subarray(0, end + 2));
        buffered = buffered.subarray(end + END_OF_DATA.length);
        inData = false;
        commit.add({ body, acknowledge: () => reply('250 2.0.0 Ok: queued\r\n') });
        continue;
      }
      const lf = buffered.indexOf(10);
      if (lf < 0) return;
      const verb = buffered.toString('latin1', 0, Math.min(4, lf)).toUpperCase();
      buffered = buffered.subarray(lf + 1);
      if (verb === 'EHLO') reply('250-fsync-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
      else if (verb === 'DATA') {
        reply('354 End data with <CR><LF>.<CR><LF>\r\n');
        inData = true;
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 Bye\r\n');
        setImmediate(() => socket.end());
      } else reply('250 2.0.0 Ok\r\n');
    }
  });
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: fsync-sink FILE');
  const commit = new GroupCommit(await open(path, 'w'));
  const server = createServer({ noDelay: true }, (socket) => serve(socket, commit));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(typeof address === 'object' && address ? address.port : 0);
  });
  process.on('SIGTERM', () => process.exit(0));
}

await main();
