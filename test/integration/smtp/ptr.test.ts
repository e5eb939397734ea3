/**
 * SPEC §4.3 over real sockets: the MX listener checks the client's reverse
 * DNS (checks.ptr: sender-domain) against a DNS server in the test. Clients
 * bind 127.0.0.2 / 127.0.0.3 so they look like other hosts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, ptrName, type DnsTestServer } from '../../helpers/dns-server.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { RawSmtp } from '../../helpers/smtp-client.js';

let dns: DnsTestServer;
let server: TestServer;

before(async () => {
  dns = await startDnsServer([
    { name: ptrName('127.0.0.2'), type: 'PTR', data: 'mx.example.com' },
    { name: 'mx.example.com', type: 'A', data: '127.0.0.2' },
    { name: ptrName('127.0.0.3'), type: 'PTR', data: 'mail.spam.com' },
    { name: 'mail.spam.com', type: 'A', data: '127.0.0.3' },
    // 127.0.0.4 claims a name that does not point back at it.
    { name: ptrName('127.0.0.4'), type: 'PTR', data: 'forged.example.com' },
    { name: 'forged.example.com', type: 'A', data: '192.0.2.99' },
  ]);
  server = await startTestServer(`checks: { ptr: sender-domain }\ndns: { servers: ["127.0.0.1:${dns.port}"] }\nrelay: { trustedNetworks: [127.0.0.5/32] }\n`);
});

after(async () => {
  await server.stop();
  await dns.close();
});

async function mailFrom(localAddress: string, sender: string): Promise<string> {
  const c = await RawSmtp.connect(server.port('smtp'), '127.0.0.1', localAddress);
  try {
    await c.reply();
    await c.cmd('EHLO client.example');
    const r = await c.cmd(`MAIL FROM:<${sender}>`);
    return r.lines[r.lines.length - 1] ?? String(r.code);
  } finally {
    c.socket.destroy();
  }
}

test('a host whose PTR is mail.spam.com claiming boss@example.com is refused with 550 5.7.25', async () => {
  assert.match(await mailFrom('127.0.0.3', 'boss@example.com'), /^550 5\.7\.25/);
});

test('127.0.0.2 (PTR mx.example.com, which resolves back) sending for kozlov@example.com is accepted', async () => {
  assert.match(await mailFrom('127.0.0.2', 'kozlov@example.com'), /^250/);
});

test('a PTR name that does not resolve back fails fcrdns; the null sender gets the fcrdns check only', async () => {
  assert.match(await mailFrom('127.0.0.4', 'x@example.com'), /^550 5\.7\.25/);
  assert.match(await mailFrom('127.0.0.4', ''), /^550 5\.7\.25/);
  assert.match(await mailFrom('127.0.0.3', ''), /^250/, 'mail.spam.com resolves back: fcrdns passes for <>');
});

test('a DNS failure is a temporary 451 4.4.3; trusted clients are not checked', async () => {
  // A fresh address: answers for the others are cached by now.
  dns.fault(ptrName('127.0.0.6'), 'servfail');
  try {
    assert.match(await mailFrom('127.0.0.6', 'kozlov@example.com'), /^451 4\.4\.3/);
  } finally {
    dns.fault(ptrName('127.0.0.6'), null);
  }
  assert.match(await mailFrom('127.0.0.5', 'anyone@example.com'), /^250/, 'no PTR at all, but trusted');
});
