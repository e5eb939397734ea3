/**
 * The user database written by `postline user add/del`: `<dataDir>/users.json`
 *
 *   { "version": 1, "users": [{ "address": "a@b", "passwordHash": "$scrypt$...", "created": "ISO date" }] }
 *
 * Writers (CLI processes) take an exclusive lock file, then replace the whole
 * file atomically; the server only reads. Only PHC hashes are ever stored.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import { join } from 'node:path';
import { parsePhc } from '../auth/password.js';
import { PostlineError } from '../core/errors.js';

export const USERS_FILE = 'users.json';
const LOCK_SUFFIX = '.lock';
const STALE_LOCK_MS = 30_000;
const LOCK_RETRY_MS = 25;
// Writers hold the lock for milliseconds; waiting longer than a stale lock's
// age means something is badly wrong, so give up with a clear error.
const LOCK_TIMEOUT_MS = STALE_LOCK_MS + 5_000;

export interface StoredUser {
  address: string;
  passwordHash: string;
  created: string;
}

export function usersFilePath(dataDir: string): string {
  return join(dataDir, USERS_FILE);
}

// RFC 5322 atext minus '%', '!' and '/': those are routing syntax (percent
// hack, bang paths) or path separators, and have no place in a mailbox name.
// Quoted local parts are refused for the same reason. ASCII only for now.
const LOCAL_PART = /^[a-z0-9#$&'*+=?^_`{|}~-]+(\.[a-z0-9#$&'*+=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-cases and validates `local@domain`; throws ERR_USER_INVALID naming the problem. */
export function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  const fail = (why: string): never => {
    throw new PostlineError('ERR_USER_INVALID', `invalid address "${address}": ${why}`);
  };
  if (at < 0) fail('expected local@domain');
  const local = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  if (local.length === 0) fail('empty local part');
  if (domain.length === 0) fail('empty domain');
  if (local.length > 64) fail('local part longer than 64 characters');
  if (lower.length > 254) fail('longer than 254 characters');
  if (!LOCAL_PART.test(local)) fail('local part has characters that are not allowed');
  if (!domain.split('.').every((label) => DOMAIN_LABEL.test(label))) fail('malformed domain');
  return lower;
}

function corrupt(file: string, why: string, cause?: unknown): PostlineError {
  return new PostlineError('ERR_USER_INVALID', `users file ${file} is corrupt: ${why}`, { cause });
}

function parseUsersFile(file: string, text: string): StoredUser[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `not valid JSON (${(err as Error).message})`, err);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt(file, 'expected an object');
  const { version, users } = data as { version?: unknown; users?: unknown };
  if (version !== 1) throw corrupt(file, `unsupported version ${JSON.stringify(version)}`);
  if (!Array.isArray(users)) throw corrupt(file, '"users" is not an array');
  const seen = new Set<string>();
  return users.map((entry: unknown, i): StoredUser => {
    const u = entry as Partial<Record<keyof StoredUser, unknown>> | null;
    if (typeof u !== 'object' || u === null) throw corrupt(file, `users[${i}] is not an object`);
    if (typeof u.address !== 'string' || typeof u.passwordHash !== 'string' || typeof u.created !== 'string') {
      throw corrupt(file, `users[${i}] needs string address, passwordHash and created`);
    }
    let address: string;
    try {
      address = normalizeAddress(u.address);
    } catch (err) {
      throw corrupt(file, `users[${i}]: ${(err as Error).message}`);
    }
    if (seen.has(address)) throw corrupt(file, `users[${i}]: duplicate address ${address}`);
    seen.add(address);
    // Hashes are not re-validated here: a hash this build cannot parse (a
    // future $argon2id$) must not make the whole file unreadable; the
    // directory reports it and that user simply cannot log in.
    return { address, passwordHash: u.passwordHash, created: u.created };
  });
}

