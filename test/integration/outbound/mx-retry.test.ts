/**
 * Over real sockets: the first MX host is dead (nothing listens on its
 * address), the second answers 451 at RCPT the first time and accepts on
 * the retry after delivery.retry; the sender gets no bounce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startDnsServer } from '../../helpers/dns-server.js';
import { startTestServer } from '../../helpers/server.js';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';

test('MX order with a dead first host, then 451 and success after the retry delay', async () => {
  let rcpts = 0;
  const remote = await ScriptedSmtpServer.start({ script: { rcpt: () => (rcpts++ === 0 ? '451 4.3.0 try again later' : undefined) } });
  const dns = await startDnsServer([
    { name: 'far.example', type: 'MX', data: { preference: 10, exchange: 'mx1.far.example' } },
    { name: 'far.example', type: 'MX', data: { preference: 20, exchange: 'mx2.far.example' } },
    // Nobody listens on 127.0.0.3 at the remote's port: connection refused.
    { name: 'mx1.far.example', type: 'A', data: '127.0.0.3' },
    { name: 'mx2.far.example', type: 'A', data: '127.0.0.1' },
  ]);
  const server = await startTestServer(`dns: { servers: ["127.0.0.1:${dns.port}"] }\ndelivery: { port: ${remote.port}, retry: [1s] }\n`);
  try {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('submission'), secure: false, auth: { user: 'ivanov@example.org', pass: 'ivanov-secret' }, tls: { rejectUnauthorized: false } });
    await transport.sendMail({ from: 'ivanov@example.org', to: 'friend@far.example', subject: 'persistence', text: 'third time lucky' });
    transport.close();
    const end = Date.now() + 20_000;
    while (!remote.transactions.some((t) => t.completed) || server.store.queueItems().length > 0) {
      if (Date.now() > end) throw new Error(`not delivered; transactions: ${JSON.stringify(remote.transactions.map((t) => [t.rcpts, t.completed]))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // First attempt: refused at RCPT with 451 on the second MX (the first was dead); second attempt: delivered.
    assert.equal(remote.transactions[0]!.rcpts[0]!.code, 451);
    const done = remote.transactions.filter((t) => t.completed);
    assert.equal(done.length, 1, 'delivered exactly once');
    assert.match(done[0]!.data!.toString(), /third time lucky/);
    assert.equal(server.store.folder('ivanov@example.org', 'INBOX')?.count ?? 0, 0, 'no bounce for a temporary failure');
  } finally {
    await server.stop();
    await dns.close();
    await remote.close();
  }
});
