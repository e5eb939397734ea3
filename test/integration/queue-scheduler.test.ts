import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore, sampleMessage } from '../helpers/store.js';
import { timerClock } from '../helpers/fake-clock.js';
import { silentLogger } from '../../src/core/log.js';
import { QueueScheduler, type QueueTransport, type WebhookDeliver } from '../../src/queue/scheduler.js';
import type { Route } from '../../src/delivery/router.js';
import type { DeliveryResult, Destination, OutboundMessage, RecipientOutcome } from '../../src/delivery/types.js';
import { parseMessage } from '../../src/codec/mime/index.js';
import type { Store } from '../../src/store/store.js';

const MIN = 60_000;

type Reply = { status: 'delivered' | 'temporary' | 'permanent'; code: number; text: string } | 'unreachable';

/** A transport whose answers are scripted per host ip and recipient; records every call. */
function scriptedTransport(answer: (dest: Destination, rcpt: string, call: number) => Reply) {
  const calls: { dest: Destination; message: OutboundMessage }[] = [];
  const transport: QueueTransport = {
    async deliver(dest, message): Promise<DeliveryResult> {
      calls.push({ dest, message });
      const n = calls.length;
      const replies = message.recipients.map((r) => answer(dest, r, n));
      if (replies.some((r) => r === 'unreachable')) {
        const failure = { stage: 'connect' as const, status: 'temporary' as const, code: null, enhanced: '4.4.1', text: 'connection refused', diagnostic: 'X-Postline; connection refused', errorCode: 'ERR_DELIVERY_CONNECT' as never };
        return { destination: dest, recipients: message.recipients.map((r) => outcome(r, dest, { status: 'temporary', code: 0, text: 'connection refused' })), failure, tls: false, tlsFallback: false };
      }
      return { destination: dest, recipients: message.recipients.map((r, i) => outcome(r, dest, replies[i] as Exclude<Reply, 'unreachable'>)), failure: null, tls: false, tlsFallback: false };
    },
  };
  return { transport, calls };
}

function outcome(recipient: string, dest: Destination, r: Exclude<Reply, 'unreachable'>): RecipientOutcome {
  const enhanced = `${String(r.code)[0]}.1.1`;
  return { recipient, status: r.status, code: r.code, enhanced, text: r.text, diagnostic: `smtp; ${r.code} ${enhanced} ${r.text}`, stage: 'rcpt', remoteHost: dest.host, remoteIp: dest.ip };
}

const mxRoute = (hosts: [string, string][]): Route => ({ kind: 'smtp', hosts: hosts.map(([name, ip]) => ({ name, port: 25, addresses: [ip] })) });
const noWebhook: WebhookDeliver = async () => ({ status: 'temporary', text: 'unused' });

async function setup(opts: { route: (domain: string) => Route; answer: (dest: Destination, rcpt: string, call: number) => Reply; lifetime?: number }) {
  const dir = tempDir();
  const store: Store = await openTestStore(dir.path);
  const clock = timerClock(1_700_000_000_000);
  const { transport, calls } = scriptedTransport(opts.answer);
  const bounces: { to: string; message: Buffer }[] = [];
  const scheduler = new QueueScheduler({
    store,
    router: { route: async (d) => opts.route(d) },
    transport,
    webhook: noWebhook,
    bounces: { sendBounce: async (to, message) => void bounces.push({ to, message }) },
    hostname: 'mx.example.org',
    retryMs: [1 * MIN, 5 * MIN],
    maxQueueLifetimeMs: opts.lifetime ?? 60 * MIN,
    clock,
    logger: silentLogger,
  });
  const enqueue = async (id: string, recipients: string[], sender: string | null = 'ivanov@example.org') => {
    await store.enqueue({ id, sender, recipients, arrived: clock.now(), body: sampleMessage(1) });
    scheduler.kick(id);
  };
  /** Lets timers run and awaits the deliveries they start. */
  const run = async (ms = 0) => {
    clock.advance(ms);
    await scheduler.settled();
  };
  return {
    store, clock, calls, bounces, scheduler, enqueue, run,
    async close() {
      await scheduler.stop();
      await store.close();
      dir.remove();
    },
  };
}

