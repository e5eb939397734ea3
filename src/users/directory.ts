/**
 * The set of users who may log in: inline config users merged with the users
 * file (`postline user add`). The server keeps one UserDirectory and polls
 * the file, so CLI changes take effect without a restart.
 *
 * Conflicts: a config user always wins over a file user with the same
 * address. The config is what the operator reviewed and deployed; a
 * `user add` (possibly by someone with only data-dir access) must not be able
 * to replace that password silently. The file entry is ignored and reported
 * in `warnings` (and logged on every reload that still has it).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hashPassword, parsePhc, verifyPassword } from '../auth/password.js';
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { InlineUser } from '../config/types.js';
import { readUsers, usersFilePath, type StoredUser } from './user-file.js';

/** Login cache (see recentlyVerified): how long a verified password is remembered, and for how many users. */
const LOGIN_CACHE_TTL_MS = 60 * 60_000;
const LOGIN_CACHE_MAX = 100_000;

export interface DirectoryUser {
  address: string;
  source: 'config' | 'file';
  /** ISO date for file users, null for config users. */
  created: string | null;
}

interface Entry extends DirectoryUser {
  /** null: no usable hash (absent, malformed, or a scheme this build lacks); such a user cannot log in. */
  phc: string | null;
}

interface ConfigEntry extends Entry {
  /** HMAC of the inline plain password this phc was made from: a reload with the same password keeps the hash. */
  plainMac: Buffer | null;
}

/** Hashing as a port, so verification can move into the worker pool without touching this module. */
export interface PasswordHasher {
  hash(password: string, opts: { ln?: number }): Promise<string>;
  verify(password: string, phc: string): Promise<boolean>;
}

const localHasher: PasswordHasher = { hash: hashPassword, verify: verifyPassword };

export interface UserDirectoryOptions {
  dataDir: string;
  configUsers: readonly InlineUser[];
  logger?: Logger;
  clock?: Clock;
  hasher?: PasswordHasher;
  /** scrypt cost for the in-memory hashes made at open (tests lower it); default 15. */
  scryptLn?: number;
}

export interface MergeResult {
  users: DirectoryUser[];
  warnings: string[];
}

