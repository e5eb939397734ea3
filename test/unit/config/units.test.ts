import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describe as describeValue,
  parseBoolean,
  parseCidr,
  parseDnsServer,
  parseDomain,
  parseDuration,
  parseEmail,
  parseHostName,
  parseHostPort,
  parseHttpUrl,
  parseInteger,
  parseOneOf,
  parseSize,
  parseString,
  type Parsed,
} from '../../../src/config/units.js';

function value<T>(r: Parsed<T>): T {
  if (!r.ok) assert.fail(`expected a value, got problem: ${r.problem}`);
  return r.value;
}

function problem<T>(r: Parsed<T>): string {
  if (r.ok) assert.fail(`expected a problem, got value: ${JSON.stringify(r.value)}`);
  return r.problem;
}

test('describe quotes strings, names other kinds, cuts long strings', () => {
  assert.equal(describeValue('a"b'), '"a\\"b"');
  assert.equal(describeValue(5), '5');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue(false), 'false');
  assert.equal(describeValue(undefined), 'nothing');
  assert.equal(describeValue([]), 'an empty list');
  assert.equal(describeValue([1]), 'a list');
  assert.equal(describeValue({ a: 1 }), 'a mapping');
  assert.equal(describeValue('x'.repeat(100)), JSON.stringify('x'.repeat(77) + '...'));
});

test('parseDuration: integer + unit to milliseconds', () => {
  assert.equal(value(parseDuration('500ms')), 500);
  assert.equal(value(parseDuration('30s')), 30_000);
  assert.equal(value(parseDuration('5m')), 300_000);
  assert.equal(value(parseDuration('1h')), 3_600_000);
  assert.equal(value(parseDuration('5d')), 432_000_000);
  assert.equal(value(parseDuration('0s')), 0);
});

test('parseDuration: refuses anything else, saying what it got', () => {
  assert.equal(problem(parseDuration('5 minutes')), 'expected a duration such as 30s, 5m, 1h (got "5 minutes")');
  assert.equal(problem(parseDuration(300)), 'expected a duration such as 30s, 5m, 1h (got 300)');
  for (const bad of ['5', '', '1.5h', '-1s', '5M', '1w', ' 5m', '5m ', 'm']) {
    assert.equal(problem(parseDuration(bad)), `expected a duration such as 30s, 5m, 1h (got ${JSON.stringify(bad)})`, bad);
  }
  assert.equal(problem(parseDuration('99999999999999999999d')), 'duration too large (got "99999999999999999999d")');
});

test('parseSize: binary units, plain integers are bytes', () => {
  assert.equal(value(parseSize('25MB')), 25 * 1024 * 1024);
  assert.equal(value(parseSize('64KB')), 65_536);
  assert.equal(value(parseSize('1GB')), 1024 ** 3);
  assert.equal(value(parseSize('512B')), 512);
  assert.equal(value(parseSize('1000')), 1000);
  assert.equal(value(parseSize(1000)), 1000);
  assert.equal(value(parseSize(0)), 0);
});

test('parseSize: refuses other spellings', () => {
  assert.equal(problem(parseSize('25mb')), 'expected a size such as 64KB, 25MB, 1GB (got "25mb")');
  assert.equal(problem(parseSize(-1)), 'expected a size such as 64KB, 25MB, 1GB (got -1)');
  assert.equal(problem(parseSize(1.5)), 'expected a size such as 64KB, 25MB, 1GB (got 1.5)');
  for (const bad of ['1.5MB', '1TB', ' 1MB', '25 MB', 'MB', '']) {
    assert.equal(problem(parseSize(bad)), `expected a size such as 64KB, 25MB, 1GB (got ${JSON.stringify(bad)})`, bad);
  }
  assert.equal(problem(parseSize('99999999999GB')), 'size too large (got "99999999999GB")');
});