test('one transaction per domain, delivered recipients leave the queue, MX order with a dead first host', async () => {
  const t = await setup({
    route: (d) => (d === 'example.com' ? mxRoute([['mx1.example.com', '192.0.2.1'], ['mx2.example.com', '192.0.2.2']]) : mxRoute([['mx.other.net', '192.0.2.9']])),
    answer: (dest) => (dest.ip === '192.0.2.1' ? 'unreachable' : { status: 'delivered', code: 250, text: 'ok' }),
  });
  try {
    t.scheduler.start();
    await t.enqueue('m1', ['kozlov@example.com', 'petrov@example.com', 'x@other.net']);
    await t.run();
    assert.equal(t.store.queueItem('m1'), undefined, 'all delivered');
    const ips = t.calls.map((c) => `${c.dest.ip}:${c.message.recipients.join(',')}`).sort();
    assert.deepEqual(ips, ['192.0.2.1:kozlov@example.com,petrov@example.com', '192.0.2.2:kozlov@example.com,petrov@example.com', '192.0.2.9:x@other.net']);
    assert.equal(t.bounces.length, 0);
  } finally {
    await t.close();
  }
});

test('451 then success after the retry delay; the attempt count and next time are stored', async () => {
  const t = await setup({
    route: () => mxRoute([['mx.example.com', '192.0.2.1']]),
    answer: (_d, _r, call) => (call === 1 ? { status: 'temporary', code: 451, text: 'try later' } : { status: 'delivered', code: 250, text: 'ok' }),
  });
  try {
    t.scheduler.start();
    await t.enqueue('m1', ['kozlov@example.com']);
    await t.run();
    const item = t.store.queueItem('m1')!;
    assert.deepEqual(item.pending, ['kozlov@example.com']);
    assert.equal(item.attempts, 1);
    assert.equal(item.nextAttempt, t.clock.now() + MIN);
    assert.match(item.lastError['kozlov@example.com']!, /451/);
    await t.run(MIN - 1);
    assert.equal(t.calls.length, 1, 'not retried before the delay');
    await t.run(1);
    assert.equal(t.calls.length, 2);
    assert.equal(t.store.queueItem('m1'), undefined);
  } finally {
    await t.close();
  }
});

test('550 for one recipient: one DSN to the sender listing it, the others delivered; null sender never bounced', async () => {
  const t = await setup({
    route: () => mxRoute([['mx.example.com', '192.0.2.1']]),
    answer: (_d, r) => (r.startsWith('nobody') || r.startsWith('ghost') ? { status: 'permanent', code: 550, text: 'no such user' } : { status: 'delivered', code: 250, text: 'ok' }),
  });
  try {
    t.scheduler.start();
    await t.enqueue('m1', ['kozlov@example.com', 'nobody@example.com', 'ghost@example.com']);
    await t.enqueue('m2', ['nobody@example.com'], null);
    await t.run();
    assert.equal(t.store.queueItems().length, 0);
    assert.equal(t.bounces.length, 1, 'one DSN for the message, none for <>');
    assert.equal(t.bounces[0]!.to, 'ivanov@example.org');
    const dsn = t.bounces[0]!.message;
    const info = parseMessage(dsn);
    assert.equal(info.root.type, 'multipart');
    assert.equal(info.root.subtype, 'report');
    const text = dsn.toString();
    assert.match(text, /Final-Recipient: rfc822; ?nobody@example\.com/i);
    assert.match(text, /Final-Recipient: rfc822; ?ghost@example\.com/i);
    assert.doesNotMatch(text, /Final-Recipient: rfc822; ?kozlov/i);
    assert.match(text, /Status: 5\.1\.1/);
  } finally {
    await t.close();
  }
});

test('null MX and NXDOMAIN bounce at once; a DNS failure defers', async () => {
  const t = await setup({
    route: (d) =>
      d === 'nullmx.example' ? { kind: 'bounce', status: '5.1.10', text: 'null MX' } : d === 'nx.example' ? { kind: 'bounce', status: '5.1.2', text: 'no such domain' } : { kind: 'defer', text: 'DNS timeout' },
    answer: () => ({ status: 'delivered', code: 250, text: 'ok' }),
  });
  try {
    t.scheduler.start();
    await t.enqueue('m1', ['a@nullmx.example', 'b@nx.example', 'c@slowdns.example']);
    await t.run();
    assert.equal(t.calls.length, 0);
    assert.equal(t.bounces.length, 1);
    assert.match(t.bounces[0]!.message.toString(), /Status: 5\.1\.10/);
    assert.match(t.bounces[0]!.message.toString(), /Status: 5\.1\.2/);
    assert.deepEqual(t.store.queueItem('m1')!.pending, ['c@slowdns.example']);
  } finally {
    await t.close();
  }
});

