/**
 * The maildrop lock of RFC 1939 §4: one POP3 session per user at a time, so
 * two clients cannot both download and delete from the same snapshot. One
 * instance is shared by the pop3 and pop3s listeners (main makes it).
 *
 * In memory only: a lock is held by a live connection, which a restart ends
 * anyway. IMAP does not take it — IMAP sessions see expunges as they happen.
 */
export class MaildropLock {
  private readonly holders = new Map<string, string>();

  /**
   * Takes the lock on `owner` for `holder` (a connection id, for logs).
   * Returns the release function — idempotent, because close paths fire
   * more than once — or null when someone else holds it.
   */
  tryAcquire(owner: string, holder: string): (() => void) | null {
    if (this.holders.has(owner)) return null;
    this.holders.set(owner, holder);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.holders.get(owner) === holder) this.holders.delete(owner);
    };
  }

  /** The connection holding `owner`'s maildrop, if any. */
  holder(owner: string): string | undefined {
    return this.holders.get(owner);
  }

  get size(): number {
    return this.holders.size;
  }
}
