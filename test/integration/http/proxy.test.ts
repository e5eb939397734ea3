/** listen.http with proxyProtocol: the PROXY header (v1 or v2) comes first, then plain HTTP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from '../../../src/codec/proxy/serialize.js';
import { startTestServer } from '../../helpers/server.js';
import { TOKEN, rawExchange, withHttp } from './support.js';

const SLOW = { timeout: 60_000 };
const PROXIED = { command: 'proxy', source: { address: '203.0.113.7', port: 40000 }, destination: { address: '127.0.0.1', port: 8025 } } as const;

test('requests behind a PROXY header are served; a connection without one is dropped', SLOW, async () => {
  const server = await startTestServer(`admin: { token: "${TOKEN}" }\n`, { baseYaml: withHttp('{ address: "127.0.0.1:0", proxyProtocol: true }') });
  try {
    const port = server.port('http');
    const v1 = await rawExchange(port, Buffer.concat([encodeProxyHeaderV1(PROXIED), Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    assert.match(v1.data, /^HTTP\/1\.1 200 /);
    assert.match(v1.data, /\{"status":"ok"\}/);

    // v2, sent in two pieces, with an admin call.
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(encodeProxyHeaderV2(PROXIED));
    await new Promise((r) => setTimeout(r, 50));
    socket.write(`POST /api/queue/flush HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    await closed;
    assert.match(data, /^HTTP\/1\.1 200 /);
    assert.match(data, /\{"queued":0\}/);

    // Plain HTTP where a PROXY header must be: not served.
    const bare = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(bare.closed);
    assert.equal(bare.data, '');
  } finally {
    await server.stop();
  }
});

test('stop() also ends a connection still waiting for its PROXY header', SLOW, async () => {
  const server = await startTestServer('', { baseYaml: withHttp('{ address: "127.0.0.1:0", proxyProtocol: true }') });
  const socket = net.connect(server.port('http'), '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write('PROXY TCP4 203.0.113.7');
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await server.stop();
  await closed;
  // At once: neither the PROXY header timeout (5 s) nor the grace for requests in progress (2 s).
  assert.ok(Date.now() - started < 1_500, `stop took ${Date.now() - started} ms`);
});
