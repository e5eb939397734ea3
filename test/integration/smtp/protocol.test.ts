/**
 * SMTP over real sockets: raw transcripts of the reply codes, pipelining,
 * SIZE, BDAT, relay control, and nodemailer as an independent client.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

async function session(port = server.port('smtp')): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  const greeting = await c.reply();
  assert.equal(greeting.code, 220);
  assert.match(greeting.text, /mx\.example\.org ESMTP/);
  return c;
}

function inbox(user: string): { uid: number }[] {
  return server.store.folder(user, 'INBOX') ? server.store.listMessages(user, 'INBOX') : [];
}

test('EHLO advertises the extensions; HELO, NOOP, VRFY, HELP, RSET, QUIT answer', async () => {
  const c = await session();
  const ehlo = await c.cmd('EHLO client.example');
  assert.equal(ehlo.code, 250);
  for (const ext of ['PIPELINING', 'SIZE 1048576', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'DSN', 'STARTTLS', 'AUTH PLAIN LOGIN']) {
    assert.ok(ehlo.lines.some((l) => l.slice(4) === ext), `EHLO lacks ${ext}: ${ehlo.text}`);
  }
  assert.equal((await c.cmd('HELO client.example')).code, 250);
  assert.match((await c.cmd('NOOP')).text, /^250 2\.0\.0/);
  assert.match((await c.cmd('VRFY ivanov')).text, /^252 2\.5\.0/);
  assert.equal((await c.cmd('HELP')).code, 214);
  assert.match((await c.cmd('RSET')).text, /^250 2\.0\.0/);
  assert.match((await c.cmd('FROBNICATE')).text, /^500 5\.5\.2/);
  assert.match((await c.cmd('QUIT')).text, /^221 2\.0\.0/);
  await c.waitClosed();
});

test('commands out of order get 503; DATA without an accepted recipient gets 503 5.5.1', async () => {
  const c = await session();
  assert.match((await c.cmd('MAIL FROM:<a@remote.example>')).text, /^503 5\.5\.1/);
  await c.cmd('EHLO client.example');
  assert.match((await c.cmd('RCPT TO:<ivanov@example.org>')).text, /^503 5\.5\.1/);
  assert.match((await c.cmd('DATA')).text, /^503 5\.5\.1/);
  assert.match((await c.cmd('MAIL FROM:<a@remote.example>')).text, /^250 2\.1\.0/);
  assert.match((await c.cmd('MAIL FROM:<a@remote.example>')).text, /^503 5\.5\.1/);
  assert.match((await c.cmd('RCPT TO:<nobody@example.org>')).text, /^550 5\.1\.1/);
  assert.match((await c.cmd('DATA')).text, /^503 5\.5\.1/);
  c.close();
});

test('a message to a local user is stored durably before 250, with a Received header, byte-identical after it', async () => {
  const c = await session();
  await c.cmd('EHLO client.example');
  await c.cmd('MAIL FROM:<sender@remote.example>');
  assert.match((await c.cmd('RCPT TO:<Ivanov@Example.ORG>')).text, /^250 2\.1\.5/);
  assert.match((await c.cmd('RCPT TO:<abuse@example.org>')).text, /^250 2\.1\.5/, 'alias to the same user');
  assert.match((await c.cmd('DATA')).text, /^354/);
  const body = 'From: sender@remote.example\r\nTo: ivanov@example.org\r\nSubject: hi\r\n\r\nHello.\r\n..leading dot\r\n.\r\n';
  c.write(body);
  const done = await c.reply();
  assert.match(done.text, /^250 2\.0\.0 OK: queued as \S+/);
  const msgs = inbox('ivanov@example.org');
  const stored = (await server.store.readMessage('ivanov@example.org', 'INBOX', msgs[msgs.length - 1]!.uid)).toString('latin1');
  assert.match(stored, /^Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.org \(postline\) with ESMTP id \S+;\r\n\t\w{3}, /);
  assert.ok(stored.endsWith('From: sender@remote.example\r\nTo: ivanov@example.org\r\nSubject: hi\r\n\r\nHello.\r\n.leading dot\r\n'), JSON.stringify(stored));
  c.close();
});

test('relay is refused from an untrusted client, with every address trick', async () => {
  const c = await session();
  await c.cmd('EHLO client.example');
  await c.cmd('MAIL FROM:<sender@remote.example>');
  assert.match((await c.cmd('RCPT TO:<victim@remote.example>')).text, /^554 5\.7\.1/);
  assert.match((await c.cmd('RCPT TO:<victim%remote.example@example.org>')).text, /^550 5\.1\.1/);
  assert.match((await c.cmd('RCPT TO:<@example.org:victim@remote.example>')).text, /^554 5\.7\.1/);
  assert.match((await c.cmd('RCPT TO:<remote.example!victim@example.org>')).text, /^550 5\.1\.1/);
  assert.match((await c.cmd('RCPT TO:<"victim@remote.example"@example.org>')).text, /^550 5\.1\.1/);
  c.close();
});

test('SIZE: a declared size over the limit is refused at MAIL, an actual one at the end of DATA', async () => {
  const c = await session();
  await c.cmd('EHLO client.example');
  assert.match((await c.cmd(`MAIL FROM:<a@remote.example> SIZE=${2 * 1024 * 1024}`)).text, /^552 5\.3\.4/);
  assert.match((await c.cmd('MAIL FROM:<a@remote.example> SIZE=1000')).text, /^250/);
  await c.cmd('RCPT TO:<ivanov@example.org>');
  await c.cmd('DATA');
  const before = inbox('ivanov@example.org').length;
  c.write(Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(1100 * 1024, 'a'), Buffer.from('\r\n.\r\n')]));
  assert.match((await c.reply()).text, /^552 5\.3\.4/);
  assert.equal(inbox('ivanov@example.org').length, before);
  assert.match((await c.cmd('NOOP')).text, /^250/, 'the session goes on');
  c.close();
});

test('pipelining: a whole transaction in one write gets every reply in order', async () => {
  const c = await session();
  c.write('EHLO client.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<petrov@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n');
  assert.equal((await c.reply()).code, 250);
  assert.equal((await c.reply()).code, 250);
  assert.equal((await c.reply()).code, 250);
  assert.equal((await c.reply()).code, 550);
  assert.equal((await c.reply()).code, 354);
  c.write('Subject: piped\r\n\r\nbody\r\n.\r\nMAIL FROM:<b@remote.example>\r\nRCPT TO:<petrov@example.org>\r\nDATA\r\n');
  assert.match((await c.reply()).text, /^250 2\.0\.0 OK: queued/);
  assert.equal((await c.reply()).code, 250);
  assert.equal((await c.reply()).code, 250);
  assert.equal((await c.reply()).code, 354);
  c.write('Subject: second\r\n\r\nbody 2\r\n.\r\nQUIT\r\n');
  assert.match((await c.reply()).text, /^250 2\.0\.0 OK: queued/);
  assert.equal((await c.reply()).code, 221);
  c.close();
});

test('BDAT: chunks, LAST, and chunks without a recipient are read and refused', async () => {
  const c = await session();
  await c.cmd('EHLO client.example');
  await c.cmd('MAIL FROM:<a@remote.example>');
  await c.cmd('RCPT TO:<petrov@example.org>');
  const part1 = 'Subject: chunked\r\n\r\nfirst part, ';
  const part2 = 'second part\r\n.not stuffed\r\n';
  c.write(`BDAT ${part1.length}\r\n${part1}`);
  assert.match((await c.reply()).text, /^250 2\.0\.0/);
  c.write(`BDAT ${part2.length} LAST\r\n${part2}`);
  assert.match((await c.reply()).text, /^250 2\.0\.0 OK: queued/);
  const msgs = inbox('petrov@example.org');
  const stored = (await server.store.readMessage('petrov@example.org', 'INBOX', msgs[msgs.length - 1]!.uid)).toString('latin1');
  assert.ok(stored.endsWith(part1 + part2));
  // No transaction: the 5 bytes are consumed, not taken as a command.
  c.write('BDAT 5\r\nQUIT!');
  assert.match((await c.reply()).text, /^503 5\.5\.1/);
  assert.match((await c.cmd('NOOP')).text, /^250/);
  c.close();
});

test('submission: MAIL before AUTH gets 530 5.7.0; AUTH PLAIN/LOGIN; only own addresses as sender; remote recipients are queued', async () => {
  const c = await session(server.port('submission'));
  await c.cmd('EHLO client.example');
  assert.match((await c.cmd('MAIL FROM:<ivanov@example.org>')).text, /^530 5\.7\.0/);
  const bad = Buffer.from('\u0000ivanov@example.org\u0000wrong').toString('base64');
  assert.match((await c.cmd(`AUTH PLAIN ${bad}`)).text, /^535 5\.7\.8/);
  const good = Buffer.from('\u0000ivanov@example.org\u0000ivanov-secret').toString('base64');
  assert.match((await c.cmd(`AUTH PLAIN ${good}`)).text, /^235 2\.7\.0/);
  assert.match((await c.cmd('MAIL FROM:<petrov@example.org>')).text, /^553 5\.7\.1/);
  assert.match((await c.cmd('MAIL FROM:<abuse@example.org>')).text, /^250/, 'an alias of the user');
  assert.match((await c.cmd('RCPT TO:<friend@remote.example>')).text, /^250/, 'authenticated users may relay');
  await c.cmd('DATA');
  c.write('Subject: out\r\n\r\nto the world\r\n.\r\n');
  assert.match((await c.reply()).text, /^250 2\.0\.0 OK: queued/);
  c.close();

  const l = await session(server.port('submission'));
  await l.cmd('EHLO client.example');
  assert.equal((await l.cmd('AUTH LOGIN')).code, 334);
  assert.equal((await l.cmd(Buffer.from('petrov@example.org').toString('base64'))).code, 334);
  assert.match((await l.cmd(Buffer.from('petrov-secret').toString('base64'))).text, /^235/);
  l.close();
});

test('nodemailer delivers over STARTTLS with AUTH on the submission port, and to the MX port without', async () => {
  const submit = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.port('submission'),
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: 'petrov@example.org', pass: 'petrov-secret' },
  });
  const info = await submit.sendMail({ from: 'petrov@example.org', to: 'ivanov@example.org', subject: 'via nodemailer', text: 'Hello Ivanov' });
  assert.deepEqual(info.accepted, ['ivanov@example.org']);
  assert.match(info.response, /^250 2\.0\.0 OK: queued/);
  const msgs = inbox('ivanov@example.org');
  const stored = (await server.store.readMessage('ivanov@example.org', 'INBOX', msgs[msgs.length - 1]!.uid)).toString();
  assert.match(stored, /with ESMTPSA id/);
  assert.match(stored, /Subject: via nodemailer/);

  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('smtp'), secure: false, ignoreTLS: true });
  const info2 = await mx.sendMail({ from: 'stranger@remote.example', to: ['petrov@example.org', 'nobody@example.org'], subject: 'partial', text: 'x' });
  assert.deepEqual(info2.accepted, ['petrov@example.org']);
  assert.deepEqual(info2.rejected, ['nobody@example.org']);
  await assert.rejects(mx.sendMail({ from: 'stranger@remote.example', to: 'victim@remote.example', subject: 'relay?', text: 'x' }), /554 5\.7\.1/);

  const smtps = nodemailer.createTransport({ host: '127.0.0.1', port: server.port('smtps'), secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'ivanov@example.org', pass: 'ivanov-secret' } });
  const info3 = await smtps.sendMail({ from: 'ivanov@example.org', to: 'petrov@example.org', subject: 'implicit tls', text: 'y' });
  assert.deepEqual(info3.accepted, ['petrov@example.org']);
});
