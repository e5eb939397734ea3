/** Bad input on the HTTP listener: clear 4xx answers, no crash, and the server keeps serving. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { silentLogger } from '../../../src/core/log.js';
import { HttpServer } from '../../../src/http/server.js';
import type { HttpApp } from '../../../src/http/api.js';
import { TOKEN, bearer, rawExchange, request, startHttpServer } from './support.js';

const SLOW = { timeout: 60_000 };

test('404 for unknown paths, 405 with Allow for wrong methods, 400 for bad targets', SLOW, async () => {
  const server = await startHttpServer(`admin: { token: "${TOKEN}" }\n`);
  try {
    const port = server.port('http');
    for (const path of ['/', '/nothing', '/healthz/', '/metrics/x', '/HEALTHZ']) {
      const res = await request(port, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(JSON.parse(res.body), { error: 'not found' });
    }
    const post = await request(port, 'POST', '/healthz', { body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    assert.equal((await request(port, 'DELETE', '/metrics')).status, 405);
    const put = await request(port, 'PUT', '/api/queue/ABC', { headers: bearer() });
    assert.equal(put.status, 405);
    assert.equal(put.headers['allow'], 'DELETE');
    assert.equal((await request(port, 'DELETE', '/api/queue/%E0%A4%A', { headers: bearer() })).status, 400);

    // Request targets: absolute-form is a path like any other; "*" names none.
    const absolute = await rawExchange(port, `GET http://127.0.0.1:${port}/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(absolute.data, /^HTTP\/1\.1 200 /);
    const star = await rawExchange(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(star.data, /^HTTP\/1\.1 400 /);
    // HTTP/1.0 without Host is still HTTP.
    const old = await rawExchange(port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.match(old.data, /^HTTP\/1\.[01] 200 /);
  } finally {
    await server.stop();
  }
});

test('garbage bytes, oversized headers and bodies get a 4xx and a close; the server still serves', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const port = server.port('http');
    const garbage = await rawExchange(port, Buffer.from([0x00, 0xff, 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]));
    assert.ok(garbage.closed, 'connection closed');
    assert.match(garbage.data, /^(HTTP\/1\.1 400 |$)/);
    const smtp = await rawExchange(port, 'EHLO mail.example\r\nMAIL FROM:<a@b>\r\n\r\n');
    assert.ok(smtp.closed);
    assert.match(smtp.data, /^HTTP\/1\.1 400 /);

    const hugeHeader = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.ok(hugeHeader.closed);
    assert.match(hugeHeader.data, /^HTTP\/1\.1 431 /);

    // Declared too large: refused before reading it.
    const declared = await request(port, 'POST', '/api/queue/flush', { body: Buffer.alloc(1024 * 1024, 0x61) });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers['connection'], 'close');
    // Chunked, so only counting reveals it.
    const chunk = `${(4000).toString(16)}\r\n${'c'.repeat(4000)}\r\n`;
    const chunked = await rawExchange(port, `POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(10)}0\r\n\r\n`);
    assert.match(chunked.data, /^HTTP\/1\.1 413 /);
    assert.ok(chunked.closed);
    // A small body on a route that takes none is read and ignored.
    assert.equal((await request(port, 'GET', '/healthz', { body: 'x'.repeat(100) })).status, 200);

    // Half-open client: the request, then FIN. It still gets its answer.
    const halfOpen = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { end: true });
    assert.match(halfOpen.data, /^HTTP\/1\.1 200 /);
    assert.ok(halfOpen.closed);
    // A client that connects and goes away at once.
    const gone = await rawExchange(port, '', { end: true });
    assert.ok(gone.closed);

    // Still serving, every other listener untouched.
    const health = await request(port, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
  } finally {
    await server.stop();
  }
});

test('stop() ends keep-alive, half-sent and silent connections at once', SLOW, async () => {
  const server = await startHttpServer();
  const port = server.port('http');
  const sockets = await Promise.all(
    [
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', // keep-alive after its answer
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: ', // in the middle of the headers
      '', // silent
    ].map(
      (bytes) =>
        new Promise<{ closed: Promise<void> }>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => {
            if (bytes) s.write(bytes);
            resolve({ closed: new Promise<void>((r) => s.once('close', () => r())) });
          });
          s.on('error', () => {});
          s.once('error', reject);
          s.resume();
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await server.stop();
  await Promise.all(sockets.map((s) => s.closed));
  // Without waiting for the 2 s grace given to requests in progress: none of these was one.
  assert.ok(Date.now() - started < 1_500, `stop took ${Date.now() - started} ms`);
});

const APP: HttpApp = {
  health: () => [],
  metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
  admin: null,
};

test('timeouts: slow headers get 408, an idle connection is closed', SLOW, async () => {
  const server = await HttpServer.start({
    host: '127.0.0.1',
    port: 0,
    app: APP,
    logger: silentLogger,
    limits: { headersTimeoutMs: 500, requestTimeoutMs: 800, idleSocketTimeoutMs: 5_000, keepAliveTimeoutMs: 300 },
  });
  try {
    const port = server.address.port;
    const slow = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 5_000 });
    assert.ok(slow.closed, 'slow client cut');
    assert.match(slow.data, /^HTTP\/1\.1 408 /);
    assert.ok(slow.ms < 3_000);
    const silent = await rawExchange(port, '', { timeoutMs: 5_000 });
    assert.ok(silent.closed, 'silent client cut');
    const slowBody = await rawExchange(port, 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab', { timeoutMs: 5_000 });
    assert.ok(slowBody.closed, 'slow body cut');
    assert.match(slowBody.data, /^HTTP\/1\.1 408 /);
    assert.ok(slowBody.ms < 3_000);
    const keepAlive = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 5_000 });
    assert.match(keepAlive.data, /^HTTP\/1\.1 200 /);
    assert.ok(keepAlive.closed, 'idle keep-alive connection closed');
  } finally {
    await server.stop();
  }
});

test('stop() lets a request in progress finish, then closes its connection', SLOW, async () => {
  let release: () => void = () => {};
  const slow = new Promise<void>((r) => (release = r));
  let asked: () => void = () => {};
  const metricsAsked = new Promise<void>((r) => (asked = r));
  const server = await HttpServer.start({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    app: {
      ...APP,
      metrics: async () => {
        asked();
        await slow;
        return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' };
      },
    },
  });
  const exchange = rawExchange(server.address.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 5_000 });
  await metricsAsked;
  let stopped = false;
  const stopping = server.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stopped, false, 'stop waits for the request in progress');
  release();
  const res = await exchange;
  await stopping;
  assert.match(res.data, /^HTTP\/1\.1 200 /);
  assert.match(res.data, /\r\nConnection: close\r\n/i);
  assert.match(res.data, /up 1\n$/);
  assert.ok(res.closed, 'closed after its answer');
});
