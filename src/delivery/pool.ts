/**
 * Connection reuse with a per-destination concurrency limit (Postfix's
 * connection cache plus smtp_destination_concurrency_limit, much simplified).
 *
 * A destination is `host:port`. For each one the pool keeps
 *
 *   active   connections running a delivery (or being opened for one)
 *   idle     greeted connections waiting for the next message, each closed
 *            after `idleMs` without use
 *   waiting  deliveries queued because active + idle reached the limit
 *
 * with active + idle ≤ maxPerDestination at all times. A delivery takes an
 * idle connection to the same IP if there is one, else opens a new one if
 * there is room, else makes room by closing an idle connection to another
 * IP of the same host, else waits (FIFO). Slots are handed over
 * synchronously on release, so a newcomer cannot overtake a waiter.
 *
 * A reused connection may have died while idle (the server's own idle
 * timeout). The RSET that starts every reused transaction finds that out
 * before anything about the message is sent, and the delivery is then
 * repeated once on a fresh connection: a stale cache entry never shows up
 * as a failure.
 */
import type { Clock } from '../core/clock.js';
import { PostlineError } from '../core/errors.js';
import { SmtpConnection, type ConnectionOptions } from './connection.js';
import { resolveOptions } from './options.js';
import { failedAttempt, failureFromError } from './outcome.js';
import type { DeliveryResult, Destination, OutboundMessage } from './types.js';

export interface PoolOptions extends ConnectionOptions {
  /** Most connections (busy + idle) per host:port. Default 10 (Postfix's default is 20 per domain; we count per host). */
  maxPerDestination?: number;
  /** An idle connection is closed after this long. Default 5 s: enough to catch the next queued message, short enough not to hog the server's slots (Postfix: 2 s). */
  idleMs?: number;
  /** A connection is not reused once it is this old. Default 300 s (Postfix smtp_connection_reuse_time_limit). */
  maxAgeMs?: number;
  /** Nor after this many transactions. Default 100. */
  maxTransactions?: number;
}

export interface PoolStats {
  destinations: number;
  active: number;
  idle: number;
  waiting: number;
  /** Connections attempted since the pool was made. */
  opened: number;
}

type Grant = { connection: SmtpConnection | null } | 'closed';
type Waiter = { ip: string; grant(g: Grant): void };
type IdleEntry = { connection: SmtpConnection; timer: object | null };
type Slot = { active: number; idle: IdleEntry[]; waiting: Waiter[] };

export class DestinationPool {
  private readonly slots = new Map<string, Slot>();
  private readonly options: ConnectionOptions;
  private readonly clock: Clock;
  private readonly max: number;
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxTransactions: number;
  private closed = false;
  private opened = 0;
  private readonly closing = new Set<Promise<void>>();

  constructor(options: PoolOptions) {
    this.options = options;
    this.clock = resolveOptions(options).clock;
    this.max = positive(options.maxPerDestination, 10);
    this.idleMs = positive(options.idleMs, 5_000);
    this.maxAgeMs = positive(options.maxAgeMs, 300_000);
    this.maxTransactions = positive(options.maxTransactions, 100);
  }

  /** Delivers one message over a pooled connection. Never throws; after close() every delivery fails temporarily. */
  async deliver(destination: Destination, message: OutboundMessage): Promise<DeliveryResult> {
    if (message.recipients.length === 0) return { destination, recipients: [], failure: null, tls: false, tlsFallback: false };
    const key = `${destination.host.toLowerCase()}:${destination.port}`;
    const grant = await this.acquire(key, destination.ip);
    if (grant === 'closed') return this.shutDown(destination, message);
    let connection = grant.connection;
    try {
      if (connection !== null) {
        const result = await connection.send(message);
        // Failed at RSET: the cached connection was dead; nothing was sent, so try a fresh one.
        if (result.failure?.stage !== 'rset') return result;
        connection.destroy();
        connection = null;
      }
      this.opened++;
      const opened = await SmtpConnection.open(destination, this.options);
      if (!opened.ok) return failedAttempt(destination, message.recipients, opened.failure, opened.tlsFallback);
      connection = opened.connection;
      return await connection.send(message);
    } finally {
      this.release(key, connection);
    }
  }

