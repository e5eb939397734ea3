/**
 * PROXY protocol v1/v2 on real sockets: a real server whose smtp, smtps and
 * pop3 listeners sit "behind a load balancer" (this test plays the balancer
 * and writes the header), and the bare Listener for the byte-level cases
 * (header and payload in one packet, byte-at-a-time, timeouts, TLS).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { Duplex } from 'node:stream';
import { silentLogger } from '../../../src/core/log.js';
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from '../../../src/codec/proxy/serialize.js';
import { Listener, type ConnectionInfo, type ListenerOptions } from '../../../src/net/listener.js';
import { createSecureContext, loadTlsMaterial } from '../../../src/net/tls.js';
import { DEFAULT_TEST_YAML, startTestServer, type TestServer } from '../../helpers/server.js';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { timerClock } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/tmp.js';
import { Inbox, withTimeout } from './support.js';

const DST = { address: '127.0.0.1', port: 25 };
const v1 = (ip: string, port = 40000): Buffer => encodeProxyHeaderV1({ command: 'proxy', source: { address: ip, port }, destination: ip.includes(':') ? { address: '::1', port: 25 } : DST });
const v2 = (ip: string, port = 40000): Buffer =>
  encodeProxyHeaderV2({ command: 'proxy', source: { address: ip, port }, destination: ip.includes(':') ? { address: '::1', port: 25 } : DST }, { tlvs: [{ type: 0x01, value: Buffer.from('smtp') }] });

// ---------------------------------------------------------------------------
// A real server: smtp, smtps and pop3 behind the "balancer"; submission is a plain listener.

let server: TestServer;
before(async () => {
  const base = DEFAULT_TEST_YAML.replace(/^listen:\n(?: {2}.*\n)+/m, [
    'listen:',
    '  smtp: { address: "127.0.0.1:0", proxyProtocol: true }',
    '  smtps: { address: "127.0.0.1:0", proxyProtocol: true }',
    '  pop3: { address: "127.0.0.1:0", proxyProtocol: true }',
    '  submission: 127.0.0.1:0',
    '',
  ].join('\n'));
  assert.match(base, /proxyProtocol: true/);
  server = await startTestServer('relay: { trustedNetworks: [192.168.0.0/16] }\ndelivery: { routes: { "remote.test": "127.0.0.1:1" } }\n', {
    baseYaml: base,
    limits: 'maxConnectionsPerIp: 3, authFailuresPerIp: 2',
  });
});
after(async () => {
  await server?.stop();
});

/** Connects to a proxyProtocol listener, sends `header` as the balancer would, reads the banner. */
async function proxied(header: Buffer, listener: 'smtp' | 'smtps' = 'smtp'): Promise<RawSmtp> {
  const c = await RawSmtp.connect(server.port(listener));
  c.write(header);
  return c;
}

async function relayAttempt(header: Buffer): Promise<string> {
  const c = await proxied(header);
  try {
    assert.equal((await c.reply()).code, 220);
    await c.cmd('EHLO client.example');
    assert.equal((await c.cmd('MAIL FROM:<someone@elsewhere.example>')).code, 250);
    return (await c.cmd('RCPT TO:<user@remote.test>')).text;
  } finally {
    c.close();
  }
}

test('v1: relay.trustedNetworks sees the claimed client, not the balancer on 127.0.0.1', async () => {
  assert.match(await relayAttempt(v1('192.168.7.10')), /^250 /);
  assert.match(await relayAttempt(v1('203.0.113.5')), /^554 5\.7\.1/);
});

test('v2 (with a TLV): the same', async () => {
  assert.match(await relayAttempt(v2('192.168.7.11')), /^250 /);
  assert.match(await relayAttempt(v2('203.0.113.6')), /^554 5\.7\.1/);
  // IPv4-mapped IPv6 is the IPv4 client: trusted too.
  assert.match(await relayAttempt(v2('::ffff:192.168.7.12')), /^250 /);
});

test('EHLO and the stored Received header name the claimed client (v1 IPv4, v2 IPv6)', async () => {
  for (const [header, literal] of [
    [v1('198.51.100.23'), '[198.51.100.23]'],
    [v2('2001:db8::5'), '[IPv6:2001:db8::5]'],
  ] as const) {
    const c = await proxied(header);
    assert.equal((await c.reply()).code, 220);
    assert.ok((await c.cmd('EHLO client.example')).lines[0]!.includes(`client.example ${literal.replace('IPv6:', '')}`));
    await c.cmd('MAIL FROM:<sender@remote.example>');
    assert.equal((await c.cmd('RCPT TO:<ivanov@example.org>')).code, 250);
    assert.match((await c.cmd('DATA')).text, /^354/);
    c.write(`Subject: via ${literal}\r\n\r\nhi\r\n.\r\n`);
    assert.match((await c.reply()).text, /^250 2\.0\.0/);
    c.close();
    const msgs = server.store.listMessages('ivanov@example.org', 'INBOX');
    const stored = (await server.store.readMessage('ivanov@example.org', 'INBOX', msgs[msgs.length - 1]!.uid)).toString('latin1');
    assert.ok(stored.startsWith(`Received: from client.example (${literal})\r\n`), stored.slice(0, 200));
  }
});

