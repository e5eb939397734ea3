/**
 * DestinationPool: connections reused across messages (RSET between), at most
 * N per destination, idle ones closed, dead cached ones replaced without the
 * message noticing, and a clean shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationPool, type OutboundMessage } from '../../../src/delivery/smtp-client.js';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { FAST, MESSAGE, sleep, withServer } from './support.js';

const message = (n: number, recipients = [`r${n}@example.com`]): OutboundMessage => ({
  sender: 'alice@example.org',
  recipients,
  body: Buffer.concat([MESSAGE, Buffer.from(`message ${n}\r\n`)]),
  smtputf8: false,
  body8bit: false,
});

const dest = (server: ScriptedSmtpServer) => ({ host: 'mx.test', port: server.port, ip: '127.0.0.1' });

test('two deliveries in a row share one connection, with RSET between', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxPerDestination: 2 });
      try {
        const first = await pool.deliver(dest(server), message(1));
        const second = await pool.deliver(dest(server), message(2));
        assert.equal(first.recipients[0]?.status, 'delivered');
        assert.equal(second.recipients[0]?.status, 'delivered');
        assert.equal(server.connections, 1);
        assert.deepEqual(server.delivered().map((t) => t.data?.toString().endsWith(`message ${t.rcpts[0]!.address.slice(1, 2)}\r\n`)), [true, true]);
        const commands = server.transcript(1).filter((l) => /^C: (MAIL|RSET|DATA|EHLO)/.test(l)).map((l) => l.slice(3, 7));
        assert.deepEqual(commands, ['EHLO', 'MAIL', 'DATA', 'RSET', 'MAIL', 'DATA']);
        assert.deepEqual(pool.stats(), { destinations: 1, active: 0, idle: 1, waiting: 0, opened: 1 });
      } finally {
        await pool.close();
      }
      assert.ok(server.transcript(1).includes('C: QUIT'), 'close() says QUIT to idle connections');
    },
  );
});

test('at most maxPerDestination connections; the rest wait and reuse them', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { dataEnd: () => ({ delayMs: 80, reply: '250 2.0.0 Ok' }) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxPerDestination: 2 });
      try {
        const pending = Array.from({ length: 7 }, (_, i) => pool.deliver(dest(server), message(i)));
        await sleep(20);
        const during = pool.stats();
        assert.equal(during.active, 2);
        assert.equal(during.waiting, 5);
        const results = await Promise.all(pending);
        assert.ok(results.every((r) => r.recipients[0]?.status === 'delivered'));
        assert.equal(server.delivered().length, 7);
        assert.ok(server.maxConcurrent <= 2, `at most 2 at once, saw ${server.maxConcurrent}`);
        assert.equal(server.connections, 2, 'the waiting deliveries reused the two connections');
      } finally {
        await pool.close();
      }
    },
  );
});

test('separate destinations have separate limits', async () => {
  const a = await ScriptedSmtpServer.start({ script: { dataEnd: () => ({ delayMs: 50, reply: '250 ok' }) } });
  const b = await ScriptedSmtpServer.start({ script: { dataEnd: () => ({ delayMs: 50, reply: '250 ok' }) } });
  const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxPerDestination: 1 });
  try {
    const pending = [pool.deliver(dest(a), message(1)), pool.deliver(dest(b), message(2))];
    await sleep(10);
    assert.deepEqual([pool.stats().active, pool.stats().waiting], [2, 0]);
    await Promise.all(pending);
    assert.deepEqual([a.delivered().length, b.delivered().length], [1, 1]);
  } finally {
    await pool.close();
    await a.close();
    await b.close();
  }
});

test('a cached connection that died on RSET is replaced; the message does not notice', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { rset: (s) => (s.connection === 1 ? { close: true } : undefined) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test' });
      try {
        assert.equal((await pool.deliver(dest(server), message(1))).recipients[0]?.status, 'delivered');
        const second = await pool.deliver(dest(server), message(2));
        assert.equal(second.recipients[0]?.status, 'delivered');
        assert.equal(second.failure, null);
        assert.equal(server.connections, 2);
      } finally {
        await pool.close();
      }
    },
  );
});

test('a reused connection whose pipelined RSET is refused: the body is never sent there, a fresh connection delivers it once', async () => {
  await withServer(
    // The RSET goes out in one write with MAIL, RCPT and DATA; this server refuses it and still answers the rest (354).
    () => ScriptedSmtpServer.start({ script: { rset: (s) => (s.connection === 1 ? { reply: '421 4.3.2 going away' } : undefined) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test' });
      try {
        assert.equal((await pool.deliver(dest(server), message(1))).recipients[0]?.status, 'delivered');
        const second = await pool.deliver(dest(server), message(2));
        assert.equal(second.recipients[0]?.status, 'delivered');
        assert.equal(server.connections, 2);
        assert.equal(server.delivered().length, 2, 'each message exactly once');
        const first = server.transcript(1).filter((l) => l.startsWith('C: ')).map((l) => l.slice(3, 7));
        assert.deepEqual(first.slice(-4), ['RSET', 'MAIL', 'RCPT', 'DATA'], 'RSET pipelined with the next transaction, no body after it');
      } finally {
        await pool.close();
      }
    },
  );
});

test('a cached connection the server closed while idle is not used again', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test' });
      try {
        await pool.deliver(dest(server), message(1));
        server.dropConnections();
        await sleep(50);
        const second = await pool.deliver(dest(server), message(2));
        assert.equal(second.recipients[0]?.status, 'delivered');
        assert.equal(server.connections, 2);
        assert.ok(!server.transcript(2).includes('C: RSET'), 'a fresh connection needs no RSET');
      } finally {
        await pool.close();
      }
    },
  );
});

test('a connection with unsolicited input is not reused (its next reply would be misread)', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { dataEnd: (s) => (s.connection === 1 ? '250 2.0.0 Ok\r\n250 2.0.0 and an extra reply nobody asked for' : undefined) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test' });
      try {
        assert.equal((await pool.deliver(dest(server), message(1))).recipients[0]?.status, 'delivered');
        const second = await pool.deliver(dest(server), message(2));
        assert.equal(second.recipients[0]?.status, 'delivered');
        assert.equal(server.connections, 2);
        assert.equal(server.delivered().length, 2);
      } finally {
        await pool.close();
      }
    },
  );
});

test('idle connections are closed (QUIT) after idleMs', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', idleMs: 100 });
      try {
        await pool.deliver(dest(server), message(1));
        assert.equal(pool.stats().idle, 1);
        await sleep(400);
        assert.equal(pool.stats().idle, 0);
        assert.equal(pool.stats().destinations, 0);
        assert.equal(server.openConnections, 0);
        assert.ok(server.transcript(1).includes('C: QUIT'));
      } finally {
        await pool.close();
      }
    },
  );
});

test('maxTransactions retires a connection after that many messages', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxTransactions: 2 });
      try {
        for (let i = 0; i < 5; i++) await pool.deliver(dest(server), message(i));
        assert.equal(server.delivered().length, 5);
        assert.equal(server.connections, 3);
      } finally {
        await pool.close();
      }
    },
  );
});

test('failures do not leak slots: refused connections, then a working server', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { greeting: (s) => (s.connection <= 3 ? '421 4.3.2 busy' : undefined) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxPerDestination: 1 });
      try {
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => pool.deliver(dest(server), message(i))));
        assert.deepEqual(results.map((r) => r.recipients[0]?.status), ['temporary', 'temporary', 'temporary', 'delivered']);
        assert.equal(pool.stats().active, 0);
      } finally {
        await pool.close();
      }
    },
  );
});

test('after close(), waiting and new deliveries fail temporarily', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { dataEnd: () => ({ delayMs: 100, reply: '250 ok' }) } }),
    async (server) => {
      const pool = new DestinationPool({ ...FAST, localHostname: 'client.test', maxPerDestination: 1 });
      const running = pool.deliver(dest(server), message(1));
      const waiting = pool.deliver(dest(server), message(2));
      await sleep(20);
      const closing = pool.close();
      const late = await pool.deliver(dest(server), message(3));
      assert.equal(late.failure?.errorCode, 'ERR_DELIVERY_POOL_CLOSED');
      assert.equal((await waiting).failure?.errorCode, 'ERR_DELIVERY_POOL_CLOSED');
      assert.equal((await running).recipients[0]?.status, 'delivered', 'a running delivery finishes');
      await closing;
      await sleep(50);
      assert.equal(server.openConnections, 0);
    },
  );
});