  /** Closes idle connections (QUIT) and refuses new deliveries; busy connections close when their delivery ends. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [key, slot] of this.slots) {
      for (const entry of slot.idle.splice(0)) this.retire(entry);
      for (const waiter of slot.waiting.splice(0)) waiter.grant('closed');
      this.forget(key, slot);
    }
    await Promise.all([...this.closing]);
  }

  stats(): PoolStats {
    let active = 0;
    let idle = 0;
    let waiting = 0;
    for (const slot of this.slots.values()) {
      active += slot.active;
      idle += slot.idle.length;
      waiting += slot.waiting.length;
    }
    return { destinations: this.slots.size, active, idle, waiting, opened: this.opened };
  }

  private acquire(key: string, ip: string): Promise<Grant> {
    if (this.closed) return Promise.resolve('closed');
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { active: 0, idle: [], waiting: [] };
      this.slots.set(key, slot);
    }
    const now = this.tryGrant(slot, ip);
    if (now !== null) return Promise.resolve(now);
    const queued = slot;
    return new Promise<Grant>((resolve) => queued.waiting.push({ ip, grant: resolve }));
  }

  /** A grant if there is room (counting it as active at once), else null. Synchronous, so nobody can slip in between. */
  private tryGrant(slot: Slot, ip: string): Grant | null {
    // Idle connections the server closed meanwhile only take up room.
    for (const entry of slot.idle.filter((e) => !e.connection.reusable)) this.removeIdle(slot, entry);
    const same = slot.idle.find((e) => e.connection.destination.ip === ip);
    if (same !== undefined) {
      if (same.timer !== null) this.clock.clearTimeout(same.timer);
      slot.idle.splice(slot.idle.indexOf(same), 1);
      slot.active++;
      return { connection: same.connection };
    }
    if (slot.active + slot.idle.length < this.max) {
      slot.active++;
      return { connection: null };
    }
    if (slot.idle.length > 0) {
      // Full, but some room is only held by idle connections to another address of this host.
      this.removeIdle(slot, slot.idle[0]!);
      slot.active++;
      return { connection: null };
    }
    return null;
  }

  private release(key: string, connection: SmtpConnection | null): void {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      // close() already forgot this destination.
      if (connection !== null) this.retire({ connection, timer: null });
      return;
    }
    slot.active--;
    if (connection !== null) {
      const young = this.clock.now() - connection.openedAt < this.maxAgeMs && connection.transactionCount < this.maxTransactions;
      if (!this.closed && connection.reusable && young) {
        const entry: IdleEntry = { connection, timer: null };
        const timer = this.clock.setTimeout(() => {
          this.removeIdle(slot, entry);
          this.pump(key, slot);
        }, this.idleMs);
        timer.unref?.();
        entry.timer = timer;
        slot.idle.push(entry);
      } else {
        this.retire({ connection, timer: null });
      }
    }
    this.pump(key, slot);
  }

  /** Hands free room to waiters, oldest first. */
  private pump(key: string, slot: Slot): void {
    while (slot.waiting.length > 0) {
      const next = slot.waiting[0]!;
      const grant = this.tryGrant(slot, next.ip);
      if (grant === null) break;
      slot.waiting.shift();
      next.grant(grant);
    }
    this.forget(key, slot);
  }

  private removeIdle(slot: Slot, entry: IdleEntry): void {
    const at = slot.idle.indexOf(entry);
    // Not idle any more (taken, or already removed): a late timer must not close a connection in use.
    if (at === -1) return;
    slot.idle.splice(at, 1);
    this.retire(entry);
  }

  /** QUIT in the background; close() waits for these. */
  private retire(entry: IdleEntry): void {
    if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
    entry.timer = null;
    const done = entry.connection.quit().finally(() => this.closing.delete(done));
    this.closing.add(done);
  }

  private forget(key: string, slot: Slot): void {
    if (slot.active === 0 && slot.idle.length === 0 && slot.waiting.length === 0 && this.slots.get(key) === slot) this.slots.delete(key);
  }

  private shutDown(destination: Destination, message: OutboundMessage): DeliveryResult {
    const failure = failureFromError('connect', new PostlineError('ERR_DELIVERY_POOL_CLOSED', 'delivery pool is shutting down'));
    return failedAttempt(destination, message.recipients, failure);
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
