import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatReply } from '../../../../src/codec/smtp/reply.js';

const text = (b: Buffer) => b.toString('utf8');

test('a single line with and without an enhanced code', () => {
  assert.equal(text(formatReply(250, '2.1.0', ['Ok'])), '250 2.1.0 Ok\r\n');
  assert.equal(text(formatReply(354, null, ['End data with <CR><LF>.<CR><LF>'])), '354 End data with <CR><LF>.<CR><LF>\r\n');
});

test('multi-line replies use "-" on all but the last line, the enhanced code on each', () => {
  assert.equal(text(formatReply(250, null, ['mx.example.org', 'PIPELINING', 'SIZE 1000'])), '250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n');
  assert.equal(text(formatReply(550, '5.1.1', ['No such user', 'here'])), '550-5.1.1 No such user\r\n550 5.1.1 here\r\n');
});

test('empty texts still make a valid reply', () => {
  assert.equal(text(formatReply(250, null, [])), '250\r\n');
  assert.equal(text(formatReply(250, '2.0.0', [])), '250 2.0.0\r\n');
  assert.equal(text(formatReply(250, null, ['', ''])), '250-\r\n250\r\n');
});

test('CR, LF and control characters never reach the wire', () => {
  assert.equal(text(formatReply(250, null, ['a\r\n250 injected'])), '250 a  250 injected\r\n');
  assert.equal(text(formatReply(550, '5.7.1', ['x\ry\nz\u0000'])), '550 5.7.1 x y z \r\n');
});

test('invalid codes fall back to 451; an enhanced code of another class is dropped', () => {
  assert.equal(text(formatReply(99, null, ['x'])), '451 x\r\n');
  assert.equal(text(formatReply(250.5, null, ['x'])), '451 x\r\n');
  assert.equal(text(formatReply(250, '5.0.0', ['x'])), '250 x\r\n');
  assert.equal(text(formatReply(250, '2.0', ['x'])), '250 x\r\n');
  assert.equal(text(formatReply(250, null, null as unknown as string[])), '250\r\n');
});

test('property: every reply is well-formed CRLF lines with one final line', () => {
  fc.assert(
    fc.property(fc.integer({ min: 200, max: 599 }), fc.array(fc.string(), { maxLength: 5 }), (code, lines) => {
      const out = text(formatReply(code, null, lines));
      assert.ok(out.endsWith('\r\n'));
      const parts = out.slice(0, -2).split('\r\n');
      assert.equal(parts.length, Math.max(1, lines.length));
      parts.forEach((p, i) => {
        assert.doesNotMatch(p, /[\r\n]/);
        assert.match(p, i === parts.length - 1 ? new RegExp(`^${code}( |$)`) : new RegExp(`^${code}-`));
      });
    }),
    { numRuns: 300 },
  );
});
