import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLocalPartSuspicious, NON_ASCII_PROBLEM, parsePath, parsePathFully, parseSimplePath, splitPathAndParams, type Path } from '../../../../src/codec/smtp/address.js';

const ASCII = { smtputf8: false };
const UTF8 = { smtputf8: true };

function good(text: string, opts = ASCII): Extract<Path, { kind: 'address' }> {
  const r = parsePath(text, opts);
  assert.ok(r.ok, `${text} should parse: ${r.ok ? '' : r.problem}`);
  assert.equal(r.path.kind, 'address');
  return r.path as Extract<Path, { kind: 'address' }>;
}

function bad(text: string, opts = ASCII): string {
  const r = parsePath(text, opts);
  assert.ok(!r.ok, `${text} should be refused`);
  return r.problem;
}

test('a plain address: domain lower-cased, local part case kept', () => {
  assert.deepEqual(good('<John.Smith@Example.ORG>'), {
    kind: 'address', local: 'John.Smith', domain: 'example.org', address: 'John.Smith@example.org', route: [], quotedLocal: false, utf8: false,
  });
});

test('the null path', () => {
  assert.deepEqual(parsePath('<>', ASCII), { ok: true, path: { kind: 'null' } });
});

test('RFC 3696 §3 dot-atom local parts with special characters', () => {
  for (const local of ["customer/department=shipping", '$A12345', '!def!xyz%abc', '_somename', "o'brien", 'a+tag', '{x}|~`^?#&*']) {
    assert.equal(good(`<${local}@example.com>`).address, `${local}@example.com`);
  }
});

test('quoted local parts: unquoted when not needed, kept quoted (minimally) when needed', () => {
  const plain = good('<"john">@example.com>'.replace('>@', '@'));
  assert.equal(plain.address, 'john@example.com');
  assert.equal(plain.quotedLocal, true);
  const space = good('<"Joe Q. Public"@example.com>');
  assert.equal(space.local, 'Joe Q. Public');
  assert.equal(space.address, '"Joe Q. Public"@example.com');
  // quoted-pairs (RFC 5321 §4.1.2 quoted-pairSMTP) are resolved in `local`, re-escaped in `address`
  const pairs = good('<"Abc\\@def"@example.com>');
  assert.equal(pairs.local, 'Abc@def');
  assert.equal(pairs.address, '"Abc@def"@example.com');
  const escaped = good('<"a\\"b\\\\c"@example.com>');
  assert.equal(escaped.local, 'a"b\\c');
  assert.equal(escaped.address, '"a\\"b\\\\c"@example.com');
  assert.equal(good('<"Fred\\ Bloggs"@example.com>').address, '"Fred Bloggs"@example.com');
  assert.equal(good('<"a..b"@example.com>').address, '"a..b"@example.com');
  assert.equal(good('<".a"@example.com>').address, '".a"@example.com');
});

test('address literals, IPv4 and IPv6 (validated), general literals refused', () => {
  assert.equal(good('<user@[192.0.2.1]>').domain, '[192.0.2.1]');
  assert.equal(good('<user@[IPv6:2001:DB8::1]>').domain, '[IPv6:2001:db8::1]');
  assert.equal(good('<user@[ipv6:::1]>').address, 'user@[IPv6:::1]');
  assert.equal(good('<user@[IPv6:::ffff:192.0.2.1]>').domain, '[IPv6:::ffff:192.0.2.1]');
  for (const lit of ['[192.0.2.256]', '[192.0.2]', '[2001:db8::1]', '[IPv6:2001:db8::g]', '[IPv6:fe80::1%eth0]', '[x-tag:abc]', '[]', '[192.0.2.1', '192.0.2.1']) {
    bad(`<user@${lit}>`);
  }
});

test('source routes are parsed into route, never part of the address', () => {
  const p = good('<@a.example,@B.example:user@c.example>');
  assert.deepEqual(p.route, ['a.example', 'b.example']);
  assert.equal(p.address, 'user@c.example');
  assert.deepEqual(good('<@a.example:u@c.example>').route, ['a.example']);
  for (const t of ['<@a.example,b.example:u@c.example>', '<@:u@c.example>', '<@a.example u@c.example>', '<@a..b:u@c.example>', '<@[192.0.2.1]:u@c.example>']) bad(t);
});

