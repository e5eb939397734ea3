/** GET /metrics: valid Prometheus text, and the counters move with real mail flow. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedSmtpServer } from '../../helpers/scripted-smtp-server.js';
import { RawSmtp } from '../../helpers/smtp-client.js';
import { eventually, parseMetrics, request, scrape, sendMail, startHttpServer, value } from './support.js';

const SLOW = { timeout: 60_000 };

test('the exposition parses and names every metric family', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const res = await request(server.port('http'), 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const samples = parseMetrics(res.body);
    for (const family of [
      'postline_listener_up',
      'postline_connections_open',
      'postline_connections_accepted_total',
      'postline_messages_accepted_total',
      'postline_recipients_delivered_total',
      'postline_recipients_deferred_total',
      'postline_recipients_bounced_total',
      'postline_queue_messages',
      'postline_store_bytes',
      'postline_store_segments',
      'postline_store_writable',
      'postline_store_fsync_batch_records',
      'postline_store_fsync_duration_seconds',
      'postline_worker_pool_threads',
      'postline_worker_pool_utilization',
      'postline_dns_cache_hits_total',
      'postline_dns_cache_misses_total',
      'postline_dns_cache_hit_ratio',
      'process_resident_memory_bytes',
    ]) {
      assert.match(res.body, new RegExp(`^# TYPE ${family} `, 'm'), `${family} missing`);
    }
    for (const protocol of ['smtp', 'submission', 'smtps', 'pop3', 'pop3s', 'imap', 'imaps']) {
      assert.equal(samples.get(`postline_listener_up{protocol="${protocol}"}`), 1, protocol);
    }
    assert.equal(samples.get('postline_store_writable'), 1);
    assert.equal(samples.get('postline_worker_pool_threads'), 1);
    assert.ok(value(samples, 'postline_store_segments') >= 1);
  } finally {
    await server.stop();
  }
});

test('an SMTP delivery moves accepted, connections and the fsync histograms', SLOW, async () => {
  const server = await startHttpServer();
  try {
    const before = await scrape(server);
    const open = await RawSmtp.connect(server.port('imap'));
    await eventually(async () => value(await scrape(server), 'postline_connections_open{protocol="imap"}') === 1, 5000, 'imap connection counted');
    open.close();

    assert.equal(await sendMail(server.port('smtp'), 'sender@remote.example', ['ivanov@example.org']), 250);
    const after = await scrape(server);
    assert.equal(value(after, 'postline_messages_accepted_total{kind="local"}') - value(before, 'postline_messages_accepted_total{kind="local"}'), 1);
    assert.equal(value(after, 'postline_connections_accepted_total{protocol="smtp"}') - value(before, 'postline_connections_accepted_total{protocol="smtp"}'), 1);
    assert.equal(value(after, 'postline_connections_accepted_total{protocol="imap"}'), 1);
    assert.ok(value(after, 'postline_store_fsync_batch_records_count') > value(before, 'postline_store_fsync_batch_records_count'));
    assert.ok(value(after, 'postline_store_fsync_duration_seconds_count') >= 1);
    assert.ok(value(after, 'postline_store_bytes') > value(before, 'postline_store_bytes'));
    assert.ok(value(after, 'postline_store_messages') >= 1);
    assert.ok(value(after, 'postline_store_appends_total') > value(before, 'postline_store_appends_total'));
    // Record encoding ran in the pool: its wait-time summary exists now.
    assert.ok(after.has('postline_worker_pool_wait_seconds{quantile="0.5"}'), 'pool wait summary present');
  } finally {
    await server.stop();
  }
});

test('a queued message to a dead route is deferred (4.4.1), shows in the queue gauges, then delivered', SLOW, async () => {
  const remote = await ScriptedSmtpServer.start();
  const yaml = `relay: { trustedNetworks: [127.0.0.0/8] }\ndelivery: { routes: { "remote.test": "127.0.0.1:1", "ok.test": "127.0.0.1:${remote.port}" }, retry: [1h] }\n`;
  const server = await startHttpServer(yaml);
  try {
    assert.equal(await sendMail(server.port('smtp'), 'ivanov@example.org', ['kozlov@remote.test']), 250);
    await eventually(async () => value(await scrape(server), 'postline_recipients_deferred_total') === 1, 15_000, 'the deferral');
    const deferred = await scrape(server);
    assert.equal(value(deferred, 'postline_messages_accepted_total{kind="queued"}'), 1);
    assert.equal(value(deferred, 'postline_deferrals_total{status="4.4.1"}'), 1);
    assert.equal(value(deferred, 'postline_queue_messages'), 1);
    assert.equal(value(deferred, 'postline_queue_depth{domain="remote.test"}'), 1);
    assert.ok(deferred.has('postline_queue_oldest_age_seconds{domain="remote.test"}'));
    assert.ok(value(deferred, 'postline_queue_oldest_age_seconds{domain="remote.test"}') < 60);
    assert.equal(value(deferred, 'postline_recipients_delivered_total'), 0);

    assert.equal(await sendMail(server.port('smtp'), 'ivanov@example.org', ['petrov@ok.test']), 250);
    await eventually(async () => value(await scrape(server), 'postline_recipients_delivered_total') === 1, 15_000, 'the delivery');
    assert.equal(remote.delivered().length, 1);
    const delivered = await scrape(server);
    assert.equal(value(delivered, 'postline_messages_accepted_total{kind="queued"}'), 2);
    // Only the deferred message is left, and only its domain has a depth.
    assert.equal(value(delivered, 'postline_queue_messages'), 1);
    assert.ok(!delivered.has('postline_queue_depth{domain="ok.test"}'));
    assert.equal(value(delivered, 'postline_recipients_bounced_total'), 0);
  } finally {
    await server.stop();
    await remote.close();
  }
});

test('a permanent failure counts as bounced', SLOW, async () => {
  const remote = await ScriptedSmtpServer.start({ script: { rcpt: () => '550 5.1.1 no such user' } });
  const yaml = `relay: { trustedNetworks: [127.0.0.0/8] }\ndelivery: { routes: { "bad.test": "127.0.0.1:${remote.port}" }, retry: [1h] }\n`;
  const server = await startHttpServer(yaml);
  try {
    assert.equal(await sendMail(server.port('smtp'), 'ivanov@example.org', ['nobody@bad.test']), 250);
    await eventually(async () => value(await scrape(server), 'postline_recipients_bounced_total') === 1, 15_000, 'the bounce');
    const samples = await scrape(server);
    assert.equal(value(samples, 'postline_queue_messages'), 0);
    // The DSN went to ivanov's INBOX: a local delivery, but not an SMTP intake.
    assert.equal(value(samples, 'postline_messages_accepted_total{kind="local"}'), 0);
  } finally {
    await server.stop();
    await remote.close();
  }
});