/** Pure merge of config and file users (config wins), also used by `postline user list`. */
export function mergeUsers(configUsers: readonly InlineUser[], fileUsers: readonly StoredUser[]): MergeResult {
  const byAddress = new Map<string, DirectoryUser>();
  const warnings: string[] = [];
  for (const u of configUsers) {
    const address = u.address.toLowerCase();
    if (byAddress.has(address)) warnings.push(`user ${address} appears twice in the config; the first entry is used`);
    else byAddress.set(address, { address, source: 'config', created: null });
  }
  for (const u of fileUsers) {
    if (byAddress.has(u.address)) {
      warnings.push(`user ${u.address} is in the config and in users.json; the users.json entry is ignored`);
      continue;
    }
    byAddress.set(u.address, { address: u.address, source: 'file', created: u.created });
  }
  const users = [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { users, warnings };
}

interface FileSignature {
  ino: number;
  size: number;
  mtimeMs: number;
}

export class UserDirectory {
  private entries = new Map<string, Entry>();
  private signature: FileSignature | null = null;
  private timer: object | null = null;
  private polling = false;
  private lastError: string | null = null;
  private closed = false;
  private currentWarnings: string[] = [];
  private readonly verified = new Map<string, { phc: string; mac: Buffer; until: number }>();

  private constructor(
    private readonly options: UserDirectoryOptions,
    private configUsers: readonly InlineUser[],
    private configEntries: Map<string, ConfigEntry>,
    private configWarnings: string[],
    private readonly dummyPhc: string,
    private readonly hasher: PasswordHasher,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly macKey: Buffer,
  ) {}

  /** Builds the directory (inline users hashed in memory, see buildConfigEntries) and reads the users file once. */
  static async open(options: UserDirectoryOptions): Promise<UserDirectory> {
    const hasher = options.hasher ?? localHasher;
    const logger = options.logger ?? silentLogger;
    const ln = options.scryptLn;
    const macKey = randomBytes(32);
    const config = await buildConfigEntries(options.configUsers, { hasher, ln, macKey, previous: new Map() });
    // Unknown addresses are verified against this, so they cost what a real user costs.
    const dummyPhc = await hasher.hash(randomBytes(16).toString('hex'), { ln });
    const dir = new UserDirectory(options, options.configUsers, config.entries, config.warnings, dummyPhc, hasher, logger, options.clock ?? systemClock, macKey);
    await dir.reload();
    return dir;
  }

  /**
   * Replaces the inline config users (SIGHUP). Unchanged plain passwords keep
   * their hash, so the login cache stays warm; a changed or removed user's
   * cached login dies with its old hash.
   */
  async setConfigUsers(configUsers: readonly InlineUser[]): Promise<void> {
    const config = await buildConfigEntries(configUsers, { hasher: this.hasher, ln: this.options.scryptLn, macKey: this.macKey, previous: this.configEntries });
    this.configUsers = configUsers;
    this.configEntries = config.entries;
    this.configWarnings = config.warnings;
    await this.reload();
  }

  /** Problems worth an operator's attention (conflicts, unusable hashes), as of the last load. */
  get warnings(): readonly string[] {
    return this.currentWarnings;
  }

  get file(): string {
    return usersFilePath(this.options.dataDir);
  }

  has(address: string): boolean {
    return this.entries.has(address.toLowerCase());
  }

  list(): DirectoryUser[] {
    return [...this.entries.values()]
      .map(({ address, source, created }) => ({ address, source, created }))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  async verify(address: string, password: string): Promise<boolean> {
    const key = address.toLowerCase();
    const phc = this.entries.get(key)?.phc ?? null;
    if (phc === null) {
      // Unknown user, or one without a usable hash: pay for a hash anyway so
      // the answer takes as long as a wrong password for a real user.
      await this.hasher.verify(password, this.dummyPhc);
      return false;
    }
    if (this.recentlyVerified(key, phc, password)) return true;
    const ok = await this.hasher.verify(password, phc);
    if (ok) this.rememberVerified(key, phc, password);
    return ok;
  }

  /**
   * The login cache (Dovecot's auth_cache): a mail client logs in again for
   * every POP3 check and every IMAP connection, and a full scrypt (~100 ms
   * at ln=15) each time would dominate connect+LOGIN+SELECT. After a
   * successful check we keep, in memory only, an HMAC of the password under
   * a per-process random key, tied to the stored hash (a password change
   * invalidates it) and for at most an hour. Wrong passwords are never
   * cached: guessing always pays the full scrypt.
   */
  private recentlyVerified(address: string, phc: string, password: string): boolean {
    const hit = this.verified.get(address);
    if (!hit) return false;
    if (hit.phc !== phc || hit.until <= this.clock.now()) {
      this.verified.delete(address);
      return false;
    }
    return timingSafeEqual(hit.mac, this.mac(password));
  }

  private rememberVerified(address: string, phc: string, password: string): void {
    this.verified.delete(address);
    this.verified.set(address, { phc, mac: this.mac(password), until: this.clock.now() + LOGIN_CACHE_TTL_MS });
    // Oldest first in a Map: drop from the front past the cap.
    while (this.verified.size > LOGIN_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
  }

  private mac(password: string): Buffer {
    return createHmac('sha256', this.macKey).update(password, 'utf8').digest();
  }

  /**
   * Re-reads the users file. On a corrupt or unreadable file the previous
   * users stay in effect (a half-edited file must not lock everyone out) and
   * the error is thrown to the caller.
   */
  async reload(): Promise<void> {
    const signature = await this.statFile();
    const fileUsers = await readUsers(this.options.dataDir);
    const hashes = new Map(fileUsers.map((u) => [u.address, u.passwordHash]));
    const merged = mergeUsers(this.configUsers, fileUsers);
    const entries = new Map<string, Entry>();
    const warnings = [...this.configWarnings, ...merged.warnings];
    for (const u of merged.users) {
      let phc: string | null;
      if (u.source === 'config') {
        phc = this.configEntries.get(u.address)!.phc;
      } else {
        phc = hashes.get(u.address)!;
        if (!parsePhc(phc)) {
          warnings.push(`user ${u.address}: passwordHash in users.json is not supported by this build; this user cannot log in`);
          phc = null;
        }
      }
      entries.set(u.address, { ...u, phc });
    }
    this.entries = entries;
    this.signature = signature;
    this.currentWarnings = warnings;
  }

  /**
   * Polls the users file every `intervalMs` (fs.stat of inode, size and
   * mtime). Polling rather than fs.watch: it behaves the same on every
   * platform, filesystem, container volume and under Bun, and an atomic
   * rename always changes the inode, so no update is missed. The timer is
   * unref'd: watching alone never keeps the process alive.
   */
  watch(opts: { intervalMs?: number } = {}): void {
    if (this.timer || this.closed) return;
    const intervalMs = opts.intervalMs ?? 1000;
    const tick = (): void => {
      this.timer = null;
      void this.poll().finally(() => {
        if (this.closed) return;
        this.timer = this.clock.setTimeout(tick, intervalMs);
        (this.timer as { unref?(): unknown }).unref?.();
      });
    };
    this.timer = this.clock.setTimeout(tick, intervalMs);
    (this.timer as { unref?(): unknown }).unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await this.statFile();
      if (sameSignature(now, this.signature)) return;
      await this.reload();
      this.lastError = null;
      this.logger.info({ file: this.file, users: this.entries.size }, 'users reloaded');
      // Config warnings were logged at startup; repeat only what the file causes.
      for (const w of this.warnings) if (!this.configWarnings.includes(w)) this.logger.warn({ file: this.file }, w);
    } catch (err) {
      // Log a problem once, not every interval; the previous users stay in effect.
      const message = (err as Error).message;
      if (message !== this.lastError) this.logger.error({ err, file: this.file }, 'users file reload failed; keeping the previous users');
      this.lastError = message;
      // Remember the bad version so it is not re-read until it changes again.
      this.signature = await this.statFile().catch(() => this.signature);
    } finally {
      this.polling = false;
    }
  }

  private async statFile(): Promise<FileSignature | null> {
    try {
      const st = await fs.stat(this.file);
      return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

function sameSignature(a: FileSignature | null, b: FileSignature | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Inline config users → entries. Plain passwords are hashed here, once, in
 * memory, rather than compared directly: then every login — config user,
 * file user or unknown address — costs one scrypt of similar price, so
 * response time reveals neither whether an address exists nor which kind of
 * user it is.
 */
async function buildConfigEntries(
  users: readonly InlineUser[],
  how: { hasher: PasswordHasher; ln: number | undefined; macKey: Buffer; previous: ReadonlyMap<string, ConfigEntry> },
): Promise<{ entries: Map<string, ConfigEntry>; warnings: string[] }> {
  const entries = new Map<string, ConfigEntry>();
  const warnings: string[] = [];
  for (const u of users) {
    const address = u.address.toLowerCase();
    if (entries.has(address)) continue; // reported by mergeUsers
    let phc: string | null = null;
    let plainMac: Buffer | null = null;
    if (u.passwordHash !== null) {
      if (parsePhc(u.passwordHash)) phc = u.passwordHash;
      else warnings.push(`user ${address}: passwordHash is not a supported PHC string; this user cannot log in`);
    } else if (u.password !== null) {
      plainMac = createHmac('sha256', how.macKey).update(u.password, 'utf8').digest();
      const before = how.previous.get(address);
      phc = before?.plainMac && before.phc && timingSafeEqual(before.plainMac, plainMac) ? before.phc : await how.hasher.hash(u.password, { ln: how.ln });
    } else {
      warnings.push(`user ${address} has neither password nor passwordHash; this user cannot log in`);
    }
    entries.set(address, { address, source: 'config', created: null, phc, plainMac });
  }
  return { entries, warnings };
}
