import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../../src/auth/password.js';
import { isPostlineError } from '../../../src/core/errors.js';
import { addUser, deleteUser, listUsers, normalizeAddress, readUsers, usersFilePath } from '../../../src/users/user-file.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'postline-users-'));
const phcPromise = hashPassword('secret', { ln: 4 });

/** Nothing but users.json may remain: no temp files, no lock. */
function assertOnlyUsersFile(dir: string): void {
  assert.deepEqual(readdirSync(dir), ['users.json']);
}

test('a missing file or data dir means no users', async () => {
  const dir = tempDir();
  assert.deepEqual(await readUsers(dir), []);
  assert.deepEqual(await listUsers(join(dir, 'does', 'not', 'exist')), []);
});

test('addUser creates the file with the documented shape, lower-cased, hash only', async () => {
  const dir = join(tempDir(), 'data'); // created on demand
  const phc = await phcPromise;
  assert.deepEqual(await addUser(dir, 'Alice@Example.ORG', phc), { created: true });
  const raw = readFileSync(usersFilePath(dir), 'utf8');
  const data = JSON.parse(raw);
  assert.equal(data.version, 1);
  assert.equal(data.users.length, 1);
  assert.equal(data.users[0].address, 'alice@example.org');
  assert.equal(data.users[0].passwordHash, phc);
  assert.ok(!Number.isNaN(Date.parse(data.users[0].created)));
  assert.equal(new Date(data.users[0].created).toISOString(), data.users[0].created);
  assert.ok(!raw.includes('secret'));
  if (process.platform !== 'win32') assert.equal(statSync(usersFilePath(dir)).mode & 0o777, 0o600);
  assertOnlyUsersFile(dir);
});

test('addUser on an existing address updates the hash and keeps created', async () => {
  const dir = tempDir();
  const first = await hashPassword('one', { ln: 4 });
  const second = await hashPassword('two', { ln: 4 });
  await addUser(dir, 'bob@example.org', first);
  const [before] = await listUsers(dir);
  assert.deepEqual(await addUser(dir, 'BOB@example.org', second), { created: false });
  const after = await listUsers(dir);
  assert.equal(after.length, 1);
  assert.equal(after[0]!.passwordHash, second);
  assert.equal(after[0]!.created, before!.created);
  assertOnlyUsersFile(dir);
});

test('addUser refuses anything that is not a PHC hash, so plain passwords never reach disk', async () => {
  const dir = tempDir();
  await assert.rejects(addUser(dir, 'bob@example.org', 'hunter2'), (err) => isPostlineError(err, 'ERR_USER_INVALID'));
  await assert.rejects(addUser(dir, 'bob@example.org', '$scrypt$nope'), (err) => isPostlineError(err, 'ERR_USER_INVALID'));
  assert.equal(existsSync(usersFilePath(dir)), false);
});

test('addresses are lower-cased and validated', async () => {
  assert.equal(normalizeAddress('Ivanov@Example.Org'), 'ivanov@example.org');
  assert.equal(normalizeAddress('first.last+tag@localhost'), 'first.last+tag@localhost');
  const bad = ['bob', '@example.org', 'bob@', 'a b@example.org', '"a"@example.org', 'a%b@example.org', 'a!b@example.org',
    '.a@example.org', 'a.@example.org', 'a..b@example.org', 'a@-x.org', 'a@x..org', 'a@x.org.', 'a@@x.org', 'a@x_y.org',
    'x'.repeat(65) + '@example.org'];
  for (const address of bad) {
    assert.throws(() => normalizeAddress(address), (err) => isPostlineError(err, 'ERR_USER_INVALID') && err.message.includes(address), address);
  }
  const dir = tempDir();
  await assert.rejects(addUser(dir, 'no-at-sign', await phcPromise), /invalid address "no-at-sign"/);
  await assert.rejects(deleteUser(dir, 'no-at-sign'), /invalid address/);
});

test('deleteUser removes a user and reports false when absent', async () => {
  const dir = tempDir();
  const phc = await phcPromise;
  await addUser(dir, 'a@example.org', phc);
  await addUser(dir, 'b@example.org', phc);
  assert.equal(await deleteUser(dir, 'A@example.org'), true);
  assert.deepEqual((await listUsers(dir)).map((u) => u.address), ['b@example.org']);
  assert.equal(await deleteUser(dir, 'a@example.org'), false);
  assertOnlyUsersFile(dir);
  const missing = join(tempDir(), 'never-created');
  assert.equal(await deleteUser(missing, 'a@example.org'), false);
  assert.equal(existsSync(missing), false);
});