test('a message still deferred after maxQueueLifetime bounces (delivery time expired, x.4.7)', async () => {
  const t = await setup({ route: () => mxRoute([['mx.example.com', '192.0.2.1']]), answer: () => 'unreachable', lifetime: 10 * MIN });
  try {
    t.scheduler.start();
    await t.enqueue('m1', ['kozlov@example.com']);
    await t.run();
    assert.equal(t.bounces.length, 0);
    await t.run(MIN); // attempt 2
    await t.run(5 * MIN); // attempt 3
    await t.run(5 * MIN); // attempt 4: 11 minutes old
    assert.equal(t.store.queueItem('m1'), undefined);
    assert.equal(t.bounces.length, 1);
    assert.match(t.bounces[0]!.message.toString(), /Action: failed\r\nStatus: 5\.4\.7/);
    assert.equal(t.calls.length, 4);
  } finally {
    await t.close();
  }
});

test('the queue survives a restart: pending entries are picked up with their schedule; delete drops without a bounce', async () => {
  const dir = tempDir();
  let store = await openTestStore(dir.path);
  try {
    await store.enqueue({ id: 'keep', sender: 'a@example.org', recipients: ['x@example.com'], arrived: 1, body: sampleMessage(1) });
    await store.enqueue({ id: 'drop', sender: 'a@example.org', recipients: ['y@example.com'], arrived: 1, body: sampleMessage(2) });
    await store.close();
    store = await openTestStore(dir.path);
    const clock = timerClock(1_700_000_000_000);
    const { transport, calls } = scriptedTransport(() => ({ status: 'delivered', code: 250, text: 'ok' }));
    const bounces: string[] = [];
    const scheduler = new QueueScheduler({
      store, router: { route: async () => mxRoute([['mx.example.com', '192.0.2.1']]) }, transport, webhook: noWebhook,
      bounces: { sendBounce: async (to) => void bounces.push(to) }, hostname: 'h', retryMs: [MIN], maxQueueLifetimeMs: 100 * MIN, clock, logger: silentLogger,
    });
    assert.equal(await scheduler.delete('drop'), true);
    assert.equal(await scheduler.delete('nope'), false);
    scheduler.start();
    clock.advance(0);
    await scheduler.settled();
    await scheduler.stop();
    assert.deepEqual(calls.map((c) => c.message.recipients), [['x@example.com']]);
    assert.equal(store.queueItems().length, 0);
    assert.deepEqual(bounces, []);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('a webhook route: 503 is retried, then 200 delivers; a 404 bounces', async () => {
  const { createServer } = await import('node:http');
  const { deliverWebhook } = await import('../../src/delivery/webhook.js');
  const statuses = new Map<string, number[]>([['retry', [503, 200]], ['gone', [404]]]);
  const posted: string[] = [];
  const http = createServer((req, res) => {
    const who = String(req.headers['x-postline-recipients'] ?? '');
    const key = who.startsWith('retry') ? 'retry' : 'gone';
    req.resume();
    req.on('end', () => {
      posted.push(key);
      res.statusCode = statuses.get(key)!.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/mail`;
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  const clock = timerClock(1_700_000_000_000);
  const bounces: Buffer[] = [];
  const scheduler = new QueueScheduler({
    store, router: { route: async () => ({ kind: 'webhook', url }) }, transport: scriptedTransport(() => 'unreachable').transport, webhook: deliverWebhook,
    bounces: { sendBounce: async (_to, m) => void bounces.push(m) }, hostname: 'mx.example.org', retryMs: [MIN], maxQueueLifetimeMs: 100 * MIN, clock, logger: silentLogger,
  });
  try {
    scheduler.start();
    await store.enqueue({ id: 'w1', sender: 'ivanov@example.org', recipients: ['retry@hook.example'], arrived: clock.now(), body: sampleMessage(1) });
    await store.enqueue({ id: 'w2', sender: 'ivanov@example.org', recipients: ['gone@hook.example'], arrived: clock.now(), body: sampleMessage(2) });
    scheduler.kick('w1');
    scheduler.kick('w2');
    clock.advance(0);
    await scheduler.settled();
    assert.deepEqual(store.queueItem('w1')?.pending, ['retry@hook.example'], '503: still queued');
    assert.equal(store.queueItem('w2'), undefined, '404: bounced');
    assert.equal(bounces.length, 1);
    clock.advance(MIN);
    await scheduler.settled();
    assert.equal(store.queueItem('w1'), undefined, 'delivered on the retry');
    assert.deepEqual(posted.sort(), ['gone', 'retry', 'retry']);
  } finally {
    await scheduler.stop();
    await store.close();
    dir.remove();
    http.close();
  }
});
