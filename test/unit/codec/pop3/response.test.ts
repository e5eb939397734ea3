import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DotStuffer, formatAny, formatResponse, topOf } from '../../../../src/codec/pop3/response.js';

const text = (b: Buffer): string => b.toString('latin1');

test('single-line responses, with and without a response code', () => {
  assert.equal(text(formatResponse({ status: '+OK', text: '2 320' })), '+OK 2 320\r\n');
  assert.equal(text(formatResponse({ status: '+OK', text: '' })), '+OK\r\n');
  assert.equal(text(formatResponse({ status: '-ERR', code: 'IN-USE', text: 'maildrop already locked' })), '-ERR [IN-USE] maildrop already locked\r\n');
  assert.equal(text(formatResponse({ status: '-ERR', code: 'SYS/TEMP', text: 'x' })), '-ERR [SYS/TEMP] x\r\n');
  assert.equal(text(formatResponse({ status: '-ERR', code: 'bad code]', text: 'x' })), '-ERR x\r\n', 'a malformed code is dropped');
  assert.equal(text(formatResponse({ status: '+', text: '' })), '+ \r\n', 'the SASL continuation keeps its space');
});

test('texts cannot inject lines; multi-line responses are dot-stuffed and terminated', () => {
  assert.equal(text(formatResponse({ status: '-ERR', text: 'a\r\n+OK injected' })), '-ERR a  +OK injected\r\n');
  const capa = formatResponse({ status: '+OK', text: 'Capability list follows', lines: ['TOP', '.hidden', 'a\r\n.'] });
  assert.equal(text(capa), '+OK Capability list follows\r\nTOP\r\n..hidden\r\na  .\r\n.\r\n');
  assert.equal(text(formatResponse({ status: '+OK', text: 'empty', lines: [] })), '+OK empty\r\n.\r\n');
});

function stuff(body: Buffer, sliceBytes: number): Buffer {
  const s = new DotStuffer();
  const out: Buffer[] = [];
  for (let off = 0; off < body.length; off += sliceBytes) out.push(...s.push(body.subarray(off, off + sliceBytes)));
  out.push(s.end());
  return Buffer.concat(out);
}

test('DotStuffer: leading dots doubled at every line start, terminator after CRLF', () => {
  assert.equal(text(stuff(Buffer.from('a\r\n.b\r\n..c\r\n.\r\n'), 1000)), 'a\r\n..b\r\n...c\r\n..\r\n.\r\n');
  assert.equal(text(stuff(Buffer.from('.x\r\n'), 1000)), '..x\r\n.\r\n');
  assert.equal(text(stuff(Buffer.from(''), 1000)), '.\r\n');
  assert.equal(text(stuff(Buffer.from('no final newline'), 1000)), 'no final newline\r\n.\r\n');
  assert.equal(text(stuff(Buffer.from('bare\n.lf\n'), 1000)), 'bare\n..lf\n\r\n.\r\n', 'a line after a bare LF is stuffed too');
  // Line starts across slice boundaries.
  assert.equal(text(stuff(Buffer.from('ab\r\n.c\r\n'), 4)), 'ab\r\n..c\r\n.\r\n');
  assert.equal(text(stuff(Buffer.from('ab\r\n.c\r\n'), 1)), 'ab\r\n..c\r\n.\r\n');
  assert.equal(text(stuff(Buffer.from('ab\r'), 2)), 'ab\r\r\n.\r\n');
});

test('property: stuffing then unstuffing gives the CRLF message back, whatever the slicing', () => {
  const line = fc.stringMatching(/^[.a-z ]{0,6}$/);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), fc.integer({ min: 1, max: 9 }), (lines, slice) => {
      const body = Buffer.from(lines.map((l) => l + '\r\n').join(''));
      const wire = text(stuff(body, slice));
      assert.ok(wire.endsWith('\r\n.\r\n') || wire === '.\r\n');
      const got = wire.slice(0, -3).split('\r\n').slice(0, -1);
      assert.ok(!got.includes('.'), 'no line is a lone dot before the end');
      assert.deepEqual(got.map((l) => (l.startsWith('.') ? l.slice(1) : l)), lines);
    }),
    { numRuns: 500 },
  );
});

test('topOf: header, blank line and the first n body lines', () => {
  const m = Buffer.from('Subject: x\r\nFrom: a\r\n\r\nline1\r\nline2\r\nline3\r\n');
  assert.equal(text(topOf(m, 0)), 'Subject: x\r\nFrom: a\r\n\r\n');
  assert.equal(text(topOf(m, 2)), 'Subject: x\r\nFrom: a\r\n\r\nline1\r\nline2\r\n');
  assert.equal(text(topOf(m, 100)), text(m));
  assert.equal(text(topOf(Buffer.from('Subject: only headers\r\n'), 3)), 'Subject: only headers\r\n');
  assert.equal(text(topOf(Buffer.from('A: b\n\nx\ny\n'), 1)), 'A: b\n\nx\n');
  assert.equal(text(topOf(Buffer.from('A: b\r\n\r\nno newline'), 1)), 'A: b\r\n\r\nno newline');
});

test('property: the one-line shortcut gives the same bytes as the general formatter', () => {
  const status = fc.constantFrom<'+OK' | '-ERR' | '+'>('+OK', '-ERR', '+');
  const code = fc.option(fc.constantFrom('IN-USE', 'SYS/TEMP', 'AUTH', 'bad code]'), { nil: undefined });
  const words = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', ' ', '   ', '4096 octets', 'trailing  ', ' leading', 'a\r\nb', 'tab\there', 'é', '\u007f'));
  const lines = fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), { nil: undefined });
  fc.assert(
    fc.property(status, code, words, lines, (s, c, t, l) => {
      const r = { status: s, code: c, text: t, lines: l };
      assert.deepEqual(formatResponse(r), formatAny(r));
    }),
    { numRuns: 5000 },
  );
});
