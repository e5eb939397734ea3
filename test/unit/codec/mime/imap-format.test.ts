import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyStructureString, envelopeString, imapString } from '../../../../src/codec/mime/index.js';
import { crlf, parse, RFC3501_HEADER } from './messages.js';

/** A body of exactly 92 lines and 3028 octets, the sizes of RFC 3501's FETCH example. */
function rfcBody(): string[] {
  // 91 lines of 31 octets + CRLF, then one of 23 + CRLF: 91 * 33 + 25 = 3028.
  const lines = Array.from({ length: 91 }, (_, i) => `line ${String(i).padStart(2, '0')} of the minutes text`.padEnd(31, '.'));
  lines.push('and that is all, folks.');
  return lines;
}

test('RFC 3501 §7.4.2 example: ENVELOPE, BODY and BODYSTRUCTURE, byte for byte', () => {
  const raw = crlf([...RFC3501_HEADER, '', ...rfcBody()]);
  const info = parse(raw);
  assert.equal(info.root.size, 3028);
  assert.equal(info.root.lines, 92);
  assert.equal(
    envelopeString(info),
    '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
      '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
      '"<B27397-0100000@cac.washington.edu>")',
  );
  assert.equal(bodyStructureString(info, false), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)');
  assert.equal(bodyStructureString(info, true), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)');
});

test('defaults render as text/plain us-ascii 7bit', () => {
  const info = parse(crlf(['Subject: x', '', 'hi']));
  assert.equal(bodyStructureString(info, false), '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1)');
  assert.equal(envelopeString(info), '(NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL)');
});

const MIXED = [
  'From: a@example.org',
  'Subject: mixed',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="=_b"',
  '',
  '--=_b',
  'Content-Type: multipart/alternative; boundary="=_a"',
  '',
  '--=_a',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Hello =E2=80=94 world',
  '--=_a',
  'Content-Type: text/html; charset=utf-8',
  'Content-Language: en',
  '',
  '<p>Hello</p>',
  '--=_a--',
  '',
  '--=_b',
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Description: The "report"',
  'Content-ID: <r1@example.org>',
  'Content-Disposition: attachment; filename="report.pdf"',
  'Content-Transfer-Encoding: base64',
  'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
  'Content-Location: report.pdf',
  '',
  'JVBERi0xLjQK',
  '--=_b',
  'Content-Type: message/rfc822',
  '',
  'From: "B. \\"Bee\\"" <b@example.net>',
  'Subject: inner',
  '',
  'inner',
  '--=_b--',
];

test('a multipart BODYSTRUCTURE with extension data, nested multipart and message/rfc822', () => {
  const info = parse(crlf(MIXED));
  const inner =
    '(NIL "inner" (("B. \\"Bee\\"" NIL "b" "example.net")) (("B. \\"Bee\\"" NIL "b" "example.net")) ' +
    '(("B. \\"Bee\\"" NIL "b" "example.net")) NIL NIL NIL NIL NIL)';
  assert.equal(
    bodyStructureString(info, true),
    '(' +
      '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 21 1 NIL NIL NIL NIL)' +
      '("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1 NIL NIL ("en") NIL)' +
      ' "ALTERNATIVE" ("BOUNDARY" "=_a") NIL NIL NIL)' +
      '("APPLICATION" "PDF" ("NAME" "report.pdf") "<r1@example.org>" "The \\"report\\"" "BASE64" 12' +
      ' "Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "report.pdf")) NIL "report.pdf")' +
      `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 59 ${inner} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)` +
      ' "MIXED" ("BOUNDARY" "=_b") NIL NIL NIL)',
  );
  assert.equal(
    bodyStructureString(info, false),
    '(' +
      '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 21 1)' +
      '("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1) "ALTERNATIVE")' +
      '("APPLICATION" "PDF" ("NAME" "report.pdf") "<r1@example.org>" "The \\"report\\"" "BASE64" 12)' +
      `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 59 ${inner} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1) 4)` +
      ' "MIXED")',
  );
});

test('an unparsed message/rfc822 part is rendered in the basic form', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', 'U3ViamVjdDogeA==', '--b--']);
  assert.equal(bodyStructureString(parse(raw), false), '(("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 16) "MIXED")');
});

test('strings: NIL, quoted with escapes, literals for CR/LF and 8-bit (UTF-8 octet count), NUL dropped', () => {
  assert.equal(imapString(null), 'NIL');
  assert.equal(imapString(''), '""');
  assert.equal(imapString('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(imapString('two\r\nlines'), '{10}\r\ntwo\r\nlines');
  assert.equal(imapString('Grüße'), '{7}\r\nGrüße');
  assert.equal(imapString('a\0b'), '{2}\r\nab');
});

test('8-bit header values come out as literals in the envelope', () => {
  const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.from('Привет', 'utf8'), Buffer.from('\r\nFrom: "Jörg" <j@example.org>\r\n\r\n', 'utf8')]);
  assert.equal(envelopeString(parse(raw)), '(NIL {12}\r\nПривет (({5}\r\nJörg NIL "j" "example.org")) (({5}\r\nJörg NIL "j" "example.org")) (({5}\r\nJörg NIL "j" "example.org")) NIL NIL NIL NIL NIL)');
});

test('group syntax in the envelope', () => {
  const raw = crlf(['From: a@example.org', 'To: undisclosed-recipients:;', 'Cc: team: x@example.org, "Y" <y@example.org>;', '', '']);
  assert.equal(
    envelopeString(parse(raw)),
    '(NIL NIL ((NIL NIL "a" "example.org")) ((NIL NIL "a" "example.org")) ((NIL NIL "a" "example.org")) ' +
      '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ' +
      '((NIL NIL "team" NIL)(NIL NIL "x" "example.org")("Y" NIL "y" "example.org")(NIL NIL NIL NIL)) NIL NIL NIL)',
  );
});
