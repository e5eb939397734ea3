/**
 * How a POP3 session gets message bodies from the store: one at a time for
 * a client that picks messages here and there, in read-ahead windows for
 * one that goes through the maildrop in order (RETR 1, RETR 2, …), which is
 * what nearly every client does.
 *
 * A window is up to READ_AHEAD_MESSAGES consecutive slots read in one
 * batch (the store coalesces neighbouring records into one pread). The
 * window after the current one is read while the current one is sent, so
 * the read's wait (a thread-pool hop) is never in a client's way. Bodies are
 * decoded only when asked for (MessageBatch): the session decodes the
 * message it sends now, and one more while a one-at-a-time client reads.
 */
import { PostlineError } from '../../core/errors.js';
import type { MailboxPort, MessageBatch } from '../mailbox-port.js';
import type { Maildrop } from './maildrop.js';

export type ReaderMailbox = Pick<MailboxPort, 'readMessage' | 'readMessageBatch'>;

/** Up to this many messages and bytes per window. */
const READ_AHEAD_MESSAGES = 64;
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

const INBOX = 'INBOX';

/** Consecutive maildrop slots from `first`, read together; `batch` once the read is done. */
interface Window {
  first: number;
  count: number;
  read: Promise<MessageBatch>;
  batch: MessageBatch | null;
}

export class MaildropReader {
  private readonly mailbox: ReaderMailbox;
  private readonly md: Maildrop;
  /** Told when a window's read fails (its slots are then read one by one). */
  private readonly onWindowFailed: (err: unknown) => void;
  /** The last slot handed out: the next read after it continues a sequence. */
  private lastRead = -2;
  /** The window being sent (its batch in hand). */
  private current: Window | null = null;
  /** The window after it, being read. */
  private ahead: Window | null = null;
  /** Slots below this are read one by one: a window read over them failed. */
  private singleReadsBefore = 0;

  constructor(mailbox: ReaderMailbox, md: Maildrop, onWindowFailed: (err: unknown) => void) {
    this.mailbox = mailbox;
    this.md = md;
    this.onWindowFailed = onWindowFailed;
  }

  /** The slot a client going through the maildrop in order asks for next. */
  get expected(): number {
    return this.lastRead + 1;
  }

  /**
   * Slot i's body if a window already holds it, decoding it (with up to
   * `run` - 1 following messages) unless done before; undefined when it has
   * to be read (read()). Throws when its record is damaged, or
   * ERR_MESSAGE_NOT_FOUND when the message was removed since login. Does not
   * count as reading i: call taken(i) when it is sent.
   */
  inHand(i: number, run: number): Buffer | undefined {
    const w = this.windowHolding(i);
    return w ? this.bodyFrom(w, i, run) : undefined;
  }

  /** Slot i, got from inHand, went to the client. */
  taken(i: number): void {
    this.lastRead = i;
  }

  /** Reads slot i: alone, or by opening a window when the client is going through the maildrop in order. */
  async read(i: number, run: number): Promise<Buffer> {
    const sequential = i === this.lastRead + 1;
    this.lastRead = i;
    const ahead = this.ahead !== null && holds(this.ahead, i) ? this.ahead : null;
    if (!ahead && (!sequential || i < this.singleReadsBefore)) return this.single(i);
    const w = ahead ?? this.readWindow(i);
    if (w === this.ahead) this.ahead = null;
    try {
      await w.read;
    } catch (err) {
      // The batch's read failed (an I/O error): over its range, read message by message, so only what
      // is really unreadable is refused.
      this.onWindowFailed(err);
      this.singleReadsBefore = w.first + w.count;
      return this.single(i);
    }
    this.open(w);
    return this.bodyFrom(w, i, run);
  }

  private bodyFrom(w: Window, i: number, run: number): Buffer {
    const body = w.batch!.body(i - w.first, run);
    if (!body) throw new PostlineError('ERR_MESSAGE_NOT_FOUND', `message ${this.md.uid(i)} is gone`);
    return body;
  }

  private single(i: number): Promise<Buffer> {
    return this.mailbox.readMessage(this.md.owner, INBOX, this.md.uid(i));
  }

  private windowHolding(i: number): Window | null {
    if (this.current !== null && holds(this.current, i)) return this.current;
    const ahead = this.ahead;
    if (ahead?.batch && holds(ahead, i)) {
      this.ahead = null;
      this.open(ahead);
      return ahead;
    }
    return null;
  }

  /** `w` (read) becomes the window being sent; the one after it is read meanwhile. */
  private open(w: Window): void {
    this.current = w;
    const after = w.first + w.count;
    if (this.ahead?.first === after) return;
    this.ahead = after < this.md.messages ? this.readWindow(after) : null;
  }

  private readWindow(first: number): Window {
    const md = this.md;
    const uids: number[] = [];
    let bytes = 0;
    for (let k = first; k < md.messages && uids.length < READ_AHEAD_MESSAGES && (uids.length === 0 || bytes + md.octets(k) <= READ_AHEAD_BYTES); k++) {
      uids.push(md.uid(k));
      bytes += md.octets(k);
    }
    const w: Window = { first, count: uids.length, read: this.mailbox.readMessageBatch(md.owner, INBOX, uids), batch: null };
    // Kept where inHand can see it without waiting; a failure surfaces when the window is used (read), never unhandled.
    w.read.then(
      (batch) => (w.batch = batch),
      () => undefined,
    );
    return w;
  }
}

function holds(w: Window, i: number): boolean {
  return i >= w.first && i < w.first + w.count;
}
