/**
 * SIGHUP reloads the config of a running `postline serve` (issue 6): a user
 * added inline can log in, a new alias is accepted at RCPT, open sessions
 * are not dropped; a broken config is refused and the old one stays; keys
 * that need a restart (listeners, dataDir) are named in the log; a renewed
 * certificate reaches new connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { silentLogger } from '../../src/core/log.js';
import { loadTlsMaterial } from '../../src/net/tls.js';
import { serve, within, workspace, type Served } from '../helpers/cli.js';
import { ImapClient } from '../helpers/imap-client.js';
import { RawSmtp } from '../helpers/smtp-client.js';

const BASE = `users:
  - { address: ivanov@example.org, password: "ivanov-pw" }
listen: { smtp: "127.0.0.1:0", imap: "127.0.0.1:0" }
`;
const RELOADED = `users:
  - { address: ivanov@example.org, password: "ivanov-pw" }
  - { address: petrov@example.org, password: "petrov-pw" }
aliases: { sales@example.org: petrov@example.org }
listen: { smtp: "127.0.0.1:0", imap: "127.0.0.1:0" }
`;

function portOf(served: Served, listener: string): number {
  const line = served.logs.find((l) => l.msg === 'listening' && l.listener === listener);
  if (!line) throw new Error(`no listening line for ${listener}`);
  return Number(String(line.address).split(':').pop());
}

async function imapLogin(port: number, user: string, password: string): Promise<{ client: ImapClient; status: string }> {
  const client = await ImapClient.connect(port);
  await client.greeting();
  const r = await client.login(user, password);
  return { client, status: r.status };
}

async function rcpt(port: number, address: string): Promise<number> {
  const smtp = await RawSmtp.connect(port);
  try {
    await smtp.reply();
    await smtp.cmd('EHLO client.test');
    await smtp.cmd('MAIL FROM:<someone@remote.test>');
    return (await smtp.cmd(`RCPT TO:<${address}>`)).code;
  } finally {
    smtp.close();
  }
}

test('SIGHUP: a new inline user logs in, a new alias is accepted, open sessions stay; a bad config is refused', { timeout: 60_000 }, async () => {
  const ws = workspace(BASE);
  const served = serve(ws);
  try {
    await served.waitForLog((l) => l.msg === 'postline ready', 15_000);
    const imapPort = portOf(served, 'imap');
    const smtpPort = portOf(served, 'smtp');

    const ivanov = await imapLogin(imapPort, 'ivanov@example.org', 'ivanov-pw');
    assert.equal(ivanov.status, 'OK');
    const before = await imapLogin(imapPort, 'petrov@example.org', 'petrov-pw');
    assert.equal(before.status, 'NO');
    before.client.close();
    assert.equal(await rcpt(smtpPort, 'sales@example.org'), 550);

    // Same listeners, one more user and an alias.
    writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace(BASE, RELOADED));
    served.child.kill('SIGHUP');
    const reloaded = await served.waitForLog((l) => l.msg === 'config reloaded', 10_000);
    assert.deepEqual(reloaded.needsRestart, []);

    const petrov = await imapLogin(imapPort, 'petrov@example.org', 'petrov-pw');
    assert.equal(petrov.status, 'OK');
    petrov.client.close();
    assert.equal(await rcpt(smtpPort, 'sales@example.org'), 250);
    // The session opened before the reload is still there.
    assert.equal((await ivanov.client.command('NOOP')).status, 'OK');

    // A broken config: refused with its errors, the running config stays.
    writeFileSync(ws.config, readFileSync(ws.config, 'utf8') + 'limits: { maxMessageSize: lots }\n');
    served.child.kill('SIGHUP');
    const failed = await served.waitForLog((l) => l.msg === 'config reload failed', 10_000);
    assert.match(JSON.stringify(failed.errors), /limits\.maxMessageSize/);
    const again = await imapLogin(imapPort, 'petrov@example.org', 'petrov-pw');
    assert.equal(again.status, 'OK');
    again.client.close();

    // Moving a listener needs a restart: said, not half-done.
    writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace('limits: { maxMessageSize: lots }\n', '').replace('smtp: "127.0.0.1:0"', 'smtp: "127.0.0.1:1"'));
    served.child.kill('SIGHUP');
    const partly = await served.waitForLog((l) => l.msg === 'config reloaded' && Array.isArray(l.needsRestart) && (l.needsRestart as string[]).length > 0, 10_000);
    assert.deepEqual(partly.needsRestart, ['listen.smtp']);
    assert.equal(await rcpt(smtpPort, 'sales@example.org'), 250);

    ivanov.client.close();
    served.child.kill('SIGTERM');
    assert.equal(await within(served.exit, 15_000, 'exit after SIGTERM'), 0);
  } finally {
    served.child.kill('SIGKILL');
    rmSync(ws.cwd, { recursive: true, force: true });
  }
});

/** SHA-256 fingerprint of the certificate a TLS server presents on `port` (implicit TLS). */
async function implicitTlsFingerprint(port: number): Promise<{ fingerprint: string; socket: TLSSocket }> {
  const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return { fingerprint: socket.getPeerCertificate().fingerprint256, socket };
}

