/**
 * Password verification through the worker pool (the users' PasswordHasher
 * port). Hashing stays local: it runs only at startup, for plain passwords
 * in the config.
 */
import { hashPassword } from '../auth/password.js';
import type { WorkerPool } from './pool.js';

export function poolPasswordHasher(pool: WorkerPool): { hash(password: string, opts: { ln?: number }): Promise<string>; verify(password: string, phc: string): Promise<boolean> } {
  return {
    hash: (password, opts) => hashPassword(password, opts),
    verify: (password, phc) => pool.run('verifyPassword', { password, phc }),
  };
}
