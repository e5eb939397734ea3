import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeDataBody, headerHasNonAscii, toCrlf } from '../../../src/delivery/body.js';
import { DataDecoder } from '../../../src/codec/smtp/data.js';
import { smtpishBytes } from '../codec/smtp/chunks.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('CRLF bodies are passed through as the same buffer', () => {
  const body = b('Subject: x\r\n\r\nline\r\n');
  assert.equal(toCrlf(body), body);
});

test('bare LF and bare CR become CRLF', () => {
  assert.equal(toCrlf(b('a\nb\rc\r\nd\n\re')).toString('latin1'), 'a\r\nb\r\nc\r\nd\r\n\r\ne');
  assert.equal(toCrlf(b('\n')).toString('latin1'), '\r\n');
  assert.equal(toCrlf(b('x\r')).toString('latin1'), 'x\r\n');
});

test('the encoded body is dot-stuffed and ends with CRLF.CRLF', () => {
  assert.equal(encodeDataBody(b('.a\r\n..b\r\nc.\r\n.\r\n')).toString('latin1'), '..a\r\n...b\r\nc.\r\n..\r\n.\r\n');
  assert.equal(encodeDataBody(b('no final newline')).toString('latin1'), 'no final newline\r\n.\r\n');
  assert.equal(encodeDataBody(b('.\n.')).toString('latin1'), '..\r\n..\r\n.\r\n');
});

test('property: a strict receiver decodes exactly the CRLF-normalised body, ending at our marker and nowhere earlier', () => {
  fc.assert(
    fc.property(smtpishBytes, (body) => {
      const wire = encodeDataBody(body);
      const decoded = new DataDecoder(1 << 20).push(wire);
      assert.equal(decoded.done, true);
      assert.equal(decoded.rest.length, 0, 'nothing after the end marker');
      assert.equal(decoded.bareLineEnding, false, 'only CRLF line endings go out');
      const expected = toCrlf(body);
      const withEol = expected.length === 0 || expected.subarray(-2).toString('latin1') === '\r\n' ? expected : Buffer.concat([expected, b('\r\n')]);
      assert.deepEqual(Buffer.concat(decoded.body), withEol);
    }),
  );
});

test('non-ASCII in the header (not the body) is detected', () => {
  assert.equal(headerHasNonAscii(Buffer.from('Subject: привет\r\n\r\nbody\r\n')), true);
  assert.equal(headerHasNonAscii(Buffer.from('Subject: hi\r\n\r\nпривет\r\n')), false);
  assert.equal(headerHasNonAscii(Buffer.from('Subject: hi\n\nпривет\n')), false);
});