/** Reads the users file; a missing file (or dataDir) means no users. */
export async function readUsers(dataDir: string): Promise<StoredUser[]> {
  const file = usersFilePath(dataDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new PostlineError('ERR_USER_INVALID', `cannot read users file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseUsersFile(file, text);
}

export async function listUsers(dataDir: string): Promise<StoredUser[]> {
  return (await readUsers(dataDir)).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Creates or updates a user; `created` tells which. The hash must be a PHC string this build can verify. */
export async function addUser(dataDir: string, address: string, passwordHash: string): Promise<{ created: boolean }> {
  const addr = normalizeAddress(address);
  // Refuse anything that is not a hash, so a plain password can never land on disk.
  if (!parsePhc(passwordHash)) throw new PostlineError('ERR_USER_INVALID', 'passwordHash is not a valid $scrypt$ PHC string');
  await fs.mkdir(dataDir, { recursive: true });
  return withLock(dataDir, async () => {
    const users = await readUsers(dataDir);
    const existing = users.find((u) => u.address === addr);
    if (existing) existing.passwordHash = passwordHash;
    else users.push({ address: addr, passwordHash, created: new Date().toISOString() });
    await writeUsers(dataDir, users);
    return { created: !existing };
  });
}

/** Deletes a user; false when there was no such user. */
export async function deleteUser(dataDir: string, address: string): Promise<boolean> {
  const addr = normalizeAddress(address);
  try {
    await fs.access(dataDir);
  } catch {
    return false; // no data dir, so no users; do not create one just to delete nothing
  }
  return withLock(dataDir, async () => {
    const users = await readUsers(dataDir);
    const kept = users.filter((u) => u.address !== addr);
    if (kept.length === users.length) return false;
    await writeUsers(dataDir, kept);
    return true;
  });
}

/**
 * Replaces users.json atomically and durably. Order matters:
 *   1. write + fsync a temp file in the same directory (same filesystem, so rename is atomic);
 *   2. rename it over users.json — readers see the old or the new file, never a mix;
 *   3. fsync the directory so the rename itself survives a power loss.
 * A crash before 2 leaves a stray temp file and the old users.json intact.
 */
async function writeUsers(dataDir: string, users: StoredUser[]): Promise<void> {
  const file = usersFilePath(dataDir);
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const body = JSON.stringify({ version: 1, users }, null, 2) + '\n';
  let renamed = false;
  try {
    // 0600: hashes are still secrets worth protecting from other local users.
    const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    renamed = true;
    await syncDir(dataDir);
  } finally {
    if (!renamed) await fs.rm(tmp, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms/filesystems cannot open or fsync a directory (Windows,
    // some network filesystems); the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn` holding `users.json.lock` (O_EXCL), so concurrent CLI writers never lose each other's changes. */
async function withLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = usersFilePath(dataDir) + LOCK_SUFFIX;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let held: Stats;
  for (;;) {
    try {
      const handle = await fs.open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        // The content is only for humans looking at a stuck lock.
        await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
        held = await handle.stat();
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await breakStaleLock(lock);
    if (Date.now() > deadline) {
      throw new PostlineError('ERR_USER_INVALID', `users file is locked by another process (lock file ${lock})`);
    }
    // Jitter keeps several waiting writers from retrying in lockstep.
    await sleep(LOCK_RETRY_MS + Math.floor(Math.random() * LOCK_RETRY_MS));
  }
  try {
    return await fn();
  } finally {
    // Remove only our own lock: if it was wrongly broken as stale, the file
    // now at this path belongs to someone else.
    const now = await fs.stat(lock).catch(() => null);
    if (now && now.ino === held.ino && now.dev === held.dev) await fs.rm(lock, { force: true });
  }
}

/**
 * Removes a lock older than STALE_LOCK_MS (its writer crashed). Renaming it
 * aside first and comparing inodes ensures we only delete the stale lock we
 * looked at, never a fresh one another waiter created after breaking it.
 */
async function breakStaleLock(lock: string): Promise<void> {
  let before: Stats;
  try {
    before = await fs.stat(lock);
  } catch {
    return; // released meanwhile
  }
  if (Date.now() - before.mtimeMs < STALE_LOCK_MS) return;
  const aside = `${lock}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await fs.rename(lock, aside);
  } catch {
    return; // someone else broke it first
  }
  const taken = await fs.stat(aside);
  if (taken.ino === before.ino && taken.dev === before.dev) {
    await fs.rm(aside, { force: true });
    return;
  }
  // We grabbed a live lock by mistake: put it back. If yet another lock
  // appeared meanwhile, link fails and two writers may overlap once; that
  // needs a 30 s stall plus a race within milliseconds, and is accepted.
  await fs.link(aside, lock).catch(() => {});
  await fs.rm(aside, { force: true });
}
