/** The admin API: off without a token, bearer-protected with one; queue and users. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../../src/auth/password.js';
import { addUser } from '../../../src/users/user-file.js';
import { TOKEN, bearer, eventually, request, sendMail, startHttpServer } from './support.js';

const SLOW = { timeout: 60_000 };
const ADMIN = `admin: { token: "${TOKEN}" }\n`;
/** Remote mail stays queued: its route is a port nobody listens on, retried only after an hour. */
const DEAD_ROUTE = `relay: { trustedNetworks: [127.0.0.0/8] }\ndelivery: { routes: { "remote.test": "127.0.0.1:1" }, retry: [1h] }\n`;

test('empty admin.token: every /api path is 404, even with a token', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const port = server.port('http');
    for (const [method, path] of [
      ['GET', '/api/queue'],
      ['POST', '/api/queue/flush'],
      ['DELETE', '/api/queue/X'],
      ['GET', '/api/users'],
      ['GET', '/api'],
      ['GET', '/api/nothing'],
    ] as const) {
      const res = await request(port, method, path, { headers: bearer('') });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.headers['www-authenticate'], undefined);
    }
    // The public endpoints are unaffected.
    assert.equal((await request(port, 'GET', '/healthz')).status, 200);
  } finally {
    await server.stop();
  }
});

test('401 with WWW-Authenticate: Bearer without a token, with a wrong one, or another scheme', SLOW, async () => {
  const server = await startHttpServer(ADMIN);
  try {
    const port = server.port('http');
    const none = await request(port, 'GET', '/api/queue');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="postline"');
    assert.deepEqual(JSON.parse(none.body), { error: 'unauthorized' });
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, TOKEN]) {
      const res = await request(port, 'GET', '/api/users', { headers: { authorization } });
      assert.equal(res.status, 401, authorization);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="postline"/);
    }
    // Unknown /api paths do not reveal themselves to the unauthenticated…
    assert.equal((await request(port, 'GET', '/api/nothing')).status, 401);
    // …but are plain 404s with the token. The scheme is case-insensitive.
    assert.equal((await request(port, 'GET', '/api/nothing', { headers: { authorization: `bearer ${TOKEN}` } })).status, 404);
  } finally {
    await server.stop();
  }
});

test('GET /api/users lists address, source and created, never a hash', SLOW, async () => {
  const server = await startHttpServer(ADMIN);
  try {
    // As `postline user add` does: a hashed entry in the users file, then the directory reloads it.
    await addUser(server.dataDir, 'kozlov@example.org', await hashPassword('kozlov-secret', { ln: 4 }));
    await server.users.reload();
    const res = await request(server.port('http'), 'GET', '/api/users', { headers: bearer() });
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.body, /scrypt|argon|secret|hash|phc/i);
    const users = (JSON.parse(res.body) as { users: { address: string; source: string; created: string | null }[] }).users;
    const byAddress = new Map(users.map((u) => [u.address, u]));
    assert.deepEqual(byAddress.get('ivanov@example.org'), { address: 'ivanov@example.org', source: 'config', created: null });
    const kozlov = byAddress.get('kozlov@example.org');
    assert.equal(kozlov?.source, 'file');
    assert.ok(kozlov?.created && !Number.isNaN(Date.parse(kozlov.created)));
    for (const u of users) assert.deepEqual(Object.keys(u).sort(), ['address', 'created', 'source']);
  } finally {
    await server.stop();
  }
});

test('queue: list, flush (a new attempt), delete (404 when unknown)', SLOW, async () => {
  const server = await startHttpServer(ADMIN + DEAD_ROUTE);
  try {
    const port = server.port('http');
    const empty = await request(port, 'GET', '/api/queue', { headers: bearer() });
    assert.equal(empty.status, 200);
    assert.deepEqual(JSON.parse(empty.body), { items: [] });

    assert.equal(await sendMail(server.port('smtp'), 'ivanov@example.org', ['kozlov@remote.test', 'sidorov@remote.test']), 250);
    type Item = { id: string; sender: string | null; pending: string[]; attempts: number; lastError: Record<string, string> };
    const list = async (): Promise<Item[]> => (JSON.parse((await request(port, 'GET', '/api/queue', { headers: bearer() })).body) as { items: Item[] }).items;
    await eventually(async () => (await list())[0]?.attempts === 1, 15_000, 'the first attempt');
    const [item] = await list();
    assert.equal(item!.sender, 'ivanov@example.org');
    assert.deepEqual(item!.pending, ['kozlov@remote.test', 'sidorov@remote.test']);
    assert.ok(item!.lastError['kozlov@remote.test']);

    const flush = await request(port, 'POST', '/api/queue/flush', { headers: bearer() });
    assert.equal(flush.status, 200);
    assert.deepEqual(JSON.parse(flush.body), { queued: 1 });
    await eventually(async () => (await list())[0]?.attempts === 2, 15_000, 'the flushed attempt');

    // Wrong methods on admin routes: 405 with Allow (/api/queue/flush is also a DELETE /api/queue/:id path).
    const wrong = await request(port, 'GET', '/api/queue/flush', { headers: bearer() });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers['allow'], 'POST, DELETE');

    const missing = await request(port, 'DELETE', '/api/queue/NOSUCHID', { headers: bearer() });
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'no queued message NOSUCHID' });
    const del = await request(port, 'DELETE', `/api/queue/${encodeURIComponent(item!.id)}`, { headers: bearer() });
    assert.equal(del.status, 200);
    assert.deepEqual(JSON.parse(del.body), { deleted: item!.id });
    assert.deepEqual(await list(), []);
    assert.equal(server.store.queueItem(item!.id), undefined);
    assert.equal((await request(port, 'DELETE', `/api/queue/${item!.id}`, { headers: bearer() })).status, 404);
  } finally {
    await server.stop();
  }
});
