/**
 * The selected-folder state of one IMAP session: its own message sequence
 * (msn → uid), which may lag behind the live folder, and the changes other
 * sessions and deliveries made that this client has not been told about.
 *
 * Why a separate sequence: message sequence numbers shift when a message is
 * expunged, and a client may only learn of that from an EXPUNGE response
 * sent at a moment RFC 3501 §7.4.1 allows (a command in progress that is not
 * FETCH, STORE or SEARCH; or IDLE). Until then the session keeps numbering
 * as the client does, so the live folder (a FolderView the store updates
 * under us) is only consulted for flags, sizes and dates, by UID.
 *
 * sync() turns what is pending into untagged responses and applies them to
 * the sequence, in the order a client must see them:
 *   * FLAGS (when a keyword was added to the folder)
 *   * n EXPUNGE    (only when allowed; highest first, so no number shifts under the next one)
 *   * n EXISTS / * n RECENT   (new messages appended at the end)
 *   * n FETCH (UID u FLAGS (...))   (flag changes)
 *
 * \Recent is session-local (documented choice): a message is recent to this
 * session when its UID is at least `recentFrom` — the UID after the last
 * message the session knew of when it last had this folder selected, or
 * after the last message present at its first SELECT. So a message that
 * arrives while the folder is selected is \Recent here, and stays so until
 * the session selects the folder again; no other session's SELECT clears
 * it, and nothing about it is stored. (RFC 3501's "first session to see it"
 * rule needs shared, persistent state for a flag IMAP4rev2 dropped.)
 */
import { messageNumbers, resolveSequenceSet, type SequenceSet } from '../../codec/imap/index.js';
import type { FolderView, MailboxChange } from '../mailbox-port.js';
import { IMAP_LIMITS } from './limits.js';
import { Untagged } from './responses.js';

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

export interface SelectOptions {
  owner: string;
  name: string;
  box: number;
  readOnly: boolean;
  /** UID from which messages count as \Recent; see the module comment. */
  recentFrom: number;
}

export class SelectedFolder {
  readonly owner: string;
  /** The folder's current name (another session may rename it; the session updates this). */
  name: string;
  readonly box: number;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  readonly live: FolderView;
  readonly recentFrom: number;
  /** This session's sequence: message n is view[n - 1]; ascending. */
  private view: Uint32Array;
  private n: number;
  private readonly expunged = new Set<number>();
  private readonly flagChanges = new Set<number>();
  private added = false;
  private keywordCount: number;
  /** FLAGS text by flag bits (×2, +1 when \Recent); cleared when the keyword list grows. */
  private flagText = new Map<number, string>();
  private flagTextKeywords: number;

  constructor(live: FolderView, options: SelectOptions) {
    this.live = live;
    this.owner = options.owner;
    this.name = options.name;
    this.box = options.box;
    this.readOnly = options.readOnly;
    this.uidValidity = live.uidValidity;
    this.recentFrom = options.recentFrom;
    this.n = live.count;
    this.view = live.uids.slice(0, live.count);
    this.keywordCount = live.keywords.length;
    this.flagTextKeywords = this.keywordCount;
  }

  /** Messages in this session's sequence (what the last EXISTS said, less announced expunges). */
  get count(): number {
    return this.n;
  }

  uidAt(msn: number): number {
    return this.view[msn - 1]!;
  }

  /** Sequence number of `uid`, or 0 when it is not in this session's sequence. */
  msnOf(uid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    const v = this.view;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const x = v[mid]!;
      if (x === uid) return mid + 1;
      if (x < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The UID the next \Recent window starts at when this folder is selected again. */
  get nextRecentFrom(): number {
    return Math.max(this.recentFrom, this.n > 0 ? this.view[this.n - 1]! + 1 : 0);
  }

  isRecent(uid: number): boolean {
    return uid >= this.recentFrom;
  }

  recentCount(): number {
    // The sequence is ascending: count the tail at or above recentFrom.
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.view[mid]! < this.recentFrom) lo = mid + 1;
      else hi = mid;
    }
    return this.n - lo;
  }

  /** First message without \Seen (for SELECT's [UNSEEN n]), or 0. */
  firstUnseen(): number {
    const slots = this.liveSlots();
    for (let i = 0; i < this.n; i++) {
      const s = slots[i]!;
      if (s >= 0 && (this.live.flags[s]! & 1) === 0) return i + 1;
    }
    return 0;
  }

  /**
   * For each message of the sequence, its slot in the live folder (-1 when
   * it was expunged there and the client has not been told yet). One merge
   * walk over two ascending arrays: O(n), no per-message search.
   */
  liveSlots(): Int32Array {
    const out = new Int32Array(this.n);
    const liveUids = this.live.uids;
    const liveCount = this.live.count;
    let j = 0;
    for (let i = 0; i < this.n; i++) {
      const uid = this.view[i]!;
      while (j < liveCount && liveUids[j]! < uid) j++;
      out[i] = j < liveCount && liveUids[j] === uid ? j : -1;
    }
    return out;
  }

  /**
   * Sequence slots (0-based) named by a FETCH/STORE/... set: message numbers,
   * or UIDs with `uid`. null: a message number past the end (RFC 3501 §9
   * wants BAD). UIDs not in the sequence are simply absent (§6.4.8).
   */
  resolve(set: SequenceSet, uid: boolean): number[] | null {
    const out: number[] = [];
    if (!uid) {
      const intervals = messageNumbers(set, this.n);
      if (intervals === null) return null;
      for (const [lo, hi] of intervals) for (let m = lo; m <= hi; m++) out.push(m - 1);
      return out;
    }
    if (this.n === 0) return out;
    for (const [lo, hi] of resolveSequenceSet(set, this.view[this.n - 1]!)) {
      let i = Math.max(0, this.msnOfAtLeast(lo) - 1);
      for (; i < this.n && this.view[i]! <= hi; i++) out.push(i);
    }
    return out;
  }