test('maxConnectionsPerIp counts the claimed address', async () => {
  const open = [await proxied(v1('192.0.2.1')), await proxied(v2('192.0.2.1')), await proxied(v1('192.0.2.1', 1))];
  for (const c of open) assert.equal((await c.reply()).code, 220);
  const fourth = await proxied(v1('192.0.2.1'));
  assert.match((await fourth.reply()).text, /^421 4\.7\.0 Too many connections from your address/);
  await fourth.waitClosed();
  // Another client behind the same balancer (same socket address 127.0.0.1) is its own count.
  const other = await proxied(v1('192.0.2.2'));
  assert.equal((await other.reply()).code, 220);
  for (const c of [...open, other]) c.close();
});

test('auth failure limit counts the claimed address (smtps: header, then TLS)', async () => {
  const authLine = (pw: string) => 'AUTH PLAIN ' + Buffer.from(`\0ivanov@example.org\0${pw}`).toString('base64');
  const smtps = async (ip: string): Promise<TlsLines> => {
    const raw = net.connect(server.port('smtps'), '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(v1(ip));
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return new TlsLines(secure);
  };
  for (let i = 0; i < 2; i++) {
    const c = await smtps('203.0.113.77');
    assert.match(await c.line(), /^220 /);
    assert.match(await c.cmd('EHLO client.example'), /Hello client\.example \[203\.0\.113\.77\]/);
    // The second failure reaches the limit: 421 and close instead of 535.
    assert.match(await c.cmd(authLine('wrong')), i === 0 ? /^535 / : /^421 4\.7\.0/);
    c.close();
  }
  const blocked = await smtps('203.0.113.77');
  assert.match(await blocked.line(), /^421 4\.7\.0 Too many authentication failures/);
  blocked.close();
  const fine = await smtps('203.0.113.78');
  assert.match(await fine.line(), /^220 /);
  await fine.cmd('EHLO client.example');
  assert.match(await fine.cmd(authLine('ivanov-secret')), /^235 /);
  fine.close();
});

test('malformed header, no header, garbage: closed without a word; the next good connection works', async () => {
  const bad = [
    Buffer.from('EHLO client.example\r\n'), // a client talking SMTP straight to a proxyProtocol listener
    Buffer.from('PROXY TCP4 192.168.7.10 10.0.0.1 70000 25\r\n'),
    Buffer.from('PROXY TCP4 192.168.7.300 10.0.0.1 1 25\r\n'),
    Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}`),
    Buffer.concat([v2('192.168.7.10').subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12)]), // version 3
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]), // a bare TLS ClientHello
    Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)),
  ];
  for (const bytes of bad) {
    const c = await proxied(bytes);
    await c.waitClosed();
    await assert.rejects(c.reply(), /connection closed; unread: ""/, 'not a byte was sent back');
  }
  assert.match(await relayAttempt(v1('192.168.7.10')), /^250 /);
});

test('LOCAL (a balancer health check) and UNKNOWN get a session as the balancer itself', async () => {
  for (const header of [encodeProxyHeaderV2({ command: 'local' }), encodeProxyHeaderV1({ command: 'unknown' }), encodeProxyHeaderV2({ command: 'unknown' })]) {
    const c = await proxied(header);
    assert.equal((await c.reply()).code, 220);
    assert.match((await c.cmd('EHLO lb.example')).text, /Hello lb\.example \[127\.0\.0\.1\]/);
    c.close();
  }
});

test('a plain listener next to them is untouched: no header needed, a PROXY line is just a bad command', async () => {
  const c = await RawSmtp.connect(server.port('submission'));
  assert.equal((await c.reply()).code, 220);
  assert.match((await c.cmd('PROXY TCP4 192.168.7.10 10.0.0.1 1 25')).text, /^5\d\d /);
  assert.match((await c.cmd('EHLO client.example')).text, /Hello client\.example \[127\.0\.0\.1\]/);
  c.close();
});

test('POP3 behind the balancer: auth.plaintext loopback judges the claimed client', async () => {
  // Claimed 203.0.113.40: not loopback, so USER/PASS without TLS is refused.
  const remote = await Pop3Client.connect(server.port('pop3'));
  remote.write(v2('203.0.113.40'));
  assert.ok((await remote.greeting()).ok);
  await remote.cmd('USER ivanov@example.org');
  const refused = await remote.cmd('PASS ivanov-secret');
  assert.ok(!refused.ok, refused.line);
  remote.socket.destroy();
  // A v1 header claiming a loopback client: allowed, and the login works.
  const local = await Pop3Client.connect(server.port('pop3'));
  local.write(v1('127.0.0.9'));
  assert.ok((await local.greeting()).ok);
  assert.ok((await local.login('ivanov@example.org', 'ivanov-secret')).ok);
  assert.ok((await local.cmd('STAT')).ok);
  local.socket.destroy();
});

/** Reply reader over a TLS socket (the SMTP helper is plaintext-only): each call returns one whole reply, continuation lines included. */
class TlsLines {
  private offset = 0;
  private readonly inbox: Inbox;
  constructor(private readonly socket: tls.TLSSocket) {
    this.inbox = new Inbox(socket);
  }
  async line(): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const rest = this.inbox.text.slice(this.offset);
      const m = /^\d{3} [^\r\n]*\r\n/m.exec(rest);
      if (m) {
        this.offset += m.index + m[0].length;
        return rest.slice(0, m.index + m[0].length);
      }
      if (Date.now() > deadline) throw new Error(`no reply; got ${JSON.stringify(rest)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async cmd(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.line();
  }
  close(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------
// The bare Listener: byte-level behaviour.

async function startEcho(extra: Partial<ListenerOptions> = {}) {
  const infos: ConnectionInfo[] = [];
  let admitted = 0;
  const listener = await Listener.start({
    name: 'test',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    proxyProtocol: true,
    admit: () => {
      admitted++;
      return { ok: true, release: () => {} };
    },
    onConnection: (socket, info) => {
      infos.push(info);
      socket.on('data', (chunk: Buffer) => socket.write(`echo ${chunk.toString()}`));
      socket.write(`220 hello ${info.remoteAddress}\r\n`);
    },
    ...extra,
  });
  return { listener, infos, admitted: () => admitted };
}

function connect(port: number): Promise<{ socket: net.Socket; inbox: Inbox }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const inbox = new Inbox(socket);
  return new Promise((resolve) => socket.once('connect', () => resolve({ socket, inbox })));
}

test('listener: header and payload in one packet — the payload reaches the session; info has client and balancer', async () => {
  const srv = await startEcho();
  try {
    const { socket, inbox } = await connect(srv.listener.address.port);
    socket.write(Buffer.concat([v1('192.0.2.50', 6000), Buffer.from('pipelined\r\n')]));
    await inbox.until('220 hello 192.0.2.50\r\n');
    await inbox.until('echo pipelined\r\n');
    const info = srv.infos[0]!;
    assert.equal(info.remoteAddress, '192.0.2.50');
    assert.equal(info.remotePort, 6000);
    assert.equal(info.peerAddress, '127.0.0.1');
    assert.equal(info.peerPort, socket.localPort);
    socket.destroy();
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('listener: a header arriving one byte at a time (v1 and v2)', async () => {
  const srv = await startEcho();
  try {
    for (const [header, ip] of [
      [v1('2001:db8::1'), '2001:db8::1'],
      [v2('::ffff:192.0.2.51'), '192.0.2.51'],
    ] as const) {
      const { socket, inbox } = await connect(srv.listener.address.port);
      for (const byte of header) {
        socket.write(Buffer.of(byte));
        await new Promise((r) => setImmediate(r));
      }
      await inbox.until(`220 hello ${ip}\r\n`);
      socket.write('after\r\n');
      await inbox.until('echo after\r\n');
      socket.destroy();
    }
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('listener: a silent client is cut at the header timeout, one that hangs up mid-header is dropped; neither is admitted', async () => {
  const clock = timerClock();
  const srv = await startEcho({ clock, proxyHeaderTimeoutMs: 5000 });
  try {
    const silent = await connect(srv.listener.address.port);
    const partial = await connect(srv.listener.address.port);
    partial.socket.write('PROXY TCP4 192.0.2.');
    await new Promise((r) => setTimeout(r, 50));
    partial.socket.end();
    await partial.inbox.closed;
    clock.advance(4999);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!silent.socket.destroyed && silent.inbox.text === '', 'still waiting before the timeout');
    clock.advance(1);
    await withTimeout(silent.inbox.closed, 3000, 'silent client closed');
    assert.equal(silent.inbox.text, '');
    assert.equal(srv.admitted(), 0);
    // A good one after them is fine.
    const good = await connect(srv.listener.address.port);
    good.socket.write(v2('192.0.2.52'));
    await good.inbox.until('220 hello 192.0.2.52\r\n');
    good.socket.destroy();
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('listener: beyond maxPendingProxyHeaders, a connection still waiting for its header is closed at once; the waiting ones are served', async () => {
  const srv = await startEcho({ maxPendingProxyHeaders: 3 });
  try {
    const waiting = await Promise.all([0, 1, 2].map(() => connect(srv.listener.address.port)));
    await new Promise((r) => setTimeout(r, 50)); // all three accepted and waiting
    const extra = await connect(srv.listener.address.port);
    await withTimeout(extra.inbox.closed, 3000, 'the fourth closed');
    assert.equal(extra.inbox.text, '');
    // The three waiting ones still get through, and once they have, there is room again.
    waiting.forEach((w, k) => w.socket.write(v1(`192.0.2.${60 + k}`, 6000)));
    for (const [k, w] of waiting.entries()) await w.inbox.until(`220 hello 192.0.2.${60 + k}\r\n`);
    const later = await connect(srv.listener.address.port);
    later.socket.write(v2('192.0.2.70'));
    await later.inbox.until('220 hello 192.0.2.70\r\n');
    for (const c of [...waiting, later]) c.socket.destroy();
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('listener: a v2 header announcing UDP is refused', async () => {
  const srv = await startEcho();
  try {
    const header = v2('192.0.2.53');
    header[13] = 0x12; // INET + DGRAM
    const { socket, inbox } = await connect(srv.listener.address.port);
    socket.write(header);
    await withTimeout(inbox.closed, 3000, 'closed');
    assert.equal(inbox.text, '');
    assert.equal(srv.admitted(), 0);
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('listener: stop() during a pending header ends it promptly', async () => {
  const srv = await startEcho();
  const { inbox } = await connect(srv.listener.address.port);
  await new Promise((r) => setTimeout(r, 50)); // accepted, waiting for its header
  await withTimeout(srv.listener.stop({ graceMs: 0 }), 3000, 'stop');
  await withTimeout(inbox.closed, 3000, 'closed');
});

test('listener without proxyProtocol: a PROXY line is ordinary data for the session', async () => {
  const srv = await startEcho({ proxyProtocol: false });
  try {
    const { socket, inbox } = await connect(srv.listener.address.port);
    await inbox.until('220 hello 127.0.0.1\r\n');
    socket.write(v1('192.0.2.60'));
    await inbox.until('echo PROXY TCP4 192.0.2.60');
    assert.equal(srv.infos[0]!.remoteAddress, '127.0.0.1');
    assert.equal(srv.infos[0]!.peerAddress, '127.0.0.1');
    socket.destroy();
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

let context: Promise<SecureContext> | null = null;
function tlsContext(): Promise<SecureContext> {
  context ??= (async () => {
    const dir = tempDir();
    try {
      return createSecureContext(await loadTlsMaterial({ tls: null, dataDir: dir.path, hostname: 'mx.test' }, silentLogger));
    } finally {
      dir.remove();
    }
  })();
  return context;
}

/**
 * A client-side transport that sends `header` glued to the TLS client's
 * first write (the ClientHello), in one write on the wire, as a balancer
 * forwarding a fast client would.
 */
function gluedTransport(raw: net.Socket, header: Buffer): Duplex {
  let first = true;
  const transport = new Duplex({
    write(chunk: Buffer, _enc, done) {
      raw.write(first ? Buffer.concat([header, chunk]) : chunk, done);
      first = false;
    },
    read() {},
    final(done) {
      raw.end(done);
    },
    destroy(err, done) {
      raw.destroy();
      done(err);
    },
  });
  raw.on('data', (d) => transport.push(d));
  raw.on('end', () => transport.push(null));
  raw.on('error', (err) => transport.destroy(err));
  return transport;
}

test('listener, implicit TLS: header then ClientHello in one packet; TLS works and sees the claimed client', async () => {
  const srv = await startEcho({ implicitTls: await tlsContext() });
  try {
    for (const glued of [true, false]) {
      const raw = net.connect(srv.listener.address.port, '127.0.0.1');
      raw.setNoDelay(true);
      await new Promise((resolve) => raw.once('connect', resolve));
      let transport: Duplex = raw;
      if (glued) transport = gluedTransport(raw, v2('192.0.2.70'));
      else raw.write(v1('192.0.2.70'));
      const secure = tls.connect({ socket: transport, rejectUnauthorized: false });
      const inbox = new Inbox(secure);
      await withTimeout(new Promise((resolve) => secure.once('secureConnect', resolve)), 5000, 'TLS handshake');
      await inbox.until('220 hello 192.0.2.70\r\n');
      secure.write('inside tls\r\n');
      await inbox.until('echo inside tls\r\n');
      assert.equal(srv.infos.at(-1)!.tls, true);
      secure.destroy();
      raw.destroy();
    }
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});
