import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findPart, isMultipart, parseMessage, type MimePart } from '../../../../src/codec/mime/index.js';
import { crlf, lf, parse, section } from './messages.js';

/** type/subtype of each part, depth first, for compact tree assertions. */
function shape(p: MimePart): unknown {
  const t = `${p.type}/${p.subtype}`;
  if (isMultipart(p)) return [t, p.children.map(shape)];
  if (p.message !== null) return [t, shape(p.message.root)];
  return t;
}

test('a simple text message: offsets, defaults, size and lines', () => {
  const raw = crlf(['From: a@example.org', 'Subject: hi', '', 'Hello', 'world']);
  const info = parse(raw);
  const r = info.root;
  const text = raw.toString('latin1');
  assert.equal(r.headerStart, 0);
  assert.equal(r.bodyStart, text.indexOf('Hello'));
  assert.equal(r.end, raw.length);
  // RFC 2045 §5.2 defaults when there is no Content-Type / Content-Transfer-Encoding.
  assert.equal(r.type, 'text');
  assert.equal(r.subtype, 'plain');
  assert.deepEqual(r.params, [['charset', 'us-ascii']]);
  assert.equal(r.encoding, '7bit');
  assert.equal(r.size, 'Hello\r\nworld\r\n'.length);
  assert.equal(r.lines, 2);
  assert.deepEqual(r.children, []);
  assert.equal(r.message, null);
  assert.equal(info.partCount, 1);
  assert.equal(info.truncated, false);
  // A non-multipart message has one part, 1: its body.
  assert.equal(findPart(info, [1]), r);
  assert.equal(findPart(info, [2]), null);
  assert.equal(findPart(info, [1, 1]), null);
});

test('content fields: type params, id, description, encoding, md5, disposition, language, location', () => {
  const raw = crlf([
    'Content-Type: Text/HTML; Charset="UTF-8"; format=flowed (a comment)',
    'Content-Transfer-Encoding: Quoted-Printable',
    'Content-ID: <part1@example.org>',
    'Content-Description: A short',
    '  folded description',
    'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
    'Content-Disposition: inline; filename="a \\"b\\".html"; size=12',
    'Content-Language: en-GB, (comment) fr',
    'Content-Location: http://example.org/a.html',
    '',
    '<p>hi</p>',
  ]);
  const r = parse(raw).root;
  assert.equal(r.type, 'text');
  assert.equal(r.subtype, 'html');
  assert.deepEqual(r.params, [['charset', 'UTF-8'], ['format', 'flowed']]);
  assert.equal(r.id, '<part1@example.org>');
  assert.equal(r.description, 'A short  folded description');
  assert.equal(r.encoding, 'quoted-printable');
  assert.equal(r.md5, 'Q2hlY2sgSW50ZWdyaXR5IQ==');
  assert.deepEqual(r.disposition, { type: 'inline', params: [['filename', 'a "b".html'], ['size', '12']] });
  assert.deepEqual(r.language, ['en-GB', 'fr']);
  assert.equal(r.location, 'http://example.org/a.html');
});

test('lenient parameters: unquoted value with spaces, spaces around "=", duplicates (first wins), junk skipped', () => {
  const raw = crlf(['Content-Type: application/octet-stream; name=my file.pdf; x = "y" ; ; =bad; noval; name=second', '', 'x']);
  assert.deepEqual(parse(raw).root.params, [['name', 'my file.pdf'], ['x', 'y']]);
});

test('an unparsable Content-Type means text/plain; charset=us-ascii (RFC 2045 §5.2)', () => {
  for (const ct of ['text', 'garbage/', '/plain', '', '"text/plain"']) {
    const r = parse(crlf([`Content-Type: ${ct}`, '', 'x'])).root;
    assert.equal(`${r.type}/${r.subtype}`, 'text/plain', ct);
    assert.deepEqual(r.params, [['charset', 'us-ascii']], ct);
  }
});

test('the first occurrence of a field wins; field names are case-insensitive; "Name :" is a field', () => {
  const raw = crlf(['CONTENT-TYPE : text/x-one', 'content-type: text/x-two', '', 'x']);
  assert.equal(parse(raw).root.subtype, 'x-one');
});