  /** 1 + the slot of the first UID >= uid (n + 1 when none). */
  private msnOfAtLeast(uid: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.view[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  /** A store change; true when it concerns this folder (something is now pending). */
  onChange(change: MailboxChange): boolean {
    if (change.kind === 'folders' || change.box !== this.box) return false;
    switch (change.kind) {
      case 'added':
        this.added = true;
        return true;
      case 'flags':
        for (const uid of change.uids) this.flagChanges.add(uid);
        return true;
      case 'expunged':
        for (const uid of change.uids) {
          this.expunged.add(uid);
          this.flagChanges.delete(uid);
        }
        return true;
    }
  }

  /** Something waits to be told; `withExpunges`: counting pending EXPUNGEs too. */
  hasPending(withExpunges: boolean): boolean {
    return this.added || this.flagChanges.size > 0 || this.live.keywords.length !== this.keywordCount || (withExpunges && this.expunged.size > 0);
  }

  /** The session itself reported these messages' flags (STORE, FETCH setting \Seen): no unsolicited FETCH for them. */
  forgetFlagChanges(uids: Iterable<number>): void {
    if (this.flagChanges.size === 0) return;
    for (const uid of uids) this.flagChanges.delete(uid);
  }

  /** The FLAGS list text of a message, `(\Seen \Recent kw)`. */
  flagsOf(bits: number, uid: number): string {
    if (this.live.keywords.length !== this.flagTextKeywords) {
      this.flagText.clear();
      this.flagTextKeywords = this.live.keywords.length;
    }
    const recent = uid >= this.recentFrom;
    const key = bits * 2 + (recent ? 1 : 0);
    let text = this.flagText.get(key);
    if (text === undefined) {
      const names = this.live.flagNames(bits);
      if (recent) names.push('\\Recent');
      text = `(${names.join(' ')})`;
      this.flagText.set(key, text);
    }
    return text;
  }

  /** The FLAGS response list: system flags and the folder's keywords. */
  flagList(): string[] {
    return [...SYSTEM_FLAGS, ...this.live.keywords];
  }

  /** PERMANENTFLAGS: what STORE may set; \* while keyword slots are free; nothing when read-only. */
  permanentFlags(): string[] {
    if (this.readOnly) return [];
    const flags = this.flagList();
    if (this.live.keywords.length < IMAP_LIMITS.keywordSlots) flags.push('\\*');
    return flags;
  }

  /** FLAGS and PERMANENTFLAGS again when the folder gained a keyword since we last said them (before any FETCH that shows it). */
  announceKeywords(): string {
    if (this.live.keywords.length === this.keywordCount) return '';
    this.keywordCount = this.live.keywords.length;
    return Untagged.flags(this.flagList()) + (this.readOnly ? '' : Untagged.permanentFlags(this.permanentFlags()));
  }

  /**
   * The untagged responses that bring the client up to date, applied to the
   * sequence as they are produced (see the module comment). `allowExpunge`
   * false leaves expunged messages in the sequence, still numbered.
   */
  sync(allowExpunge: boolean): string {
    let out = this.announceKeywords();
    if (allowExpunge && this.expunged.size > 0) out += this.applyExpunges();
    if (this.added) {
      this.added = false;
      const before = this.n;
      this.appendNew();
      if (this.n !== before) out += Untagged.exists(this.n) + Untagged.recent(this.recentCount());
    }
    if (this.flagChanges.size > 0) {
      const uids = [...this.flagChanges].sort((a, b) => a - b);
      this.flagChanges.clear();
      for (const uid of uids) {
        const msn = this.msnOf(uid);
        const slot = msn === 0 ? -1 : this.live.indexOf(uid);
        if (slot >= 0) out += Untagged.fetchFlags(msn, this.flagsOf(this.live.flags[slot]!, uid), uid);
      }
    }
    return out;
  }

  private applyExpunges(): string {
    const gone: number[] = [];
    for (const uid of this.expunged) {
      const msn = this.msnOf(uid);
      if (msn > 0) gone.push(msn);
    }
    this.expunged.clear();
    if (gone.length === 0) return '';
    // Highest first: removing message 7 does not renumber message 3.
    gone.sort((a, b) => b - a);
    let out = '';
    for (const msn of gone) out += Untagged.expunge(msn);
    const drop = new Uint8Array(this.n);
    for (const msn of gone) drop[msn - 1] = 1;
    let w = 0;
    for (let r = 0; r < this.n; r++) if (!drop[r]) this.view[w++] = this.view[r]!;
    this.n = w;
    return out;
  }

  /** Appends the live folder's messages above our highest UID. New messages are at the end of the live folder. */
  private appendNew(): void {
    const last = this.n > 0 ? this.view[this.n - 1]! : 0;
    const liveUids = this.live.uids;
    let i = this.live.count;
    while (i > 0 && liveUids[i - 1]! > last) i--;
    const fresh = this.live.count - i;
    if (fresh === 0) return;
    if (this.n + fresh > this.view.length) {
      const grown = new Uint32Array(Math.max(this.n + fresh, Math.ceil(this.view.length * 1.5), 16));
      grown.set(this.view.subarray(0, this.n));
      this.view = grown;
    }
    this.view.set(liveUids.subarray(i, this.live.count), this.n);
    this.n += fresh;
  }
}