/** The same after EHLO + STARTTLS on a plaintext SMTP port. */
async function starttlsFingerprint(port: number): Promise<string> {
  const smtp = await RawSmtp.connect(port);
  try {
    await smtp.reply();
    await smtp.cmd('EHLO client.test');
    assert.equal((await smtp.cmd('STARTTLS')).code, 220);
    const secure = tlsConnect({ socket: smtp.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const fingerprint = secure.getPeerCertificate().fingerprint256;
    secure.destroy();
    return fingerprint;
  } finally {
    smtp.close();
  }
}

test('SIGHUP: a renewed certificate (same paths, new files) is served to new connections; open ones keep theirs', { timeout: 60_000 }, async () => {
  // Two certificate pairs, made the way postline makes its self-signed one.
  const pairs = await Promise.all(['a', 'b'].map(async (name) => {
    const dir = mkdtempSync(join(tmpdir(), `postline-cert-${name}-`));
    const material = await loadTlsMaterial({ tls: null, dataDir: dir, hostname: `${name}.example.org` }, silentLogger);
    rmSync(dir, { recursive: true, force: true });
    return material;
  }));
  const ws = workspace(`listen: { smtp: "127.0.0.1:0", smtps: "127.0.0.1:0" }\ntls: { cert: ./cert.pem, key: ./key.pem }\n`);
  const install = (k: number): void => {
    writeFileSync(join(ws.cwd, 'cert.pem'), pairs[k]!.cert);
    writeFileSync(join(ws.cwd, 'key.pem'), pairs[k]!.key);
  };
  install(0);
  const served = serve(ws);
  try {
    await served.waitForLog((l) => l.msg === 'postline ready', 15_000);
    const smtps = portOf(served, 'smtps');
    const smtp = portOf(served, 'smtp');
    const before = await implicitTlsFingerprint(smtps);
    assert.equal(await starttlsFingerprint(smtp), before.fingerprint);

    install(1);
    served.child.kill('SIGHUP');
    await served.waitForLog((l) => l.msg === 'config reloaded', 10_000);
    const after = await implicitTlsFingerprint(smtps);
    assert.notEqual(after.fingerprint, before.fingerprint, 'smtps serves the renewed certificate');
    assert.equal(await starttlsFingerprint(smtp), after.fingerprint, 'STARTTLS too');
    after.socket.destroy();
    // The connection made before the reload is still up, on its old certificate.
    assert.ok(!before.socket.destroyed);
    assert.equal(before.socket.getPeerCertificate().fingerprint256, before.fingerprint);
    before.socket.destroy();

    // An unusable certificate is refused as a whole: the reload fails and the served one stays.
    writeFileSync(join(ws.cwd, 'cert.pem'), 'not a certificate');
    served.child.kill('SIGHUP');
    await served.waitForLog((l) => l.msg === 'config reload failed', 10_000);
    const still = await implicitTlsFingerprint(smtps);
    assert.equal(still.fingerprint, after.fingerprint);
    still.socket.destroy();
    served.child.kill('SIGTERM');
    assert.equal(await within(served.exit, 15_000, 'exit after SIGTERM'), 0);
  } finally {
    served.child.kill('SIGKILL');
    rmSync(ws.cwd, { recursive: true, force: true });
  }
});
