import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, verifyPassword } from '../../../src/auth/password.js';
import type { InlineUser } from '../../../src/config/types.js';
import { mergeUsers, UserDirectory, type PasswordHasher } from '../../../src/users/directory.js';
import { addUser, deleteUser, usersFilePath } from '../../../src/users/user-file.js';

const LN = 4;
const tempDir = () => mkdtempSync(join(tmpdir(), 'postline-dir-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts every verify, to prove unknown users still cost a hash. */
function countingHasher(): PasswordHasher & { verifies: string[] } {
  const verifies: string[] = [];
  return {
    verifies,
    hash: (password, opts) => hashPassword(password, opts),
    verify: (password, phc) => {
      verifies.push(phc);
      return verifyPassword(password, phc);
    },
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(20);
  }
  return cond();
}

test('merges config users (plain and hashed) with file users', async () => {
  const dataDir = tempDir();
  await addUser(dataDir, 'file@example.org', await hashPassword('filepw', { ln: LN }));
  const configUsers: InlineUser[] = [
    { address: 'plain@example.org', password: 'plainpw', passwordHash: null },
    { address: 'hashed@example.org', password: null, passwordHash: await hashPassword('hashedpw', { ln: LN }) },
  ];
  const dir = await UserDirectory.open({ dataDir, configUsers, scryptLn: LN });
  assert.deepEqual(dir.list(), [
    { address: 'file@example.org', source: 'file', created: dir.list()[0]!.created },
    { address: 'hashed@example.org', source: 'config', created: null },
    { address: 'plain@example.org', source: 'config', created: null },
  ]);
  assert.match(dir.list()[0]!.created!, /^\d{4}-\d\d-\d\dT/);
  assert.equal(dir.has('FILE@example.org'), true);
  assert.equal(dir.has('nobody@example.org'), false);
  assert.equal(await dir.verify('plain@example.org', 'plainpw'), true);
  assert.equal(await dir.verify('Plain@Example.org', 'plainpw'), true);
  assert.equal(await dir.verify('plain@example.org', 'plainpW'), false);
  assert.equal(await dir.verify('hashed@example.org', 'hashedpw'), true);
  assert.equal(await dir.verify('hashed@example.org', 'plainpw'), false);
  assert.equal(await dir.verify('file@example.org', 'filepw'), true);
  assert.equal(await dir.verify('file@example.org', 'hashedpw'), false);
  assert.deepEqual(dir.warnings, []);
});

test('unknown users are refused after a dummy hash, like a wrong password', async () => {
  const hasher = countingHasher();
  const dir = await UserDirectory.open({
    dataDir: tempDir(),
    configUsers: [{ address: 'a@example.org', password: 'pw', passwordHash: null }],
    scryptLn: LN,
    hasher,
  });
  assert.equal(await dir.verify('ghost@example.org', 'pw'), false);
  assert.equal(hasher.verifies.length, 1, 'no hash was computed for an unknown user');
  assert.equal(await dir.verify('a@example.org', 'wrong'), false);
  assert.equal(hasher.verifies.length, 2);
  // The plain inline password is never compared as such: it was hashed at open.
  assert.ok(hasher.verifies.every((phc) => phc.startsWith('$scrypt$ln=4,')));
  assert.ok(!hasher.verifies.includes('pw'));
});

test('a config user wins over a file user with the same address, with a warning', async () => {
  const dataDir = tempDir();
  await addUser(dataDir, 'boss@example.org', await hashPassword('from-file', { ln: LN }));
  const dir = await UserDirectory.open({
    dataDir,
    configUsers: [{ address: 'boss@example.org', password: 'from-config', passwordHash: null }],
    scryptLn: LN,
  });
  assert.equal(await dir.verify('boss@example.org', 'from-config'), true);
  assert.equal(await dir.verify('boss@example.org', 'from-file'), false);
  assert.deepEqual(dir.list().map((u) => [u.address, u.source]), [['boss@example.org', 'config']]);
  assert.equal(dir.warnings.length, 1);
  assert.match(dir.warnings[0]!, /boss@example\.org is in the config and in users\.json; the users\.json entry is ignored/);
});

test('mergeUsers reports conflicts and config duplicates, sorted output', () => {
  const merged = mergeUsers(
    [
      { address: 'b@x.org', password: 'p', passwordHash: null },
      { address: 'b@x.org', password: 'q', passwordHash: null },
    ],
    [
      { address: 'b@x.org', passwordHash: '$scrypt$...', created: '2024-01-01T00:00:00.000Z' },
      { address: 'a@x.org', passwordHash: '$scrypt$...', created: '2024-01-01T00:00:00.000Z' },
    ],
  );
  assert.deepEqual(merged.users, [
    { address: 'a@x.org', source: 'file', created: '2024-01-01T00:00:00.000Z' },
    { address: 'b@x.org', source: 'config', created: null },
  ]);
  assert.equal(merged.warnings.length, 2);
});

test('unusable hashes are reported and never verify', async () => {
  const dataDir = tempDir();
  const future = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
  writeFileSync(
    usersFilePath(dataDir),
    JSON.stringify({ version: 1, users: [{ address: 'future@example.org', passwordHash: future, created: '2024-01-01T00:00:00.000Z' }] }),
  );
  const dir = await UserDirectory.open({
    dataDir,
    configUsers: [{ address: 'broken@example.org', password: null, passwordHash: '$scrypt$garbage' }],
    scryptLn: LN,
  });
  assert.equal(dir.has('future@example.org'), true);
  assert.equal(await dir.verify('future@example.org', 'anything'), false);
  assert.equal(await dir.verify('broken@example.org', 'garbage'), false);
  assert.equal(dir.warnings.length, 2);
  assert.ok(dir.warnings.some((w) => w.includes('broken@example.org')));
  assert.ok(dir.warnings.some((w) => w.includes('future@example.org')));
});

test('open fails on a corrupt users file; reload keeps the old users on corruption', async () => {
  const dataDir = tempDir();
  writeFileSync(usersFilePath(dataDir), '{ nope');
  await assert.rejects(UserDirectory.open({ dataDir, configUsers: [], scryptLn: LN }), /users file .*users\.json is corrupt/);

  const ok = tempDir();
  await addUser(ok, 'keep@example.org', await hashPassword('pw', { ln: LN }));
  const dir = await UserDirectory.open({ dataDir: ok, configUsers: [], scryptLn: LN });
  writeFileSync(usersFilePath(ok), '{ nope');
  await assert.rejects(dir.reload(), /is corrupt/);
  assert.equal(await dir.verify('keep@example.org', 'pw'), true);
});

test('reload sees adds and deletes', async () => {
  const dataDir = tempDir();
  const dir = await UserDirectory.open({ dataDir, configUsers: [], scryptLn: LN });
  assert.deepEqual(dir.list(), []);
  await addUser(dataDir, 'new@example.org', await hashPassword('pw', { ln: LN }));
  assert.equal(dir.has('new@example.org'), false);
  await dir.reload();
  assert.equal(await dir.verify('new@example.org', 'pw'), true);
  await deleteUser(dataDir, 'new@example.org');
  await dir.reload();
  assert.equal(dir.has('new@example.org'), false);
  assert.equal(await dir.verify('new@example.org', 'pw'), false);
});

test('watch sees a change made by another process within 5 s, and close stops it', { timeout: 30_000 }, async () => {
  const dataDir = tempDir();
  const dir = await UserDirectory.open({ dataDir, configUsers: [], scryptLn: LN });
  dir.watch({ intervalMs: 50 });
  try {
    const moduleUrl = new URL('../../../src/users/user-file.js', import.meta.url).href;
    const script = join(tempDir(), 'add.mjs');
    writeFileSync(script, `import { addUser } from ${JSON.stringify(moduleUrl)};\nawait addUser(process.argv[2], process.argv[3], process.argv[4]);\n`);
    const phc = await hashPassword('pw', { ln: LN });
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [script, dataDir, 'other@example.org', phc], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    assert.equal(code, 0);
    assert.ok(await waitFor(() => dir.has('other@example.org'), 5000), 'watch did not pick up the new user within 5 s');
    assert.equal(await dir.verify('other@example.org', 'pw'), true);

    // A same-size rewrite (another password of the same length) is still seen: rename changes the inode.
    await addUser(dataDir, 'other@example.org', await hashPassword('px', { ln: LN }));
    assert.ok(await waitFor(() => dir.verify('other@example.org', 'px'), 5000), 'password change not seen');

    // A corrupt file mid-way keeps the current users; the fixed file is picked up again.
    writeFileSync(usersFilePath(dataDir), '{ broken');
    await sleep(200);
    assert.equal(dir.has('other@example.org'), true);
    await deleteUser(dataDir, 'other@example.org').catch(() => {}); // fails: the file is corrupt
    writeFileSync(usersFilePath(dataDir), JSON.stringify({ version: 1, users: [] }));
    assert.ok(await waitFor(() => !dir.has('other@example.org'), 5000), 'watch did not recover after the file was fixed');
  } finally {
    dir.close();
  }
  await addUser(dataDir, 'late@example.org', await hashPassword('pw', { ln: LN }));
  await sleep(200);
  assert.equal(dir.has('late@example.org'), false, 'a closed directory kept polling');
});

test('login cache: a verified password is remembered (no second scrypt), wrong passwords always pay, a password change or expiry forgets it', async () => {
  const hasher = countingHasher();
  const dataDir = tempDir();
  let now = 1_000_000;
  const clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => {} };
  await addUser(dataDir, 'f@example.org', await hashPassword('one', { ln: LN }));
  const dir = await UserDirectory.open({ dataDir, configUsers: [], scryptLn: LN, hasher, clock });
  const before = hasher.verifies.length;
  assert.equal(await dir.verify('f@example.org', 'one'), true);
  assert.equal(await dir.verify('F@example.org', 'one'), true);
  assert.equal(hasher.verifies.length - before, 1, 'the second login came from the cache');
  assert.equal(await dir.verify('f@example.org', 'wrong'), false);
  assert.equal(await dir.verify('f@example.org', 'wrong'), false);
  assert.equal(hasher.verifies.length - before, 3, 'wrong passwords are checked every time');
  // A new password: the cached one no longer works, the new one does.
  await addUser(dataDir, 'f@example.org', await hashPassword('two', { ln: LN }));
  await dir.reload();
  assert.equal(await dir.verify('f@example.org', 'one'), false);
  assert.equal(await dir.verify('f@example.org', 'two'), true);
  // After an hour the cache entry is gone: a full check again.
  const n = hasher.verifies.length;
  now += 61 * 60_000;
  assert.equal(await dir.verify('f@example.org', 'two'), true);
  assert.equal(hasher.verifies.length, n + 1);
  dir.close();
});
