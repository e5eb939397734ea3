import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { decodePacket, isAnswerTo, encodeQuery, MAX_CNAME_HOPS, readResponse, type Packet, type Query } from '../../../src/dns/wire.js';

const q: Query = { id: 4242, name: 'example.com', type: 'MX', edns: true };

function response(p: Partial<dnsPacket.Packet> & { rcode?: number }): Packet {
  const { rcode = 0, ...rest } = p;
  return dnsPacket.decode(
    dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | rcode, questions: [{ type: q.type, name: q.name, class: 'IN' }], ...rest }),
  ) as Packet;
}

const soa = (name: string, ttl: number, minimum: number): dnsPacket.Answer => ({ type: 'SOA', name, ttl, data: { mname: 'ns', rname: 'h', minimum } });

test('encodeQuery: RD set, one question, EDNS0 OPT with payload 1232 only when asked', () => {
  const withEdns = decodePacket(encodeQuery(q))!;
  assert.equal(withEdns.id, 4242);
  assert.equal(withEdns.flag_rd, true);
  assert.deepEqual(withEdns.questions, [{ name: 'example.com', type: 'MX', class: 'IN' }]);
  assert.equal((withEdns.additionals![0] as dnsPacket.OptAnswer).udpPayloadSize, 1232);
  assert.deepEqual(decodePacket(encodeQuery({ ...q, edns: false }))!.additionals, []);
});

test('decodePacket: junk → null, never a throw', () => {
  assert.equal(decodePacket(Buffer.from('not dns')), null);
  assert.equal(decodePacket(Buffer.alloc(0)), null);
});

test('isAnswerTo: id, QR bit and question must match (names case-insensitively)', () => {
  assert.equal(isAnswerTo(response({}), q), true);
  assert.equal(isAnswerTo({ ...response({}), id: 4243 }, q), false, 'other id');
  assert.equal(isAnswerTo({ ...response({}), questions: [{ name: 'EXAMPLE.com', type: 'MX', class: 'IN' }] }, q), true);
  assert.equal(isAnswerTo({ ...response({}), questions: [{ name: 'example.org', type: 'MX', class: 'IN' }] }, q), false, 'other name');
  assert.equal(isAnswerTo({ ...response({}), questions: [{ name: 'example.com', type: 'A', class: 'IN' }] }, q), false, 'other type');
  assert.equal(isAnswerTo({ ...response({}), flag_qr: false }, q), false, 'a query, not a response');
  assert.equal(isAnswerTo({ ...response({ rcode: 1 }), questions: [] }, q), true, 'FORMERR without question');
  assert.equal(isAnswerTo({ ...response({}), questions: [] }, q), false, 'NOERROR without question');
});

test('readResponse: records with the minimum TTL, names lower-cased without trailing dot', () => {
  const r = readResponse(
    response({
      answers: [
        { type: 'MX', name: 'example.com', ttl: 600, data: { preference: 10, exchange: 'MX1.Example.com.' } },
        { type: 'MX', name: 'example.com', ttl: 120, data: { preference: 20, exchange: 'mx2.example.com' } },
      ],
    }),
    'example.com',
    'MX',
  );
  assert.deepEqual(r, {
    kind: 'answer',
    hops: 0,
    answer: { kind: 'records', ttl: 120, records: [{ exchange: 'mx1.example.com', preference: 10 }, { exchange: 'mx2.example.com', preference: 20 }] },
  });
});

test('readResponse: a CNAME chain inside the answer is followed; TTL covers the chain', () => {
  const r = readResponse(
    response({
      questions: [{ type: 'A', name: 'www.example.com' }],
      answers: [
        { type: 'CNAME', name: 'www.example.com', ttl: 30, data: 'web.example.com' },
        { type: 'CNAME', name: 'web.example.com', ttl: 300, data: 'host.example.net' },
        { type: 'A', name: 'host.example.net', ttl: 600, data: '192.0.2.7' },
        { type: 'A', name: 'unrelated.example', ttl: 600, data: '192.0.2.8' },
      ],
    }),
    'www.example.com',
    'A',
  );
  assert.deepEqual(r, { kind: 'answer', hops: 2, answer: { kind: 'records', ttl: 30, records: ['192.0.2.7'] } });
});

test('readResponse: NODATA and NXDOMAIN carry min(SOA TTL, SOA MINIMUM); null without SOA', () => {
  assert.deepEqual(readResponse(response({ authorities: [soa('example.com', 900, 60)] }), 'example.com', 'MX'), {
    kind: 'answer',
    hops: 0,
    answer: { kind: 'nodata', ttl: 60 },
  });
  assert.deepEqual(readResponse(response({ rcode: 3, authorities: [soa('example.com', 45, 3600)] }), 'example.com', 'MX'), {
    kind: 'answer',
    hops: 0,
    answer: { kind: 'nxdomain', ttl: 45 },
  });
  assert.deepEqual(readResponse(response({ rcode: 3 }), 'example.com', 'MX'), { kind: 'answer', hops: 0, answer: { kind: 'nxdomain', ttl: null } });
});

test('readResponse: SERVFAIL / REFUSED / FORMERR are failures of that server', () => {
  for (const [code, name] of [
    [2, 'SERVFAIL'],
    [5, 'REFUSED'],
    [1, 'FORMERR'],
  ] as const) {
    const r = readResponse(response({ rcode: code }), 'example.com', 'MX');
    assert.equal(r.kind, 'failed');
    assert.equal(r.kind === 'failed' && r.rcode, name);
  }
});

test('readResponse: a chain ending elsewhere with no data and no SOA asks for the target', () => {
  const r = readResponse(response({ questions: [{ type: 'A', name: 'a.example' }], answers: [{ type: 'CNAME', name: 'a.example', ttl: 50, data: 'b.example.net' }] }), 'a.example', 'A');
  assert.deepEqual(r, { kind: 'cname', target: 'b.example.net', ttl: 50, hops: 1 });
});

test('readResponse: a CNAME loop ends as a failure, not a hang', () => {
  const r = readResponse(
    response({
      questions: [{ type: 'A', name: 'a.example' }],
      answers: [
        { type: 'CNAME', name: 'a.example', ttl: 50, data: 'b.example' },
        { type: 'CNAME', name: 'b.example', ttl: 50, data: 'a.example' },
      ],
    }),
    'a.example',
    'A',
  );
  assert.equal(r.kind, 'failed');
  assert.match(r.kind === 'failed' ? r.detail : '', new RegExp(`longer than ${MAX_CNAME_HOPS}`));
});

test('readResponse: records of another type for the name do not count', () => {
  const r = readResponse(response({ questions: [{ type: 'AAAA', name: 'h.example' }], answers: [{ type: 'A', name: 'h.example', ttl: 5, data: '192.0.2.1' }], authorities: [soa('example', 60, 60)] }), 'h.example', 'AAAA');
  assert.deepEqual(r, { kind: 'answer', hops: 0, answer: { kind: 'nodata', ttl: 60 } });
});
