/**
 * deliverOverSmtp against a scripted loopback server: who gets which answer,
 * pipelining, the HELO fallback, SIZE / SMTPUTF8 / 8BITMIME decisions, the
 * MAIL/RCPT parameters, and dot-stuffing arriving byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverOverSmtp } from '../../../src/delivery/smtp-client.js';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { FAST, MESSAGE, request, withServer } from './support.js';

test('pipelined: MAIL, every RCPT and DATA in one go; mixed per-recipient outcomes', async () => {
  await withServer(
    () =>
      ScriptedSmtpServer.start({
        script: {
          rcpt: (_s, r) =>
            r.startsWith('unknown@') ? '550 5.1.1 <unknown@example.com>: Recipient address rejected: User unknown' : r.startsWith('busy@') ? '451 4.3.0 try again later' : undefined,
        },
      }),
    async (server) => {
      const recipients = ['a@example.com', 'unknown@example.com', 'b@example.com', 'busy@example.com'];
      const result = await deliverOverSmtp(request(server, { recipients }), FAST);
      assert.equal(result.failure, null);
      assert.deepEqual(
        result.recipients.map((o) => [o.recipient, o.status, o.code, o.enhanced, o.stage]),
        [
          ['a@example.com', 'delivered', 250, '2.0.0', 'message'],
          ['unknown@example.com', 'permanent', 550, '5.1.1', 'rcpt'],
          ['b@example.com', 'delivered', 250, '2.0.0', 'message'],
          ['busy@example.com', 'temporary', 451, '4.3.0', 'rcpt'],
        ],
      );
      const unknown = result.recipients[1]!;
      assert.equal(unknown.text, '<unknown@example.com>: Recipient address rejected: User unknown');
      assert.equal(unknown.diagnostic, 'smtp; 550 5.1.1 <unknown@example.com>: Recipient address rejected: User unknown');
      assert.equal(unknown.remoteHost, 'mx.test');
      assert.equal(unknown.remoteIp, '127.0.0.1');

      const [t] = server.delivered();
      assert.ok(t);
      assert.deepEqual(t.data, MESSAGE);
      assert.equal(t.sender, 'alice@example.org');
      assert.deepEqual(t.rcpts.map((r) => r.address), recipients);
      assert.equal(t.helo, 'client.test');
      assert.deepEqual(server.badCommands, []);

      // Every command of the group arrived before the first of its replies was sent.
      const log = server.transcript(1);
      const mail = log.findIndex((l) => l.startsWith('C: MAIL'));
      const data = log.indexOf('C: DATA');
      const firstReply = log.findIndex((l, i) => i > mail && l.startsWith('S: '));
      assert.ok(mail >= 0 && data > mail && data < firstReply, log.join('\n'));
      assert.ok(log.includes('C: QUIT'), 'the session ends with QUIT');
    },
  );
});

test('without PIPELINING every command waits for its reply', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ extensions: ['SIZE 1000000', '8BITMIME', 'ENHANCEDSTATUSCODES'] }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'b@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => o.status), ['delivered', 'delivered']);
      const log = server.transcript(1).filter((l) => !l.startsWith('S: 250-'));
      const from = log.findIndex((l) => l.startsWith('C: MAIL'));
      const dialogue = log.slice(from, from + 8).map((l) => l.slice(0, 2));
      assert.deepEqual(dialogue, ['C:', 'S:', 'C:', 'S:', 'C:', 'S:', 'C:', 'S:'], log.join('\n'));
      assert.deepEqual(server.delivered()[0]?.data, MESSAGE);
    },
  );
});

test('no recipient accepted: no message is sent; each recipient keeps its own reply', async () => {
  for (const extensions of [undefined, ['ENHANCEDSTATUSCODES']]) {
    await withServer(
      () => ScriptedSmtpServer.start({ extensions, script: { rcpt: (_s, r) => (r.startsWith('x') ? '550 5.1.1 no such user' : '452 4.2.2 mailbox full') } }),
      async (server) => {
        const result = await deliverOverSmtp(request(server, { recipients: ['x@example.com', 'y@example.com'] }), FAST);
        assert.deepEqual(result.recipients.map((o) => [o.status, o.code]), [['permanent', 550], ['temporary', 452]]);
        assert.equal(result.failure, null);
        assert.equal(server.delivered().length, 0);
        assert.equal(server.transactions[0]?.data, null);
      },
    );
  }
});

test('EHLO refused with 5xx: HELO, and a plain transaction without extensions', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { ehlo: () => '502 5.5.2 EHLO not implemented' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { body8bit: true, dsn: { ret: 'FULL' } }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.ok(server.transcript(1).includes('C: HELO client.test'));
      assert.equal(server.delivered()[0]?.mailParams, '', 'no SIZE, BODY or RET without EHLO');
    },
  );
});

test('EHLO refused with 4xx: temporary, no HELO', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { ehlo: () => '421 4.3.2 shutting down' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server), FAST);
      assert.equal(result.failure?.stage, 'helo');
      assert.equal(result.failure?.status, 'temporary');
      assert.equal(result.recipients[0]?.code, 421);
      assert.ok(!server.transcript(1).some((l) => l.startsWith('C: HELO')));
    },
  );
});

test('larger than the server SIZE: permanent 552 5.3.4 for all, nothing sent', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ extensions: ['PIPELINING', 'SIZE 100'] }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'b@example.com'] }), FAST);
      for (const o of result.recipients) assert.deepEqual([o.status, o.code, o.enhanced, o.stage], ['permanent', 552, '5.3.4', 'local']);
      assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_TOO_BIG');
      assert.match(result.failure!.diagnostic, /^X-Postline; message size \d+ exceeds size limit 100 of server mx\.test\[127\.0\.0\.1\]/);
      assert.equal(server.transactions.length, 0, 'no MAIL was sent');
    },
  );
});

test('SMTPUTF8 needed but not offered: permanent 553 5.6.7; an all-ASCII SMTPUTF8 message still goes', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ extensions: ['PIPELINING', '8BITMIME'] }),
    async (server) => {
      const utf8 = await deliverOverSmtp(request(server, { smtputf8: true, recipients: ['δοκιμή@example.com'] }), FAST);
      assert.deepEqual([utf8.recipients[0]?.status, utf8.recipients[0]?.code, utf8.recipients[0]?.enhanced], ['permanent', 553, '5.6.7']);
      const ascii = await deliverOverSmtp(request(server, { smtputf8: true }), FAST);
      assert.equal(ascii.recipients[0]?.status, 'delivered');
      assert.equal(server.delivered()[0]?.mailParams, '', 'no SMTPUTF8 parameter to a server without it');
    },
  );
});

test('SMTPUTF8 offered: UTF-8 addresses and header go through with the parameter', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const body = Buffer.from('Subject: Привет\r\n\r\nтекст\r\n');
      const result = await deliverOverSmtp(request(server, { smtputf8: true, body8bit: true, sender: 'почта@пример.рф', recipients: ['δοκιμή@example.com'], body }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      const t = server.delivered()[0]!;
      assert.equal(t.sender, 'почта@пример.рф');
      assert.match(t.mailParams, /BODY=8BITMIME SMTPUTF8/);
      assert.deepEqual(t.data, body);
    },
  );
});

test('8-bit body to a server without 8BITMIME: sent as it is, without BODY=', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ extensions: ['PIPELINING', 'SIZE 1000000'] }),
    async (server) => {
      const body = Buffer.from('Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nЁлка\r\n');
      const result = await deliverOverSmtp(request(server, { body8bit: true, body }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(server.delivered()[0]?.mailParams, `SIZE=${body.length}`);
      assert.deepEqual(server.delivered()[0]?.data, body);
    },
  );
});

test('DSN offered: RET/ENVID on MAIL, NOTIFY/ORCPT on RCPT, all valid for a strict parser', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const dsn = { ret: 'HDRS' as const, envid: 'QQ+1 x', notify: { 'bob@example.com': ['SUCCESS', 'FAILURE'] }, orcpt: { 'bob@example.com': 'rfc822;Bob+x@Example.com' } };
      await deliverOverSmtp(request(server, { body8bit: true, dsn }), FAST);
      const t = server.delivered()[0]!;
      assert.equal(t.mailParams, `SIZE=${MESSAGE.length} BODY=8BITMIME RET=HDRS ENVID=QQ+2B1+20x`);
      assert.equal(t.rcpts[0]?.params, 'NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx@Example.com');
      assert.deepEqual(server.badCommands, []);
    },
  );
});

test('the null sender is sent as MAIL FROM:<>', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { sender: null }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(server.delivered()[0]?.sender, '');
      assert.ok(server.transcript(1).some((l) => l.startsWith('C: MAIL FROM:<> ')));
    },
  );
});

test('an unsafe recipient (CR/LF) is refused locally; the others are delivered', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['ok@example.com', 'evil@example.com>\r\nRSET'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => [o.status, o.enhanced]), [['delivered', '2.0.0'], ['permanent', '5.1.3']]);
      assert.ok(!server.transcript(1).includes('C: RSET'));
      assert.deepEqual(server.badCommands, []);
    },
  );
});

test('4xx at MAIL: temporary for every recipient', async () => {
  for (const extensions of [undefined, ['ENHANCEDSTATUSCODES']]) {
    await withServer(
      () => ScriptedSmtpServer.start({ extensions, script: { mail: () => '451 4.7.1 greylisted, try again in 5 minutes' } }),
      async (server) => {
        const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'b@example.com'] }), FAST);
        assert.equal(result.failure?.stage, 'mail');
        assert.equal(result.failure?.errorCode, 'ERR_DELIVERY_DEFERRED');
        for (const o of result.recipients) assert.deepEqual([o.status, o.code, o.enhanced, o.stage], ['temporary', 451, '4.7.1', 'mail']);
        assert.equal(server.transactions[0]?.data, null);
      },
    );
  }
});

test('5xx at MAIL: permanent for every recipient', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { mail: () => '553 5.7.1 sender rejected' } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'b@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => o.status), ['permanent', 'permanent']);
    },
  );
});

test('refused DATA: its reply goes to the accepted recipients only', async () => {
  await withServer(
    () => ScriptedSmtpServer.start({ script: { data: () => '451 4.3.0 no room', rcpt: (_s, r) => (r.startsWith('x') ? '550 5.1.1 unknown' : undefined) } }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'x@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => [o.status, o.code, o.stage]), [['temporary', 451, 'data'], ['permanent', 550, 'rcpt']]);
      assert.equal(result.failure?.stage, 'data');
    },
  );
});

test('5xx after the final dot: permanent for every accepted recipient; refused ones keep theirs', async () => {
  await withServer(
    () =>
      ScriptedSmtpServer.start({
        script: { dataEnd: () => '554-5.7.1 message refused\r\n554 5.7.1 spam score too high', rcpt: (_s, r) => (r.startsWith('x') ? '450 4.2.1 later' : undefined) },
      }),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { recipients: ['a@example.com', 'x@example.com', 'b@example.com'] }), FAST);
      assert.deepEqual(result.recipients.map((o) => [o.status, o.code, o.enhanced]), [['permanent', 554, '5.7.1'], ['temporary', 450, '4.2.1'], ['permanent', 554, '5.7.1']]);
      assert.equal(result.recipients[0]?.text, 'message refused spam score too high');
      assert.equal(result.failure?.stage, 'message');
      assert.equal(result.failure?.status, 'permanent');
    },
  );
});

test('dot-stuffing: lines starting with "." arrive byte-exact after unstuffing', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const body = Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n . not first\r\nend.\r\n.\r\n...\r\nlast line\r\n');
      const result = await deliverOverSmtp(request(server, { body }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      const t = server.delivered()[0]!;
      assert.deepEqual(t.data, body);
      assert.equal(t.raw?.toString('latin1'), 'Subject: dots\r\n\r\n..\r\n...\r\n..hidden\r\n . not first\r\nend.\r\n..\r\n....\r\nlast line\r\n.\r\n');
    },
  );
});

test('bare LF / bare CR in the queued body go out as CRLF; a missing final newline is added', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const result = await deliverOverSmtp(request(server, { body: Buffer.from('Subject: lf\n\n.\nline\rno newline at end') }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.equal(server.delivered()[0]?.data?.toString('latin1'), 'Subject: lf\r\n\r\n.\r\nline\r\nno newline at end\r\n');
    },
  );
});

test('a large message (3 MB) arrives intact', async () => {
  await withServer(
    () => ScriptedSmtpServer.start(),
    async (server) => {
      const line = '.'.repeat(10) + 'x'.repeat(60) + '\r\n';
      const body = Buffer.from('Subject: big\r\n\r\n' + line.repeat(Math.ceil((3 * 1024 * 1024) / line.length)));
      const result = await deliverOverSmtp(request(server, { body }), FAST);
      assert.equal(result.recipients[0]?.status, 'delivered');
      assert.ok(server.delivered()[0]?.data?.equals(body));
    },
  );
});
