import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger } from '../../../src/core/log.js';
import { Listener, type ConnectionInfo, type ListenerOptions } from '../../../src/net/listener.js';
import { Inbox, waitFor, withTimeout } from './support.js';

/** A listener whose admit allows `max` live connections and whose sessions greet and echo lines. */
async function startEcho(max: number, extra: Partial<ListenerOptions> = {}) {
  let live = 0;
  let releases = 0;
  const infos: ConnectionInfo[] = [];
  const sessions: Duplex[] = [];
  const listener = await Listener.start({
    name: 'test',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    admit: () => {
      if (live >= max) return { ok: false, refuse: (socket) => socket.end('421 4.7.0 too many connections\r\n') };
      live++;
      return {
        ok: true,
        release: () => {
          live--;
          releases++;
        },
      };
    },
    onConnection: (socket, info, release) => {
      infos.push(info);
      sessions.push(socket);
      // The session calls release too: the listener's own call on 'close' must not count twice.
      socket.on('close', release);
      socket.on('data', (chunk: Buffer) => socket.write(`echo ${chunk.toString()}`));
      socket.write(`220 hello ${info.id}\r\n`);
    },
    ...extra,
  });
  return { listener, infos, sessions, live: () => live, releases: () => releases };
}

function connect(port: number): { socket: net.Socket; inbox: Inbox } {
  const socket = net.connect(port, '127.0.0.1');
  return { socket, inbox: new Inbox(socket) };
}

