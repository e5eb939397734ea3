import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblems, loadConfig, type LoadResult } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const root = mkdtempSync(join(tmpdir(), 'postline-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A fresh directory holding the given files. */
function dirWith(files: Record<string, string> = {}): string {
  const dir = join(root, `d${++dirs}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function loaded(r: LoadResult): Readonly<Config> {
  if (!r.ok) assert.fail(`expected a config, got errors:\n${formatProblems(r.errors)}`);
  return r.config;
}

function errorsOf(r: LoadResult): string[] {
  if (r.ok) assert.fail('expected errors, got a config');
  return r.errors;
}

/** Loads YAML text written to <new dir>/postline.yaml, with the given environment. */
function loadYaml(yaml: string, env: Record<string, string> = {}): LoadResult {
  const dir = dirWith({ 'postline.yaml': yaml });
  return loadConfig({ file: join(dir, 'postline.yaml'), cwd: dir, env });
}

const b64 = (bytes: number, fill: number) => Buffer.alloc(bytes, fill).toString('base64').replace(/=+$/, '');
const HASH = `$scrypt$ln=15,r=8,p=1$${b64(16, 7)}$${b64(32, 9)}`;

test('embedded default: SPEC §1 values, no warnings, data under cwd', () => {
  const cwd = dirWith();
  const r = loadConfig({ cwd, env: {} });
  const c = loaded(r);
  assert.equal(r.ok && r.source, 'embedded default');
  assert.deepEqual(r.ok && r.warnings, []);
  assert.equal(c.hostname, 'localhost');
  assert.deepEqual(c.domains, ['localhost']);
  assert.equal(c.dataDir, join(cwd, 'data'));
  const at = (port: number) => ({ host: '127.0.0.1', port, proxyProtocol: false });
  assert.deepEqual(c.listen, { smtp: at(2525), submission: at(2587), pop3: at(2110), imap: at(2143), http: at(8025) });
  assert.equal(c.tls, null);
  assert.equal(c.auth.plaintext, 'loopback');
});

test('resolution: --config, then POSTLINE_CONFIG, then ./postline.yaml, then the default', () => {
  const cwd = dirWith({ 'postline.yaml': 'hostname: cwd.example\n', 'other.yaml': 'hostname: env.example\n', 'flag.yaml': 'hostname: flag.example\n' });
  const host = (r: LoadResult) => loaded(r).hostname;
  assert.equal(host(loadConfig({ cwd, env: {} })), 'cwd.example');
  assert.equal(loadConfig({ cwd, env: {} }).source, join(cwd, 'postline.yaml'));
  assert.equal(host(loadConfig({ cwd, env: { POSTLINE_CONFIG: 'other.yaml' } })), 'env.example');
  assert.equal(host(loadConfig({ file: join(cwd, 'flag.yaml'), cwd, env: { POSTLINE_CONFIG: 'other.yaml' } })), 'flag.example');
  assert.equal(loadConfig({ cwd: dirWith(), env: {} }).source, 'embedded default');
});

test('a missing config file is one error naming the file', () => {
  const cwd = dirWith();
  const r = loadConfig({ file: 'nope.yaml', cwd, env: {} });
  assert.deepEqual(errorsOf(r), [`config: cannot read ${join(cwd, 'nope.yaml')} (ENOENT)`]);
  assert.equal(r.source, join(cwd, 'nope.yaml'));
  assert.deepEqual(errorsOf(loadConfig({ cwd, env: { POSTLINE_CONFIG: cwd } })), [`config: cannot read ${cwd} (EISDIR)`]);
});

test('the full SPEC §2 example loads', () => {
  const dir = dirWith({ 'cert.pem': 'CERT', 'key.pem': 'KEY' });
  writeFileSync(
    join(dir, 'postline.yaml'),
    `hostname: mx.example.org
dataDir: ./data
domains: [example.org]
users:
  - { address: ivanov@example.org, password: "secret" }
  - { address: petrov@example.org, passwordHash: "${HASH}" }
aliases: { abuse@example.org: ivanov@example.org }
catchAll: postmaster@example.org
listen:
  smtp: 127.0.0.1:2525
  submission: 127.0.0.1:2587
  smtps: 127.0.0.1:2465
  pop3: 127.0.0.1:2110
  pop3s: 127.0.0.1:2995
  imap: 127.0.0.1:2143
  imaps: { address: "127.0.0.1:2993", proxyProtocol: true }
  http: 127.0.0.1:8025
admin: { token: "" }
tls: { cert: cert.pem, key: ./key.pem }
auth:
  plaintext: loopback
relay:
  trustedNetworks: [192.168.0.0/16]
  popBeforeSmtp: 0s
checks:
  ptr: off
dns:
  servers: []
  doh: ""
delivery:
  port: 25
  routes: { "example.com": "127.0.0.1:2526" }
  relayHost: ""
  retry: [1m, 5m, 15m, 1h, 4h]
  maxQueueLifetime: 5d
limits:
  maxMessageSize: 25MB
  maxRecipients: 100
  maxConnections: 10000
  maxConnectionsPerIp: 50
  idleTimeout: 5m
  authFailuresPerIp: 10
workers: { threads: auto }
store: { segmentSize: 64MB, fsync: batch }
`,
  );
  const r = loadConfig({ cwd: dir, env: {} });
  const c = loaded(r);
  assert.equal(r.source, join(dir, 'postline.yaml'));
  assert.deepEqual(r.ok && r.warnings, ['users.0.password: plain-text password in the config; prefer passwordHash from `postline user hash`']);
  assert.equal(c.hostname, 'mx.example.org');
  assert.equal(c.dataDir, join(dir, 'data'));
  assert.deepEqual(c.users, [
    { address: 'ivanov@example.org', password: 'secret', passwordHash: null },
    { address: 'petrov@example.org', password: null, passwordHash: HASH },
  ]);
  assert.deepEqual(c.aliases, { 'abuse@example.org': 'ivanov@example.org' });
  assert.equal(c.catchAll, 'postmaster@example.org');
  assert.equal(Object.keys(c.listen).length, 8);
  assert.deepEqual(c.listen.imaps, { host: '127.0.0.1', port: 2993, proxyProtocol: true });
  assert.deepEqual(c.listen.smtps, { host: '127.0.0.1', port: 2465, proxyProtocol: false });
  assert.deepEqual(c.tls, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
  assert.deepEqual(c.relay, { trustedNetworks: ['192.168.0.0/16'], popBeforeSmtpMs: 0 });
  assert.equal(c.checks.ptr, 'off');
  assert.deepEqual(c.dns, { servers: [], doh: '' });
  assert.deepEqual(c.delivery, {
    port: 25,
    routes: { 'example.com': '127.0.0.1:2526' },
    relayHost: null,
    retryMs: [60_000, 300_000, 900_000, 3_600_000, 14_400_000],
    maxQueueLifetimeMs: 432_000_000,
  });
  assert.deepEqual(c.limits, {
    maxMessageSize: 26_214_400,
    maxRecipients: 100,
    maxConnections: 10_000,
    maxConnectionsPerIp: 50,
    idleTimeoutMs: 300_000,
    authFailuresPerIp: 10,
  });
  assert.deepEqual(c.workers, { threads: 'auto' });
  assert.deepEqual(c.store, { segmentSize: 64 * 1024 * 1024, fsync: 'batch' });
});

test('a user file without listen has no listeners, and every other default', () => {
  const c = loaded(loadYaml('domains: [Example.org]\n'));
  assert.deepEqual(c.listen, {});
  assert.deepEqual(c.domains, ['example.org']);
  assert.equal(c.hostname, 'localhost');
  assert.equal(c.store.fsync, 'batch');
  assert.deepEqual(loaded(loadYaml('')).listen, {});
  assert.deepEqual(loaded(loadYaml('# nothing but a comment\n')).domains, []);
});

test('an explicit 0 stays 0', () => {
  const c = loaded(loadYaml('limits: { maxRecipients: 0, maxConnections: 0, maxConnectionsPerIp: 0, authFailuresPerIp: 0, maxMessageSize: 0, idleTimeout: 0s }\n'));
  assert.deepEqual(c.limits, { maxMessageSize: 0, maxRecipients: 0, maxConnections: 0, maxConnectionsPerIp: 0, idleTimeoutMs: 0, authFailuresPerIp: 0 });
});

test('every problem is collected, one line each, `path: problem`', () => {
  const r = loadYaml(`hostname: "bad host"
domains: [example.org]
users:
  - { address: ok@example.org, password: pw }
  - { address: "not an address", passwordHash: "$2b$10$abc" }
  - { address: c@example.org }
listen:
  smtp: 127.0.0.1
  pop3: { address: "127.0.0.1:2110", proxyProtocol: "yes" }
relay: { trustedNetworks: [10.0.0.0/8, 10/8] }
limits: { maxRecipients: -1, idleTimeout: 5 minutes }
store: { fsync: sometimes }
`);
  assert.deepEqual(errorsOf(r), [
    'hostname: expected a host name such as mx.example.org (got "bad host")',
    'users.1.address: expected an email address such as user@example.org (got "not an address")',
    'users.1.passwordHash: unsupported password hash (expected $scrypt$… from `postline user hash`)',
    'users.2: needs password or passwordHash',
    'listen.smtp: expected host:port such as 127.0.0.1:2525 or [::1]:2525, port 0-65535 (got "127.0.0.1")',
    'listen.pop3.proxyProtocol: expected true or false (got "yes")',
    'relay.trustedNetworks.1: expected an IP network such as 192.168.0.0/16, or an IP address (got "10/8")',
    'limits.maxRecipients: expected a non-negative integer (got -1)',
    'limits.idleTimeout: expected a duration such as 30s, 5m, 1h (got "5 minutes")',
    'store.fsync: expected one of batch, always, off (got "sometimes")',
  ]);
});

test('unknown keys: one line per key, nested and top level', () => {
  const r = loadYaml(`bogus: 1
hostnmae: x
limits: { maxRecipient: 5 }
listen: { ftp: 127.0.0.1:21, smtp: { address: "127.0.0.1:25", proxy: true } }
users: [{ address: a@localhost, password: p, admin: true }]
domains: [localhost]
`);
  assert.deepEqual(errorsOf(r), [
    'users.0.admin: unknown key',
    'listen.smtp.proxy: unknown key',
    'listen.ftp: unknown key',
    'limits.maxRecipient: unknown key',
    'bogus: unknown key',
    'hostnmae: unknown key',
  ]);
});

test('checks between keys: alias and user domains, exactly one password, duplicates', () => {
  const r = loadYaml(`domains: [example.org]
users:
  - { address: a@example.org, password: p, passwordHash: "${HASH}" }
  - { address: b@other.org, passwordHash: "${HASH}" }
  - { address: A@Example.org, passwordHash: "${HASH}" }
aliases: { abuse@other.org: a@example.org, info@example.org: someone@gmail.com }
listen: { smtp: 127.0.0.1:2525, imap: "127.0.0.1:2525", pop3: 127.0.0.1:0, http: 127.0.0.1:0 }
`);
  assert.deepEqual(errorsOf(r), [
    'users.0: set password or passwordHash, not both',
    'users.1.address: domain other.org is not in domains',
    'users.2.address: a@example.org is already users.0',
    'aliases.abuse@other.org: domain other.org is not in domains',
    'listen.imap: same address as listen.smtp',
  ]);
});

test('tls needs both files, readable, relative to the config file', () => {
  const dir = dirWith({ 'cert.pem': 'x' });
  mkdirSync(join(dir, 'keydir'));
  writeFileSync(join(dir, 'a.yaml'), 'tls: { cert: cert.pem }\n');
  writeFileSync(join(dir, 'b.yaml'), 'tls: { cert: /nonexistent/y.pem, key: keydir }\n');
  assert.deepEqual(errorsOf(loadConfig({ file: join(dir, 'a.yaml'), env: {} })), ['tls.key: required']);
  assert.deepEqual(errorsOf(loadConfig({ file: join(dir, 'b.yaml'), env: {} })), [
    'tls.cert: cannot read /nonexistent/y.pem (ENOENT)',
    `tls.key: cannot read ${join(dir, 'keydir')} (EISDIR)`,
  ]);
});

test('a relative dataDir is resolved against the config file, not the cwd', () => {
  const dir = dirWith();
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'p.yaml'), 'dataDir: ../var/mail\n');
  const elsewhere = dirWith();
  assert.equal(loaded(loadConfig({ file: join(dir, 'etc', 'p.yaml'), cwd: elsewhere, env: {} })).dataDir, join(dir, 'var', 'mail'));
  // A relative --config itself is relative to cwd.
  assert.equal(loaded(loadConfig({ file: '../' + dir.split('/').pop() + '/etc/p.yaml', cwd: elsewhere, env: {} })).dataDir, join(dir, 'var', 'mail'));
  assert.equal(loaded(loadYaml('dataDir: /srv/postline\n')).dataDir, '/srv/postline');
});

test('environment overrides are applied before validation', () => {
  const r = loadYaml('domains: [example.org]\nlisten:\n  smtp: { address: "127.0.0.1:2525", proxyProtocol: true }\n', {
    POSTLINE_HOSTNAME: 'MX.example.org',
    POSTLINE_DATA_DIR: '/var/lib/postline',
    POSTLINE_DOMAINS: 'example.org, example.net',
    POSTLINE_CATCH_ALL: 'postmaster@example.org',
    POSTLINE_STORE__FSYNC: 'off',
    POSTLINE_LIMITS__MAX_MESSAGE_SIZE: '10MB',
    POSTLINE_LIMITS__MAX_RECIPIENTS: '0',
    POSTLINE_LISTEN__SMTP: '0.0.0.0:25',
    POSTLINE_LISTEN__IMAP: '[::1]:143',
    POSTLINE_WORKERS__THREADS: '4',
    POSTLINE_DELIVERY__RETRY: '10s,1m',
    // Not config keys: read by the CLI, ignored here.
    POSTLINE_CONFIG: '/does/not/matter.yaml',
    POSTLINE_LOG_LEVEL: 'debug',
    POSTLINE_SCRYPT_LN: '4',
  });
  const c = loaded(r);
  assert.equal(c.hostname, 'mx.example.org');
  assert.equal(c.dataDir, '/var/lib/postline');
  assert.deepEqual(c.domains, ['example.org', 'example.net']);
  assert.equal(c.catchAll, 'postmaster@example.org');
  assert.equal(c.store.fsync, 'off');
  assert.equal(c.limits.maxMessageSize, 10 * 1024 * 1024);
  assert.equal(c.limits.maxRecipients, 0);
  // The variable moves the listener; proxyProtocol from the file is kept.
  assert.deepEqual(c.listen.smtp, { host: '0.0.0.0', port: 25, proxyProtocol: true });
  assert.deepEqual(c.listen.imap, { host: '::1', port: 143, proxyProtocol: false });
  assert.equal(c.workers.threads, 4);
  assert.deepEqual(c.delivery.retryMs, [10_000, 60_000]);
});

test('environment overrides also apply over the embedded default', () => {
  const c = loaded(loadConfig({ cwd: dirWith(), env: { POSTLINE_HOSTNAME: 'mail.example.org', POSTLINE_LISTEN__HTTP: '127.0.0.1:0' } }));
  assert.equal(c.hostname, 'mail.example.org');
  assert.equal(c.listen.http?.port, 0);
  assert.equal(c.listen.smtp?.port, 2525);
});

test('bad environment values are reported by variable name; unknown POSTLINE_ variables are errors', () => {
  const r = loadYaml('domains: [example.org]\nlisten: { smtp: 127.0.0.1:2525 }\n', {
    POSTLINE_STORE__FSYNC: 'sometimes',
    POSTLINE_DOMAINS: 'example.org,bad domain',
    POSTLINE_LIMITS__MAX_RECIPIENTS: 'many',
    POSTLINE_LISTEN__POP3: '127.0.0.1:2525',
    POSTLINE_FOO: '1',
    POSTLINE_USERS: 'a@example.org',
    OTHER_VARIABLE: 'ignored',
  });
  assert.deepEqual(errorsOf(r), [
    'POSTLINE_DOMAINS: expected a domain name such as example.org (got "bad domain")',
    'POSTLINE_LISTEN__POP3: same address as listen.smtp',
    'POSTLINE_LIMITS__MAX_RECIPIENTS: expected a non-negative integer (got "many")',
    'POSTLINE_STORE__FSYNC: expected one of batch, always, off (got "sometimes")',
    'POSTLINE_FOO: unknown configuration key',
    'POSTLINE_USERS: cannot be set from the environment; use the config file',
  ]);
});

test('YAML syntax errors give line and column', () => {
  assert.deepEqual(errorsOf(loadYaml('hostname: a\nhostname: b\n')), ['config: YAML error at line 2, column 1: Map keys must be unique']);
  assert.deepEqual(errorsOf(loadYaml('domains: [a.org\nhostname: b\n')), [
    'config: YAML error at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  assert.deepEqual(errorsOf(loadYaml('a: *nowhere\n')), ['config: YAML error: Unresolved alias (the anchor must be set before the alias): nowhere']);
  assert.deepEqual(errorsOf(loadYaml('- hostname: x\n')), ['config: expected a mapping of keys at the top level (got a list)']);
});

test('checks.ptr: off stays the string "off" (YAML 1.2), and YAML 1.1 false also means off', () => {
  assert.equal(loaded(loadYaml('checks:\n  ptr: off\n')).checks.ptr, 'off');
  assert.equal(loaded(loadYaml('%YAML 1.1\n---\nchecks: { ptr: off }\nstore: { fsync: off }\n')).checks.ptr, 'off');
  assert.equal(loaded(loadYaml('checks: { ptr: sender-domain }\n')).checks.ptr, 'sender-domain');
  assert.deepEqual(errorsOf(loadYaml('checks: { ptr: true }\n')), ['checks.ptr: expected one of off, fcrdns, sender-domain (got true)']);
});

test('the config is deeply frozen', () => {
  const c = loaded(loadConfig({ cwd: dirWith(), env: {} }));
  for (const part of [c, c.limits, c.listen, c.listen.smtp, c.domains, c.delivery.retryMs, c.users]) assert.ok(Object.isFrozen(part));
  assert.throws(() => {
    (c as Config).hostname = 'x';
  }, TypeError);
  assert.throws(() => {
    (c.domains as string[]).push('x');
  }, TypeError);
});
