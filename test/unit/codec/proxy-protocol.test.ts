import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeProxyHeader,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyDecodeResult,
  type ProxyHeader,
} from '../../../src/codec/proxy/proxy-protocol.js';
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from '../../../src/codec/proxy/serialize.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function header(bytes: Uint8Array): { header: ProxyHeader; consumed: number } {
  const r = decodeProxyHeader(bytes);
  assert.equal(r.kind, 'header', `expected a header, got ${JSON.stringify(r)}`);
  return r as Extract<ProxyDecodeResult, { kind: 'header' }>;
}

function problem(bytes: Uint8Array, pattern?: RegExp): string {
  const r = decodeProxyHeader(bytes);
  assert.equal(r.kind, 'error', `expected an error for ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}, got ${JSON.stringify(r)}`);
  const p = (r as { problem: string }).problem;
  if (pattern) assert.match(p, pattern);
  return p;
}

/** Feeds `bytes` one byte more at a time: need-more until the last byte, then the same result as all at once. */
function byteAtATime(bytes: Uint8Array): ProxyDecodeResult {
  for (let n = 1; n < bytes.length; n++) {
    const r = decodeProxyHeader(bytes.subarray(0, n));
    if (r.kind !== 'need-more') return r;
  }
  return decodeProxyHeader(bytes);
}

/** A v2 header with a hand-made fixed part: ver/cmd, fam/proto, len and body. */
function v2(verCmd: number, famProto: number, body: Uint8Array, len = body.length): Buffer {
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([verCmd, famProto, len >> 8, len & 0xff]), body]);
}

test('v1 TCP4: addresses, ports, consumed up to the CRLF; what follows is not the header', () => {
  const line = 'PROXY TCP4 192.168.7.10 10.0.0.1 51234 25\r\n';
  const { header: h, consumed } = header(latin1(line + 'EHLO x\r\n'));
  assert.equal(consumed, line.length);
  assert.deepEqual(h, {
    version: 1,
    command: 'proxy',
    family: 'inet',
    transport: 'stream',
    source: { address: '192.168.7.10', port: 51234 },
    destination: { address: '10.0.0.1', port: 25 },
  });
  assert.deepEqual(header(latin1('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n')).header.destination, { address: '255.255.255.255', port: 65535 });
});

test('v1 TCP6: any textual form, canonical text out; IPv4-mapped keeps its dotted tail', () => {
  const h = header(latin1('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 40000 587\r\n')).header;
  assert.equal(h.family, 'inet6');
  assert.deepEqual(h.source, { address: '2001:db8::1', port: 40000 });
  assert.deepEqual(h.destination, { address: '::1', port: 587 });
  assert.equal(header(latin1('PROXY TCP6 ::ffff:192.0.2.5 ::1 1 2\r\n')).header.source?.address, '::ffff:192.0.2.5');
  // The deprecated IPv4-compatible form is not the mapped one (ipaddr.js would say it is).
  assert.equal(header(latin1('PROXY TCP6 ::192.0.2.5 :: 1 2\r\n')).header.source?.address, '::c000:205');
  assert.equal(header(latin1('PROXY TCP6 1:2:3:4:5:6:7:8 1::8 1 2\r\n')).header.destination?.address, '1::8');
});