test('listUsers is sorted by address', async () => {
  const dir = tempDir();
  const phc = await phcPromise;
  for (const a of ['c@x.org', 'a@x.org', 'b@x.org']) await addUser(dir, a, phc);
  assert.deepEqual((await listUsers(dir)).map((u) => u.address), ['a@x.org', 'b@x.org', 'c@x.org']);
});

test('a corrupt users file is an error naming the file and the problem', async () => {
  const phc = await phcPromise;
  const cases: [string, RegExp][] = [
    ['{"version":1,"users":[', /not valid JSON/],
    ['[]', /expected an object/],
    ['{"version":2,"users":[]}', /unsupported version 2/],
    ['{"version":1,"users":{}}', /"users" is not an array/],
    ['{"version":1,"users":[{"address":"a@x.org"}]}', /users\[0\] needs string address/],
    [`{"version":1,"users":[{"address":"bad","passwordHash":"${phc}","created":"2024-01-01T00:00:00.000Z"}]}`, /users\[0\]: invalid address/],
    [
      `{"version":1,"users":[{"address":"a@x.org","passwordHash":"${phc}","created":"x"},{"address":"A@x.org","passwordHash":"${phc}","created":"x"}]}`,
      /users\[1\]: duplicate address a@x.org/,
    ],
  ];
  for (const [content, why] of cases) {
    const dir = tempDir();
    const file = usersFilePath(dir);
    writeFileSync(file, content);
    await assert.rejects(readUsers(dir), (err: Error) => {
      assert.ok(isPostlineError(err, 'ERR_USER_INVALID'));
      assert.ok(err.message.includes(`users file ${file} is corrupt`), err.message);
      assert.match(err.message, why);
      return true;
    });
    // A writer must not paper over a corrupt file by replacing it.
    await assert.rejects(addUser(dir, 'new@x.org', phc), /is corrupt/);
    assert.equal(readFileSync(file, 'utf8'), content);
    assert.deepEqual(readdirSync(dir), ['users.json']);
  }
});

test('concurrent adds from many promises all land', async () => {
  const dir = tempDir();
  const phc = await phcPromise;
  const addresses = Array.from({ length: 25 }, (_, i) => `user${i}@example.org`);
  await Promise.all(addresses.map((a) => addUser(dir, a, phc)));
  assert.deepEqual((await listUsers(dir)).map((u) => u.address).sort(), [...addresses].sort());
  assertOnlyUsersFile(dir);
});

test('concurrent adds from several processes all land', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const phc = await phcPromise;
  const moduleUrl = new URL('../../../src/users/user-file.js', import.meta.url).href;
  const script = join(tempDir(), 'writer.mjs');
  writeFileSync(
    script,
    `import { addUser } from ${JSON.stringify(moduleUrl)};
const [dir, prefix, count, phc] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) await addUser(dir, prefix + i + '@example.org', phc);
`,
  );
  const procs = 4;
  const each = 6;
  const exits = await Promise.all(
    Array.from({ length: procs }, (_, p) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [script, dir, `p${p}-`, String(each), phc], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      }),
    ),
  );
  assert.deepEqual(exits, Array(procs).fill(0));
  const got = (await listUsers(dir)).map((u) => u.address);
  assert.equal(got.length, procs * each);
  for (let p = 0; p < procs; p++) for (let i = 0; i < each; i++) assert.ok(got.includes(`p${p}-${i}@example.org`));
  assertOnlyUsersFile(dir);
});

test('a writer waits for a held lock, and breaks a stale one', async () => {
  const dir = tempDir();
  const phc = await phcPromise;
  const lock = usersFilePath(dir) + '.lock';

  // Fresh lock: the writer must wait until it is released.
  writeFileSync(lock, 'someone else\n');
  let done = false;
  const pending = addUser(dir, 'waiter@example.org', phc).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'writer went ahead despite a fresh lock');
  rmSync(lock);
  await pending;
  assert.deepEqual((await listUsers(dir)).map((u) => u.address), ['waiter@example.org']);

  // Stale lock (a writer crashed 60 s ago): broken, and the write goes through.
  writeFileSync(lock, 'crashed\n');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const started = Date.now();
  await addUser(dir, 'after-crash@example.org', phc);
  assert.ok(Date.now() - started < 5_000);
  assert.equal((await listUsers(dir)).length, 2);
  assertOnlyUsersFile(dir);
});