test('multipart/alternative: children, preamble and epilogue excluded, delimiter CRLF excluded', () => {
  const raw = crlf([
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    'This is the preamble.',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Plain',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<b>HTML</b>',
    '--b1--',
    'This is the epilogue.',
  ]);
  const text = raw.toString('latin1');
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['multipart/alternative', ['text/plain', 'text/html']]);
  const [p1, p2] = info.root.children as [MimePart, MimePart];
  assert.equal(p1.headerStart, text.indexOf('Content-Type: text/plain'));
  assert.equal(p1.bodyStart, text.indexOf('Plain'));
  assert.equal(p1.end, text.indexOf('Plain') + 5);
  assert.equal(p1.size, 5);
  assert.equal(p1.lines, 1);
  assert.equal(p2.end, text.indexOf('</b>') + 4);
  assert.equal(section(raw, info, '1'), 'Plain');
  assert.equal(section(raw, info, '2'), '<b>HTML</b>');
  assert.equal(info.partCount, 3);
  // A multipart's own size/lines cover its whole body, preamble and epilogue included.
  assert.equal(info.root.size, raw.length - info.root.bodyStart);
});

test('multipart/mixed with a base64 attachment and a nested multipart/related', () => {
  const raw = crlf([
    'From: a@example.org',
    'Content-Type: multipart/mixed; boundary="=_outer"',
    '',
    '--=_outer',
    'Content-Type: multipart/related; boundary="=_outer_rel"; type="text/html"',
    '',
    '--=_outer_rel',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<img src="cid:logo">',
    '--=_outer_rel',
    'Content-Type: image/png',
    'Content-ID: <logo>',
    'Content-Transfer-Encoding: base64',
    '',
    'iVBORw0KGgo=',
    '--=_outer_rel--',
    '',
    '--=_outer',
    'Content-Type: application/pdf; name="r.pdf"',
    'Content-Disposition: attachment; filename="r.pdf"',
    'Content-Transfer-Encoding: BASE64',
    '',
    'JVBERi0xLjQK',
    'JSVFT0YK',
    '--=_outer--',
  ]);
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['multipart/mixed', [['multipart/related', ['text/html', 'image/png']], 'application/pdf']]);
  const png = findPart(info, [1, 2])!;
  assert.equal(png.id, '<logo>');
  assert.equal(png.encoding, 'base64');
  assert.equal(png.lines, 0, 'lines are only counted for text and message parts');
  assert.equal(section(raw, info, '1.2'), 'iVBORw0KGgo=');
  const pdf = findPart(info, [2])!;
  assert.equal(pdf.encoding, 'base64');
  assert.deepEqual(pdf.disposition, { type: 'attachment', params: [['filename', 'r.pdf']] });
  assert.equal(section(raw, info, '2'), 'JVBERi0xLjQK\r\nJSVFT0YK');
  assert.equal(pdf.size, 'JVBERi0xLjQK\r\nJSVFT0YK'.length);
  // The outer boundary is a prefix of the inner one: "--=_outer_rel" lines are not outer delimiters.
  assert.equal(info.root.children.length, 2);
  assert.equal(findPart(info, [1])!.children.length, 2);
  assert.equal(findPart(info, [3]), null);
  assert.equal(findPart(info, [1, 3]), null);
});

test('message/rfc822: its own envelope, parts, and numbering under the part', () => {
  const raw = crlf([
    'From: outer@example.org',
    'Subject: Fwd: inner',
    'Content-Type: multipart/mixed; boundary=XX',
    '',
    '--XX',
    'Content-Type: text/plain',
    '',
    'See attached.',
    '--XX',
    'Content-Type: message/rfc822',
    'Content-Disposition: attachment',
    '',
    'From: Inner Sender <inner@example.net>',
    'To: someone@example.com',
    'Subject: inner',
    'Message-ID: <inner@example.net>',
    'Content-Type: multipart/alternative; boundary=YY',
    '',
    '--YY',
    '',
    'inner plain',
    '--YY',
    'Content-Type: text/html',
    '',
    '<p>inner</p>',
    '--YY--',
    '--XX--',
  ]);
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['multipart/mixed', ['text/plain', ['message/rfc822', ['multipart/alternative', ['text/plain', 'text/html']]]]]);
  const msg = findPart(info, [2])!;
  assert.notEqual(msg.message, null);
  const env = msg.message!.envelope;
  assert.equal(env.subject, 'inner');
  assert.deepEqual(env.from, [{ name: 'Inner Sender', adl: null, mailbox: 'inner', host: 'example.net' }]);
  assert.deepEqual(env.sender, env.from);
  assert.equal(env.messageId, '<inner@example.net>');
  assert.equal(info.envelope.subject, 'Fwd: inner');
  // 2.1 and 2.2 are the parts of the encapsulated multipart.
  assert.equal(section(raw, info, '2.1'), 'inner plain');
  assert.equal(section(raw, info, '2.2'), '<p>inner</p>');
  assert.equal(section(raw, info, '2.2.MIME'), 'Content-Type: text/html\r\n\r\n');
  // message/rfc822 lines: the whole encapsulated message, header included.
  const body = section(raw, info, '2');
  assert.equal(msg.lines, body.split('\r\n').length);
  assert.equal(msg.size, body.length);
  assert.equal(info.partCount, 6);
});

