import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPhc, hashPassword, parsePhc, verifyPassword } from '../../../src/auth/password.js';

// ln=4 keeps each hash in the microseconds; the format and logic are the same as at ln=15.
const LN = 4;

test('hash then verify round-trips; a wrong password fails', async () => {
  const phc = await hashPassword('correct horse', { ln: LN });
  assert.equal(await verifyPassword('correct horse', phc), true);
  assert.equal(await verifyPassword('correct horsf', phc), false);
  assert.equal(await verifyPassword('', phc), false);
  assert.equal(await verifyPassword('correct horse ', phc), false);
});

test('non-ASCII passwords round-trip', async () => {
  const phc = await hashPassword('пароль-密码-🔑', { ln: LN });
  assert.equal(await verifyPassword('пароль-密码-🔑', phc), true);
  assert.equal(await verifyPassword('пароль-密码-', phc), false);
});

test('PHC string has the documented shape: 16-byte salt, 32-byte hash, unpadded base64', async () => {
  const phc = await hashPassword('x', { ln: LN });
  assert.match(phc, /^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const parsed = parsePhc(phc);
  assert.ok(parsed);
  assert.equal(parsed.ln, 4);
  assert.equal(parsed.r, 8);
  assert.equal(parsed.p, 1);
  assert.equal(parsed.salt.length, 16);
  assert.equal(parsed.hash.length, 32);
  assert.equal(formatPhc(parsed), phc);
});

test('default cost is ln=15', async () => {
  const phc = await hashPassword('x');
  assert.match(phc, /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.equal(await verifyPassword('x', phc), true);
});

test('salt differs on every hash of the same password', async () => {
  const hashes = await Promise.all([1, 2, 3, 4, 5].map(() => hashPassword('same', { ln: LN })));
  assert.equal(new Set(hashes).size, hashes.length);
  const salts = hashes.map((h) => h.split('$')[3]);
  assert.equal(new Set(salts).size, salts.length);
  for (const h of hashes) assert.equal(await verifyPassword('same', h), true);
});

test('hashPassword refuses ln outside 1..20', async () => {
  await assert.rejects(hashPassword('x', { ln: 0 }), RangeError);
  await assert.rejects(hashPassword('x', { ln: 21 }), RangeError);
  await assert.rejects(hashPassword('x', { ln: 4.5 }), RangeError);
});

test('malformed PHC strings parse to null and verify to false without throwing', async () => {
  const good = await hashPassword('pw', { ln: LN });
  const [, , params, salt, hash] = good.split('$');
  const bad = [
    '',
    'pw',
    '$scrypt$',
    good + '$',
    good.slice(1),
    good.replace('$scrypt$', '$argon2id$'),
    good.replace('$scrypt$', '$SCRYPT$'),
    `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=21,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=04,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=-4,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=4,r=0,p=1$${salt}$${hash}`,
    `$scrypt$ln=4,r=8,p=0$${salt}$${hash}`,
    `$scrypt$ln=4,r=8,p=1,x=1$${salt}$${hash}`,
    `$scrypt$r=8,ln=4,p=1$${salt}$${hash}`,
    `$scrypt$ln=4,r=8$${salt}$${hash}`,
    `$scrypt$ln=20,r=32,p=1$${salt}$${hash}`, // 4 GiB of memory: refused
    `$scrypt$${params}$${salt}=$${hash}`, // padding
    `$scrypt$${params}$${salt}$${hash}==`,
    `$scrypt$${params}$${salt!.replace(/./, '-')}$${hash}`, // base64url alphabet
    `$scrypt$${params}$${salt}$${hash!.slice(0, -2)}`, // truncated to an impossible base64 length
    `$scrypt$${params}$$${hash}`, // empty salt
    `$scrypt$${params}$AAAA$${hash}`, // 3-byte salt, below the minimum
    `$scrypt$${params}$${salt}$AAAA`, // 3-byte hash
    `$scrypt$${params}$${salt}$${hash} `,
  ];
  for (const phc of bad) {
    assert.equal(parsePhc(phc), null, `parsePhc(${JSON.stringify(phc)})`);
    assert.equal(await verifyPassword('pw', phc), false, `verifyPassword(${JSON.stringify(phc)})`);
  }
  // Not strings at all (untyped callers, JSON input): still false, never a throw.
  assert.equal(parsePhc(42 as unknown as string), null);
  assert.equal(await verifyPassword('pw', null as unknown as string), false);
  // The untouched string is still fine.
  assert.ok(parsePhc(good));
});

test('a base64 final character with stray low bits is not canonical and is refused', async () => {
  const good = await hashPassword('pw', { ln: LN });
  const parts = good.split('$');
  // 32 bytes -> 43 chars; the last char carries 4 payload bits + 2 zero bits.
  const last = parts[4]!.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const tweaked = alphabet[alphabet.indexOf(last) ^ 1]!; // flips a bit that Buffer.from would drop
  parts[4] = parts[4]!.slice(0, -1) + tweaked;
  assert.equal(parsePhc(parts.join('$')), null);
});

test('verification honours the parameters in the string, not the defaults', async () => {
  const phc5 = await hashPassword('pw', { ln: 5 });
  assert.equal(await verifyPassword('pw', phc5), true);
  // Same salt and hash, different ln: must not verify.
  assert.equal(await verifyPassword('pw', phc5.replace('ln=5', 'ln=6')), false);
});
