/**
 * A POP3 maildrop: the snapshot of INBOX taken at login (RFC 1939 §4), with
 * the session's DELE marks. Message n is slot n-1 for the whole session:
 * numbers never shift, and mail that arrives meanwhile is seen at the next
 * login. Plain data; the session does all I/O.
 */
import type { FolderView } from '../mailbox-port.js';

export type Lookup = { ok: true; slot: number } | { ok: false; why: 'no-such-message' | 'deleted' };

export class Maildrop {
  readonly owner: string;
  /** Gives the maildrop lock back; idempotent. */
  readonly release: () => void;
  private readonly uidValidity: number;
  private readonly uids: Uint32Array;
  private readonly sizes: Uint32Array;
  private readonly deleted: Uint8Array;
  /** Slots fetched with RETR (\Seen is set on them when the session ends). */
  private readonly retrieved: Uint8Array;

  /** Copies what it needs: the folder view changes under us as mail arrives. */
  constructor(owner: string, inbox: Pick<FolderView, 'uidValidity' | 'uids' | 'size' | 'count'>, release: () => void) {
    this.owner = owner;
    this.release = release;
    this.uidValidity = inbox.uidValidity;
    this.uids = inbox.uids.slice(0, inbox.count);
    this.sizes = inbox.size.slice(0, inbox.count);
    this.deleted = new Uint8Array(inbox.count);
    this.retrieved = new Uint8Array(inbox.count);
  }

  /** Messages at login, deleted ones included. */
  get messages(): number {
    return this.uids.length;
  }

  lookup(msg: number): Lookup {
    if (!Number.isInteger(msg) || msg < 1 || msg > this.uids.length) return { ok: false, why: 'no-such-message' };
    if (this.deleted[msg - 1]) return { ok: false, why: 'deleted' };
    return { ok: true, slot: msg - 1 };
  }

  uid(slot: number): number {
    return this.uids[slot]!;
  }

  /** Size as stored (what LIST and RETR report; the store keeps CRLF line endings from SMTP). */
  octets(slot: number): number {
    return this.sizes[slot]!;
  }

  /**
   * UIDL (RFC 1939 §7): "uidValidity.uid", digits and one dot — within the
   * allowed 1–70 characters of 0x21–0x7E. Stable across sessions and
   * restarts (both numbers are in the log); if INBOX were ever recreated its
   * uidValidity would change, so an id can never come back for another message.
   */
  uniqueId(slot: number): string {
    return `${this.uidValidity}.${this.uids[slot]}`;
  }

  /** Messages and octets not marked deleted (STAT, RSET, the login reply). */
  totals(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (let i = 0; i < this.uids.length; i++) {
      if (this.deleted[i]) continue;
      count++;
      octets += this.sizes[i]!;
    }
    return { count, octets };
  }

  /** "n octets" for every message not deleted (LIST). */
  scanListing(): string[] {
    return this.live((i) => `${i + 1} ${this.sizes[i]}`);
  }

  /** "n unique-id" for every message not deleted (UIDL). */
  uidListing(): string[] {
    return this.live((i) => `${i + 1} ${this.uniqueId(i)}`);
  }

  markDeleted(slot: number): void {
    this.deleted[slot] = 1;
  }

  markRetrieved(slot: number): void {
    this.retrieved[slot] = 1;
  }

  /** RSET: every DELE undone. */
  reset(): void {
    this.deleted.fill(0);
  }

  /** What UPDATE removes. */
  deletedUids(): number[] {
    return this.live((i) => this.uids[i]!, true);
  }

  /** What gets \Seen: retrieved and not being deleted. */
  seenUids(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.uids.length; i++) if (this.retrieved[i] && !this.deleted[i]) out.push(this.uids[i]!);
    return out;
  }

  private live<T>(f: (slot: number) => T, deleted = false): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.uids.length; i++) if (Boolean(this.deleted[i]) === deleted) out.push(f(i));
    return out;
  }
}
