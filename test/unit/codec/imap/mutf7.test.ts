import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMailboxName, encodeMailboxName } from '../../../../src/codec/imap/mutf7.js';

const pairs: [string, string][] = [
  ['INBOX', 'INBOX'],
  ['Entw\u00fcrfe', 'Entw&APw-rfe'],
  ['\u53f0\u5317', '&U,BTFw-'],
  ['~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'], // RFC 3501 §5.1.3
  ['&', '&-'],
  ['Tom & Jerry', 'Tom &- Jerry'],
  ['\u{1f4e7} mail', '&2D3c5w- mail'],
  ['tab\there', 'tab&AAk-here'],
  ['', ''],
];

test('known names encode and decode (RFC 3501 §5.1.3)', () => {
  for (const [name, wire] of pairs) {
    assert.equal(encodeMailboxName(name), wire, name);
    assert.equal(decodeMailboxName(wire), name, wire);
  }
});

test('non-canonical or malformed modified UTF-7 is refused', () => {
  const invalid = [
    '&U,BTFw', // no closing "-"
    '&AGE-', // base64 for printable "a"
    '&ACY-', // base64 for "&" (must be "&-")
    '&U,BTFw-&ZeVnLIqe-', // two runs back to back
    '&U/BTFw-', // "/" is "," in modified base64
    '&U,BTFw=-', // padding
    '&2D0-', // a lone high surrogate
    '&U,BTFx-', // non-zero leftover bits
    '&U-', // six bits cannot end a byte
    '&AA-', // twelve bits: one byte, half a UTF-16 unit
    'caf\u00e9', // raw 8-bit: not modified UTF-7
    'a\r\nb',
  ];
  for (const wire of invalid) assert.equal(decodeMailboxName(wire), null, wire);
  // Control characters are encodable; whether a name may hold them is the store's call.
  assert.equal(decodeMailboxName('&AAA-'), '\0');
});

test('a lone surrogate in a name is sent as U+FFFD', () => {
  assert.equal(decodeMailboxName(encodeMailboxName('a\ud800b')), 'a\ufffdb');
  assert.equal(decodeMailboxName(encodeMailboxName('\ud800\u{1f4e7}\udc00')), '\ufffd\u{1f4e7}\ufffd', 'real pairs beside it survive');
});

/** No lone surrogates (with the u flag a pair is one code point and does not match). */
const wellFormed = (s: string) => !/[\ud800-\udfff]/u.test(s);

test('property: decode(encode(name)) is the name; the wire form is printable ASCII', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30 }).filter(wellFormed), (name) => {
      const wire = encodeMailboxName(name);
      assert.match(wire, /^[\x20-\x7e]*$/);
      assert.equal(decodeMailboxName(wire), name);
    }),
    { numRuns: 1000 },
  );
});

test('property: encode(decode(wire)) is the wire form whenever decoding succeeds (one spelling per name)', () => {
  const wireish = fc.array(fc.constantFrom('&', '-', 'A', 'G', 'E', 'U', ',', 'B', 'T', 'F', 'w', '2', 'D', '0', '+', '/', 'x', ' '), { maxLength: 20 }).map((a) => a.join(''));
  fc.assert(
    fc.property(wireish, (wire) => {
      const name = decodeMailboxName(wire);
      if (name !== null) assert.equal(encodeMailboxName(name), wire);
    }),
    { numRuns: 3000 },
  );
});
