import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { silentLogger } from '../../../src/core/log.js';
import { isPostlineError } from '../../../src/core/errors.js';
import { Listener, type ConnectionInfo } from '../../../src/net/listener.js';
import { createSecureContext, loadTlsMaterial, type TlsMaterial } from '../../../src/net/tls.js';
import { discardPlaintext, startTls, upgradeToTls } from '../../../src/net/starttls.js';
import { tempDir } from '../../helpers/tmp.js';
import { Inbox, waitFor, withTimeout } from './support.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

// One generated certificate for the listener tests (RSA generation takes a few hundred ms).
let shared: Promise<{ material: TlsMaterial; context: SecureContext }> | null = null;
function sharedTls(): Promise<{ material: TlsMaterial; context: SecureContext }> {
  shared ??= (async () => {
    const dir = tempDir();
    try {
      const material = await loadTlsMaterial({ tls: null, dataDir: dir.path, hostname: 'mx.test' }, silentLogger);
      return { material, context: createSecureContext(material) };
    } finally {
      dir.remove();
    }
  })();
  return shared;
}

test('self-signed: generated once into dataDir/tls, then reused byte for byte', async () => {
  const dir = tempDir();
  try {
    const config = { tls: null, dataDir: join(dir.path, 'data'), hostname: 'mx.example.org' };
    const first = await loadTlsMaterial(config, silentLogger);
    assert.equal(first.selfSigned, true);
    const tlsDir = join(config.dataDir, 'tls');
    assert.deepEqual(readdirSync(tlsDir).sort(), ['selfsigned.crt', 'selfsigned.key'], 'no temp files left');
    assert.equal(statSync(join(tlsDir, 'selfsigned.key')).mode & 0o777, 0o600);

    const cert = new X509Certificate(first.cert);
    assert.match(cert.subject, /CN=mx\.example\.org/);
    assert.equal(cert.checkHost('mx.example.org'), 'mx.example.org');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    const years = (Date.parse(cert.validTo) - Date.now()) / YEAR_MS;
    assert.ok(years > 9.9 && years < 10.1, `valid ~10 years, got ${years}`);

    const second = await loadTlsMaterial(config, silentLogger);
    assert.equal(second.selfSigned, true);
    assert.ok(second.cert.equals(first.cert));
    assert.ok(second.key.equals(first.key));
    createSecureContext(second);

    // Configured files are read as they are, and flagged as not self-signed.
    const configured = await loadTlsMaterial({ ...config, tls: { cert: join(tlsDir, 'selfsigned.crt'), key: join(tlsDir, 'selfsigned.key') } }, silentLogger);
    assert.equal(configured.selfSigned, false);
    assert.ok(configured.cert.equals(first.cert));

    // A new hostname gets a new certificate; the old key does not fit it.
    const renamed = await loadTlsMaterial({ ...config, hostname: 'mail.example.org' }, silentLogger);
    assert.ok(!renamed.cert.equals(first.cert));
    assert.equal(new X509Certificate(renamed.cert).checkHost('mail.example.org'), 'mail.example.org');
    assert.throws(() => createSecureContext({ cert: renamed.cert, key: first.key }), (e) => isPostlineError(e, 'ERR_CONFIG_INVALID'));
  } finally {
    dir.remove();
  }
});

test('concurrent first starts generate one pair, not two interleaved ones', async () => {
  const dir = tempDir();
  try {
    const config = { tls: null, dataDir: dir.path, hostname: 'mx.example.org' };
    const [a, b, c] = await Promise.all([loadTlsMaterial(config, silentLogger), loadTlsMaterial(config, silentLogger), loadTlsMaterial(config, silentLogger)]);
    assert.ok(a.cert.equals(b.cert) && b.cert.equals(c.cert));
    const again = await loadTlsMaterial(config, silentLogger);
    assert.ok(again.cert.equals(a.cert) && again.key.equals(a.key));
  } finally {
    dir.remove();
  }
});

test('a self-signed certificate close to expiry is replaced', async () => {
  const dir = tempDir();
  try {
    const config = { tls: null, dataDir: dir.path, hostname: 'mx.example.org' };
    const first = await loadTlsMaterial(config, silentLogger);
    const nineYearsOn = { now: () => Date.now() + 9 * YEAR_MS };
    assert.ok((await loadTlsMaterial(config, silentLogger, nineYearsOn)).cert.equals(first.cert));
    const tenYearsOn = { now: () => Date.now() + 10 * YEAR_MS };
    const renewed = await loadTlsMaterial(config, silentLogger, tenYearsOn);
    assert.ok(!renewed.cert.equals(first.cert));
    assert.ok(Date.parse(new X509Certificate(renewed.cert).validTo) > Date.now() + 19 * YEAR_MS);
  } finally {
    dir.remove();
  }
});