test('parseHostPort: IPv4, host names and [IPv6]', () => {
  assert.deepEqual(value(parseHostPort('127.0.0.1:2525')), { host: '127.0.0.1', port: 2525 });
  assert.deepEqual(value(parseHostPort('MX.Example.org:25')), { host: 'mx.example.org', port: 25 });
  assert.deepEqual(value(parseHostPort('localhost:65535')), { host: 'localhost', port: 65535 });
  assert.deepEqual(value(parseHostPort('[::1]:2525')), { host: '::1', port: 2525 });
  assert.deepEqual(value(parseHostPort('[2001:DB8:0:0::1]:25')), { host: '2001:db8::1', port: 25 });
  assert.deepEqual(value(parseHostPort('127.0.0.1:0', { allowPortZero: true })), { host: '127.0.0.1', port: 0 });
});

test('parseHostPort: refuses bad hosts and ports', () => {
  const msg = (got: string) => `expected host:port such as 127.0.0.1:2525 or [::1]:2525, port 1-65535 (got ${got})`;
  assert.equal(problem(parseHostPort('127.0.0.1:0')), msg('"127.0.0.1:0"'));
  assert.equal(problem(parseHostPort(25)), msg('25'));
  for (const bad of ['1.2.3.4', '::1:25', '999.1.1.1:25', 'host:70000', 'host:123456', 'a b:25', '[x]:25', ':25', 'host:', 'host:-1', 'a_b:25', '[fe80::1%eth0]:25']) {
    assert.equal(problem(parseHostPort(bad)), msg(JSON.stringify(bad)), bad);
  }
  assert.equal(
    problem(parseHostPort('host:70000', { allowPortZero: true })),
    'expected host:port such as 127.0.0.1:2525 or [::1]:2525, port 0-65535 (got "host:70000")',
  );
});

