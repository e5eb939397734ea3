/**
 * POP3 and TLS: plaintext login refused when auth.plaintext is `never`,
 * STLS (RFC 2595) upgrading the connection, STARTTLS command injection, and
 * pop3s (implicit TLS).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { connect, deliver, emptyInbox, IVANOV, IVANOV_PASSWORD, message, quit, session } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer('auth: { plaintext: never }\n');
});
after(async () => {
  await server.stop();
});

test('auth.plaintext never: no USER/SASL offered, every login refused with [AUTH] before STLS', async () => {
  const c = await connect(server);
  assert.deepEqual((await c.cmdMulti('CAPA')).lines, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'STLS', 'IMPLEMENTATION postline']);
  const refusal = '-ERR [AUTH] plaintext authentication disallowed without TLS; use STLS';
  assert.equal((await c.cmd(`USER ${IVANOV}`)).line, refusal);
  assert.equal((await c.cmd(`PASS ${IVANOV_PASSWORD}`)).line, refusal);
  assert.equal((await c.cmd(`AUTH PLAIN ${Buffer.from(`\u0000${IVANOV}\u0000${IVANOV_PASSWORD}`).toString('base64')}`)).line, refusal);
  assert.deepEqual((await c.cmdMulti('AUTH')).lines, [], 'no mechanism is usable');
  await quit(c);
});

test('STLS upgrades the connection; then login and RETR work; STLS again is refused', async () => {
  await emptyInbox(server);
  const m = message(7, '.dot over tls\r\n');
  await deliver(server, m);
  const c = await connect(server);
  assert.equal((await c.stls()).line, '+OK Begin TLS negotiation');
  assert.deepEqual((await c.cmdMulti('CAPA')).lines, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN', 'IMPLEMENTATION postline']);
  assert.equal((await c.cmd('STLS')).line, '-ERR command not permitted when TLS active');
  assert.match((await c.login(IVANOV, IVANOV_PASSWORD)).line, /^\+OK maildrop has 1 message /);
  assert.deepEqual((await c.cmdMulti('RETR 1')).body, m);
  await quit(c);
});

test('STLS: plaintext pipelined after the command is discarded, never executed', async () => {
  const c = await connect(server);
  // A man in the middle appends USER to the client's STLS packet.
  c.write(`STLS\r\nUSER ${IVANOV}\r\n`);
  assert.equal((await c.response()).line, '+OK Begin TLS negotiation');
  // Hand the socket to TLS by hand (Pop3Client.stls sends its own STLS).
  const { connect: tlsConnect } = await import('node:tls');
  c.socket.removeAllListeners('data');
  const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  let got = '';
  const seen = new Promise<void>((resolve) =>
    secure.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n')) resolve();
    }),
  );
  secure.write(`PASS ${IVANOV_PASSWORD}\r\n`);
  await seen;
  assert.equal(got, '-ERR send USER first\r\n', 'the injected USER was not kept');
  secure.destroy();
});

test('pop3s: implicit TLS, no STLS offered, login works', async () => {
  await emptyInbox(server);
  const m = message(8);
  await deliver(server, m);
  const c = await session(server, IVANOV, IVANOV_PASSWORD, 'pop3s');
  assert.ok(!(await c.cmdMulti('CAPA')).lines.includes('STLS'));
  assert.deepEqual((await c.cmdMulti('RETR 1')).body, m);
  await quit(c);
  const d = await Pop3Client.connect(server.port('pop3s'), { tls: true });
  await d.greeting();
  assert.deepEqual((await d.cmdMulti('CAPA')).lines, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN', 'IMPLEMENTATION postline']);
  d.close();
});
