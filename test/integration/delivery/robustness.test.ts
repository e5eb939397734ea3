/**
 * Misbehaving servers never make the client throw or hang: refused
 * connections, timeouts at each step (short options, and the injected clock),
 * garbage and oversized replies, connections closed mid-session or mid-DATA.
 * Everything ends as a temporary outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Clock } from '../../../src/core/clock.js';
import { deliverOverSmtp } from '../../../src/delivery/smtp-client.js';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { FAST, FAST_TIMEOUTS, MESSAGE, request, withServer } from './support.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('connection refused: temporary, stage connect, no reply code', async () => {
  const port = await freePort();
  const result = await deliverOverSmtp({ ...request({ port } as ScriptedSmtpServer), port }, FAST);
  assert.equal(result.failure?.stage, 'connect');
  assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_CONNECT');
  const o = result.recipients[0]!;
  assert.deepEqual([o.status, o.code, o.enhanced], ['temporary', null, '4.4.1']);
  assert.equal(o.diagnostic, `X-Postline; connect to mx.test[127.0.0.1]:${port}: Connection refused`);
});

test('5xx greeting: temporary (try the next MX, retry later), like Postfix', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { greeting: () => '554 5.3.2 no SMTP service here' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.deepEqual([result.failure?.stage, result.failure?.status, result.failure?.code, result.failure?.enhanced], ['greeting', 'temporary', 554, '4.3.2']);
    },
  );
});

const timeoutCases: Array<[string, Parameters<typeof ScriptedSmtpServer.start>[0], string]> = [
  ['greeting', { script: { greeting: () => ({ hang: true }) } }, 'greeting'],
  ['EHLO', { script: { ehlo: () => ({ hang: true }) } }, 'helo'],
  ['MAIL', { script: { mail: () => ({ delayMs: 2000 }) } }, 'mail'],
  ['RCPT', { script: { rcpt: () => ({ delayMs: 2000 }) } }, 'rcpt'],
  ['DATA', { script: { data: () => ({ hang: true }) } }, 'data'],
  ['end of DATA', { script: { dataEnd: () => ({ hang: true }) } }, 'message'],
];
for (const [what, options, stage] of timeoutCases) {
  test(`no reply to ${what} within the limit: temporary timeout`, async () => {
    await withServer(
      () => ScriptedSmtpServer.start(options),
      async (server) => {
        const short = Object.fromEntries(Object.keys(FAST_TIMEOUTS).map((k) => [k, 200]));
        const started = Date.now();
        const result = await deliverOverSmtp(request(server), { timeouts: short });
        assert.ok(Date.now() - started < 1500, 'gave up in time');
        assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_TIMEOUT');
        assert.equal(result.failure?.stage, stage);
        assert.deepEqual([result.recipients[0]?.status, result.recipients[0]?.enhanced], ['temporary', '4.4.2']);
      },
    );
  });
}

test('timers run on the injected clock (the greeting timeout fires when the clock says so)', async () => {
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const clock: Clock = {
    now: () => 0,
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  };
  await withServer(
    () => ScriptedSmtpServer.start({ script: { greeting: () => ({ hang: true }) } }),
    async (server) => {
      const pending = deliverOverSmtp(request(server), { clock, timeouts: { greeting: 777_000 } });
      for (let i = 0; i < 200 && !timers.some((t) => t.ms === 777_000); i++) await new Promise((r) => setTimeout(r, 10));
      const greetingTimer = timers.find((t) => t.ms === 777_000);
      assert.ok(greetingTimer, 'the greeting timer was set through the clock');
      assert.ok(timers.find((t) => t.ms === 30_000)?.cleared, 'the connect timer was cleared once connected');
      greetingTimer.fn();
      const result = await pending;
      assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_TIMEOUT');
      assert.equal(result.failure?.stage, 'greeting');
    },
  );
});

test('garbage instead of a greeting: temporary protocol error', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { greeting: () => 'HTTP/1.1 400 Bad Request' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.deepEqual([result.failure?.stage, result.failure?.errorCode, result.recipients[0]?.status], ['greeting', 'ERR_DELIVERY_PROTOCOL', 'temporary']);
    },
  );
});

test('a 1 MB reply line: bounded read, temporary protocol error', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { ehlo: () => ({ reply: Buffer.concat([Buffer.from('250-'), Buffer.alloc(1024 * 1024, 'A'), Buffer.from('\r\n250 OK\r\n')]) }) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_PROTOCOL');
      assert.match(result.failure!.text, /longer than 4096 bytes/);
      assert.equal(result.recipients[0]?.status, 'temporary');
    },
  );
});

test('a reply that never ends (endless continuation lines): protocol error, not unbounded memory', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { mail: () => ({ reply: '250-more\r\n'.repeat(1000) }) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_PROTOCOL');
      assert.equal(result.failure?.stage, 'mail');
    },
  );
});

test('an out-of-sequence reply (354 to MAIL) is temporary, never a bounce', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ extensions: ['SIZE 100000'], script: { mail: () => '354 go ahead' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.deepEqual([result.recipients[0]?.status, result.failure?.errorCode], ['temporary', 'ERR_DELIVERY_PROTOCOL']);
    },
  );
});

test('server closes the connection at RCPT: refused recipients keep their reply, the rest are temporary', async () => {
  await withServer(
    () =>
      ScriptedSmtpServer.start({
        script: { rcpt: (_s, r) => (r.startsWith('x@') ? '550 5.1.1 unknown' : r.startsWith('c@') ? { close: true } : undefined) },
      }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'x@example.com', 'c@example.com', 'd@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => o.status), ['temporary', 'permanent', 'temporary', 'temporary']);
      assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_CLOSED');
      assert.equal(result.failure?.stage, 'rcpt');
      assert.equal(server.delivered().length, 0);
    },
  );
});

test('421 at RCPT then close: temporary for everyone', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { rcpt: () => ({ reply: '421 4.4.2 idle too long', close: true }) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'b@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => [o.status, o.code]), [['temporary', 421], ['temporary', null]]);
    },
  );
});

test('connection dropped mid-DATA: temporary for the accepted recipients', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { data: () => ({ dropAfterBytes: 1000 }), rcpt: (_s, r) => (r.startsWith('x') ? '550 5.1.1 no' : undefined) } }),
    async (server) => {
      const body = Buffer.concat([MESSAGE, Buffer.alloc(2 * 1024 * 1024, 'y'), Buffer.from('\r\n')]);
      const result = await deliverOverSmtp(request(server, { body, recipients: ['a@example.com', 'x@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => [o.status, o.stage]), [['temporary', 'message'], ['permanent', 'rcpt']]);
      assert.equal(result.failure?.stage, 'message');
      assert.equal(server.delivered().length, 0);
    },
  );
});

test('server that reads nothing during DATA: the data-block timer ends it', async () => {
  // A raw server that greets and accepts everything, then stops reading at DATA.
  const sockets: net.Socket[] = [];
  const srv = net.createServer((socket) => {
    sockets.push(socket);
    socket.write('220 stuck ESMTP\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i !== -1; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^EHLO/i.test(line)) socket.write('250 stuck\r\n');
        else if (/^DATA/i.test(line)) {
          socket.write('354 go\r\n');
          socket.pause(); // and never read again
          return;
        } else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as net.AddressInfo).port;
    const body = Buffer.alloc(64 * 1024 * 1024, 'z');
    const started = Date.now();
    const result = await deliverOverSmtp({ ...request({ port } as ScriptedSmtpServer), port, body }, { timeouts: { ...FAST_TIMEOUTS, dataBlock: 300 } });
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual([result.failure?.stage, result.failure?.errorCode, result.recipients[0]?.status], ['message', 'ERR_DELIVERY_TIMEOUT', 'temporary']);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
