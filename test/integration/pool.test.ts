import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/pool/pool.js';
import { poolPasswordHasher } from '../../src/pool/password-hasher.js';
import { hashPassword } from '../../src/auth/password.js';

test('password verification runs as a worker-pool task: right, wrong and malformed', async () => {
  const pool = new WorkerPool({ threads: 1 });
  try {
    const hasher = poolPasswordHasher(pool);
    const phc = await hashPassword('correct horse', { ln: 4 });
    assert.equal(await hasher.verify('correct horse', phc), true);
    assert.equal(await hasher.verify('wrong horse', phc), false);
    assert.equal(await hasher.verify('correct horse', '$scrypt$ln=4,r=8,p=1$garbage'), false);
    // Logins from many sessions at once.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => hasher.verify(i % 2 ? 'correct horse' : 'nope', phc)));
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i % 2 === 1));
  } finally {
    await pool.destroy();
  }
});
