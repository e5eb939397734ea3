/**
 * IMAP limits over real sockets: connections per IP (* BYE and close), auth
 * failures per IP (shared with SMTP and POP3), the POP-before-SMTP hook, the
 * autologout timer (at least 30 minutes, RFC 3501 §5.4; driven by an
 * injected clock) and the cap on commands before login.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../../src/core/clock.js';
import { startTestServer } from '../../helpers/server.js';
import { ImapClient } from '../../helpers/imap-client.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { connect, IVANOV, IVANOV_PASSWORD, logout, session } from './support.js';

/** A clock whose timers run only when the test fires them (its time is real). */
function manualClock(): Clock & { pending(ms: number): number; fire(ms: number): void } {
  const timers = new Set<{ fn: () => void; ms: number }>();
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const t = { fn, ms };
      timers.add(t);
      return t;
    },
    clearTimeout(handle) {
      timers.delete(handle as { fn: () => void; ms: number });
    },
    pending: (ms) => [...timers].filter((t) => t.ms === ms).length,
    fire(ms) {
      for (const t of [...timers]) {
        if (t.ms !== ms) continue;
        timers.delete(t);
        t.fn();
      }
    },
  };
}

const THIRTY_MINUTES = 30 * 60_000;

test('connections beyond maxConnectionsPerIp get * BYE [UNAVAILABLE] and are closed, on imap and imaps', async () => {
  const s = await startTestServer('', { limits: 'maxConnectionsPerIp: 2' });
  try {
    const a = await connect(s);
    const b = await connect(s, 'imaps');
    const extra = await ImapClient.connect(s.port('imap'));
    assert.equal(await extra.greeting(), '* BYE [UNAVAILABLE] Too many connections from your address, try again later');
    await extra.waitClosed();
    const extraTls = await ImapClient.connect(s.port('imaps'), { tls: true });
    assert.equal(await extraTls.greeting(), '* BYE [UNAVAILABLE] Too many connections from your address, try again later', 'inside TLS on imaps');
    await extraTls.waitClosed();
    await logout(a);
    await logout(b);
  } finally {
    await s.stop();
  }
});

test('after authFailuresPerIp failures the IP is refused, even with the right password, on IMAP, POP3 and SMTP', async () => {
  const s = await startTestServer('', { limits: 'authFailuresPerIp: 3' });
  try {
    // One failure over SMTP counts too: the limiter is shared.
    const smtp = await RawSmtp.connect(s.port('submission'));
    await smtp.reply();
    await smtp.cmd('EHLO client.example');
    const auth = await smtp.cmd(`AUTH PLAIN ${Buffer.from(`\u0000${IVANOV}\u0000nope`).toString('base64')}`);
    assert.match(auth.text, /^535/);
    smtp.close();

    const c = await connect(s);
    assert.equal((await c.login(IVANOV, 'nope')).text, '[AUTHENTICATIONFAILED] Authentication failed');
    const blocked = await c.login(IVANOV, 'nope');
    assert.deepEqual(blocked.untagged.map((u) => u.text), ['* BYE Too many authentication failures']);
    assert.equal(blocked.text, '[UNAVAILABLE] Too many authentication failures from your address, try again later');
    await c.waitClosed();

    const d = await ImapClient.connect(s.port('imap'));
    assert.equal(await d.greeting(), '* BYE [UNAVAILABLE] Too many authentication failures from your address, try again later', 'refused at connect');
    await d.waitClosed();
    const p = await Pop3Client.connect(s.port('pop3'));
    assert.match((await p.greeting()).line, /^-ERR \[AUTH\] too many authentication failures/);
    p.close();
  } finally {
    await s.stop();
  }
});

test('POP-before-SMTP: after an IMAP login the IP may relay for relay.popBeforeSmtp', async () => {
  const s = await startTestServer('relay: { popBeforeSmtp: 10m }\n');
  try {
    const smtp = await RawSmtp.connect(s.port('smtp'));
    await smtp.reply();
    await smtp.cmd('EHLO client.example');
    await smtp.cmd('MAIL FROM:<ivanov@example.org>');
    assert.match((await smtp.cmd('RCPT TO:<friend@remote.example>')).text, /^554 5\.7\.1/, 'no relay before the login');
    const c = await session(s, IVANOV, IVANOV_PASSWORD);
    assert.match((await smtp.cmd('RCPT TO:<friend@remote.example>')).text, /^250/, 'relay allowed after the login');
    await smtp.cmd('QUIT');
    await logout(c);
  } finally {
    await s.stop();
  }
});

test('autologout: at least 30 minutes whatever limits.idleTimeout says, then * BYE and close; IDLE included', async () => {
  const clock = manualClock();
  const s = await startTestServer('', { limits: 'idleTimeout: 5m', clock });
  try {
    const c = await connect(s);
    assert.equal(clock.pending(THIRTY_MINUTES), 1, 'the IMAP session armed a 30-minute timer, not 5 minutes');
    clock.fire(THIRTY_MINUTES);
    assert.equal(await c.waitClosed(), '* BYE Autologout; idle for too long\r\n');

    const d = await session(s);
    await d.ok('SELECT INBOX');
    d.write('i1 IDLE\r\n');
    assert.equal((await d.response()).text, '+ idling');
    clock.fire(THIRTY_MINUTES);
    assert.equal(await d.waitClosed(), '* BYE Autologout; idle for too long\r\n');
  } finally {
    await s.stop();
  }
  const longer = manualClock();
  const t = await startTestServer('', { limits: 'idleTimeout: 45m', clock: longer });
  try {
    const c = await connect(t);
    assert.equal(longer.pending(45 * 60_000), 1, 'a longer configured timeout is kept');
    await logout(c);
  } finally {
    await t.stop();
  }
});

test('a client that never logs in is cut after 100 commands', async () => {
  const s = await startTestServer();
  try {
    const c = await connect(s);
    for (let i = 0; i < 100; i++) await c.ok('NOOP');
    c.write('n101 NOOP\r\n');
    assert.equal(await c.waitClosed(), '* BYE Too many commands without logging in\r\n', 'no tagged reply, a BYE');
    const d = await session(s);
    await logout(d);
  } finally {
    await s.stop();
  }
});
