/**
 * POP-before-SMTP (relay.popBeforeSmtp): an IP that logged in over POP3 or
 * IMAP may relay without AUTH for `ttlMs` afterwards. Old clients that cannot
 * do SMTP AUTH still exist; this is the classic way to let them send.
 *
 * Memory is bounded without timers: entries live in a Map in the order of
 * their last login, and since every entry lives for the same ttl, that is
 * also expiry order — so expired entries are always at the front and are
 * dropped there on each record(). Beyond `maxEntries` the oldest logins are
 * dropped first: a flood of logins from many IPs can only shorten others'
 * grace period, never grow memory.
 */
import type { Clock } from '../core/clock.js';
import { normalizeIp } from './networks.js';

/** Cap on remembered IPs (each entry is a short string and a number: ~100 B, so ~10 MB at most). */
export const POP_BEFORE_SMTP_MAX_ENTRIES = 100_000;

export class PopBeforeSmtp {
  /** normalised IP → time the permission ends (exclusive). */
  private readonly until = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(
    private ttlMs: number,
    private readonly clock: Clock,
    opts: { maxEntries?: number } = {},
  ) {
    this.maxEntries = opts.maxEntries ?? POP_BEFORE_SMTP_MAX_ENTRIES;
  }

  /** relay.popBeforeSmtp changed (SIGHUP); 0 turns it off at once. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
    if (ttlMs <= 0) this.until.clear();
  }

  /** Called after a successful POP3/IMAP login from `ip`. */
  record(ip: string): void {
    // ttl 0 is the SPEC's "off": remember nothing.
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    const now = this.clock.now();
    const key = normalizeIp(ip);
    // Delete first so a repeated login moves the IP to the back (newest).
    this.until.delete(key);
    this.until.set(key, now + this.ttlMs);
    this.prune(now);
  }

  allows(ip: string): boolean {
    if (this.ttlMs <= 0) return false;
    const end = this.until.get(normalizeIp(ip));
    return end !== undefined && this.clock.now() < end;
  }

  /** Entries currently held (expired ones may linger until the next record()). */
  get size(): number {
    return this.until.size;
  }

  private prune(now: number): void {
    for (const [key, end] of this.until) {
      if (end > now && this.until.size <= this.maxEntries) break;
      this.until.delete(key);
    }
  }
}
