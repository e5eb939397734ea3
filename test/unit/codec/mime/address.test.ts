import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList, type Address } from '../../../../src/codec/mime/address.js';

const MAX = 10_000;

function a(name: string | null, mailbox: string | null, host: string | null, adl: string | null = null): Address {
  return { name, adl, mailbox, host };
}
const GROUP_END = a(null, null, null);

function parse(value: string): Address[] | null {
  return parseAddressList(value, MAX);
}

test('plain addr-specs and lists', () => {
  assert.deepEqual(parse('imap@cac.washington.edu'), [a(null, 'imap', 'cac.washington.edu')]);
  assert.deepEqual(parse('minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>'), [
    a(null, 'minutes', 'CNRI.Reston.VA.US'),
    a('John Klensin', 'KLENSIN', 'MIT.EDU'),
  ]);
  assert.deepEqual(parse('<bare@example.org>'), [a(null, 'bare', 'example.org')]);
  assert.deepEqual(parse(' , a@b ,, c@d , '), [a(null, 'a', 'b'), a(null, 'c', 'd')]);
});

test('quoted display names: unquoted, escaped quotes and backslashes resolved, commas inside kept', () => {
  assert.deepEqual(parse('"Doe, John" <john@example.org>'), [a('Doe, John', 'john', 'example.org')]);
  assert.deepEqual(parse('"Joe \\"the Man\\" Q. Public" <joe@example.org>'), [a('Joe "the Man" Q. Public', 'joe', 'example.org')]);
  assert.deepEqual(parse('"back\\\\slash" <b@example.org>'), [a('back\\slash', 'b', 'example.org')]);
  // Obsolete phrase with a dot, words joined by single spaces.
  assert.deepEqual(parse('Joe   Q. Public <joe@example.org>'), [a('Joe Q. Public', 'joe', 'example.org')]);
  // Encoded-words stay encoded (IMAP returns them as sent).
  assert.deepEqual(parse('=?utf-8?Q?J=C3=B6rg?= <j@example.org>'), [a('=?utf-8?Q?J=C3=B6rg?=', 'j', 'example.org')]);
});

test('comments: skipped, or used as the name of an addr-spec without one', () => {
  assert.deepEqual(parse('joe@example.org (Joe Bloggs)'), [a('Joe Bloggs', 'joe', 'example.org')]);
  assert.deepEqual(parse('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), [a('Pete', 'pete', 'silly.test')]);
  assert.deepEqual(parse('(only a comment)'), null);
});

test('groups: start marker with the group name, members, end marker', () => {
  assert.deepEqual(parse('undisclosed-recipients:;'), [a(null, 'undisclosed-recipients', null), GROUP_END]);
  assert.deepEqual(parse('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y'), [
    a(null, 'A Group', null),
    a('Ed Jones', 'c', 'a.test'),
    a(null, 'joe', 'where.test'),
    a('John', 'jdoe', 'one.test'),
    GROUP_END,
    a(null, 'x', 'y'),
  ]);
  assert.deepEqual(parse('"Quoted Group": a@b;'), [a(null, 'Quoted Group', null), a(null, 'a', 'b'), GROUP_END]);
  // An unterminated group still gets its end marker.
  assert.deepEqual(parse('g: a@b'), [a(null, 'g', null), a(null, 'a', 'b'), GROUP_END]);
});

test('route-addrs keep the route in adl', () => {
  assert.deepEqual(parse('Joe <@relay1.test,@relay2.test:joe@example.org>'), [a('Joe', 'joe', 'example.org', '@relay1.test,@relay2.test')]);
});

test('local parts: quoted only when they are not dot-atoms; domain literals kept', () => {
  assert.deepEqual(parse('"john doe"@example.org'), [a(null, '"john doe"', 'example.org')]);
  assert.deepEqual(parse('"john"@example.org'), [a(null, 'john', 'example.org')]);
  assert.deepEqual(parse('"a\\"b"@example.org'), [a(null, '"a\\"b"', 'example.org')]);
  assert.deepEqual(parse('first.last@[192.0.2.1]'), [a(null, 'first.last', '[192.0.2.1]')]);
  assert.deepEqual(parse('jörg@exämple.org'), [a(null, 'jörg', 'exämple.org')]);
});

test('broken addresses: MISSING_MAILBOX / MISSING_DOMAIN, never a NIL host outside groups', () => {
  assert.deepEqual(parse('postmaster'), [a(null, 'postmaster', 'MISSING_DOMAIN')]);
  assert.deepEqual(parse('Name <>'), [a('Name', 'MISSING_MAILBOX', 'MISSING_DOMAIN')]);
  assert.deepEqual(parse('<user@>'), [a(null, 'user', 'MISSING_DOMAIN')]);
  assert.deepEqual(parse('@example.org'), [a(null, 'MISSING_MAILBOX', 'example.org')]);
  // An unquoted '@' or comma in a display name (common breakage): the '<' wins.
  assert.deepEqual(parse('joe@home <joe@example.org>'), [a('joe@home', 'joe', 'example.org')]);
  assert.deepEqual(parse('Doe, John <j@example.org>'), [a(null, 'Doe', 'MISSING_DOMAIN'), a('John', 'j', 'example.org')]);
  // Unterminated quote / angle / comment.
  assert.deepEqual(parse('"unterminated <a@b>'), [a(null, '"unterminated <a@b>"', 'MISSING_DOMAIN')]);
  assert.deepEqual(parse('Joe <joe@example.org'), [a('Joe', 'joe', 'example.org')]);
  assert.deepEqual(parse('joe@example.org (unterminated'), [a('unterminated', 'joe', 'example.org')]);
  assert.equal(parse(''), null);
  assert.equal(parse('   '), null);
});

test('the number of addresses is capped', () => {
  const many = Array.from({ length: 500 }, (_, i) => `u${i}@example.org`).join(', ');
  assert.equal(parseAddressList(many, 100)!.length, 100);
  const group = `g: ${many};`;
  const capped = parseAddressList(group, 10)!;
  assert.equal(capped.length, 10);
  assert.deepEqual(capped[9], GROUP_END, 'a truncated group still ends with its end marker');
});
