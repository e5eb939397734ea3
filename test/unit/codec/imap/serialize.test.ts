import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { astring, flagList, imapString, list, literalPrefix, mailboxName, MAX_QUOTED_CHARS, NIL, nstring } from '../../../../src/codec/imap/serialize.js';
import { goodAs } from './support.js';

test('imapString: quoted when safe, escaping " and \\; a literal otherwise', () => {
  assert.equal(imapString('abc'), '"abc"');
  assert.equal(imapString(''), '""');
  assert.equal(imapString('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(imapString('a\r\nb'), '{4}\r\na\r\nb');
  assert.equal(imapString('caf\u00e9'), '{5}\r\ncaf\u00e9', 'the count is in UTF-8 octets');
  assert.equal(imapString('tab\there'), '{8}\r\ntab\there');
  assert.equal(imapString('x'.repeat(MAX_QUOTED_CHARS)), `"${'x'.repeat(MAX_QUOTED_CHARS)}"`);
  assert.equal(imapString('x'.repeat(MAX_QUOTED_CHARS + 1)), `{${MAX_QUOTED_CHARS + 1}}\r\n${'x'.repeat(MAX_QUOTED_CHARS + 1)}`);
  assert.equal(literalPrefix(42), '{42}\r\n');
});

test('astring, nstring, lists, flags, mailbox names', () => {
  assert.equal(astring('INBOX'), 'INBOX');
  assert.equal(astring('a]b'), 'a]b');
  assert.equal(astring('a b'), '"a b"');
  assert.equal(astring('50%'), '"50%"');
  assert.equal(astring('nil'), '"nil"', 'never mistaken for NIL');
  assert.equal(astring(''), '""');
  assert.equal(astring('{5}'), '"{5}"');
  assert.equal(nstring(null), NIL);
  assert.equal(nstring('x'), '"x"');
  assert.equal(list(['"a"', 'NIL', '(b)']), '("a" NIL (b))');
  assert.equal(list([]), '()');
  assert.equal(flagList(['\\Seen', '$Work']), '(\\Seen $Work)');
  assert.equal(mailboxName('\u53f0\u5317'), '&U,BTFw-');
  assert.equal(mailboxName('Tom & Jerry'), '"Tom &- Jerry"');
});

/** Strings IMAP can carry: no NUL (CHAR8 excludes it) and no lone surrogates (not text). */
const imapText = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0') && !/[\ud800-\udfff]/u.test(s));
const asciiText = fc.string({ unit: 'binary-ascii', maxLength: 40 }).filter((s) => !s.includes('\0'));

test('property: imapString / astring → parser astring gives the string back', () => {
  fc.assert(
    fc.property(fc.oneof(imapText, asciiText), fc.oneof(imapText, asciiText), (user, pass) => {
      const c = goodAs(`a LOGIN ${astring(user)} ${imapString(pass)}`, 'LOGIN');
      assert.equal(c.username, user);
      assert.equal(c.password, pass);
    }),
    { numRuns: 1000 },
  );
});

test('property: mailboxName → parser mailbox gives the name back (INBOX aside, which is case-insensitive)', () => {
  fc.assert(
    fc.property(imapText.filter((s) => s.length > 0 && !/^inbox$/i.test(s)), (name) => {
      assert.equal(goodAs(`a SELECT ${mailboxName(name)}`, 'SELECT').mailbox, name);
    }),
    { numRuns: 1000 },
  );
});
