import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FetchItem, Section } from '../../../../src/codec/imap/fetch.js';
import { bad, goodAs } from './support.js';

const items = (args: string): FetchItem[] => goodAs(`a FETCH 1 ${args}`, 'FETCH').items;
const body = (section: Section, peek = false, partial: { offset: number; length: number } | null = null): FetchItem => ({
  item: 'BODY[]', peek, section, partial,
});

test('simple items, alone or in a list, any case', () => {
  const names = ['FLAGS', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER', 'RFC822.SIZE', 'RFC822.TEXT', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'UID'] as const;
  for (const item of names) assert.deepEqual(items(item.toLowerCase()), [{ item }]);
  assert.deepEqual(items(`(${names.join(' ')})`), names.map((item) => ({ item })));
  assert.deepEqual(items('(UID UID)'), [{ item: 'UID' }, { item: 'UID' }], 'duplicates are kept');
});

test('ALL, FAST and FULL macros are expanded', () => {
  const of = (m: string) => items(m).map((i) => i.item);
  assert.deepEqual(of('ALL'), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
  assert.deepEqual(of('fast'), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
  assert.deepEqual(of('Full'), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  bad('a FETCH 1 (ALL)', /unknown FETCH item ALL/);
  bad('a FETCH 1 (FLAGS FAST)', /unknown FETCH item FAST/);
  bad('a FETCH 1 ALL FLAGS', /unexpected/);
});

test('BODY[section] and BODY.PEEK[section]: parts, HEADER, HEADER.FIELDS(.NOT), TEXT, MIME', () => {
  assert.deepEqual(items('BODY[]'), [body({ part: [], text: null })]);
  assert.deepEqual(items('BODY.PEEK[]'), [body({ part: [], text: null }, true)]);
  assert.deepEqual(items('body[1]'), [body({ part: [1], text: null })]);
  assert.deepEqual(items('BODY[1.2.3]'), [body({ part: [1, 2, 3], text: null })]);
  assert.deepEqual(items('BODY[HEADER]'), [body({ part: [], text: { kind: 'HEADER' } })]);
  assert.deepEqual(items('BODY[TEXT]'), [body({ part: [], text: { kind: 'TEXT' } })]);
  assert.deepEqual(items('BODY[4.2.HEADER]'), [body({ part: [4, 2], text: { kind: 'HEADER' } })]);
  assert.deepEqual(items('BODY[3.text]'), [body({ part: [3], text: { kind: 'TEXT' } })]);
  assert.deepEqual(items('BODY[1.2.MIME]'), [body({ part: [1, 2], text: { kind: 'MIME' } })]);
  assert.deepEqual(items('BODY[HEADER.FIELDS (DATE FROM)]'), [body({ part: [], text: { kind: 'HEADER.FIELDS', not: false, fields: ['DATE', 'FROM'] } })]);
  assert.deepEqual(items('body.peek[header.fields.not ("Subject" {2}\r\nTo)]'), [
    body({ part: [], text: { kind: 'HEADER.FIELDS', not: true, fields: ['Subject', 'To'] } }, true),
  ]);
  assert.deepEqual(items('BODY[2.HEADER.FIELDS (X-A)]'), [body({ part: [2], text: { kind: 'HEADER.FIELDS', not: false, fields: ['X-A'] } })]);
});

test('partials <offset.length>', () => {
  assert.deepEqual(items('BODY[]<0.2048>'), [body({ part: [], text: null }, false, { offset: 0, length: 2048 })]);
  assert.deepEqual(items('BODY.PEEK[TEXT]<100.50>'), [body({ part: [], text: { kind: 'TEXT' } }, true, { offset: 100, length: 50 })]);
  assert.deepEqual(items('(FLAGS BODY.PEEK[1]<4294967295.1> UID)').map((i) => i.item), ['FLAGS', 'BODY[]', 'UID']);
  for (const bad1 of ['BODY[]<0>', 'BODY[]<0.0>', 'BODY[]<.5>', 'BODY[]<1.5', 'BODY[]<4294967296.1>', 'BODY[]<a.b>']) bad(`a FETCH 1 ${bad1}`);
});

test('malformed sections and items', () => {
  const cases: [string, RegExp][] = [
    ['BODY[MIME]', /MIME needs a part number/],
    ['BODY[0]', /zero/],
    ['BODY[1.]', /malformed section/],
    ['BODY[1.2', /"\]"/],
    ['BODY[HEADER.FIELDS]', /space/],
    ['BODY[HEADER.FIELDS ()]', /empty/],
    ['BODY[HEADER.FIELDS (a]', /"\)"/],
    ['BODY[HEADERS]', /unknown section/],
    ['BODY[1.2.3.4.MIMEX]', /unknown section/],
    ['BODY[TEXT.1]', /unknown section/],
    ['BODY.PEEK', /unknown FETCH item BODY.PEEK/],
    ['BINARY[1]', /unknown FETCH item BINARY/],
    ['RFC822.PEEK', /unknown FETCH item/],
    ['()', /empty/],
    ['(FLAGS', /"\)"/],
    ['(FLAGS  UID)', /FETCH item/],
  ];
  for (const [args, message] of cases) bad(`a FETCH 1 ${args}`, message);
  bad('a FETCH 1', /space/);
  bad('a FETCH x FLAGS', /sequence set/);
  bad('a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)', /unexpected/); // CONDSTORE modifiers are not offered
});

test('UID FETCH keeps the items as sent (the session adds UID to the response)', () => {
  const c = goodAs('a UID FETCH 4827313:4828442 FLAGS', 'FETCH');
  assert.equal(c.uid, true);
  assert.deepEqual(c.set, [{ from: 4827313, to: 4828442 }]);
  assert.deepEqual(c.items, [{ item: 'FLAGS' }]);
});
