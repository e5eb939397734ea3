/**
 * The POP3 and IMAP load generators read into one reused buffer (net
 * `onread`): whatever they keep across reads must be copied. These servers
 * dribble their replies in small pieces of varying size, so lines, dot-stuffed
 * lines, terminators and literals are cut across reads everywhere; the
 * clients' counts must still come out exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { retrAll } from '../../../src/loadgen/pop3.js';
import { bulkFetch } from '../../../src/loadgen/imap.js';

const MESSAGES = 120;

/** Message n: ~3 KB of CRLF lines, some starting with a dot. */
function message(n: number): Buffer {
  const lines = [`Subject: message ${n}`, ''];
  for (let i = 0; i < 40; i++) lines.push(i % 7 === 3 ? `.dot line ${n}.${i}` : `line ${i} of message ${n} ${'x'.repeat((n * 13 + i * 7) % 60)}`);
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

const bodies = Array.from({ length: MESSAGES }, (_, i) => message(i + 1));
const totalBytes = bodies.reduce((sum, b) => sum + b.length, 0);

/** Writes `data` in pieces of 1–997 bytes, each in its own event-loop turn. */
function dribble(socket: Socket, data: Buffer, seed: number): Promise<void> {
  return new Promise((resolve) => {
    let at = 0;
    let state = seed;
    const step = (): void => {
      if (socket.destroyed) return resolve();
      if (at >= data.length) return resolve();
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const size = 1 + (state % 997);
      socket.write(data.subarray(at, at + size));
      at += size;
      setImmediate(step);
    };
    step();
  });
}

function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, onConnection);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** Reads CRLF lines and answers each with `reply` (in order, one at a time). */
function serveLines(socket: Socket, reply: (line: string) => Buffer | null): void {
  let pending = '';
  let chain = Promise.resolve();
  let seed = 7;
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    let nl: number;
    while ((nl = pending.indexOf('\r\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 2);
      const out = reply(line);
      if (out === null) {
        chain = chain.then(() => void socket.end());
        continue;
      }
      seed += 1;
      const s = seed;
      chain = chain.then(() => dribble(socket, out, s));
    }
  });
  socket.on('error', () => {});
}

function dotStuffed(body: Buffer): Buffer {
  return Buffer.from(body.toString('latin1').replace(/^\./gm, '..'), 'latin1');
}

test('retrAll counts every message and byte when replies arrive in small pieces', async () => {
  const { server, port } = await listen((socket) => {
    socket.write('+OK fake POP3\r\n');
    serveLines(socket, (line) => {
      const [verb, arg] = line.split(' ');
      switch (verb) {
        case 'CAPA':
          return Buffer.from('+OK\r\nPIPELINING\r\nUSER\r\n.\r\n');
        case 'STAT':
          return Buffer.from(`+OK ${MESSAGES} ${totalBytes}\r\n`);
        case 'RETR': {
          const body = bodies[Number(arg) - 1]!;
          return Buffer.concat([Buffer.from(`+OK ${body.length} octets\r\n`), dotStuffed(body), Buffer.from('.\r\n')]);
        }
        case 'QUIT':
          socket.end('+OK bye\r\n');
          return null;
        default:
          return Buffer.from('+OK\r\n');
      }
    });
  });
  try {
    const result = await retrAll({ host: '127.0.0.1', port, user: 'u', password: 'p' }, 16);
    assert.deepEqual(result.errors, []);
    assert.equal(result.messages, MESSAGES);
    assert.equal(result.bytes, totalBytes, 'dot-stuffing undone, terminators excluded');
    assert.equal(result.pipelined, true);
  } finally {
    server.close();
  }
});

test('bulkFetch counts every literal and byte when responses arrive in small pieces', async () => {
  const { server, port } = await listen((socket) => {
    socket.write('* OK fake IMAP\r\n');
    serveLines(socket, (line) => {
      const [tag, command] = line.split(' ');
      switch (command?.toUpperCase()) {
        case 'SELECT':
          return Buffer.from(`* ${MESSAGES} EXISTS\r\n${tag} OK [READ-WRITE] done\r\n`);
        case 'UID': {
          const parts = bodies.map((b, i) => Buffer.concat([Buffer.from(`* ${i + 1} FETCH (UID ${i + 1} BODY[] {${b.length}}\r\n`), b, Buffer.from(')\r\n')]));
          return Buffer.concat([...parts, Buffer.from(`${tag} OK UID FETCH done\r\n`)]);
        }
        case 'LOGOUT':
          socket.end(`* BYE\r\n${tag} OK bye\r\n`);
          return null;
        default:
          return Buffer.from(`${tag} OK\r\n`);
      }
    });
  });
  try {
    const { stats } = await bulkFetch({ host: '127.0.0.1', port, user: 'u', password: 'p' });
    assert.equal(stats.status, 'OK');
    assert.equal(stats.fetches, MESSAGES);
    assert.equal(stats.literals, MESSAGES);
    assert.equal(stats.literalBytes, totalBytes);
  } finally {
    server.close();
  }
});
