import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, type ValidateResult } from '../../../src/config/schema.js';
import type { Config } from '../../../src/config/types.js';

function config(r: ValidateResult): Config {
  if (!r.ok) assert.fail(`expected a config, got ${JSON.stringify(r.issues)}`);
  return r.config;
}

function issues(r: ValidateResult): string[] {
  if (r.ok) assert.fail('expected issues');
  return r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const b64 = (bytes: number, fill: number) => Buffer.alloc(bytes, fill).toString('base64').replace(/=+$/, '');

test('an empty mapping gives every default, resolved against baseDir', () => {
  const c = config(validateConfig({}, '/etc/postline'));
  assert.deepEqual(c, {
    hostname: 'localhost',
    dataDir: '/etc/postline/data',
    domains: [],
    users: [],
    aliases: {},
    catchAll: null,
    listen: {},
    admin: { token: '' },
    tls: null,
    auth: { plaintext: 'loopback' },
    relay: { trustedNetworks: [], popBeforeSmtpMs: 0 },
    checks: { ptr: 'off' },
    dns: { servers: [], doh: '' },
    delivery: { port: 25, routes: {}, relayHost: null, retryMs: [60_000, 300_000, 900_000, 3_600_000, 14_400_000], maxQueueLifetimeMs: 432_000_000 },
    limits: { maxMessageSize: 25 * 1024 * 1024, maxRecipients: 100, maxConnections: 10_000, maxConnectionsPerIp: 50, idleTimeoutMs: 300_000, authFailuresPerIp: 10 },
    workers: { threads: 'auto' },
    store: { segmentSize: 64 * 1024 * 1024, fsync: 'batch' },
  });
});

test('an empty value (YAML null) means the key is left out', () => {
  const c = config(validateConfig({ limits: null, listen: { smtp: null, pop3: '127.0.0.1:0' }, catchAll: null, tls: null, users: null }, '/'));
  assert.equal(c.limits.maxRecipients, 100);
  assert.deepEqual(c.listen, { pop3: { host: '127.0.0.1', port: 0, proxyProtocol: false } });
  assert.equal(c.catchAll, null);
  assert.equal(c.tls, null);
});

test('passwordHash must be a well-formed scrypt PHC string', () => {
  const good = `$scrypt$ln=15,r=8,p=1$${b64(16, 1)}$${b64(32, 2)}`;
  const base = { domains: ['x.org'] };
  assert.equal(config(validateConfig({ ...base, users: [{ address: 'a@x.org', passwordHash: good }] }, '/')).users[0]?.passwordHash, good);
  const msg = 'users.0.passwordHash: unsupported password hash (expected $scrypt$… from `postline user hash`)';
  for (const bad of [
    `$argon2id$v=19$m=65536,t=3,p=4$${b64(16, 1)}$${b64(32, 2)}`,
    `$scrypt$ln=15,r=8,p=1$${b64(16, 1)}==$${b64(32, 2)}`, // padding
    `$scrypt$ln=0,r=8,p=1$${b64(16, 1)}$${b64(32, 2)}`,
    `$scrypt$ln=15,r=8$${b64(16, 1)}$${b64(32, 2)}`,
    'secret',
  ]) {
    assert.deepEqual(issues(validateConfig({ ...base, users: [{ address: 'a@x.org', passwordHash: bad }] }, '/')), [msg], bad);
  }
});

test('a plain password is accepted with a warning; an empty one counts as absent', () => {
  const r = validateConfig({ domains: ['x.org'], users: [{ address: 'a@x.org', password: 'pw' }] }, '/');
  assert.ok(r.ok);
  assert.deepEqual(r.warnings, ['users.0.password: plain-text password in the config; prefer passwordHash from `postline user hash`']);
  assert.deepEqual(issues(validateConfig({ domains: ['x.org'], users: [{ address: 'a@x.org', password: '' }] }, '/')), ['users.0: needs password or passwordHash']);
  assert.deepEqual(issues(validateConfig({ domains: ['x.org'], users: [{ address: 'a@x.org', password: 1234 }] }, '/')), [
    'users.0.password: expected a non-empty string (got 1234)',
  ]);
});

test('routes, relayHost, dns and workers values', () => {
  const c = config(
    validateConfig(
      {
        delivery: { routes: { 'Example.com': '127.0.0.1:2526', 'hook.org': 'https://hooks.example/in' }, relayHost: 'smtp.relay.example:587' },
        dns: { servers: ['1.1.1.1', '[2606:4700::1111]:53'], doh: 'https://dns.example/dns-query' },
        workers: { threads: 8 },
      },
      '/',
    ),
  );
  assert.deepEqual(c.delivery.routes, { 'example.com': '127.0.0.1:2526', 'hook.org': 'https://hooks.example/in' });
  assert.deepEqual(c.delivery.relayHost, { host: 'smtp.relay.example', port: 587 });
  assert.deepEqual(c.dns.servers, [{ host: '1.1.1.1', port: 53 }, { host: '2606:4700::1111', port: 53 }]);
  assert.equal(c.dns.doh, 'https://dns.example/dns-query');
  assert.equal(c.workers.threads, 8);
});

test('range and shape problems in routes, retry, workers, store, listeners', () => {
  assert.deepEqual(
    issues(
      validateConfig(
        {
          listen: { smtp: 25, imap: { proxyProtocol: true } },
          delivery: { routes: { 'a.org': 'ftp://x', 'A.org': '127.0.0.1:25' }, retry: ['1m', '0s'], port: 0 },
          workers: { threads: 0 },
          store: { segmentSize: '512KB' },
          relay: 'everyone',
        },
        '/',
      ),
    ),
    [
      'listen.smtp: expected host:port or { address, proxyProtocol } (got 25)',
      'listen.imap.address: required',
      'relay: expected a mapping (got "everyone")',
      'delivery.port: expected an integer from 1 to 65535 (got 0)',
      'delivery.routes.a.org: expected host:port or an http(s):// URL (got "ftp://x")',
      'delivery.routes.A.org: duplicate of a.org',
      'delivery.retry.1: expected a delay greater than 0 (got "0s")',
      'workers.threads: expected auto or an integer from 1 to 64 (got 0)',
      'store.segmentSize: expected a size from 1MB to 1GB (got "512KB")',
    ],
  );
  assert.deepEqual(issues(validateConfig({ delivery: { retry: [] } }, '/')), ['delivery.retry: expected at least one delay such as 1m (got an empty list)']);
  assert.deepEqual(issues(validateConfig({ domains: 'example.org' }, '/')), ['domains: expected a list (got "example.org")']);
});
