/**
 * Opportunistic STARTTLS: used when offered (self-signed certificate
 * accepted), the message arrives intact over TLS; a refused STARTTLS means
 * plaintext; a failed handshake means one more connection without TLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverOverSmtp } from '../../../src/delivery/smtp-client.js';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { FAST, MESSAGE, request, testCertificate, withServer } from './support.js';

test('STARTTLS when offered: EHLO again over TLS, message intact, SIZE from the TLS EHLO', async () => {
  const tls = await testCertificate();
  await withServer(
    // Before TLS the server claims SIZE 10: only the EHLO after the handshake may count (RFC 3207 §4.2).
    () => ScriptedSmtpServer.start({ tls, script: { ehlo: (s) => (s.tls ? undefined : '250-mx.test\r\n250-SIZE 10\r\n250 STARTTLS') } }),
    async (server) => {
      const body = Buffer.concat([MESSAGE, Buffer.from('.leading dot\r\n' + 'x'.repeat(100_000) + '\r\n')]);
      const result = await deliverOverSmtp(request(server, { body, recipients: ['a@example.com', 'b@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => o.status), ['delivered', 'delivered']);
      assert.equal(result.tls, true);
      assert.equal(result.tlsFallback, false);
      const t = server.delivered()[0]!;
      assert.equal(t.tls, true);
      assert.ok(t.data?.equals(body));
      const log = server.transcript(1);
      const tlsAt = log.indexOf('-- TLS --');
      assert.ok(tlsAt > 0 && log.indexOf('C: STARTTLS') < tlsAt, log.join('\n'));
      assert.equal(log.filter((l) => l.startsWith('C: EHLO')).length, 2, 'EHLO is repeated after the handshake');
      assert.equal(server.connections, 1);
    },
  );
});

test('plaintext injected after the 220 to STARTTLS is discarded, never read as a reply', async () => {
  const tls = await testCertificate();
  await withServer(
    () => ScriptedSmtpServer.start({ tls, script: { starttls: () => ({ inject: '250-forged.example\r\n250 SIZE 10\r\n' }) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      // Had the forged EHLO reply been taken, SIZE 10 would have refused the message.
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(result.tls, true);
      assert.equal(server.delivered()[0]?.tls, true);
    },
  );
});

test('STARTTLS refused (454): the delivery goes on in plaintext', async () => {
  const tls = await testCertificate();
  await withServer(
    () => ScriptedSmtpServer.start({ tls, script: { starttls: () => '454 4.7.0 TLS not available due to temporary reason' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(result.tls, false);
      assert.equal(server.connections, 1);
      assert.equal(server.delivered()[0]?.tls, false);
    },
  );
});

test('TLS handshake failure: retried once on a new connection without STARTTLS, and reported', async () => {
  const tls = await testCertificate();
  await withServer(
    () => ScriptedSmtpServer.start({ tls, script: { starttls: (s) => (s.connection === 1 ? { breakHandshake: true } : undefined) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(result.tls, false);
      assert.equal(result.tlsFallback, true);
      assert.equal(server.connections, 2);
      assert.ok(!server.transcript(2).includes('C: STARTTLS'), 'the retry does not try TLS again');
      assert.deepEqual(server.delivered()[0]?.data, MESSAGE);
    },
  );
});

test('TLS handshake failure and then a failing plaintext retry: the retry failure is reported', async () => {
  const tls = await testCertificate();
  await withServer(
    () => ScriptedSmtpServer.start({ tls, script: { starttls: () => ({ breakHandshake: true }), greeting: (s) => (s.connection === 2 ? '421 4.3.2 busy' : undefined) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.recipients[0]?.status, 'temporary');
      assert.equal(result.failure?.stage, 'greeting');
      assert.equal(result.tlsFallback, true);
    },
  );
});

test('starttls: false never tries TLS', async () => {
  const tls = await testCertificate();
  await withServer(
    () => ScriptedSmtpServer.start({ tls }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), { ...FAST, starttls: false });
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.ok(!server.transcript(1).includes('C: STARTTLS'));
    },
  );
});