test('a half-written or damaged self-signed pair is regenerated, never half reused', async () => {
  const dir = tempDir();
  try {
    const config = { tls: null, dataDir: dir.path, hostname: 'mx.example.org' };
    const first = await loadTlsMaterial(config, silentLogger);
    // A crash between the two renames leaves the new key without its certificate.
    unlinkSync(join(dir.path, 'tls', 'selfsigned.crt'));
    const second = await loadTlsMaterial(config, silentLogger);
    assert.ok(!second.key.equals(first.key));
    createSecureContext(second);
    writeFileSync(join(dir.path, 'tls', 'selfsigned.crt'), 'garbage');
    const third = await loadTlsMaterial(config, silentLogger);
    assert.ok(!third.cert.equals(second.cert));
    createSecureContext(third);
    assert.ok(readFileSync(join(dir.path, 'tls', 'selfsigned.crt')).equals(third.cert));
  } finally {
    dir.remove();
  }
});

test('configured but unreadable certificate files fail with the config key named', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(
      loadTlsMaterial({ tls: { cert: join(dir.path, 'missing.crt'), key: join(dir.path, 'missing.key') }, dataDir: dir.path, hostname: 'x' }, silentLogger),
      (e: Error) => isPostlineError(e, 'ERR_CONFIG_READ') && /tls\.(cert|key): cannot read/.test(e.message),
    );
  } finally {
    dir.remove();
  }
});

async function startTlsListener(context: SecureContext, handshakeTimeoutMs = 30_000) {
  const infos: ConnectionInfo[] = [];
  const sessionsClosed: Promise<unknown>[] = [];
  const listener = await Listener.start({
    name: 'imaps',
    host: '127.0.0.1',
    port: 0,
    implicitTls: context,
    logger: silentLogger,
    handshakeTimeoutMs,
    admit: () => ({ ok: true, release: () => {} }),
    onConnection: (socket, info) => {
      infos.push(info);
      sessionsClosed.push(new Promise((resolve) => socket.once('close', resolve)));
      socket.write('* OK ready\r\n');
      socket.on('data', (chunk: Buffer) => socket.write(`* echo ${chunk.toString()}`));
    },
  });
  return { listener, infos, sessionsClosed };
}

test('implicit TLS listener serves a TLS client', async () => {
  const { context } = await sharedTls();
  const { listener, infos } = await startTlsListener(context);
  try {
    const client = tls.connect({ host: '127.0.0.1', port: listener.address.port, rejectUnauthorized: false });
    const inbox = new Inbox(client);
    await inbox.until('* OK ready\r\n');
    assert.ok(client.encrypted);
    assert.match(client.getPeerCertificate().subject.CN as string, /mx\.test/);
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(client.getProtocol() ?? ''));
    client.write('a1 NOOP\r\n');
    await inbox.until('* echo a1 NOOP\r\n');
    assert.equal(infos[0]!.tls, true);
    assert.equal(listener.connections, 1);
    client.end();
    await inbox.closed;
    await waitFor('released', () => listener.connections === 0);
  } finally {
    await listener.stop({ graceMs: 0 });
  }
});