test('<postmaster> (any case) has an empty domain; a quoted one is not special', () => {
  const p = good('<Postmaster>');
  assert.equal(p.domain, '');
  assert.equal(p.address, 'postmaster');
  assert.equal(p.local, 'Postmaster');
  bad('<"postmaster">');
  bad('<postmaster2>');
  assert.equal(good('<postmaster@Example.com>').address, 'postmaster@example.com');
});

test('limits of RFC 5321 §4.5.3.1: local part 64, domain 255, path 256 octets', () => {
  const local64 = 'a'.repeat(64);
  assert.equal(good(`<${local64}@x.org>`).local, local64);
  assert.match(bad(`<${'a'.repeat(65)}@x.org>`), /local part too long/);
  assert.match(bad(`<"${'a'.repeat(63)}"@x.org>`), /local part too long/, 'the quotes count: 65 octets on the wire');
  const label = 'b'.repeat(63);
  const domain = [label, label, label, 'c'.repeat(63)].join('.'); // 255 octets
  assert.equal(domain.length, 255);
  // with a one-octet local part the path is 1 + 1 + 255 + 2 = 259 > 256: too long as a path
  assert.match(bad(`<a@${domain}>`), /path too long/);
  const domain252 = [label, label, label, 'c'.repeat(60)].join('.');
  assert.equal(good(`<a@${domain252}>`).domain, domain252); // exactly 256 octets
  assert.match(bad(`<a@${domain252}x>`), /path too long/);
  assert.match(bad(`<a@${'d'.repeat(64)}.org>`), /label too long/);
  // octets, not characters: 32 two-octet characters fill 64 octets
  assert.equal(good(`<${'é'.repeat(32)}@x.org>`, UTF8).utf8, true);
  assert.match(bad(`<${'é'.repeat(33)}@x.org>`, UTF8), /local part too long/);
});

test('UTF-8 local parts and domains only with SMTPUTF8 (RFC 6531)', () => {
  assert.equal(bad('<用户@例子.广告>'), NON_ASCII_PROBLEM);
  assert.equal(bad('<josé@example.com>'), NON_ASCII_PROBLEM);
  assert.equal(bad('<jose@exämple.com>'), NON_ASCII_PROBLEM);
  const p = good('<用户@例子.广告>', UTF8);
  assert.equal(p.utf8, true);
  assert.equal(p.address, '用户@例子.广告');
  assert.equal(good('<josé@EXÄMPLE.com>', UTF8).domain, 'exämple.com');
  assert.equal(good('<"jo sé"@example.com>', UTF8).address, '"jo sé"@example.com');
  assert.equal(good('<a@b.org>', UTF8).utf8, false);
});

test('malformed paths are refused with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /missing/],
    ['<', /closing/],
    ['<a@b.org', /closing/],
    ['a@b.org>', /opening/],
    ['<@b.org>', /route/],
    ['<a@>', /missing domain/],
    ['<a>', /missing domain/],
    ['<a@b.org@c.org>', /domain/],
    ['<""@b.org>', /empty local part/],
    ['<.a@b.org>', /dot/],
    ['<a.@b.org>', /dot/],
    ['<a..b@b.org>', /consecutive dots/],
    ['<a b@b.org>', /invalid character/],
    ['<a(b)@b.org>', /invalid character/],
    ['<a@b..org>', /empty label/],
    ['<a@b.org.>', /empty label/],
    ['<a@-b.org>', /invalid domain label/],
    ['<a@b-.org>', /invalid domain label/],
    ['<a@b_c.org>', /invalid domain label/],
    ['<a@192.0.2.1>', /all-numeric/],
    ['<"abc@b.org>', /unterminated/],
    ['<"a"b@b.org>', /unexpected character/],
    ['<a\u0000b@b.org>', /control/],
    ['<"a\tb"@b.org>', /control/],
    ['<a@b\u007f.org>', /control/],
  ];
  for (const [text, reason] of cases) assert.match(bad(text), reason, text);
});

