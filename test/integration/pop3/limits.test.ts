/**
 * POP3 limits over real sockets: auth failures per IP (shared with SMTP),
 * idle timeout, bad-command limit, connections per IP, and the
 * POP-before-SMTP hook. Each test starts the server its limits need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../../helpers/server.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { connect, IVANOV, IVANOV_PASSWORD, quit, session } from './support.js';

test('after authFailuresPerIp failures the IP is refused, even with the right password, on every protocol', async () => {
  const s = await startTestServer('', { limits: 'authFailuresPerIp: 3' });
  try {
    const c = await connect(s);
    assert.equal((await c.login(IVANOV, 'nope')).line, '-ERR [AUTH] authentication failed');
    assert.equal((await c.login(IVANOV, 'nope')).line, '-ERR [AUTH] authentication failed');
    assert.equal((await c.login(IVANOV, 'nope')).line, '-ERR [AUTH] too many authentication failures from your address, try again later');
    await c.waitClosed();
    const d = await Pop3Client.connect(s.port('pop3'));
    assert.equal((await d.greeting()).line, '-ERR [AUTH] too many authentication failures from your address, try again later', 'refused at connect');
    await d.waitClosed();
    const smtp = await RawSmtp.connect(s.port('submission'));
    assert.match((await smtp.reply()).text, /^421 4\.7\.0/, 'the limiter is shared with SMTP');
    smtp.close();
  } finally {
    await s.stop();
  }
});

test('an idle client gets -ERR and is disconnected, logged in or not', async () => {
  const s = await startTestServer('', { limits: 'idleTimeout: 300ms' });
  try {
    const c = await connect(s);
    assert.equal((await c.response(3000)).line, '-ERR idle timeout, closing connection');
    await c.waitClosed();
    const d = await session(s);
    assert.ok((await d.cmd('DELE 1')).line.startsWith('-ERR'), 'empty maildrop');
    assert.equal((await d.response(3000)).line, '-ERR idle timeout, closing connection');
    await d.waitClosed();
  } finally {
    await s.stop();
  }
});

test('too many bad commands end the session', async () => {
  const s = await startTestServer();
  try {
    const c = await connect(s);
    for (let i = 0; i < 20; i++) assert.equal((await c.cmd('XYZZY')).line, '-ERR unknown command');
    assert.equal((await c.cmd('XYZZY')).line, '-ERR too many bad commands, closing connection');
    await c.waitClosed();
    const d = await connect(s);
    assert.equal((await d.cmd('QUIT')).line, '+OK mx.example.org POP3 server signing off', 'the server still serves');
  } finally {
    await s.stop();
  }
});

test('connections beyond maxConnectionsPerIp get -ERR [SYS/TEMP] and are closed', async () => {
  const s = await startTestServer('', { limits: 'maxConnectionsPerIp: 2' });
  try {
    const a = await connect(s);
    const b = await connect(s, 'pop3s');
    const extra = await Pop3Client.connect(s.port('pop3'));
    assert.equal((await extra.greeting()).line, '-ERR [SYS/TEMP] too many connections from your address, try again later');
    await extra.waitClosed();
    const extraTls = await Pop3Client.connect(s.port('pop3s'), { tls: true });
    assert.match((await extraTls.greeting()).line, /^-ERR \[SYS\/TEMP\] too many connections/, 'refused inside TLS on pop3s');
    await extraTls.waitClosed();
    await quit(a);
    await quit(b);
  } finally {
    await s.stop();
  }
});

test('POP-before-SMTP: after a POP3 login the IP may relay for relay.popBeforeSmtp', async () => {
  const s = await startTestServer('relay: { popBeforeSmtp: 10m }\n');
  try {
    const smtp = await RawSmtp.connect(s.port('smtp'));
    await smtp.reply();
    await smtp.cmd('EHLO client.example');
    await smtp.cmd('MAIL FROM:<ivanov@example.org>');
    assert.match((await smtp.cmd('RCPT TO:<friend@remote.example>')).text, /^554 5\.7\.1/, 'no relay before the login');
    const c = await session(s, IVANOV, IVANOV_PASSWORD);
    await quit(c);
    assert.match((await smtp.cmd('RCPT TO:<friend@remote.example>')).text, /^250/, 'relay allowed after the login');
    await smtp.cmd('QUIT');
  } finally {
    await s.stop();
  }
});