test('v1 UNKNOWN: no addresses, and anything up to the CRLF is ignored (spec)', () => {
  for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff:f::1 ffff::2 65535 65535\r\n', 'PROXY UNKNOWN whatever the proxy likes\r\n']) {
    const { header: h, consumed } = header(latin1(line));
    assert.equal(consumed, line.length);
    assert.deepEqual(h, { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', source: null, destination: null });
  }
});

test('v1 at exactly 107 bytes is fine; one more without a CRLF is refused', () => {
  const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  const worst = `PROXY UNKNOWN ${full} ${full} 65535 65535\r\n`;
  assert.equal(worst.length, PROXY_V1_MAX_LENGTH, 'the spec\'s worst case is its own bound');
  header(latin1(worst));
  const padded = `PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 'PROXY UNKNOWN \r\n'.length)}\r\n`;
  assert.equal(padded.length, PROXY_V1_MAX_LENGTH);
  header(latin1(padded));
  assert.equal(decodeProxyHeader(latin1(padded.slice(0, 106))).kind, 'need-more');
  problem(latin1(`PROXY UNKNOWN ${'x'.repeat(100)}`), /longer than 107/);
  problem(latin1(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 'PROXY UNKNOWN \r\n'.length + 1)}\r\n`), /longer than 107/);
});

test('v2 PROXY over IPv4 and IPv6', () => {
  const four = encodeProxyHeaderV2({ command: 'proxy', source: { address: '192.168.7.10', port: 51234 }, destination: { address: '10.0.0.1', port: 25 } });
  const { header: h, consumed } = header(Buffer.concat([four, latin1('EHLO x\r\n')]));
  assert.equal(consumed, 16 + 12);
  assert.deepEqual(h, {
    version: 2,
    command: 'proxy',
    family: 'inet',
    transport: 'stream',
    source: { address: '192.168.7.10', port: 51234 },
    destination: { address: '10.0.0.1', port: 25 },
  });
  const six = encodeProxyHeaderV2({ command: 'proxy', source: { address: '2001:db8::7', port: 1 }, destination: { address: '::ffff:10.1.2.3', port: 993 } });
  const h6 = header(six);
  assert.equal(h6.consumed, 16 + 36);
  assert.equal(h6.header.family, 'inet6');
  assert.deepEqual(h6.header.source, { address: '2001:db8::7', port: 1 });
  assert.deepEqual(h6.header.destination, { address: '::ffff:10.1.2.3', port: 993 });
});

test('v2 LOCAL (health checks) and UNSPEC carry no addresses; LOCAL ignores whatever address block follows', () => {
  assert.deepEqual(header(encodeProxyHeaderV2({ command: 'local' })).header, {
    version: 2,
    command: 'local',
    family: 'unspec',
    transport: 'unspec',
    source: null,
    destination: null,
  });
  // LOCAL announcing TCP4 with a 12-byte block: accepted, block ignored.
  const local4 = v2(0x20, 0x11, Buffer.alloc(12, 7));
  assert.deepEqual({ ...header(local4) }, { kind: 'header', consumed: 28, header: { version: 2, command: 'local', family: 'inet', transport: 'stream', source: null, destination: null } });
  // LOCAL announcing TCP4 with no block at all: still fine (the spec says to ignore it).
  assert.equal(header(v2(0x20, 0x11, Buffer.alloc(0))).header.command, 'local');
  const unspec = header(encodeProxyHeaderV2({ command: 'unknown' })).header;
  assert.equal(unspec.command, 'proxy');
  assert.equal(unspec.source, null);
  // AF_UNIX: paths, no client address.
  const unix = header(v2(0x21, 0x31, Buffer.alloc(216))).header;
  assert.equal(unix.family, 'unix');
  assert.equal(unix.source, null);
});

test('v2 TLVs after the addresses are skipped and counted in consumed', () => {
  const tlvs = [
    { type: 0x01, value: latin1('smtp') }, // ALPN
    { type: 0x02, value: latin1('mx.example.org') }, // authority
    { type: 0x05, value: Buffer.alloc(128, 0xab) }, // unique id
    { type: 0x04, value: Buffer.alloc(0) }, // NOOP
  ];
  const bytes = encodeProxyHeaderV2({ command: 'proxy', source: { address: '203.0.113.5', port: 2000 }, destination: { address: '198.51.100.1', port: 25 } }, { tlvs });
  const { header: h, consumed } = header(Buffer.concat([bytes, latin1('after')]));
  assert.equal(consumed, bytes.length);
  assert.deepEqual(h.source, { address: '203.0.113.5', port: 2000 });
  // Bytes after the address block are not checked as TLVs: a short or odd tail is skipped all the same.
  assert.equal(header(v2(0x21, 0x11, Buffer.concat([Buffer.alloc(12), Buffer.from([0xee])]))).consumed, 29);
});

test('split anywhere, byte at a time: need-more until the last byte, then the same header', () => {
  const samples = [
    latin1('PROXY TCP4 192.168.7.10 10.0.0.1 51234 25\r\n'),
    latin1('PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'),
    latin1('PROXY UNKNOWN\r\n'),
    encodeProxyHeaderV2({ command: 'proxy', source: { address: '2001:db8::1', port: 5 }, destination: { address: '2001:db8::2', port: 6 } }, { tlvs: [{ type: 1, value: latin1('h2') }] }),
    encodeProxyHeaderV2({ command: 'local' }),
  ];
  for (const bytes of samples) assert.deepEqual(byteAtATime(bytes), decodeProxyHeader(bytes));
  assert.equal(decodeProxyHeader(new Uint8Array(0)).kind, 'need-more');
});

test('malformed: wrong signature, no header at all, bad v1 syntax', () => {
  problem(latin1('EHLO client.example\r\n'), /not a PROXY protocol header/);
  problem(latin1('\x16\x03\x01\x02\x00'), /not a PROXY protocol header/); // a TLS ClientHello with no header
  problem(latin1('GET / HTTP/1.1\r\n'), /not a PROXY/);
  problem(latin1('PROXX'), /not a PROXY/); // refused on the first wrong byte, not at the timeout
  problem(latin1('PROXY\r\n'), /not a PROXY/);
  problem(Buffer.concat([PROXY_V2_SIGNATURE.subarray(0, 5), latin1('X')]), /not a PROXY/);
  problem(latin1('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), /TCP4, TCP6 or UNKNOWN/);
  problem(latin1('PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n'), /TCP4, TCP6 or UNKNOWN/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), /single spaces/);
  problem(latin1('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), /single spaces/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'), /single spaces/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), /CRLF/);
  problem(latin1('PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n'), /bare CR/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n'), /control/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0'), /control/);
  problem(latin1('PROXY UNKNOWN \xe9\r\n'), /non-ASCII/);
});

test('malformed: addresses of the wrong family or not addresses', () => {
  problem(latin1('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'), /source address is not an IPv4/);
  problem(latin1('PROXY TCP4 1.2.3.4 ::1 1 2\r\n'), /destination address is not an IPv4/);
  problem(latin1('PROXY TCP6 1.2.3.4 ::1 1 2\r\n'), /source address is not an IPv6/);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'localhost', '0x7f.0.0.1', '']) {
    problem(latin1(`PROXY TCP4 ${bad} 5.6.7.8 1 2\r\n`));
  }
  for (const bad of ['fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':::', '1::2::3', ':1::', 'gggg::1', '12345::1', '2001:db8::/32', '::ffff:0x7f.0.0.1', '::ffff:127.1', '::1.2.3.4:5', '1.2.3.4::']) {
    problem(latin1(`PROXY TCP6 ${bad} ::1 1 2\r\n`), /IPv6/);
  }
});

test('malformed: ports outside 0-65535 or not plain decimal', () => {
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 65536 25\r\n'), /source port/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 25 99999\r\n'), /destination port/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 -1 25\r\n'), /source port/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 +25 25\r\n'), /source port/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 123456 25\r\n'), /source port/);
  problem(latin1('PROXY TCP4 1.2.3.4 5.6.7.8 0x19 25\r\n'), /source port/);
});

test('malformed v2: version, command, family, lengths', () => {
  const four = Buffer.alloc(12);
  problem(v2(0x11, 0x11, four), /unsupported PROXY protocol version 1/);
  problem(v2(0x31, 0x11, four), /unsupported PROXY protocol version 3/);
  problem(v2(0x22, 0x11, four), /unknown v2 command 0x2/);
  problem(v2(0x2f, 0x11, four), /unknown v2 command 0xf/);
  for (const fam of [0x01, 0x10, 0x13, 0x41, 0x20, 0x33, 0xff]) problem(v2(0x21, fam, four), /unknown v2 address family/);
  problem(v2(0x21, 0x11, Buffer.alloc(11)), /too short for its inet addresses/);
  problem(v2(0x21, 0x21, Buffer.alloc(12)), /too short for its inet6 addresses/);
  problem(v2(0x21, 0x31, Buffer.alloc(100)), /too short for its unix addresses/);
  // Refused as soon as the length field is in, without waiting for the bytes it announces.
  problem(v2(0x21, 0x11, Buffer.alloc(0), PROXY_V2_MAX_LENGTH + 1), /over our limit/);
  problem(v2(0x21, 0x11, Buffer.alloc(0), 0xffff), /over our limit/);
  assert.equal(header(v2(0x21, 0x11, Buffer.alloc(PROXY_V2_MAX_LENGTH))).consumed, 16 + PROXY_V2_MAX_LENGTH);
  // Errors show up on the first byte that makes them certain.
  assert.equal(decodeProxyHeader(v2(0x21, 0x11, four).subarray(0, 12)).kind, 'need-more');
  assert.equal(decodeProxyHeader(v2(0x11, 0x11, four).subarray(0, 13)).kind, 'error');
  assert.equal(decodeProxyHeader(v2(0x21, 0x99, four).subarray(0, 14)).kind, 'error');
});

test('truncated headers are need-more, never a header', () => {
  const whole = [
    latin1('PROXY TCP4 192.168.7.10 10.0.0.1 51234 25\r\n'),
    encodeProxyHeaderV2({ command: 'proxy', source: { address: '2001:db8::1', port: 5 }, destination: { address: '2001:db8::2', port: 6 } }),
  ];
  for (const bytes of whole) for (let n = 0; n < bytes.length; n++) assert.equal(decodeProxyHeader(bytes.subarray(0, n)).kind, 'need-more', `first ${n} bytes`);
});

test('property: any bytes give need-more, header or error, never a throw; consumed stays within the input', () => {
  const prefixes = fc.constantFrom(Buffer.alloc(0), latin1('PROXY '), latin1('PROXY TCP4 '), latin1('PROXY TCP6 '), Buffer.from(PROXY_V2_SIGNATURE), Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11])]));
  fc.assert(
    fc.property(prefixes, fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
      const bytes = Buffer.concat([prefix, tail]);
      const r = decodeProxyHeader(bytes);
      assert.ok(r.kind === 'need-more' || r.kind === 'header' || r.kind === 'error');
      if (r.kind === 'header') assert.ok(r.consumed > 0 && r.consumed <= bytes.length);
      if (r.kind === 'error') assert.ok(r.problem.length > 0);
    }),
    { numRuns: 2000 },
  );
});

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const port = fc.integer({ min: 0, max: 65535 });

test('property: a random valid header decodes to what was encoded (v1 and v2, IPv4 and IPv6, with TLVs and trailing bytes)', () => {
  const endpoints = fc.oneof(
    fc.record({ family: fc.constant('inet' as const), src: ipv4, dst: ipv4, sport: port, dport: port }),
    fc.record({ family: fc.constant('inet6' as const), src: ipv6, dst: ipv6, sport: port, dport: port }),
  );
  const tlvs = fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 200 }) }), { maxLength: 4 });
  fc.assert(
    fc.property(endpoints, fc.boolean(), tlvs, fc.uint8Array({ maxLength: 64 }), (e, useV2, tlvList, trailing) => {
      const spec = { command: 'proxy' as const, source: { address: e.src, port: e.sport }, destination: { address: e.dst, port: e.dport } };
      const encoded = useV2 ? encodeProxyHeaderV2(spec, { tlvs: tlvList }) : encodeProxyHeaderV1(spec);
      const r = decodeProxyHeader(Buffer.concat([encoded, trailing]));
      assert.equal(r.kind, 'header', JSON.stringify(r));
      if (r.kind !== 'header') return;
      assert.equal(r.consumed, encoded.length);
      assert.equal(r.header.version, useV2 ? 2 : 1);
      assert.equal(r.header.family, e.family);
      assert.equal(r.header.source?.port, e.sport);
      assert.equal(r.header.destination?.port, e.dport);
      // Same address, whatever textual form fast-check chose (IPv6 compression, case, mapped forms).
      assert.equal(canonical(r.header.source!.address), canonical(e.src));
      assert.equal(canonical(r.header.destination!.address), canonical(e.dst));
    }),
    { numRuns: 1000 },
  );
});

/** The 8 groups of an address as numbers (IPv4 as IPv4-mapped): a second, test-only reading of the text, independent of the decoder's. */
function canonical(address: string): string {
  const text = address.includes(':') ? address : `::ffff:${address}`;
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = toGroups(head);
  const t = tail === undefined ? [] : toGroups(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t].join(':');
}
