/**
 * Our client against postline's own SMTP server (the MX listener): STARTTLS
 * with its self-signed certificate, pipelining, DSN parameters, a refused
 * recipient, and the message stored byte-exact after our Received header.
 * Two independent halves of the project that must understand each other.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deliverOverSmtp } from '../../../src/delivery/smtp-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { FAST } from './support.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

test('delivers to postline over STARTTLS: accepted and unknown recipients, message stored intact', async () => {
  const body = Buffer.from('From: Alice <alice@example.com>\r\nTo: ivanov@example.org\r\nSubject: interop\r\n\r\n.dot first\r\n..two\r\nend\r\n');
  const before = server.store.folder('ivanov@example.org', 'INBOX') ? server.store.listMessages('ivanov@example.org', 'INBOX').length : 0;
  const result = await deliverOverSmtp(
    {
      host: 'mx.example.org',
      port: server.port('smtp'),
      ip: '127.0.0.1',
      localHostname: 'relay.example.com',
      sender: 'alice@example.com',
      recipients: ['ivanov@example.org', 'nobody@example.org'],
      body,
      smtputf8: false,
      body8bit: false,
      dsn: { ret: 'HDRS', envid: 'E1', notify: { 'ivanov@example.org': ['FAILURE'] } },
    },
    FAST,
  );
  assert.equal(result.tls, true, 'STARTTLS was used');
  assert.deepEqual(
    result.recipients.map((o) => [o.recipient, o.status, o.code, o.enhanced]),
    [
      ['ivanov@example.org', 'delivered', 250, '2.0.0'],
      ['nobody@example.org', 'permanent', 550, '5.1.1'],
    ],
  );
  const msgs = server.store.listMessages('ivanov@example.org', 'INBOX');
  assert.equal(msgs.length, before + 1);
  const stored = await server.store.readMessage('ivanov@example.org', 'INBOX', msgs[msgs.length - 1]!.uid);
  assert.ok(stored.toString('latin1').startsWith('Received: from relay.example.com'), 'the server added its Received header');
  assert.ok(stored.subarray(stored.length - body.length).equals(body), 'the message follows byte for byte');
});
