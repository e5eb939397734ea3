/** Shared pieces of the outbound-delivery tests (not a test file). */
import { silentLogger } from '../../../src/core/log.js';
import type { ClientOptions, SmtpDeliveryRequest, SmtpTimeouts } from '../../../src/delivery/smtp-client.js';
import { loadTlsMaterial, type TlsMaterial } from '../../../src/net/tls.js';
import type { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { tempDir } from '../../helpers/tmp.js';

/** Short limits so a misbehaving server fails a test in seconds, not minutes. */
export const FAST_TIMEOUTS: SmtpTimeouts = {
  connect: 3000,
  greeting: 3000,
  helo: 3000,
  starttls: 3000,
  mail: 3000,
  rcpt: 3000,
  dataInit: 3000,
  dataBlock: 3000,
  dataEnd: 3000,
  rset: 1000,
  quit: 500,
};

export const FAST: ClientOptions = { timeouts: FAST_TIMEOUTS };

export const MESSAGE = Buffer.from(
  'Received: from client.example (localhost [127.0.0.1])\r\n\tby mx.example.org (postline) with ESMTP id T1;\r\n\tThu, 1 Jan 2026 00:00:00 +0000\r\n' +
    'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: test\r\nMessage-ID: <t1@example.org>\r\n\r\nHello Bob.\r\n',
);

export function request(server: ScriptedSmtpServer, over: Partial<SmtpDeliveryRequest> = {}): SmtpDeliveryRequest {
  return {
    host: 'mx.test',
    port: server.port,
    ip: '127.0.0.1',
    localHostname: 'client.test',
    sender: 'alice@example.org',
    recipients: ['bob@example.com'],
    body: MESSAGE,
    smtputf8: false,
    body8bit: false,
    ...over,
  };
}

// One certificate for all TLS tests (RSA generation takes a few hundred ms).
let material: Promise<TlsMaterial> | null = null;
export function testCertificate(): Promise<TlsMaterial> {
  material ??= (async () => {
    const dir = tempDir();
    try {
      return await loadTlsMaterial({ tls: null, dataDir: dir.path, hostname: 'mx.test' }, silentLogger);
    } finally {
      dir.remove();
    }
  })();
  return material;
}

/** Runs `fn` with a fresh server, always closing it. */
export async function withServer<T>(start: () => Promise<ScriptedSmtpServer>, fn: (server: ScriptedSmtpServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
