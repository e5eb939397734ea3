/**
 * Per-IP connection limit, auth-failure limit, idle timeout, recipient limit
 * and AUTH without TLS where auth.plaintext forbids it — over real sockets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer('auth: { plaintext: never }\n');
});
after(async () => {
  await server.stop();
});

test('AUTH without TLS when auth.plaintext is never: not offered, 530 5.7.0 if tried, STARTTLS offered instead', async () => {
  const c = await RawSmtp.connect(server.port('submission'));
  await c.reply();
  const ehlo = await c.cmd('EHLO client.example');
  assert.ok(!ehlo.lines.some((l) => l.includes('AUTH')), ehlo.text);
  assert.match((await c.cmd('AUTH PLAIN ' + Buffer.from('\u0000ivanov@example.org\u0000ivanov-secret').toString('base64'))).text, /^530 5\.7\.0/);
  assert.match((await c.cmd('STARTTLS')).text, /^220/);
  c.close();
});

test('STARTTLS: plaintext pipelined after the command is never executed', async () => {
  const { connect } = await import('node:tls');
  const c = await RawSmtp.connect(server.port('smtp'));
  await c.reply();
  await c.cmd('EHLO client.example');
  c.write('STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n');
  assert.match((await c.reply()).text, /^220 2\.0\.0/);
  c.socket.removeAllListeners('data');
  const secure = connect({ socket: c.socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  let got = '';
  secure.on('data', (d: Buffer) => (got += d.toString()));
  secure.write('EHLO client.example\r\nRCPT TO:<ivanov@example.org>\r\n');
  for (let i = 0; i < 50 && !/\r\n503 /.test(got); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(got, /^250-/m);
  assert.match(got, /^503 5\.5\.1/m, 'no MAIL from before TLS survived: RCPT has no transaction');
  secure.destroy();
});

test('too many recipients: 452 4.5.3 after limits.maxRecipients', async () => {
  const c = await RawSmtp.connect(server.port('smtp'));
  await c.reply();
  await c.cmd('EHLO client.example');
  await c.cmd('MAIL FROM:<a@remote.example>');
  const max = server.config.limits.maxRecipients;
  for (let i = 0; i < max; i++) assert.equal((await c.cmd('RCPT TO:<ivanov@example.org>')).code, 250);
  assert.match((await c.cmd('RCPT TO:<petrov@example.org>')).text, /^452 4\.5\.3/);
  c.close();
});

test('connections beyond maxConnectionsPerIp get 421 4.7.0 and are closed; others still served', async () => {
  const s = await startTestServerWithLimits('maxConnectionsPerIp: 3');
  try {
    const open: RawSmtp[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtp.connect(s.port('smtp'));
      assert.equal((await c.reply()).code, 220);
      open.push(c);
    }
    const extra = await RawSmtp.connect(s.port('smtp'));
    assert.match((await extra.reply()).text, /^421 4\.7\.0/);
    await extra.waitClosed();
    open[0]!.close();
    // The server notices the close asynchronously: retry until the slot is free (bounded).
    let again: RawSmtp | null = null;
    for (let attempt = 0; attempt < 40 && !again; attempt++) {
      const c = await RawSmtp.connect(s.port('smtp'));
      if ((await c.reply()).code === 220) again = c;
      else {
        c.close();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(again, 'a slot freed by a closed connection is reusable');
    for (const c of [...open, again]) c.close();
  } finally {
    await s.stop();
  }
});

test('after authFailuresPerIp failures the IP is refused, even with the right password', async () => {
  const s = await startTestServerWithLimits('authFailuresPerIp: 3');
  try {
    const c = await RawSmtp.connect(s.port('submission'));
    await c.reply();
    await c.cmd('EHLO client.example');
    const bad = Buffer.from('\u0000ivanov@example.org\u0000nope').toString('base64');
    assert.match((await c.cmd(`AUTH PLAIN ${bad}`)).text, /^535/);
    assert.match((await c.cmd(`AUTH PLAIN ${bad}`)).text, /^535/);
    assert.match((await c.cmd(`AUTH PLAIN ${bad}`)).text, /^421 4\.7\.0/);
    await c.waitClosed();
    const d = await RawSmtp.connect(s.port('submission'));
    assert.match((await d.reply()).text, /^421 4\.7\.0/, 'refused at connect');
    await d.waitClosed();
  } finally {
    await s.stop();
  }
});

test('an idle client gets 421 4.4.2 and is disconnected', async () => {
  const s = await startTestServerWithLimits('idleTimeout: 300ms');
  try {
    const c = await RawSmtp.connect(s.port('smtp'));
    await c.reply();
    assert.match((await c.reply(3000)).text, /^421 4\.4\.2/);
    await c.waitClosed();
  } finally {
    await s.stop();
  }
});

function startTestServerWithLimits(limit: string): Promise<TestServer> {
  return startTestServer('', { limits: limit });
}
