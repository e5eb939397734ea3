/**
 * The outbound queue's state, rebuilt from queue records like the mailbox
 * index is from message records. Three record types:
 *
 *   queueEntry   { i: id, f: sender ('' = <>), r: recipients, t: arrived ms, s: size, n?: dsn, u?: 1 SMTPUTF8, b?: 1 8BITMIME }  + body
 *   queueAttempt { i: id, a: attempts so far, x: next attempt ms, e: [[recipient, reply text]] }
 *   queueDone    { i: id, r: [[recipient, outcome, reply text]] }   outcome 'delivered' | 'bounced' | 'deleted'
 *
 * An entry lives until every recipient has a queueDone outcome; then it is
 * forgotten, and compaction may drop its records. Order matters when a
 * delivery succeeds: the remote server's 250 comes first, then our
 * queueDone record. A crash between the two sends that recipient's copy
 * again after restart (at least once, as every MTA does), never loses it.
 */
import type { Location } from './log/log.js';
import { RecordType } from './log/record.js';

export type QueueOutcome = 'delivered' | 'bounced' | 'deleted';

export interface QueueEntryMeta {
  i: string;
  f: string;
  r: string[];
  t: number;
  s: number;
  n?: Record<string, unknown>;
  u?: 1;
  b?: 1;
}

export interface QueueAttemptMeta {
  i: string;
  a: number;
  x: number;
  e: [string, string][];
}

export interface QueueDoneMeta {
  i: string;
  r: [string, QueueOutcome, string][];
}

/** One queued message as the scheduler and `queue list` see it. */
export interface QueueItem {
  id: string;
  /** null: the null sender <> (never bounced to). */
  sender: string | null;
  /** Recipients still to deliver, in the order given. */
  pending: string[];
  /** Recipients finished, with what happened. */
  done: { recipient: string; outcome: QueueOutcome; text: string }[];
  arrived: number;
  size: number;
  dsn: Record<string, unknown> | null;
  /** Received with SMTPUTF8 / BODY=8BITMIME: the next hop must offer them too. */
  smtputf8: boolean;
  body8bit: boolean;
  attempts: number;
  /** ms since the epoch; 0 = as soon as possible. */
  nextAttempt: number;
  /** Last temporary error per pending recipient. */
  lastError: Record<string, string>;
  loc: Location;
}

export class QueueIndex {
  private readonly items = new Map<string, QueueItem>();

  get size(): number {
    return this.items.size;
  }

  get(id: string): QueueItem | undefined {
    return this.items.get(id);
  }

  list(): QueueItem[] {
    return [...this.items.values()];
  }

  /** Applies one queue record (others are ignored); returns whether it was one. */
  apply(type: number, meta: unknown, loc: Location): boolean {
    switch (type) {
      case RecordType.queueEntry: {
        const m = meta as QueueEntryMeta;
        if (this.items.has(m.i)) return true;
        this.items.set(m.i, {
          id: m.i,
          sender: m.f === '' ? null : m.f,
          pending: [...m.r],
          done: [],
          arrived: m.t,
          size: m.s,
          dsn: m.n ?? null,
          smtputf8: m.u === 1,
          body8bit: m.b === 1,
          attempts: 0,
          nextAttempt: 0,
          lastError: {},
          loc,
        });
        return true;
      }
      case RecordType.queueAttempt: {
        const m = meta as QueueAttemptMeta;
        const item = this.items.get(m.i);
        if (!item) return true;
        item.attempts = m.a;
        item.nextAttempt = m.x;
        for (const [rcpt, text] of m.e) item.lastError[rcpt] = text;
        return true;
      }
      case RecordType.queueDone: {
        const m = meta as QueueDoneMeta;
        const item = this.items.get(m.i);
        if (!item) return true;
        for (const [recipient, outcome, text] of m.r) {
          const at = item.pending.indexOf(recipient);
          if (at < 0) continue;
          item.pending.splice(at, 1);
          delete item.lastError[recipient];
          item.done.push({ recipient, outcome, text });
        }
        if (item.pending.length === 0) this.items.delete(m.i);
        return true;
      }
      default:
        return false;
    }
  }

  /** Compaction moved a live entry record. */
  relocate(id: string, loc: Location): void {
    const item = this.items.get(id);
    if (item) item.loc = loc;
  }

  /** Plain data for a checkpoint (the queue is small: it holds only undelivered mail). */
  snapshot(): QueueItem[] {
    return this.list().map((item) => ({ ...item, pending: [...item.pending], done: [...item.done], lastError: { ...item.lastError }, loc: { ...item.loc } }));
  }

  restore(items: QueueItem[]): void {
    this.items.clear();
    for (const item of items) this.items.set(item.id, item);
  }
}
