/**
 * The seed article's walk-through, end to end over real sockets: two postline
 * instances — example.org on 127.0.0.1 and example.com on 127.0.0.2 — and a
 * DNS server with their MX, A and PTR records. Ivanov (example.org) submits
 * to Kozlov (example.com); Kozlov reads it over IMAP and replies; Ivanov gets
 * the reply over POP3. Then a bounce: mail to an unknown user at example.com
 * comes back as a DSN in Ivanov's INBOX.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startDnsServer, ptrName, type DnsTestServer, type ZoneRecord } from '../../helpers/dns-server.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { Pop3Client } from '../../helpers/pop3-client.js';
import { parseMessage } from '../../../src/codec/mime/index.js';

/** A port free on both loopback addresses, so both instances can use it as their SMTP port and as delivery.port. */
async function portFreeOnBoth(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      ['127.0.0.1', '127.0.0.2'].map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once('error', () => resolve(false));
            s.listen(port, host, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no port free on both 127.0.0.1 and 127.0.0.2');
}

function zone(): ZoneRecord[] {
  return [
    { name: 'example.org', type: 'SOA', data: { minimum: 60 } },
    { name: 'example.org', type: 'MX', data: { preference: 10, exchange: 'mx.example.org' } },
    { name: 'mx.example.org', type: 'A', data: '127.0.0.1' },
    { name: 'example.com', type: 'SOA', data: { minimum: 60 } },
    { name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx.example.com' } },
    { name: 'mx.example.com', type: 'A', data: '127.0.0.2' },
    { name: ptrName('127.0.0.1'), type: 'PTR', data: 'mx.example.org' },
    { name: ptrName('127.0.0.2'), type: 'PTR', data: 'mx.example.com' },
  ];
}

function instanceYaml(o: { hostname: string; domain: string; ip: string; smtpPort: number; user: string; password: string; dnsPort: number }): string {
  return `
hostname: ${o.hostname}
domains: [${o.domain}]
users:
  - { address: ${o.user}, password: "${o.password}" }
listen:
  smtp: ${o.ip}:${o.smtpPort}
  submission: ${o.ip}:0
  pop3: ${o.ip}:0
  imap: ${o.ip}:0
dns: { servers: ["127.0.0.1:${o.dnsPort}"] }
delivery: { port: ${o.smtpPort}, retry: [1s] }
store: { fsync: batch, segmentSize: 4MB }
workers: { threads: 1 }
`;
}

/** Resolves when `check` holds; polls the in-memory index, which only changes after an fsync. */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const inboxCount = (server: TestServer, owner: string): number => server.store.folder(owner, 'INBOX')?.count ?? 0;

async function submit(server: TestServer, host: string, auth: { user: string; pass: string }, mail: { from: string; to: string; subject: string; text: string; inReplyTo?: string }): Promise<void> {
  const transport = nodemailer.createTransport({ host, port: server.port('submission'), secure: false, auth, tls: { rejectUnauthorized: false } });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
}

test('Ivanov (example.org) writes to Kozlov (example.com), Kozlov reads over IMAP and replies, Ivanov reads the reply over POP3; a bounce reaches Ivanov as a DSN', async () => {
  const dns: DnsTestServer = await startDnsServer(zone());
  const port = await portFreeOnBoth();
  const org = await startTestServer('', {
    baseYaml: instanceYaml({ hostname: 'mx.example.org', domain: 'example.org', ip: '127.0.0.1', smtpPort: port, user: 'ivanov@example.org', password: 'ivanov-secret', dnsPort: dns.port }),
  });
  const com = await startTestServer('', {
    baseYaml: instanceYaml({ hostname: 'mx.example.com', domain: 'example.com', ip: '127.0.0.2', smtpPort: port, user: 'kozlov@example.com', password: 'kozlov-secret', dnsPort: dns.port }),
  });
  try {
    // 1. Ivanov submits to his own server; it looks up example.com's MX and relays.
    await submit(org, '127.0.0.1', { user: 'ivanov@example.org', pass: 'ivanov-secret' }, { from: 'ivanov@example.org', to: 'kozlov@example.com', subject: 'Privet', text: 'Hello Kozlov, how are you?' });
    await until(() => inboxCount(com, 'kozlov@example.com') === 1, "the message in Kozlov's INBOX");
    assert.ok(dns.count('example.com', 'MX') >= 1, 'example.com MX was looked up');
    // The sender's server records the outcome after the remote 250, so it may trail the delivery by a moment.
    await until(() => org.store.queueItems().length === 0, 'the queue entry to be finished');

    // 2. Kozlov reads it over IMAP.
    const imap = new ImapFlow({ host: '127.0.0.2', port: com.port('imap'), secure: false, auth: { user: 'kozlov@example.com', pass: 'kozlov-secret' }, logger: false, tls: { rejectUnauthorized: false } });
    imap.on('error', () => {});
    await imap.connect();
    let messageId = '';
    try {
      await imap.mailboxOpen('INBOX');
      const msg = await imap.fetchOne('1', { envelope: true, source: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'Privet');
      assert.equal(msg.envelope?.from?.[0]?.address, 'ivanov@example.org');
      const source = msg.source!.toString();
      assert.match(source, /Hello Kozlov, how are you\?/);
      // Two hops, two trace headers: Ivanov's server, then Kozlov's.
      assert.equal((source.match(/^Received: /gm) ?? []).length, 2);
      messageId = msg.envelope?.messageId ?? '';
    } finally {
      await imap.logout();
    }

    // 3. Kozlov replies through his own server.
    await submit(com, '127.0.0.2', { user: 'kozlov@example.com', pass: 'kozlov-secret' }, { from: 'kozlov@example.com', to: 'ivanov@example.org', subject: 'Re: Privet', text: 'Fine, thanks!', inReplyTo: messageId });
    await until(() => inboxCount(org, 'ivanov@example.org') === 1, "the reply in Ivanov's INBOX");

    // 4. Ivanov fetches the reply over POP3.
    const pop = await Pop3Client.connect(org.port('pop3'), { host: '127.0.0.1' });
    try {
      await pop.greeting();
      assert.ok((await pop.login('ivanov@example.org', 'ivanov-secret')).ok);
      const retr = await pop.cmdMulti('RETR 1');
      assert.ok(retr.ok);
      const text = retr.body.toString();
      assert.match(text, /^Subject: Re: Privet$/m);
      assert.match(text, /Fine, thanks!/);
      assert.ok(text.includes(`In-Reply-To: ${messageId}`));
      await pop.cmd('QUIT');
    } finally {
      pop.close();
    }

    // 5. A recipient Kozlov's server does not know: 550 at RCPT → a DSN in Ivanov's INBOX.
    await submit(org, '127.0.0.1', { user: 'ivanov@example.org', pass: 'ivanov-secret' }, { from: 'ivanov@example.org', to: 'nobody@example.com', subject: 'Lost', text: 'Is anybody there?' });
    await until(() => inboxCount(org, 'ivanov@example.org') === 2, "the DSN in Ivanov's INBOX");
    const dsn = await org.store.readMessage('ivanov@example.org', 'INBOX', org.store.folder('ivanov@example.org', 'INBOX')!.uids[1]!);
    const info = parseMessage(dsn);
    assert.equal(`${info.root.type}/${info.root.subtype}`, 'multipart/report');
    assert.equal(info.root.params.find(([k]) => k === 'report-type')?.[1], 'delivery-status');
    assert.deepEqual(info.root.children.map((p) => `${p.type}/${p.subtype}`).slice(0, 2), ['text/plain', 'message/delivery-status']);
    const text = dsn.toString();
    assert.match(text, /^From: .*MAILER-DAEMON@mx\.example\.org/m);
    assert.match(text, /Final-Recipient: rfc822; ?nobody@example\.com/i);
    assert.match(text, /Status: 5\.1\.1/);
    assert.match(text, /Subject: Lost/, 'the original headers come back');
    // A second, independent parser (Python's email package) when the machine has one.
    const py = spawnSync('python3', ['-c', 'import sys,email; m=email.message_from_bytes(sys.stdin.buffer.read()); print(m.get_content_type(), m.get_param("report-type"))'], { input: dsn, encoding: 'utf8' });
    if (py.status === 0) assert.equal(py.stdout.trim(), 'multipart/report delivery-status');
  } finally {
    await org.stop();
    await com.stop();
    await dns.close();
  }
});
