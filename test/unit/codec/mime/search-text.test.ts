import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bodyText,
  containsText,
  decodeEncodedWords,
  decodeQuotedPrintable,
  headerText,
  headerValue,
  parseRfc5322Date,
  sentDate,
} from '../../../../src/codec/mime/index.js';
import { crlf, parse } from './messages.js';

test('RFC 2047: UTF-8 B and Q, ISO-8859-1, KOI8-R', () => {
  assert.equal(decodeEncodedWords('=?UTF-8?B?SGVsbG8g0LzQuNGAIQ==?='), 'Hello мир!');
  assert.equal(decodeEncodedWords('=?utf-8?q?caf=C3=A9_au_lait?='), 'café au lait');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?Andr=E9?= Pirard'), 'André Pirard');
  assert.equal(decodeEncodedWords('=?koi8-r?B?8NLJ18XU?='), 'Привет');
  assert.equal(decodeEncodedWords('=?windows-1251?B?z/Do4uXy?='), 'Привет');
});

test('RFC 2047 subjects through headerValue; the envelope keeps them encoded', () => {
  const raw = crlf([
    'Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?=',
    'Subject: =?UTF-8?Q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?=',
    'Subject: =?ISO-8859-1?Q?Caf=E9?= =?ISO-8859-1?B?IGNy6G1l?=',
    'Subject: Re: =?koi8-r?B?8NLJ18XU?=',
    'X_Under: underscores are legal in names',
    '',
    '',
  ]);
  const info = parse(raw);
  assert.deepEqual(headerValue(raw, info, 'Subject'), ['Привет', 'Привет', 'Café crème', 'Re: Привет']);
  assert.equal(info.envelope.subject, '=?UTF-8?B?0J/RgNC40LLQtdGC?=');
  assert.deepEqual(headerValue(raw, info, 'x_under'), ['underscores are legal in names']);
});

test('RFC 2047 §6.2: whitespace between adjacent encoded-words is dropped, other text kept', () => {
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= b'), 'a b');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= x =?ISO-8859-1?Q?b?='), 'a x b');
  assert.equal(decodeEncodedWords('(=?ISO-8859-1?Q?a?=)'), '(a)');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a_b?= =?ISO-8859-2?Q?_c?='), 'a b c');
});

test('a multi-byte character split across two B words survives', () => {
  // "é" is C3 A9 in UTF-8; each word carries one byte.
  assert.equal(decodeEncodedWords(`=?UTF-8?B?${Buffer.from([0x63, 0x61, 0x66, 0xc3]).toString('base64')}?= =?UTF-8?B?${Buffer.from([0xa9]).toString('base64')}?=`), 'café');
});

test('RFC 2231 language suffix, unknown charsets, and things that are not encoded-words', () => {
  assert.equal(decodeEncodedWords('=?US-ASCII*EN?Q?Keith_Moore?='), 'Keith Moore');
  assert.equal(decodeEncodedWords('=?x-unknown?Q?caf=E9?='), 'café', 'unknown charset falls back to Latin-1');
  for (const s of ['=?', '=??Q?a?=', '=?utf-8?X?a?=', '=?utf-8?Q?a b?=', '=?utf-8?Q?abc', 'a =? b ?= c', 'plain']) assert.equal(decodeEncodedWords(s), s);
});

test('headerValue: every occurrence, case-insensitive, unfolded and decoded', () => {
  const raw = crlf(['Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', ' aus Berlin', 'X-Tag: one', 'x-tag: =?koi8-r?B?8NLJ18XU?=', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'X-Tag: part', '', 'x', '--b--']);
  const info = parse(raw);
  assert.deepEqual(headerValue(raw, info, 'subject'), ['Grüße aus Berlin']);
  assert.deepEqual(headerValue(raw, info, 'X-TAG'), ['one', 'Привет']);
  assert.deepEqual(headerValue(raw, info, 'missing'), []);
  assert.equal(headerText(raw, info), 'Subject: Grüße aus Berlin\nX-Tag: one\nx-tag: Привет\nContent-Type: multipart/mixed; boundary=b\n');
});

test('bodyText: text parts decoded (base64, quoted-printable, charsets), attachments skipped, nested messages included', () => {
  const raw = crlf([
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=C3=A9 soft=',
    'break and =3D sign',
    '--b',
    'Content-Type: text/html; charset=koi8-r',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('<p>', 'latin1').toString('base64'),
    '--b',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('secret attachment').toString('base64'),
    '--b',
    'Content-Type: message/rfc822',
    '',
    'Subject: inner',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: 8bit',
    '',
    'na\u00efve',
    '--b--',
  ]);
  const info = parse(raw);
  const text = bodyText(raw, info);
  assert.equal(text, 'Café softbreak and = sign\n<p>\nnaïve');
  assert.ok(!text.includes('secret'));
});

test('KOI8-R body in base64', () => {
  const raw = crlf(['Content-Type: text/plain; charset=KOI8-R', 'Content-Transfer-Encoding: base64', '', '8NLJ18XU']);
  assert.equal(bodyText(raw, parse(raw)), 'Привет');
});

