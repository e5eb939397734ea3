/**
 * Hostile and broken clients: SMTP smuggling, garbage bytes, huge lines,
 * floods of pipelined commands, clients that stop reading or vanish. The
 * server answers or closes, stays up, and serves the next client.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer('');
});
after(async () => {
  await server.stop();
});

async function ready(): Promise<RawSmtp> {
  const c = await RawSmtp.connect(server.port('smtp'));
  await c.reply();
  await c.cmd('EHLO client.example');
  return c;
}

function count(user: string): number {
  return server.store.folder(user, 'INBOX') ? server.store.listMessages(user, 'INBOX').length : 0;
}

async function stillServes(): Promise<void> {
  const c = await ready();
  assert.match((await c.cmd('NOOP')).text, /^250/);
  c.close();
}

for (const [name, fake] of [
  ['\\n.\\n', '\n.\n'],
  ['\\n.\\r\\n', '\n.\r\n'],
  ['\\r.\\r', '\r.\r'],
  ['\\r\\n.\\r', '\r\n.\r'],
  ['\\r.\\r\\n', '\r.\r\n'],
] as const) {
  test(`SMTP smuggling with ${name} never yields a second message`, async () => {
    const before = count('petrov@example.org');
    const c = await ready();
    await c.cmd('MAIL FROM:<a@remote.example>');
    await c.cmd('RCPT TO:<ivanov@example.org>');
    assert.equal((await c.cmd('DATA')).code, 354);
    c.write(`Subject: outer\r\n\r\nouter body${fake}MAIL FROM:<smuggled@remote.example>\r\nRCPT TO:<petrov@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n`);
    const end = await c.reply();
    // The only end of data is the final CRLF.CRLF; the bare line ending makes us refuse the whole message.
    assert.match(end.text, /^550 5\.6\.0/);
    assert.match((await c.cmd('NOOP')).text, /^250/, 'the smuggled commands were never executed');
    assert.equal(count('petrov@example.org'), before);
    c.close();
  });
}

test('garbage bytes get 500s, and too many errors close the connection', async () => {
  const c = await ready();
  c.write(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0d, 0x0a]));
  assert.match((await c.reply()).text, /^50[01] 5\.5\.[24]/);
  for (let i = 0; i < 30 && !c.closed; i++) {
    c.write('\x01\x02garbage\r\n');
  }
  await c.waitClosed();
  await stillServes();
});

test('a 1 MB command line gets 500 5.5.2 and the session continues', async () => {
  const c = await ready();
  c.write('NOOP ' + 'x'.repeat(1024 * 1024) + '\r\n');
  assert.match((await c.reply(10_000)).text, /^500 5\.5\.2/);
  assert.match((await c.cmd('NOOP')).text, /^250/);
  c.close();
});

test('10,000 pipelined commands are all answered, in order', async () => {
  const c = await ready();
  c.write('NOOP\r\n'.repeat(10_000) + 'QUIT\r\n');
  let n = 0;
  for (;;) {
    const r = await c.reply(20_000);
    if (r.code === 221) break;
    assert.equal(r.code, 250);
    n++;
  }
  assert.equal(n, 10_000);
  c.close();
});

test('a client that vanishes mid-DATA, or never reads, does not hurt others', async () => {
  const a = await ready();
  await a.cmd('MAIL FROM:<a@remote.example>');
  await a.cmd('RCPT TO:<ivanov@example.org>');
  await a.cmd('DATA');
  a.write('Subject: half\r\n\r\nhalf a mess');
  a.socket.destroy();

  const b = await ready();
  b.socket.pause(); // never reads its replies
  b.write('NOOP\r\n'.repeat(50_000));

  const half = await RawSmtp.connect(server.port('smtp'));
  half.socket.end(); // half-open: we stop sending at once

  await stillServes();
  b.close();
  half.close();
});
