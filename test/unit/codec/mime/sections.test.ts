import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSection, partialBytes, sectionBytes, type Section } from '../../../../src/codec/mime/index.js';
import { crlf, lf, parse, section } from './messages.js';

const HEADER = [
  'Received: from x by y;',
  '\tTue, 1 Aug 2023 10:00:00 +0000',
  'From: Alice <alice@example.org>',
  'To: bob@example.net',
  'Subject: sections',
  ' folded',
  'X-Extra: 1',
  'Content-Type: multipart/mixed; boundary=b',
];
const RAW = crlf([
  ...HEADER,
  '',
  'preamble',
  '--b',
  'Content-Type: text/plain',
  '',
  'part one',
  '--b',
  'Content-Type: message/rfc822',
  '',
  'From: inner@example.net',
  'Subject: inner',
  'Content-Type: multipart/alternative; boundary=c',
  '',
  '--c',
  '',
  'inner plain',
  '--c',
  'Content-Type: text/html',
  '',
  '<p>inner</p>',
  '--c--',
  '--b--',
]);
const INFO = parse(RAW);
const HEADER_TEXT = `${HEADER.join('\r\n')}\r\n\r\n`;

test('parseSection: the section-spec forms, case-insensitive', () => {
  const cases: [string, Section | null][] = [
    ['', { part: [], kind: 'all' }],
    ['HEADER', { part: [], kind: 'header' }],
    ['text', { part: [], kind: 'text' }],
    ['HEADER.FIELDS (From "Subject")', { part: [], kind: 'fields', fields: ['From', 'Subject'] }],
    ['header.fields.not (X-Extra)', { part: [], kind: 'fields-not', fields: ['X-Extra'] }],
    ['1', { part: [1], kind: 'all' }],
    ['1.2.10', { part: [1, 2, 10], kind: 'all' }],
    ['2.HEADER', { part: [2], kind: 'header' }],
    ['2.TEXT', { part: [2], kind: 'text' }],
    ['1.MIME', { part: [1], kind: 'mime' }],
    ['2.HEADER.FIELDS (SUBJECT)', { part: [2], kind: 'fields', fields: ['SUBJECT'] }],
    ['MIME', null],
    ['0', null],
    ['1.0', null],
    ['1.', null],
    ['1..2', null],
    ['HEADER.FIELDS', null],
    ['HEADER.FIELDS ()', null],
    ['HEADER.FIELDSX (A)', null],
    ['HEADER.FIELDS (A', null],
    ['BOGUS', null],
    ['1.BOGUS', null],
    ['12345678901', null],
  ];
  for (const [spec, expected] of cases) assert.deepEqual(parseSection(spec), expected, spec);
});

test('whole message, HEADER, TEXT', () => {
  assert.equal(section(RAW, INFO, ''), RAW.toString('latin1'));
  assert.equal(section(RAW, INFO, 'HEADER'), HEADER_TEXT);
  assert.equal(section(RAW, INFO, 'TEXT'), RAW.toString('latin1').slice(HEADER_TEXT.length));
});

test('HEADER.FIELDS and HEADER.FIELDS.NOT: raw fields (folds kept), message order, then a blank line', () => {
  assert.equal(section(RAW, INFO, 'HEADER.FIELDS (SUBJECT from)'), 'From: Alice <alice@example.org>\r\nSubject: sections\r\n folded\r\n\r\n');
  assert.equal(section(RAW, INFO, 'HEADER.FIELDS (X-Missing)'), '\r\n');
  assert.equal(
    section(RAW, INFO, 'HEADER.FIELDS.NOT (Received Content-Type x-extra)'),
    'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: sections\r\n folded\r\n\r\n',
  );
});

test('part numbers, MIME headers, and message/rfc822 parts', () => {
  assert.equal(section(RAW, INFO, '1'), 'part one');
  assert.equal(section(RAW, INFO, '1.MIME'), 'Content-Type: text/plain\r\n\r\n');
  assert.equal(section(RAW, INFO, '2.MIME'), 'Content-Type: message/rfc822\r\n\r\n');
  const inner = section(RAW, INFO, '2');
  assert.ok(inner.startsWith('From: inner@example.net\r\n') && inner.endsWith('--c--'));
  assert.equal(section(RAW, INFO, '2.HEADER'), 'From: inner@example.net\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n');
  assert.equal(section(RAW, INFO, '2.HEADER.FIELDS (subject)'), 'Subject: inner\r\n\r\n');
  assert.ok(section(RAW, INFO, '2.TEXT').startsWith('--c\r\n'));
  assert.equal(section(RAW, INFO, '2.1'), 'inner plain');
  assert.equal(section(RAW, INFO, '2.2'), '<p>inner</p>');
  assert.equal(section(RAW, INFO, '2.2.MIME'), 'Content-Type: text/html\r\n\r\n');
  assert.equal(section(RAW, INFO, '2.1.MIME'), '\r\n');
});

test('nonexistent parts and HEADER/TEXT of non-message parts are empty', () => {
  for (const spec of ['3', '0.1', '1.1', '2.3', '2.1.1', '1.HEADER', '1.TEXT', '1.HEADER.FIELDS (A)', '9.MIME', '2.2.HEADER']) {
    if (parseSection(spec) === null) continue;
    assert.equal(section(RAW, INFO, spec), '', spec);
  }
  assert.equal(sectionBytes(RAW, INFO, { part: [], kind: 'mime' }).length, 0);
  assert.equal(sectionBytes(RAW, INFO, { part: [0], kind: 'all' }).length, 0);
  assert.equal(sectionBytes(RAW, INFO, { part: [1.5], kind: 'all' }).length, 0);
});

test('a single-part message: 1 is the body, 1.MIME its header', () => {
  const raw = crlf(['Subject: one', 'Content-Type: text/plain', '', 'body']);
  const info = parse(raw);
  assert.equal(section(raw, info, '1'), 'body\r\n');
  assert.equal(section(raw, info, '1.MIME'), 'Subject: one\r\nContent-Type: text/plain\r\n\r\n');
  assert.equal(section(raw, info, '2'), '');
  assert.equal(section(raw, info, '1.1'), '');
});

test('LF-only messages are returned as stored; a cut-off last field still ends its line', () => {
  const raw = lf(['Subject: lf', 'To: a@b', '', 'x']);
  const info = parse(raw);
  assert.equal(section(raw, info, 'HEADER'), 'Subject: lf\nTo: a@b\n\n');
  assert.equal(section(raw, info, 'HEADER.FIELDS (to)'), 'To: a@b\n\r\n');
  const cut = Buffer.from('Subject: cut');
  assert.equal(section(cut, parse(cut), 'HEADER.FIELDS (subject)'), 'Subject: cut\r\n\r\n');
});

test('sections are views of the raw message, not copies (except HEADER.FIELDS)', () => {
  const bytes = sectionBytes(RAW, INFO, { part: [1], kind: 'all' });
  assert.equal(bytes.buffer, RAW.buffer);
});

test('partialBytes: <origin.count>, clamped', () => {
  const b = Buffer.from('0123456789');
  const s = (u: Uint8Array) => Buffer.from(u).toString();
  assert.equal(s(partialBytes(b, 0)), '0123456789');
  assert.equal(s(partialBytes(b, 2, 3)), '234');
  assert.equal(s(partialBytes(b, 8, 10)), '89');
  assert.equal(s(partialBytes(b, 10, 1)), '');
  assert.equal(s(partialBytes(b, 50, 1)), '');
  assert.equal(s(partialBytes(b, 3, 0)), '');
});
