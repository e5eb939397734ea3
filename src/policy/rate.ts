/**
 * Per-IP limits shared by every protocol (SMTP, POP3, IMAP): authentication
 * failures (limits.authFailuresPerIp) and open connections
 * (limits.maxConnections, limits.maxConnectionsPerIp). One instance of each
 * is made by main and handed to every listener, so a client cannot get
 * around a limit by switching protocol or port. IPs are normalised first
 * (IPv4-mapped IPv6 → IPv4) for the same reason.
 */
import type { Clock } from '../core/clock.js';
import { normalizeIp } from './networks.js';
import { accept, disconnect, type Verdict } from './verdict.js';

/** SPEC §2: authFailuresPerIp counts "per 10 minutes". */
export const AUTH_FAILURE_WINDOW_MS = 10 * 60_000;

/** Cap on IPs with recent failures remembered (each holds at most maxFailures numbers). */
export const AUTH_FAILURE_MAX_IPS = 100_000;

export interface AuthFailureLimiterOptions {
  /**
   * Failures within the window after which the IP is refused. 0 disables the
   * limiter. Taken literally, 0 would refuse every IP before its first
   * attempt — no one could ever log in — which no operator means; "0 = off"
   * is the only useful reading. (This is the one limit where an explicit 0
   * does not mean "zero allowed".)
   */
  maxFailures: number;
  windowMs: number;
  clock: Clock;
  maxIps?: number;
}

/**
 * Sliding window: an IP is blocked while at least `maxFailures` of its
 * failures lie within the last `windowMs`, i.e. until the oldest of those
 * leaves the window. The block holds even for a correct password — the
 * session asks `blocked()` before it verifies anything, so a blocked IP
 * learns nothing about passwords and records no further failures (which is
 * why the block ends when the window passes, as SPEC says).
 *
 * Memory: per IP only the last `maxFailures` timestamps matter, so no more
 * are kept. IPs sit in a Map in order of their latest failure; with one
 * window for all, that is expiry order, and stale IPs are dropped from the
 * front on each recordFailure(). Beyond `maxIps`, the least recently failing
 * IPs are forgotten first.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private maxFailures: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  private readonly maxIps: number;

  constructor(opts: AuthFailureLimiterOptions) {
    this.maxFailures = opts.maxFailures;
    this.windowMs = opts.windowMs;
    this.clock = opts.clock;
    this.maxIps = opts.maxIps ?? AUTH_FAILURE_MAX_IPS;
  }

  /** limits.authFailuresPerIp changed (SIGHUP). */
  setMaxFailures(maxFailures: number): void {
    this.maxFailures = maxFailures;
  }

  recordFailure(ip: string): void {
    if (this.maxFailures <= 0) return;
    const now = this.clock.now();
    const key = normalizeIp(ip);
    const times = (this.failures.get(key) ?? []).filter((t) => this.live(t, now));
    times.push(now);
    if (times.length > this.maxFailures) times.splice(0, times.length - this.maxFailures);
    // Re-insert so this IP moves to the back (latest failure).
    this.failures.delete(key);
    this.failures.set(key, times);
    this.prune(now);
  }

  blocked(ip: string): boolean {
    if (this.maxFailures <= 0) return false;
    const times = this.failures.get(normalizeIp(ip));
    if (times === undefined) return false;
    const now = this.clock.now();
    let recent = 0;
    for (const t of times) if (this.live(t, now)) recent++;
    return recent >= this.maxFailures;
  }

  /** IPs currently remembered (stale ones may linger until the next recordFailure()). */
  get size(): number {
    return this.failures.size;
  }

  /** A failure at `t` counts while less than windowMs has passed. */
  private live(t: number, now: number): boolean {
    return now - t < this.windowMs;
  }

  private prune(now: number): void {
    for (const [key, times] of this.failures) {
      if (this.live(times[times.length - 1]!, now) && this.failures.size <= this.maxIps) break;
      this.failures.delete(key);
    }
  }
}

export interface ConnectionCounterOptions {
  /** limits.maxConnections: open connections across all listeners. 0 refuses every connection. */
  max: number;
  /** limits.maxConnectionsPerIp. 0 refuses every connection. */
  maxPerIp: number;
}

/**
 * Counts open connections, globally and per IP. The verdict's value is the
 * release function the listener calls when the socket closes; it is
 * idempotent because close paths (error, end, timeout, shutdown) often fire
 * more than once, and a double decrement would let a client exceed its cap.
 * Memory is bounded by the open connections: an IP's entry goes at zero.
 */
export class ConnectionCounter {
  private readonly perIp = new Map<string, number>();
  private open = 0;

  constructor(private opts: ConnectionCounterOptions) {}

  /** New limits (SIGHUP) apply to the next connection; open ones are never cut. */
  setLimits(opts: ConnectionCounterOptions): void {
    this.opts = opts;
  }

  tryOpen(ip: string): Verdict<() => void> {
    const key = normalizeIp(ip);
    const mine = this.perIp.get(key) ?? 0;
    if (this.open >= this.opts.max) return disconnect('too-many-connections', `${this.open} open`);
    if (mine >= this.opts.maxPerIp) return disconnect('too-many-connections-from-ip', `${key}: ${mine} open`);
    this.open++;
    this.perIp.set(key, mine + 1);
    let released = false;
    return accept(() => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.perIp.get(key) ?? 1) - 1;
      if (left > 0) this.perIp.set(key, left);
      else this.perIp.delete(key);
    });
  }

  get total(): number {
    return this.open;
  }

  countFor(ip: string): number {
    return this.perIp.get(normalizeIp(ip)) ?? 0;
  }
}
