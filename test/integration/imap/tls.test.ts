/**
 * TLS for IMAP with auth.plaintext: never — LOGINDISABLED and
 * PRIVACYREQUIRED in plaintext, STARTTLS (no plaintext pipelined after it is
 * ever acted on), IMAPS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { connect, IVANOV, IVANOV_PASSWORD, logout } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer('auth: { plaintext: never }\n');
});
after(async () => {
  await server.stop();
});

const plain = Buffer.from(`\u0000${IVANOV}\u0000${IVANOV_PASSWORD}`).toString('base64');

test('without TLS: LOGINDISABLED, no AUTH=PLAIN, LOGIN and AUTHENTICATE refused with PRIVACYREQUIRED; after STARTTLS they work', async () => {
  const c = await connect(server);
  const caps = (await c.ok('CAPABILITY'))[0]!;
  assert.match(caps, / STARTTLS LOGINDISABLED$/);
  assert.doesNotMatch(caps, /AUTH=/);
  assert.equal((await c.login(IVANOV, IVANOV_PASSWORD)).text, '[PRIVACYREQUIRED] Plaintext authentication disallowed without TLS; use STARTTLS');
  assert.equal((await c.command(`AUTHENTICATE PLAIN ${plain}`)).text, '[PRIVACYREQUIRED] Plaintext authentication disallowed without TLS; use STARTTLS');
  assert.equal((await c.startTls()).tagged.replace(/^\S+ /, ''), 'OK Begin TLS negotiation now');
  const after = (await c.ok('CAPABILITY'))[0]!;
  assert.match(after, / AUTH=PLAIN$/);
  assert.doesNotMatch(after, /STARTTLS|LOGINDISABLED/);
  assert.equal((await c.command('STARTTLS')).text, 'TLS is already active');
  assert.equal((await c.command(`AUTHENTICATE PLAIN ${plain}`)).status, 'OK');
  await logout(c);
});

test('commands pipelined in plaintext after STARTTLS are discarded, never run inside TLS', async () => {
  const c = await connect(server);
  // A man in the middle appends a command to the client's STARTTLS packet.
  c.write('s1 STARTTLS\r\ninj LOGIN "ivanov@example.org" "ivanov-secret"\r\ninj2 CREATE Injected\r\n');
  const r = await c.until('s1');
  assert.equal(r.status, 'OK');
  assert.equal(c.unread, 0, 'nothing after the go-ahead in plaintext');
  // Upgrade by hand (startTls() would send its own STARTTLS).
  const { connect: tlsConnect } = await import('node:tls');
  const plainSocket = c.socket;
  plainSocket.removeAllListeners('data');
  plainSocket.removeAllListeners('close');
  const secure = tlsConnect({ socket: plainSocket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  let received = '';
  secure.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const done = new Promise<void>((resolve) => secure.on('data', () => received.includes('n1 ') && resolve()));
  secure.write('n1 NOOP\r\n');
  await done;
  assert.equal(received, 'n1 OK NOOP completed\r\n', 'the injected commands got no reply');
  assert.equal(server.store.folder(IVANOV, 'Injected'), undefined, 'and did nothing');
  secure.destroy();
});

test('IMAPS: TLS from the start, no STARTTLS offered, login allowed', async () => {
  const c = await connect(server, 'imaps');
  const caps = (await c.ok('CAPABILITY'))[0]!;
  assert.match(caps, / AUTH=PLAIN$/);
  assert.doesNotMatch(caps, /STARTTLS|LOGINDISABLED/);
  assert.equal((await c.command('STARTTLS')).status, 'BAD');
  assert.equal((await c.login(IVANOV, IVANOV_PASSWORD)).status, 'OK');
  await logout(c);
});