test('TLS 1.1 clients are refused (minVersion TLSv1.2)', async () => {
  const { context } = await sharedTls();
  const { listener, infos } = await startTlsListener(context);
  try {
    const client = tls.connect({ host: '127.0.0.1', port: listener.address.port, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    const inbox = new Inbox(client);
    await withTimeout(inbox.closed, 3000, 'old TLS client closed');
    assert.equal(infos.length, 0);
  } finally {
    await listener.stop({ graceMs: 0 });
  }
});

test('plaintext on the TLS port fails the handshake without crashing; the port keeps working', async () => {
  const { context } = await sharedTls();
  const { listener, infos } = await startTlsListener(context);
  try {
    const plain = net.connect(listener.address.port, '127.0.0.1');
    const inbox = new Inbox(plain);
    plain.write('EHLO client.example\r\n');
    await withTimeout(inbox.closed, 3000, 'plaintext client closed');
    assert.ok(!inbox.text.includes('* OK'), 'no greeting in plaintext');
    assert.equal(infos.length, 0, 'the session never started');
    await waitFor('released', () => listener.connections === 0);

    const client = tls.connect({ host: '127.0.0.1', port: listener.address.port, rejectUnauthorized: false });
    const ok = new Inbox(client);
    await ok.until('* OK ready');
    client.destroy();
  } finally {
    await listener.stop({ graceMs: 0 });
  }
});

test('a client that never sends a ClientHello is cut after the handshake timeout', async () => {
  const { context } = await sharedTls();
  const { listener, infos } = await startTlsListener(context, 150);
  try {
    const idle = net.connect(listener.address.port, '127.0.0.1');
    const inbox = new Inbox(idle);
    await waitFor('admitted', () => listener.connections === 1);
    await withTimeout(inbox.closed, 3000, 'stalled handshake cut');
    await waitFor('released', () => listener.connections === 0);
    assert.equal(infos.length, 0);
  } finally {
    await listener.stop({ graceMs: 0 });
  }
});

test('stop() ends TLS sessions and connections stuck in the handshake', async () => {
  const { context } = await sharedTls();
  const { listener, sessionsClosed } = await startTlsListener(context);
  const sessionClosed: Promise<unknown>[] = [];
  const client = tls.connect({ host: '127.0.0.1', port: listener.address.port, rejectUnauthorized: false });
  const inbox = new Inbox(client);
  await inbox.until('* OK ready');
  const stalled = net.connect(listener.address.port, '127.0.0.1');
  const stalledInbox = new Inbox(stalled);
  await waitFor('both admitted', () => listener.connections === 2);
  sessionClosed.push(inbox.closed, stalledInbox.closed);
  await withTimeout(listener.stop({ graceMs: 50 }), 3000, 'stop');
  await withTimeout(Promise.all(sessionClosed), 3000, 'clients closed');
  assert.equal(sessionsClosed.length, 1);
  await withTimeout(Promise.all(sessionsClosed), 3000, 'the session saw its TLS socket close');
  assert.equal(listener.connections, 0);
});

/**
 * A tiny line protocol: "220 ready"; each line gets "250 got <line>";
 * STARTTLS gets "220 go ahead" and the upgrade. Lines processed are recorded
 * so the test can prove what was (not) executed after the handshake.
 */
async function startLineServer(context: SecureContext) {
  const processed: string[] = [];
  const upgrades: Array<{ discardedBytes: number }> = [];
  const listener = await Listener.start({
    name: 'smtp',
    host: '127.0.0.1',
    port: 0,
    implicitTls: null,
    logger: silentLogger,
    admit: () => ({ ok: true, release: () => {} }),
    onConnection: (socket: Duplex) => {
      let buffered = Buffer.alloc(0);
      let out: Duplex = socket;
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
          const line = buffered.subarray(0, eol).toString();
          buffered = buffered.subarray(eol + 2);
          processed.push(line);
          if (line === 'STARTTLS') {
            // The session side of the CVE-2011-0411 rule: stop reading, hand over the rest of the buffer to be dropped.
            out.removeListener('data', onData);
            const rest = buffered;
            buffered = Buffer.alloc(0);
            startTls(socket as net.Socket, context, { framerRest: rest, goAhead: '220 go ahead\r\n' }).then(
              (r) => {
                upgrades.push({ discardedBytes: r.discardedBytes });
                out = r.socket;
                out.on('data', onData);
              },
              () => {},
            );
            return;
          }
          out.write(`250 got ${line}\r\n`);
        }
      };
      socket.on('data', onData);
      socket.write('220 ready\r\n');
    },
  });
  return { listener, processed, upgrades };
}