test('a path without angle brackets is tolerated (as Postfix does), but never with spaces', () => {
  assert.equal(good('a@B.org').address, 'a@b.org');
  assert.equal(good('postmaster').domain, '');
  assert.match(bad('"a b"@b.org'), /angle brackets/);
  assert.match(bad(' a@b.org'), /angle brackets/);
  // 255 octets bare = 257 with the brackets the limit counts
  const local = 'a'.repeat(64);
  assert.match(bad(`${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`), /path too long/);
  assert.equal(good(`${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`).local, local);
});

test('splitPathAndParams: the path ends at the first ">" outside quotes', () => {
  assert.deepEqual(splitPathAndParams('<a@b.org> SIZE=10 BODY=8BITMIME'), { ok: true, path: '<a@b.org>', params: 'SIZE=10 BODY=8BITMIME' });
  assert.deepEqual(splitPathAndParams('<"x> y"@b.org> SIZE=1'), { ok: true, path: '<"x> y"@b.org>', params: 'SIZE=1' });
  assert.deepEqual(splitPathAndParams('<"x\\" >"@b.org>'), { ok: true, path: '<"x\\" >"@b.org>', params: '' });
  assert.deepEqual(splitPathAndParams('<>'), { ok: true, path: '<>', params: '' });
  assert.deepEqual(splitPathAndParams('a@b.org SIZE=1'), { ok: true, path: 'a@b.org', params: 'SIZE=1' });
  assert.equal(splitPathAndParams('<a@b.org>SIZE=1').ok, false);
  assert.equal(splitPathAndParams('<"a@b.org> x').ok, false);
  assert.equal(splitPathAndParams('').ok, false);
});

test('isLocalPartSuspicious flags the percent hack, bang paths and quoted @', () => {
  assert.equal(isLocalPartSuspicious(good('<a%b@local.example>').local), true);
  assert.equal(isLocalPartSuspicious(good('<b!a@local.example>').local), true);
  assert.equal(isLocalPartSuspicious(good('<"a@b"@local.example>').local), true);
  assert.equal(isLocalPartSuspicious(good('<a.b+c@local.example>').local), false);
});

test('property: parsePath and splitPathAndParams never throw, and accepted addresses re-parse to themselves', () => {
  const token = fc.constantFrom('<', '>', '@', '"', '\\', ' ', '.', ',', ':', '[', ']', 'IPv6:', '::1', '192.0.2.1', 'a', 'B', '%', 'é', '\u0000', 'postmaster', '-');
  const text = fc.oneof(fc.string(), fc.array(token, { maxLength: 20 }).map((t) => t.join('')));
  fc.assert(
    fc.property(text, fc.boolean(), (t, smtputf8) => {
      splitPathAndParams(t);
      const r = parsePath(t, { smtputf8 });
      if (r.ok && r.path.kind === 'address' && r.path.domain !== '') {
        const again = parsePath(`<${r.path.address}>`, { smtputf8 });
        assert.ok(again.ok, `canonical ${r.path.address} re-parses`);
        assert.equal(again.path.kind === 'address' && again.path.address, r.path.address);
      }
    }),
    { numRuns: 500 },
  );
});

test('property: the fast path for plain addresses answers exactly as the full parser', () => {
  const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]{1,70}$/);
  const label = fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{1,70}$/), fc.constantFrom('example', 'ORG', '123', '-x', 'x-', 'a'.repeat(64)));
  const path = fc
    .tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.array(label, { minLength: 1, maxLength: 5 }))
    .map(([locals, labels]) => `<${locals.join('.')}@${labels.join('.')}>`);
  fc.assert(
    fc.property(path, (text) => {
      const fast = parseSimplePath(text);
      const full = parsePathFully(text, { smtputf8: false });
      // The fast path may decline (null) but must never disagree.
      if (fast !== null) assert.deepEqual(fast, full);
      // A fast path that declines what the full parser accepts is merely slow; check it still takes the common case.
      if (/^<[a-z0-9.]+@[a-z]+(\.[a-z]+)*>$/.test(text) && full.ok) assert.notEqual(fast, null);
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(parseSimplePath('<Ivanov@Example.ORG>'), parsePathFully('<Ivanov@Example.ORG>', { smtputf8: false }));
});