test('unlabelled 8-bit text is read as UTF-8; a plain message body is its text', () => {
  const raw = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from('Grüße\r\n', 'utf8')]);
  assert.equal(bodyText(raw, parse(raw)), 'Grüße\r\n');
});

test('bodyText is capped', () => {
  const raw = crlf(['Content-Type: text/plain', '', 'a'.repeat(10_000)]);
  assert.equal(bodyText(raw, parse(raw), 100).length, 100);
  const b64 = crlf(['Content-Type: text/plain', 'Content-Transfer-Encoding: base64', '', Buffer.from('b'.repeat(10_000)).toString('base64')]);
  assert.equal(bodyText(b64, parse(b64), 100), 'b'.repeat(100));
  const two = crlf(['Content-Type: multipart/mixed; boundary=z', '', '--z', '', 'x'.repeat(80), '--z', '', 'y'.repeat(80), '--z--']);
  assert.equal(bodyText(two, parse(two), 100), `${'x'.repeat(80)}\n${'y'.repeat(19)}`);
});

test('quoted-printable details', () => {
  const qp = (s: string) => decodeQuotedPrintable(Buffer.from(s, 'latin1')).toString('latin1');
  assert.equal(qp('a=3Db'), 'a=b');
  assert.equal(qp('a=3db'), 'a=b');
  assert.equal(qp('soft=\r\nbreak'), 'softbreak');
  assert.equal(qp('soft=\nbreak'), 'softbreak');
  assert.equal(qp('pad= \t\r\nded'), 'padded');
  assert.equal(qp('bad=ZZ'), 'bad=ZZ');
  assert.equal(qp('end='), 'end');
  assert.equal(qp('a=\r'), 'a');
});

test('containsText: case-insensitive, Unicode', () => {
  assert.equal(containsText('Hello World', 'o w'), true);
  assert.equal(containsText('ПРИВЕТ мир', 'привет'), true);
  assert.equal(containsText('Straße', 'STRASSE'), false, 'toLowerCase folding, not full case folding');
  assert.equal(containsText('abc', ''), true);
  assert.equal(containsText('abc', 'abcd'), false);
});

test('parseRfc5322Date: the standard form and obsolete forms', () => {
  const iso = (v: string) => {
    const d = parseRfc5322Date(v);
    return d === null ? null : `${new Date(d.time).toISOString()} ${d.offsetMinutes}`;
  };
  assert.equal(iso('Wed, 17 Jul 1996 02:23:25 -0700 (PDT)'), '1996-07-17T09:23:25.000Z -420');
  assert.equal(iso('17 Jul 1996 02:23:25 -0700'), '1996-07-17T09:23:25.000Z -420');
  assert.equal(iso('Tue, 1 Aug 2023 11:59 +0200'), '2023-08-01T09:59:00.000Z 120');
  assert.equal(iso('Fri, 21 Nov 97 09:55:06 GMT'), '1997-11-21T09:55:06.000Z 0');
  assert.equal(iso('Thu, 13 Feb 69 23:32:54 -0330'), '1969-02-14T03:02:54.000Z -210');
  assert.equal(iso('1 Jan 05 00:00:00 EST'), '2005-01-01T05:00:00.000Z -300');
  assert.equal(iso('1 Jan 105 00:00:00 +0000'), '2005-01-01T00:00:00.000Z 0');
  assert.equal(iso('Mon, 2 Jan 2006 15:04:05 PDT'), '2006-01-02T22:04:05.000Z -420');
  assert.equal(iso('Mon, 2 Jan 2006 15:04:05 A'), '2006-01-02T15:04:05.000Z 0', 'military zones are +0000 (RFC 5322 §4.3)');
  assert.equal(iso('Mon Jan  2 15:04:05 2006'), '2006-01-02T15:04:05.000Z 0', 'asctime order, no zone');
  assert.equal(iso('2-Jan-2006 15:04:05 +0100'), '2006-01-02T14:04:05.000Z 60');
  assert.equal(iso('Monday, 02 January 2006 15:04:05 +0000'), '2006-01-02T15:04:05.000Z 0');
  assert.equal(iso(' Sun ,  31  Dec  2023  23:59:60  +0000 '), '2023-12-31T23:59:59.000Z 0');
  assert.equal(iso('3 Mar 2020'), '2020-03-03T00:00:00.000Z 0', 'no time');
  for (const bad of ['', 'yesterday', '32 Jan 2020 00:00 +0000', '30 Feb 2020 00:00 +0000', '1 Foo 2020', '1 Jan 2020 25:00 +0000', 'Jan 2020']) {
    assert.equal(parseRfc5322Date(bad), null, bad);
  }
});

test('sentDate reads the envelope date; null when missing or unreadable', () => {
  assert.equal(sentDate(parse(crlf(['Date: Wed, 17 Jul 1996 02:23:25 -0700', '', ''])))!.toISOString(), '1996-07-17T09:23:25.000Z');
  assert.equal(sentDate(parse(crlf(['Subject: x', '', '']))), null);
  assert.equal(sentDate(parse(crlf(['Date: soon', '', '']))), null);
});