test('parseCidr: networks and bare addresses, canonical text', () => {
  assert.equal(value(parseCidr('192.168.0.0/16')), '192.168.0.0/16');
  assert.equal(value(parseCidr('10.1.2.3')), '10.1.2.3/32');
  assert.equal(value(parseCidr('::1')), '::1/128');
  assert.equal(value(parseCidr('2001:DB8:0::/32')), '2001:db8::/32');
  assert.equal(value(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
});

test('parseCidr: refuses what ipaddr.js alone would let through', () => {
  const msg = 'expected an IP network such as 192.168.0.0/16, or an IP address';
  for (const bad of ['10/8', '10.1/16', '1.2.3.4/33', '::/129', '1.2.3.4/', '1.2.3.4/16/1', 'fe80::1%eth0', 'example.org', '']) {
    assert.equal(problem(parseCidr(bad)), `${msg} (got ${JSON.stringify(bad)})`, bad);
  }
  assert.equal(problem(parseCidr(10)), `${msg} (got 10)`);
});

test('parseEmail: local@domain, lower-cased', () => {
  assert.equal(value(parseEmail('Ivanov@Example.ORG')), 'ivanov@example.org');
  assert.equal(value(parseEmail('a.b+tag@x.org')), 'a.b+tag@x.org');
  assert.equal(value(parseEmail('postmaster@localhost')), 'postmaster@localhost');
});

test('parseEmail: refuses spaces, missing parts, odd forms', () => {
  const msg = 'expected an email address such as user@example.org';
  const bad = ['a b@x.org', 'ab', '@x.org', 'a@', 'a@@x.org', 'a@b@x.org', 'a@x_y.org', '.a@x.org', 'a.@x.org', 'a..b@x.org', 'a@x.org.', '"a"@x.org', 'a@[1.2.3.4]', 'a@1.2.3.4', ' a@x.org', 'a@-x.org', `${'a'.repeat(65)}@x.org`];
  for (const b of bad) assert.equal(problem(parseEmail(b)), `${msg} (got ${JSON.stringify(b)})`, b);
  assert.equal(problem(parseEmail(5)), `${msg} (got 5)`);
});

test('parseDomain and parseHostName: letters-digits-hyphen labels, lower-cased', () => {
  assert.equal(value(parseDomain('Example.ORG')), 'example.org');
  assert.equal(value(parseDomain('localhost')), 'localhost');
  assert.equal(value(parseDomain('xn--e1afmkfd.xn--p1ai')), 'xn--e1afmkfd.xn--p1ai');
  assert.equal(value(parseDomain('123.example.org')), '123.example.org');
  assert.equal(value(parseHostName('MX1.example.org')), 'mx1.example.org');
  for (const bad of ['exa mple.org', '-a.org', 'a-.org', '', 'a..org', '.org', 'org.', '1.2.3.4', `${'a'.repeat(64)}.org`, 'пример.рф']) {
    assert.equal(problem(parseDomain(bad)), `expected a domain name such as example.org (got ${JSON.stringify(bad)})`, bad);
  }
  assert.equal(problem(parseHostName('mx_1')), 'expected a host name such as mx.example.org (got "mx_1")');
  assert.equal(problem(parseDomain(null)), 'expected a domain name such as example.org (got null)');
});

test('parseDnsServer: ip or ip:port, default port 53', () => {
  assert.deepEqual(value(parseDnsServer('1.1.1.1')), { host: '1.1.1.1', port: 53 });
  assert.deepEqual(value(parseDnsServer('8.8.8.8:5353')), { host: '8.8.8.8', port: 5353 });
  assert.deepEqual(value(parseDnsServer('::1')), { host: '::1', port: 53 });
  assert.deepEqual(value(parseDnsServer('[::1]:5353')), { host: '::1', port: 5353 });
  for (const bad of ['dns.google', 'dns.google:53', '1.1.1.1:0', '1.1.1.1:', '']) {
    assert.equal(
      problem(parseDnsServer(bad)),
      `expected an IP address with optional :port, such as 1.1.1.1 or 1.1.1.1:53 (got ${JSON.stringify(bad)})`,
      bad,
    );
  }
});

test('parseHttpUrl: http(s) only; httpsOnly for DoH', () => {
  assert.equal(value(parseHttpUrl('https://dns.example/dns-query')), 'https://dns.example/dns-query');
  assert.equal(value(parseHttpUrl('http://127.0.0.1:8080/hook')), 'http://127.0.0.1:8080/hook');
  assert.equal(problem(parseHttpUrl('ftp://x')), 'expected an http:// or https:// URL (got "ftp://x")');
  assert.equal(problem(parseHttpUrl('not a url')), 'expected an http:// or https:// URL (got "not a url")');
  assert.equal(problem(parseHttpUrl('http://x', { httpsOnly: true })), 'expected an https:// URL (got "http://x")');
});

test('parseInteger, parseOneOf, parseBoolean, parseString', () => {
  assert.equal(value(parseInteger(0, 0, Number.MAX_SAFE_INTEGER)), 0);
  assert.equal(problem(parseInteger(-1, 0, Number.MAX_SAFE_INTEGER)), 'expected a non-negative integer (got -1)');
  assert.equal(problem(parseInteger('10', 0, Number.MAX_SAFE_INTEGER)), 'expected a non-negative integer (got "10")');
  assert.equal(problem(parseInteger(0, 1, 65535)), 'expected an integer from 1 to 65535 (got 0)');
  assert.equal(value(parseOneOf('fcrdns', ['off', 'fcrdns', 'sender-domain'])), 'fcrdns');
  // YAML 1.1 reads `off` as false; where `off` is a choice, false means off.
  assert.equal(value(parseOneOf(false, ['off', 'fcrdns', 'sender-domain'])), 'off');
  assert.equal(problem(parseOneOf(false, ['loopback', 'never', 'always'])), 'expected one of loopback, never, always (got false)');
  assert.equal(problem(parseOneOf('sometimes', ['batch', 'always', 'off'])), 'expected one of batch, always, off (got "sometimes")');
  assert.equal(value(parseBoolean(true)), true);
  assert.equal(problem(parseBoolean('yes')), 'expected true or false (got "yes")');
  assert.equal(value(parseString('')), '');
  assert.equal(problem(parseString(5)), 'expected a string (got 5)');
});
