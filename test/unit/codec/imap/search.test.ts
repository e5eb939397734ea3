import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchKey } from '../../../../src/codec/imap/search.js';
import { bad, goodAs, parse } from './support.js';

const criteria = (args: string): SearchKey => goodAs(`a SEARCH ${args}`, 'SEARCH').criteria;

test('every flag-like key stands alone', () => {
  const keys = ['ALL', 'ANSWERED', 'DELETED', 'DRAFT', 'FLAGGED', 'NEW', 'OLD', 'RECENT', 'SEEN', 'UNANSWERED', 'UNDELETED', 'UNDRAFT', 'UNFLAGGED', 'UNSEEN'];
  for (const key of keys) assert.deepEqual(criteria(key.toLowerCase()), { key });
  assert.deepEqual(criteria(keys.join(' ')), { key: 'AND', operands: keys.map((key) => ({ key })) });
});

test('keys with arguments: strings, header, keywords, sizes, dates, UID and sequence sets', () => {
  for (const key of ['BCC', 'BODY', 'CC', 'FROM', 'SUBJECT', 'TEXT', 'TO']) {
    assert.deepEqual(criteria(`${key} "a b"`), { key, value: 'a b' });
    assert.deepEqual(criteria(`${key.toLowerCase()} atom`), { key, value: 'atom' });
  }
  assert.deepEqual(criteria('HEADER Message-ID "<x@y>"'), { key: 'HEADER', field: 'Message-ID', value: '<x@y>' });
  assert.deepEqual(criteria('HEADER X-Spam ""'), { key: 'HEADER', field: 'X-Spam', value: '' });
  assert.deepEqual(criteria('KEYWORD $Forwarded'), { key: 'KEYWORD', flag: '$Forwarded' });
  assert.deepEqual(criteria('UNKEYWORD Junk'), { key: 'UNKEYWORD', flag: 'Junk' });
  assert.deepEqual(criteria('LARGER 1024'), { key: 'LARGER', size: 1024 });
  assert.deepEqual(criteria('SMALLER 0'), { key: 'SMALLER', size: 0 });
  for (const key of ['BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE']) {
    assert.deepEqual(criteria(`${key} 1-Feb-1994`), { key, date: { year: 1994, month: 2, day: 1 } });
    assert.deepEqual(criteria(`${key} "29-feb-2024"`), { key, date: { year: 2024, month: 2, day: 29 } });
  }
  assert.deepEqual(criteria('UID 1:100,200:*'), { key: 'UID', set: [{ from: 1, to: 100 }, { from: 200, to: '*' }] });
  assert.deepEqual(criteria('1,3:5,*'), { key: 'SEQ', set: [{ from: 1, to: 1 }, { from: 3, to: 5 }, { from: '*', to: '*' }] });
  assert.deepEqual(criteria('*:4'), { key: 'SEQ', set: [{ from: '*', to: 4 }] });
});

test('OR and NOT nest, parentheses group (a group of one is its key)', () => {
  assert.deepEqual(criteria('OR OR SEEN FLAGGED NOT (FROM a TO b) UID 1:*'), {
    key: 'AND',
    operands: [
      {
        key: 'OR',
        left: { key: 'OR', left: { key: 'SEEN' }, right: { key: 'FLAGGED' } },
        right: { key: 'NOT', operand: { key: 'AND', operands: [{ key: 'FROM', value: 'a' }, { key: 'TO', value: 'b' }] } },
      },
      { key: 'UID', set: [{ from: 1, to: '*' }] },
    ],
  });
  assert.deepEqual(criteria('NOT NOT SEEN'), { key: 'NOT', operand: { key: 'NOT', operand: { key: 'SEEN' } } });
  assert.deepEqual(criteria('((SEEN))'), { key: 'SEEN' });
  assert.deepEqual(criteria('OR (SEEN) (NOT 2:3)'), { key: 'OR', left: { key: 'SEEN' }, right: { key: 'NOT', operand: { key: 'SEQ', set: [{ from: 2, to: 3 }] } } });
  assert.deepEqual(criteria('FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'), {
    key: 'AND',
    operands: [{ key: 'FLAGGED' }, { key: 'SINCE', date: { year: 1994, month: 2, day: 1 } }, { key: 'NOT', operand: { key: 'FROM', value: 'Smith' } }],
  });
});

test('nesting is capped at 64 levels: deep but sane passes, hostile depth is a BAD', () => {
  assert.deepEqual(criteria(`${'('.repeat(60)}SEEN${')'.repeat(60)}`), { key: 'SEEN' });
  assert.equal(criteria(`${'NOT '.repeat(60)}SEEN`).key, 'NOT');
  bad(`a SEARCH ${'('.repeat(65)}SEEN${')'.repeat(65)}`, /nested too deeply/);
  bad(`a SEARCH ${'('.repeat(10_000)}`, /nested too deeply/);
  bad(`a SEARCH ${'NOT '.repeat(10_000)}SEEN`, /nested too deeply/);
  bad(`a SEARCH ${'OR SEEN '.repeat(10_000)}SEEN`, /nested too deeply/);
});

test('CHARSET: US-ASCII and UTF-8 (any case), with literals for 8-bit text; others are BADCHARSET', () => {
  const c = goodAs('a SEARCH charset utf-8 SUBJECT {6}\r\n\u53f0\u5317', 'SEARCH');
  assert.equal(c.charset, 'UTF-8');
  assert.deepEqual(c.criteria, { key: 'SUBJECT', value: '\u53f0\u5317' });
  assert.equal(goodAs('a SEARCH CHARSET "US-ASCII" ALL', 'SEARCH').charset, 'US-ASCII');
  assert.equal(goodAs('a SEARCH ALL', 'SEARCH').charset, null);
  const e = bad('a SEARCH CHARSET ISO-8859-1 TEXT x', /charset/, 'bad-charset');
  assert.equal(e.tag, 'a');
  assert.equal(e.name, 'SEARCH');
  bad('a SEARCH CHARSET UTF-8', /space/);
  bad(Buffer.from([...Buffer.from('a SEARCH TEXT {2}\r\n'), 0xc3, 0x28]), /UTF-8/);
});

test('malformed criteria', () => {
  const cases: [string, RegExp][] = [
    ['a SEARCH', /space/],
    ['a SEARCH ()', /search key/],
    ['a SEARCH FOO', /unknown search key FOO/],
    ['a SEARCH RETURN (MIN) ALL', /unknown search key RETURN/],
    ['a SEARCH FROM', /space/],
    ['a SEARCH HEADER Subject', /space/],
    ['a SEARCH SINCE 30-Feb-2024', /invalid date/],
    ['a SEARCH SINCE 1-Feb-94', /invalid date/],
    ['a SEARCH ON "1-Feb-1994 10:00:00 +0000"', /invalid date/],
    ['a SEARCH LARGER -1', /number/],
    ['a SEARCH LARGER 4294967296', /number/],
    ['a SEARCH 0', /sequence set/],
    ['a SEARCH 1:0', /sequence set/],
    ['a SEARCH UID x', /sequence set/],
    ['a SEARCH OR SEEN', /space/],
    ['a SEARCH NOT', /space/],
    ['a SEARCH SEEN  FLAGGED', /search key/],
    ['a SEARCH (SEEN', /"\)"/],
    ['a SEARCH SEEN)', /unexpected/],
    ['a SEARCH KEYWORD \\Seen', /keyword/],
  ];
  for (const [line, message] of cases) bad(line, message);
  assert.equal(parse('a SEARCH ALL ').ok, true, 'trailing space tolerated');
});
