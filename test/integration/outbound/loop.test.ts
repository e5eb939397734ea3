/** An MX that points back at ourselves for a domain that is not ours: bounced (5.4.6), never a loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../../helpers/dns-server.js';
import { startTestServer } from '../../helpers/server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('mail for a domain whose MX is this server bounces as "loops back to myself"', async () => {
  const dns = await startDnsServer([
    { name: 'loop.example', type: 'MX', data: { preference: 10, exchange: 'mx.loop.example' } },
    { name: 'mx.loop.example', type: 'A', data: '127.0.0.1' },
  ]);
  const port = await freePort();
  const server = await startTestServer(`dns: { servers: ["127.0.0.1:${dns.port}"] }\ndelivery: { port: ${port}, retry: [1s] }\n`, {
    baseYaml: `
hostname: mx.example.org
domains: [example.org]
users: [{ address: ivanov@example.org, password: "ivanov-secret" }]
listen: { smtp: "127.0.0.1:${port}", submission: "127.0.0.1:0" }
store: { fsync: batch, segmentSize: 4MB }
workers: { threads: 1 }
`,
  });
  try {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('submission'), secure: false, auth: { user: 'ivanov@example.org', pass: 'ivanov-secret' }, tls: { rejectUnauthorized: false } });
    await transport.sendMail({ from: 'ivanov@example.org', to: 'someone@loop.example', subject: 'round and round', text: 'hello' });
    transport.close();
    const end = Date.now() + 15_000;
    while ((server.store.folder('ivanov@example.org', 'INBOX')?.count ?? 0) === 0) {
      if (Date.now() > end) throw new Error('no bounce arrived');
      await new Promise((r) => setTimeout(r, 25));
    }
    const inbox = server.store.folder('ivanov@example.org', 'INBOX')!;
    assert.equal(inbox.count, 1, 'exactly one message: the bounce, not a copy of the mail');
    const dsn = (await server.store.readMessage('ivanov@example.org', 'INBOX', inbox.uids[0]!)).toString();
    assert.match(dsn, /Status: 5\.4\.6/);
    assert.match(dsn, /loops back to myself/);
    // The outcome is recorded after the bounce is stored (never the other way round): it may trail by a moment.
    while (server.store.queueItems().length > 0) {
      if (Date.now() > end) throw new Error('the queue entry was not finished');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await server.stop();
    await dns.close();
  }
});