test('connections are counted; the 3rd is refused with the caller’s message; close releases the slot', async () => {
  const srv = await startEcho(2);
  const { port } = srv.listener.address;
  try {
    assert.ok(port > 0);
    const a = connect(port);
    const b = connect(port);
    await a.inbox.until('220 hello');
    await b.inbox.until('220 hello');
    assert.equal(srv.listener.connections, 2);
    assert.equal(srv.infos[0]!.remoteAddress, '127.0.0.1');
    assert.equal(srv.infos[0]!.localPort, port);
    assert.equal(srv.infos[0]!.listener, 'test');
    assert.equal(srv.infos[0]!.tls, false);
    assert.notEqual(srv.infos[0]!.id, srv.infos[1]!.id);

    const c = connect(port);
    await c.inbox.closed;
    assert.equal(c.inbox.text, '421 4.7.0 too many connections\r\n');
    assert.equal(srv.listener.connections, 2);
    assert.equal(srv.infos.length, 2, 'a refused connection never reaches onConnection');

    a.socket.end();
    await waitFor('release', () => srv.listener.connections === 1 && srv.live() === 1);
    assert.equal(srv.releases(), 1, 'release runs once although both session and listener call it');

    const d = connect(port);
    await d.inbox.until('220 hello');
    d.socket.write('NOOP\r\n');
    await d.inbox.until('echo NOOP\r\n');
    assert.equal(srv.listener.connections, 2);
    b.socket.destroy();
    d.socket.destroy();
    await waitFor('all released', () => srv.listener.connections === 0 && srv.live() === 0);
    assert.equal(srv.releases(), 3);
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('a refused client that never closes is cut after the linger time', async () => {
  const srv = await startEcho(0, { refusalLingerMs: 100 });
  try {
    // The refusal half-closes; allowHalfOpen keeps the client's side open, as a client that ignores FIN would.
    const socket = net.connect({ port: srv.listener.address.port, host: '127.0.0.1', allowHalfOpen: true });
    const inbox = new Inbox(socket);
    await inbox.until('421');
    await new Promise((r) => setTimeout(r, 300));
    // Once the server has destroyed its side, the kernel answers our data with a reset; a lingering socket would swallow it.
    socket.write('still here\r\n');
    setTimeout(() => socket.write('still here\r\n'), 50);
    await withTimeout(inbox.closed, 2000, 'linger destroy');
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('stop() stops accepting, waits for sessions that finish within the grace period', async () => {
  const srv = await startEcho(10);
  const { port } = srv.listener.address;
  const a = connect(port);
  await a.inbox.until('220');
  const started = Date.now();
  const stopped = srv.listener.stop({ graceMs: 5000 });
  // New connections are refused by the OS once the listening socket is closed.
  const late = net.connect(port, '127.0.0.1');
  const lateError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    late.once('error', resolve);
    late.once('connect', () => resolve(null));
  });
  late.destroy();
  assert.equal(lateError?.code, 'ECONNREFUSED');
  // The session is still served during the grace period.
  a.socket.write('QUIT\r\n');
  await a.inbox.until('echo QUIT');
  a.socket.end();
  await stopped;
  assert.ok(Date.now() - started < 4000, 'stop returned as soon as the last session closed');
  assert.equal(srv.listener.connections, 0);
  assert.equal(srv.listener.stop({ graceMs: 0 }), srv.listener.stop({ graceMs: 0 }), 'idempotent');
});

test('stop() with grace destroys idle sockets when the grace period ends', async () => {
  const srv = await startEcho(10);
  const { port } = srv.listener.address;
  const a = connect(port);
  const b = connect(port);
  await a.inbox.until('220');
  await b.inbox.until('220');
  const started = Date.now();
  await withTimeout(srv.listener.stop({ graceMs: 200 }), 3000, 'stop');
  const took = Date.now() - started;
  assert.ok(took >= 150, `waited the grace period (${took} ms)`);
  await withTimeout(Promise.all([a.inbox.closed, b.inbox.closed]), 2000, 'clients closed');
  assert.equal(srv.listener.connections, 0);
  assert.equal(srv.live(), 0);
});

test('resets and writes to dead peers never crash the process', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => {
    uncaught.push(err);
  };
  process.on('uncaughtException', onUncaught);
  // Sessions here attach no 'error' handler of their own: the listener's must cover them.
  const listener = await Listener.start({
    name: 'reset',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    admit: () => ({ ok: true, release: () => {} }),
    onConnection: (socket) => {
      socket.write('220 hello\r\n');
      // Keep writing after the peer is gone: EPIPE / ECONNRESET on the server side.
      const timer = setInterval(() => socket.write(Buffer.alloc(64 * 1024)), 5);
      socket.on('close', () => clearInterval(timer));
    },
  });
  try {
    const { port } = listener.address;
    for (let i = 0; i < 5; i++) {
      const { socket, inbox } = connect(port);
      await inbox.until('220');
      socket.write('some input\r\n');
      // RST rather than FIN where the runtime can (node ≥ 18.3); plain destroy otherwise.
      const s = socket as net.Socket & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s.destroy();
    }
    // Connect and reset before the server has even looked at the socket.
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.once('connect', () => socket.destroy());
    }
    await waitFor('all closed', () => listener.connections === 0);
    const { inbox, socket } = connect(port);
    await inbox.until('220 hello', 3000);
    socket.destroy();
    await waitFor('all closed', () => listener.connections === 0);
    assert.deepEqual(uncaught, []);
  } finally {
    process.removeListener('uncaughtException', onUncaught);
    await listener.stop({ graceMs: 0 });
  }
});

test('an exception in admit or onConnection closes that socket only', async () => {
  let n = 0;
  const listener = await Listener.start({
    name: 'throws',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    admit: () => {
      if (++n === 1) throw new Error('admit bug');
      return { ok: true, release: () => {} };
    },
    onConnection: (socket) => {
      if (n === 2) throw new Error('session bug');
      socket.write('220 fine\r\n');
    },
  });
  try {
    const { port } = listener.address;
    const a = connect(port);
    await withTimeout(a.inbox.closed, 2000, 'closed after admit threw');
    const b = connect(port);
    await withTimeout(b.inbox.closed, 2000, 'closed after onConnection threw');
    await waitFor('released', () => listener.connections === 0);
    const c = connect(port);
    await c.inbox.until('220 fine');
    c.socket.destroy();
  } finally {
    await listener.stop({ graceMs: 0 });
  }
});

test('EADDRINUSE rejects start() with a message naming the listener and address', async () => {
  const first = await Listener.start({
    name: 'smtp',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    admit: () => ({ ok: true, release: () => {} }),
    onConnection: (socket) => socket.end(),
  });
  const { port } = first.address;
  try {
    await assert.rejects(
      Listener.start({
        name: 'submission',
        host: '127.0.0.1',
        port,
        implicitTls: null,
        logger: silentLogger,
        admit: () => ({ ok: true, release: () => {} }),
        onConnection: (socket) => socket.end(),
      }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^listener submission: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`));
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      },
    );
  } finally {
    await first.stop({ graceMs: 0 });
  }
});