test('message/rfc822 with a single-part body: N.1 is that body', () => {
  const raw = crlf(['Content-Type: message/rfc822', '', 'Subject: inner', '', 'inner body']);
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['message/rfc822', 'text/plain']);
  // The top-level message is not multipart, so its part 1 is the message/rfc822 body itself...
  assert.equal(findPart(info, [1]), info.root);
  // ...and 1.1 is the encapsulated message's body.
  assert.equal(section(raw, info, '1.1'), 'inner body\r\n');
  assert.equal(section(raw, info, '1.HEADER'), 'Subject: inner\r\n\r\n');
  assert.equal(info.root.message!.envelope.subject, 'inner');
});

test('a message/rfc822 part in base64 is not parsed as a message (RFC 2046 §5.2.1)', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', 'U3ViamVjdDogeA0KDQp4', '--b--']);
  const p = findPart(parse(raw), [1])!;
  assert.equal(`${p.type}/${p.subtype}`, 'message/rfc822');
  assert.equal(p.message, null);
});

test('multipart/digest: parts default to message/rfc822 (RFC 2046 §5.1.5)', () => {
  const raw = crlf(['Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: one', '', 'first', '--d', 'Content-Type: text/plain', '', 'not a message', '--d--']);
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['multipart/digest', [['message/rfc822', 'text/plain'], 'text/plain']]);
  assert.equal(findPart(info, [1])!.message!.envelope.subject, 'one');
});

test('missing closing boundary: the last part runs to the end', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', '', 'two', 'still two']);
  const info = parse(raw);
  assert.equal(info.root.children.length, 2);
  assert.equal(section(raw, info, '2'), 'two\r\nstill two\r\n');
  assert.equal(findPart(info, [2])!.end, raw.length);
});

test('missing closing boundary in a nested multipart: the outer delimiter still ends it', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=out', '', '--out', 'Content-Type: multipart/alternative; boundary=in', '', '--in', '', 'a', '--in', '', 'b', '--out', '', 'c', '--out--']);
  const info = parse(raw);
  assert.deepEqual(shape(info.root), ['multipart/mixed', [['multipart/alternative', ['text/plain', 'text/plain']], 'text/plain']]);
  assert.equal(section(raw, info, '1.2'), 'b');
  assert.equal(section(raw, info, '2'), 'c');
});

test('delimiter details: transport padding allowed, longer boundaries and mid-line matches are not delimiters', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b \t', '', 'x --b', '--bb', '--b-', '--b--  ', 'epilogue']);
  const info = parse(raw);
  assert.equal(info.root.children.length, 1);
  assert.equal(section(raw, info, '1'), 'x --b\r\n--bb\r\n--b-');
});

test('delimiters right after, and far after, lines that only look like delimiters', () => {
  const filler = 'y'.repeat(70);
  const raw = crlf([
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--bogus',
    '--b',
    '',
    'one',
    '--bx',
    '--b',
    '',
    '--b2',
    ...Array.from({ length: 100 }, () => filler),
    '--b',
    '',
    'three',
    '--b--',
  ]);
  const info = parse(raw);
  assert.equal(info.root.children.length, 3);
  assert.equal(section(raw, info, '1'), 'one\r\n--bx');
  assert.ok(section(raw, info, '2').startsWith('--b2\r\nyyy'));
  assert.equal(section(raw, info, '3'), 'three');
});

test('a multipart without a boundary, or without any delimiter line, is shown as text/plain', () => {
  for (const ct of ['multipart/mixed', 'multipart/mixed; boundary=""', 'multipart/mixed; boundary=zz']) {
    const info = parse(crlf([`Content-Type: ${ct}`, '', 'just text']));
    assert.equal(`${info.root.type}/${info.root.subtype}`, 'text/plain', ct);
    assert.deepEqual(info.root.params, [['charset', 'us-ascii']]);
    assert.equal(info.root.lines, 1);
    assert.equal(findPart(info, [1]), info.root);
  }
});

test('empty parts and adjacent delimiters', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', '--b', '', '--b--']);
  const info = parse(raw);
  assert.equal(info.root.children.length, 2);
  for (const c of info.root.children) {
    assert.ok(c.headerStart <= c.bodyStart && c.bodyStart <= c.end);
    assert.equal(c.size, 0);
    assert.equal(c.lines, 0);
  }
});

