/** GET /healthz: 200 while every listener is up and the store writable; 503 naming what is wrong. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogFaults } from '../../../src/store/log/log.js';
import { request, sendMail, startHttpServer } from './support.js';

const SLOW = { timeout: 60_000 };

test('200 {"status":"ok"} with every listener up; the bound address is in running.addresses.http', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const res = await request(server.port('http'), 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
    // HEAD answers like GET, without a body.
    const head = await request(server.port('http'), 'HEAD', '/healthz');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    // A query string does not change the route.
    assert.equal((await request(server.port('http'), 'GET', '/healthz?verbose=1')).status, 200);
  } finally {
    await server.stop();
  }
});

test('503 naming the listener that is not listening', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const imap = server.services().find((s) => s.name === 'imap');
    assert.ok(imap);
    await imap.stop();
    const res = await request(server.port('http'), 'GET', '/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body), { status: 'unavailable', problems: ['listener imap is not listening'] });
  } finally {
    await server.stop();
  }
});

test('503 with the store failure after a failed fsync; SMTP refuses the message meanwhile', SLOW, async () => {
  let failSync = false;
  const faults: LogFaults = {
    beforeSync: () => (failSync ? Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }) : null),
  };
  const server = await startHttpServer('', { storeFaults: { faults, fullDiskRetryMs: 60_000 } });
  try {
    assert.equal((await request(server.port('http'), 'GET', '/healthz')).status, 200);
    assert.equal(await sendMail(server.port('smtp'), 'sender@remote.example', ['ivanov@example.org']), 250);
    failSync = true;
    // The 250 waits for the fsync, which fails: the client gets a temporary error, nothing is acknowledged.
    const code = await sendMail(server.port('smtp'), 'sender@remote.example', ['ivanov@example.org']);
    assert.equal(Math.floor(code / 100), 4, `expected a 4xx, got ${code}`);
    const res = await request(server.port('http'), 'GET', '/healthz');
    assert.equal(res.status, 503);
    const body = JSON.parse(res.body) as { status: string; problems: string[] };
    assert.equal(body.status, 'unavailable');
    assert.equal(body.problems.length, 1);
    assert.match(body.problems[0]!, /^store: log write failed: EIO/);
    // /metrics says the same.
    const metrics = await request(server.port('http'), 'GET', '/metrics');
    assert.match(metrics.body, /^postline_store_writable 0$/m);
  } finally {
    await server.stop();
  }
});
