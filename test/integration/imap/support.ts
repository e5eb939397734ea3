/** Shared helpers for the IMAP integration tests (not a test file). */
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ImapClient } from '../../helpers/imap-client.js';
import type { TestServer } from '../../helpers/server.js';

export const IVANOV = 'ivanov@example.org';
export const IVANOV_PASSWORD = 'ivanov-secret';
export const PETROV = 'petrov@example.org';
export const PETROV_PASSWORD = 'petrov-secret';

/** A small message; `n` makes it unique. */
export function message(n: number, extraBody = ''): Buffer {
  return Buffer.from(
    `From: Sender ${n} <sender${n}@remote.example>\r\nTo: ${IVANOV}\r\nSubject: message ${n}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n` +
      `Message-ID: <${n}@remote.example>\r\n\r\nHello number ${n}.\r\n${extraBody}`,
  );
}

/** Delivers into a folder (INBOX by default) through the store; returns the new uid. */
export async function deliver(server: TestServer, body: Buffer, options: { user?: string; folder?: string; flags?: string[] } = {}): Promise<number> {
  const [placed] = await server.store.deliver({ recipients: [options.user ?? IVANOV], body, folder: options.folder, flags: options.flags });
  assert.ok(placed);
  return placed.uid;
}

/** Removes every message from a user's folder and every folder but the defaults, so a test starts from a known state. */
export async function resetMailbox(server: TestServer, user = IVANOV): Promise<void> {
  await server.store.ensureUser(user);
  for (const f of server.store.listFolders(user)) {
    if (!['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk'].includes(f.name)) {
      await server.store.deleteFolder(user, f.name);
      continue;
    }
    const view = server.store.folder(user, f.name);
    if (view && view.count > 0) await server.store.expunge(user, f.name, [...view.uids.slice(0, view.count)]);
  }
}

export function uidsOf(server: TestServer, folder = 'INBOX', user = IVANOV): number[] {
  const f = server.store.folder(user, folder);
  return f ? [...f.uids.slice(0, f.count)] : [];
}

/** Connects to imap (or imaps) and reads the greeting. */
export async function connect(server: TestServer, kind: 'imap' | 'imaps' = 'imap'): Promise<ImapClient> {
  const c = await ImapClient.connect(server.port(kind), { tls: kind === 'imaps' });
  const greeting = await c.greeting();
  assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] mx\.example\.org IMAP4rev1 ready$/);
  return c;
}

/** A connected, logged-in raw session. */
export async function session(server: TestServer, user = IVANOV, password = IVANOV_PASSWORD, kind: 'imap' | 'imaps' = 'imap'): Promise<ImapClient> {
  const c = await connect(server, kind);
  const r = await c.login(user, password);
  assert.equal(r.status, 'OK', r.tagged);
  return c;
}

/** LOGOUT and the server's close. */
export async function logout(c: ImapClient): Promise<void> {
  const r = await c.command('LOGOUT');
  assert.equal(r.status, 'OK', r.tagged);
  assert.ok(r.untagged.some((u) => u.text.startsWith('* BYE ')));
  await c.waitClosed();
}

/** An imapflow client, connected and logged in (STARTTLS on the plain port, as imapflow does by default). */
export async function flow(server: TestServer, options: { user?: string; password?: string; kind?: 'imap' | 'imaps' } = {}): Promise<ImapFlow> {
  const kind = options.kind ?? 'imap';
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.port(kind),
    secure: kind === 'imaps',
    auth: { user: options.user ?? IVANOV, pass: options.password ?? IVANOV_PASSWORD },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Resolves with the first value `next` produces that passes `test`, within timeoutMs. */
export function eventually<T>(subscribe: (cb: (value: T) => void) => () => void, test: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      if (!test(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}
