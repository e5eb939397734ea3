/** The HTTP route table on plain values: matching, 404/405, the bearer check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, type AdminPort, type HttpApp } from '../../../src/http/api.js';

function app(admin: Partial<AdminPort> | null = null, problems: string[] = []): HttpApp & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    deleted,
    health: () => problems,
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'x 1\n' }),
    admin: admin && {
      token: 't0ken',
      queueList: () => [{ id: 'A' }],
      queueFlush: () => 3,
      queueDelete: async (id) => {
        deleted.push(id);
        return id === 'A';
      },
      users: () => [{ address: 'a@b', source: 'file', created: '2024-01-01T00:00:00.000Z', phc: '$scrypt$secret' } as never],
      ...admin,
    },
  };
}

const get = (url: string, authorization?: string) => ({ method: 'GET', url, authorization });

test('health: 200 ok or 503 with the problems', async () => {
  assert.deepEqual(JSON.parse((await answer(app(), get('/healthz'))).body), { status: 'ok' });
  const bad = await answer(app(null, ['store: broken']), get('/healthz'));
  assert.equal(bad.status, 503);
  assert.deepEqual(JSON.parse(bad.body), { status: 'unavailable', problems: ['store: broken'] });
});

test('paths: query strings ignored, absolute-form accepted, "*" and garbage are 400', async () => {
  assert.equal((await answer(app(), get('/healthz?x=1#y'))).status, 200);
  assert.equal((await answer(app(), get('http://host:8025/healthz'))).status, 200);
  assert.equal((await answer(app(), get('*'))).status, 400);
  assert.equal((await answer(app(), get('ftp://x/healthz'))).status, 400);
  assert.equal((await answer(app(), get('/nope'))).status, 404);
  const m = await answer(app(), { method: 'PATCH', url: '/metrics', authorization: undefined });
  assert.equal(m.status, 405);
  assert.equal(m.headers['allow'], 'GET, HEAD');
  assert.equal((await answer(app(), { method: 'HEAD', url: '/metrics', authorization: undefined })).status, 200);
});

test('admin off: 404 for all of /api; on: 401 challenge, then the routes', async () => {
  assert.equal((await answer(app(null), get('/api/queue', 'Bearer t0ken'))).status, 404);
  const on = app({});
  const missing = await answer(on, get('/api/queue'));
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="postline"');
  const wrong = await answer(on, get('/api/queue', 'Bearer t0kem'));
  assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="postline", error="invalid_token"');
  assert.equal((await answer(on, get('/api/queue', 'Bearer  t0ken '))).status, 200);
  assert.equal((await answer(on, get('/api/queue', 'BEARER t0ken'))).status, 200);
  assert.equal((await answer(on, get('/api/queue', 'Bearer t0ken extra'))).status, 401);
  assert.deepEqual(JSON.parse((await answer(on, { method: 'POST', url: '/api/queue/flush', authorization: 'Bearer t0ken' })).body), { queued: 3 });
  const del = await answer(on, { method: 'DELETE', url: '/api/queue/A%2FB', authorization: 'Bearer t0ken' });
  assert.equal(del.status, 404);
  assert.deepEqual(on.deleted, ['A/B'], 'the id is percent-decoded');
  assert.equal((await answer(on, { method: 'DELETE', url: '/api/queue/', authorization: 'Bearer t0ken' })).status, 404);
  // Only the three listed fields, whatever else the directory hands over.
  assert.deepEqual(JSON.parse((await answer(on, get('/api/users', 'Bearer t0ken'))).body), { users: [{ address: 'a@b', source: 'file', created: '2024-01-01T00:00:00.000Z' }] });
});

test('a throwing handler is a 500 with a generic body and the error for the log', async () => {
  const boom = new Error('disk on fire at /var/lib/postline');
  const reply = await answer(app({ queueList: () => { throw boom; } }), get('/api/queue', 'Bearer t0ken'));
  assert.equal(reply.status, 500);
  assert.deepEqual(JSON.parse(reply.body), { error: 'internal error' });
  assert.equal(reply.error, boom);
});