test('STARTTLS upgrades; plaintext pipelined after STARTTLS is discarded, never run after the handshake', async () => {
  const { context } = await sharedTls();
  const srv = await startLineServer(context);
  try {
    const raw = net.connect(srv.listener.address.port, '127.0.0.1');
    const plain = new Inbox(raw);
    await plain.until('220 ready\r\n');
    raw.write('EHLO a\r\n');
    await plain.until('250 got EHLO a\r\n');
    // The injection: commands in the same packet as STARTTLS (what a man in the middle would append).
    raw.write('STARTTLS\r\nMAIL FROM:<evil@example>\r\nRSET\r\n');
    await plain.until('220 go ahead\r\n');
    assert.ok(!plain.text.includes('250 got MAIL'), 'nothing answered in plaintext after STARTTLS');

    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    const inbox = new Inbox(secure);
    await withTimeout(new Promise((resolve) => secure.once('secureConnect', resolve)), 3000, 'handshake');
    secure.write('EHLO b\r\n');
    await inbox.until('250 got EHLO b\r\n');
    assert.equal(inbox.text, '250 got EHLO b\r\n', 'the injected commands produced no replies inside TLS');
    assert.deepEqual(srv.processed, ['EHLO a', 'STARTTLS', 'EHLO b']);
    assert.deepEqual(srv.upgrades, [{ discardedBytes: 'MAIL FROM:<evil@example>\r\nRSET\r\n'.length }]);
    secure.end();
    await inbox.closed;
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

test('STARTTLS without pipelined bytes discards nothing', async () => {
  const { context } = await sharedTls();
  const srv = await startLineServer(context);
  try {
    const raw = net.connect(srv.listener.address.port, '127.0.0.1');
    const plain = new Inbox(raw);
    await plain.until('220 ready\r\n');
    raw.write('STARTTLS\r\n');
    await plain.until('220 go ahead\r\n');
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    const inbox = new Inbox(secure);
    secure.write('NOOP\r\n');
    await inbox.until('250 got NOOP\r\n');
    assert.deepEqual(srv.upgrades, [{ discardedBytes: 0 }]);
    secure.destroy();
  } finally {
    await srv.listener.stop({ graceMs: 0 });
  }
});

/** A raw server-side socket plus its client, for exercising upgradeToTls directly. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => srv.once('connection', resolve));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const server = await accepted;
  server.on('error', () => {});
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

test('upgradeToTls rejects on a handshake timeout and on garbage, and destroys the socket', async () => {
  const { context } = await sharedTls();
  const a = await socketPair();
  try {
    const started = Date.now();
    await assert.rejects(upgradeToTls(a.server, context, { timeoutMs: 100 }), /timed out/);
    assert.ok(Date.now() - started >= 90);
    await waitFor('server socket destroyed', () => a.server.destroyed);
  } finally {
    a.close();
  }
  const b = await socketPair();
  try {
    const upgraded = upgradeToTls(b.server, context, { timeoutMs: 3000 });
    b.client.write('this is not a ClientHello\r\n'.repeat(10));
    await assert.rejects(upgraded);
    await waitFor('server socket destroyed', () => b.server.destroyed);
  } finally {
    b.close();
  }
});

test('upgradeToTls on a socket that is already gone rejects at once', async () => {
  const { context } = await sharedTls();
  const p = await socketPair();
  try {
    p.server.destroy();
    await withTimeout(assert.rejects(upgradeToTls(p.server, context), /closed before/), 1000, 'prompt rejection');
  } finally {
    p.close();
  }
});

test('upgradeToTls resolves with an encrypted socket that survives a client reset', async () => {
  const { context } = await sharedTls();
  const p = await socketPair();
  try {
    const upgraded = upgradeToTls(p.server, context);
    const client = tls.connect({ socket: p.client, rejectUnauthorized: false });
    client.on('error', () => {});
    const secure: TLSSocket = await upgraded;
    assert.ok(secure.encrypted);
    // No 'error' listener of our own on `secure`: upgradeToTls attached one, so a reset cannot crash us.
    const closed = new Promise((resolve) => secure.once('close', resolve));
    p.client.destroy();
    secure.write('data after the peer left\r\n');
    await withTimeout(closed, 3000, 'tls socket closed');
  } finally {
    p.close();
  }
});

test('discardPlaintext refuses to run while a data listener would receive the bytes', async () => {
  const p = await socketPair();
  try {
    const onData = (): void => {};
    p.server.on('data', onData);
    assert.throws(() => discardPlaintext(p.server, null), /detach/);
    p.server.removeListener('data', onData);
    p.client.write('leftover');
    // Let the bytes land in the paused socket's buffer, then drop them with the framer's rest.
    p.server.pause();
    await new Promise((r) => setTimeout(r, 50));
    p.server.read(0);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(discardPlaintext(p.server, Buffer.from('rest')), 'rest'.length + 'leftover'.length);
  } finally {
    p.close();
  }
});