test('LF-only line endings are accepted everywhere', () => {
  const raw = lf([
    'From: "Joe" <joe@example.org>',
    'Subject: lf',
    ' folded',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'line one',
    'line two',
    '--b',
    'Content-Type: message/rfc822',
    '',
    'Subject: inner',
    '',
    'body',
    '--b--',
  ]);
  const info = parse(raw);
  assert.equal(info.envelope.subject, 'lf folded');
  assert.deepEqual(shape(info.root), ['multipart/mixed', ['text/plain', ['message/rfc822', 'text/plain']]]);
  const p1 = findPart(info, [1])!;
  assert.equal(section(raw, info, '1'), 'line one\nline two');
  assert.equal(p1.lines, 2);
  assert.equal(section(raw, info, '2.HEADER'), 'Subject: inner\n\n');
  assert.equal(findPart(info, [2])!.lines, 3);
});

test('no header, no body, nothing at all', () => {
  const empty = parse(Buffer.alloc(0));
  assert.deepEqual([empty.root.headerStart, empty.root.bodyStart, empty.root.end, empty.root.size, empty.root.lines], [0, 0, 0, 0, 0]);
  assert.equal(empty.envelope.from, null);
  assert.equal(empty.envelope.subject, null);

  const bodyOnly = parse(Buffer.from('\r\nbody\r\n'));
  assert.equal(bodyOnly.root.bodyStart, 2);
  assert.equal(bodyOnly.root.size, 6);
  assert.equal(bodyOnly.root.lines, 1);

  const headerOnly = parse(Buffer.from('Subject: x\r\n'));
  assert.equal(headerOnly.envelope.subject, 'x');
  assert.equal(headerOnly.root.bodyStart, headerOnly.root.end);
  assert.equal(headerOnly.root.size, 0);

  const noNewline = parse(Buffer.from('Subject: x'));
  assert.equal(noNewline.envelope.subject, 'x');
});

test('junk lines in a header are skipped with their continuations', () => {
  const raw = crlf(['From someone Tue Aug  1 00:00:00 2023', ' continued junk', 'Subject: real', 'no colon here', '', 'b']);
  const info = parse(raw);
  assert.equal(info.envelope.subject, 'real');
  assert.equal(section(raw, info, 'TEXT'), 'b\r\n');
});

test('envelope: sender and reply-to default to from; absent fields are null; values are kept undecoded', () => {
  const raw = crlf([
    'From: =?UTF-8?B?SsO2cmc=?= <jorg@example.org>',
    'Subject: =?ISO-8859-1?Q?caf=E9?=',
    'Reply-To:',
    'In-Reply-To: <a@b>',
    'Date: Tue, 1 Aug 2023 11:59:58 +0200',
    '',
    '',
  ]);
  const env = parse(raw).envelope;
  assert.equal(env.subject, '=?ISO-8859-1?Q?caf=E9?=');
  assert.deepEqual(env.from, [{ name: '=?UTF-8?B?SsO2cmc=?=', adl: null, mailbox: 'jorg', host: 'example.org' }]);
  assert.equal(env.sender, env.from);
  assert.equal(env.replyTo, env.from, 'present but empty means from as well');
  assert.equal(env.to, null);
  assert.equal(env.cc, null);
  assert.equal(env.bcc, null);
  assert.equal(env.inReplyTo, '<a@b>');
  assert.equal(env.messageId, null);
  assert.equal(env.date, 'Tue, 1 Aug 2023 11:59:58 +0200');
});

test('8-bit header values: UTF-8 when valid, Latin-1 otherwise', () => {
  const utf8 = parse(Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße', 'utf8'), Buffer.from('\r\n\r\n')]));
  assert.equal(utf8.envelope.subject, 'Grüße');
  const latin1 = parse(Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße', 'latin1'), Buffer.from('\r\n\r\n')]));
  assert.equal(latin1.envelope.subject, 'Grüße');
});

test('accepts a Uint8Array that is not a Buffer, and a Buffer view with an offset', () => {
  const raw = crlf(['Subject: view', '', 'x']);
  const u8 = new Uint8Array(raw);
  assert.equal(parseMessage(u8).envelope.subject, 'view');
  const big = Buffer.concat([Buffer.from('garbage'), raw]);
  const view = big.subarray(7);
  const info = parseMessage(view);
  assert.equal(info.envelope.subject, 'view');
  assert.equal(info.root.end, raw.length);
});
