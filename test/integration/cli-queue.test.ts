/** `postline queue list|flush|delete` with and without a running server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { Store } from '../../src/store/store.js';
import { sampleMessage } from '../helpers/store.js';
import { run, serve, workspace, type Workspace } from '../helpers/cli.js';

const SLOW = { timeout: 60_000 };

async function queueSome(ws: Workspace): Promise<void> {
  const store = await Store.open({ dataDir: ws.dataDir, segmentSize: 1024 * 1024, fsync: 'batch', logger: silentLogger, threads: 1, checkpointIntervalMs: 0, compactionIntervalMs: 0 });
  await store.enqueue({ id: 'AAA111', sender: 'ivanov@example.org', recipients: ['kozlov@unreachable.invalid'], arrived: Date.now() - 60_000, body: sampleMessage(1) });
  await store.enqueue({ id: 'BBB222', sender: null, recipients: ['x@unreachable.invalid', 'y@unreachable.invalid'], arrived: Date.now(), body: sampleMessage(2) });
  await store.recordQueueAttempt('AAA111', 3, Date.now() + 3_600_000, [['kozlov@unreachable.invalid', '451 4.4.1 connection refused']]);
  await store.close();
}

test('queue list/delete without a server: read from the store; flush says nobody is running', SLOW, async () => {
  const ws = workspace();
  await queueSome(ws);
  const list = await run(['queue', 'list', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^AAA111 .* ivanov@example\.org$/m);
  assert.match(list.stdout, /\(451 4\.4\.1 connection refused\)/);
  assert.match(list.stdout, /^ {4}kozlov@unreachable\.invalid$/m);
  assert.match(list.stdout, /^BBB222 .* <>$/m);
  assert.match(list.stdout, /-- 2 messages in the queue/);

  const del = await run(['queue', 'delete', 'AAA111', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout.trim(), 'deleted AAA111');
  const again = await run(['queue', 'delete', 'AAA111', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim(), 'postline: queue delete: no queued message AAA111');
  assert.match((await run(['queue', 'list', '--config', ws.config], { cwd: ws.cwd })).stdout, /-- 1 message in the queue/);

  const flush = await run(['queue', 'flush', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(flush.code, 1);
  assert.match(flush.stderr, /postline is not running/);
  assert.equal((await run(['queue', 'delete', '--config', ws.config], { cwd: ws.cwd })).code, 2, 'missing ID is a usage error');
});

test('queue list/flush/delete talk to a running server over its control socket', SLOW, async () => {
  // Delivery to a port nobody listens on: everything stays queued (deferred).
  const ws = workspace('listen: { smtp: "127.0.0.1:0" }\ndelivery: { relayHost: "127.0.0.1:9", retry: [1h] }\n');
  await queueSome(ws);
  const s = serve(ws);
  try {
    await s.waitForLog((l) => l.msg === 'queue runner started', 20_000);
    // The first attempt happens at start; wait until both were deferred.
    await s.waitForLog((l) => l.msg === 'deferred' && l.queueId === 'BBB222', 20_000);
    const list = await run(['queue', 'list', '--config', ws.config], { cwd: ws.cwd });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /-- 2 messages in the queue/);
    assert.match(list.stdout, /connection refused|ECONNREFUSED|refused/i);

    const del = await run(['queue', 'delete', 'BBB222', '--config', ws.config], { cwd: ws.cwd });
    assert.equal(del.code, 0, del.stderr);
    // Counted before the flush: the new attempt's log line may arrive before the flush command has exited.
    const attempts = () => s.logs.filter((l) => l.msg === 'deferred' && l.queueId === 'AAA111').length;
    const before = attempts();
    const flush = await run(['queue', 'flush', '--config', ws.config], { cwd: ws.cwd });
    assert.equal(flush.code, 0, flush.stderr);
    assert.match(flush.stdout, /flushing 1 queued message/);
    // The flush made a new attempt for AAA111 right away (the retry was an hour off).
    await s.waitForLog(() => attempts() > before, 20_000);
    assert.match((await run(['queue', 'list', '--config', ws.config], { cwd: ws.cwd })).stdout, /-- 1 message in the queue/);
  } finally {
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
  }
  assert.ok(!existsSync(join(ws.dataDir, 'control.sock')), 'the socket is removed at shutdown');
});
