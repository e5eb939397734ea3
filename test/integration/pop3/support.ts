/** Shared helpers for the POP3 integration tests (not a test file). */
import assert from 'node:assert/strict';
import { Pop3Client } from '../../helpers/pop3-client.js';
import type { TestServer } from '../../helpers/server.js';

export const IVANOV = 'ivanov@example.org';
export const IVANOV_PASSWORD = 'ivanov-secret';
export const PETROV = 'petrov@example.org';
export const PETROV_PASSWORD = 'petrov-secret';

/** A small message; `n` makes it unique. */
export function message(n: number, extraBody = ''): Buffer {
  return Buffer.from(`From: sender@remote.example\r\nTo: ${IVANOV}\r\nSubject: message ${n}\r\nMessage-ID: <${n}@remote.example>\r\n\r\nHello number ${n}.\r\n${extraBody}`);
}

/** Delivers into the user's INBOX through the store; returns the new uid. */
export async function deliver(server: TestServer, body: Buffer, user = IVANOV): Promise<number> {
  const [placed] = await server.store.deliver({ recipients: [user], body });
  assert.ok(placed);
  return placed.uid;
}

/** Removes every message from the user's INBOX, so a test starts from a known maildrop. */
export async function emptyInbox(server: TestServer, user = IVANOV): Promise<void> {
  const f = server.store.folder(user, 'INBOX');
  if (f && f.count > 0) await server.store.expunge(user, 'INBOX', [...f.uids.slice(0, f.count)]);
}

export function inboxUids(server: TestServer, user = IVANOV): number[] {
  const f = server.store.folder(user, 'INBOX');
  return f ? [...f.uids.slice(0, f.count)] : [];
}

/** Connects to pop3 (or pop3s), checks the greeting. */
export async function connect(server: TestServer, kind: 'pop3' | 'pop3s' = 'pop3'): Promise<Pop3Client> {
  const c = await Pop3Client.connect(server.port(kind), { tls: kind === 'pop3s' });
  const greeting = await c.greeting();
  assert.equal(greeting.line, '+OK mx.example.org POP3 ready');
  return c;
}

/**
 * Logs in, retrying while the maildrop is still locked by a session whose
 * close the server has not processed yet (the client cannot await that; each
 * retry is a real round trip, bounded).
 */
export async function loginWhenFree(c: Pop3Client, user = IVANOV, password = IVANOV_PASSWORD): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const r = await c.login(user, password);
    if (r.ok) return r.text;
    assert.match(r.line, /^-ERR \[IN-USE\]/);
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('maildrop never became free');
}

/** A connected, logged-in session. */
export async function session(server: TestServer, user = IVANOV, password = IVANOV_PASSWORD, kind: 'pop3' | 'pop3s' = 'pop3'): Promise<Pop3Client> {
  const c = await connect(server, kind);
  await loginWhenFree(c, user, password);
  return c;
}

/** QUIT and the server's close. */
export async function quit(c: Pop3Client): Promise<string> {
  const r = await c.cmd('QUIT');
  assert.ok(r.ok, r.line);
  await c.waitClosed();
  return r.text;
}
