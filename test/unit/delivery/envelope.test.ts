import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_CAPABILITIES, type Capabilities } from '../../../src/delivery/capabilities.js';
import { encodeXtext, isSendableAddress, mailCommand, needsSmtputf8, rcptCommand } from '../../../src/delivery/envelope.js';
import { decodeXtext } from '../../../src/codec/smtp/command.js';
import type { OutboundMessage } from '../../../src/delivery/types.js';

const all: Capabilities = { ...NO_CAPABILITIES, esmtp: true, pipelining: true, size: 1000, eightBitMime: true, smtputf8: true, dsn: true };
const msg = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
  sender: 'alice@example.org',
  recipients: ['bob@example.com'],
  body: Buffer.from('Subject: x\r\n\r\nhi\r\n'),
  smtputf8: false,
  body8bit: false,
  ...over,
});

test('MAIL carries only the parameters the server offered', () => {
  const m = msg({ body8bit: true, smtputf8: true, dsn: { ret: 'HDRS', envid: 'id+1=x y' } });
  assert.equal(mailCommand(m, all, 123, true), 'MAIL FROM:<alice@example.org> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3Dx+20y');
  assert.equal(mailCommand(m, NO_CAPABILITIES, 123, false), 'MAIL FROM:<alice@example.org>');
  assert.equal(mailCommand(msg({ sender: null }), { ...all, size: 0 }, 5, false), 'MAIL FROM:<> SIZE=5');
});

test('RCPT carries NOTIFY and ORCPT (xtext) when DSN is offered', () => {
  const m = msg({ dsn: { notify: { 'bob@example.com': ['FAILURE', 'DELAY'] }, orcpt: { 'bob@example.com': 'rfc822;Bob+Tag@Example.com' } } });
  assert.equal(rcptCommand('bob@example.com', m, all), 'RCPT TO:<bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob+2BTag@Example.com');
  assert.equal(rcptCommand('bob@example.com', m, { ...all, dsn: false }), 'RCPT TO:<bob@example.com>');
  assert.equal(rcptCommand('carol@example.com', m, all), 'RCPT TO:<carol@example.com>');
});

test('xtext round-trips through the server-side decoder', () => {
  for (const s of ['plain', 'a+b=c', 'with space', '~!@#$%^&*()']) assert.equal(decodeXtext(encodeXtext(s)), s);
});

test('addresses with control characters (command injection) are never sendable', () => {
  assert.equal(isSendableAddress('bob@example.com'), true);
  assert.equal(isSendableAddress('"odd > local"@example.com'), true);
  assert.equal(isSendableAddress('Postmaster'), true);
  for (const bad of ['', 'bob@example.com>\r\nRCPT TO:<evil@x', 'a\n@b', 'a\u0000@b', 'no-at-sign', `${'a'.repeat(260)}@b`]) assert.equal(isSendableAddress(bad), false, JSON.stringify(bad));
});

test('SMTPUTF8 is needed only when asked for and something is really non-ASCII', () => {
  assert.equal(needsSmtputf8(msg({ smtputf8: false, recipients: ['δοκιμή@example.com'] }), false), false);
  assert.equal(needsSmtputf8(msg({ smtputf8: true }), false), false);
  assert.equal(needsSmtputf8(msg({ smtputf8: true }), true), true);
  assert.equal(needsSmtputf8(msg({ smtputf8: true, recipients: ['δοκιμή@example.com'] }), false), true);
  assert.equal(needsSmtputf8(msg({ smtputf8: true, sender: 'почта@пример.рф' }), false), true);
});
