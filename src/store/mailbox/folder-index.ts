/**
 * One folder's in-memory index: parallel typed arrays, one slot per message,
 * sorted by UID. Listing, counting and filtering by flag never read a body.
 * Per message: uid, segment, offset, record length, raw size, internal date
 * (seconds) and flags = 7 × 4 bytes, plus growth slack.
 */
import type { Location } from '../log/log.js';

/** System flags as bits; keywords take bits 5..31, allocated per folder in first-use order. */
export const SystemFlags = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
export const FLAG_SEEN = 1;
export const FLAG_DELETED = 8;
const MAX_KEYWORDS = 27;

const FIELDS = ['uids', 'seg', 'off', 'len', 'size', 'date', 'flags'] as const;
type Field = (typeof FIELDS)[number];

export interface FolderMeta {
  box: number;
  owner: string;
  name: string;
  uidValidity: number;
  uidNext: number;
  subscribed: boolean;
  keywords: string[];
}

export class FolderIndex implements FolderMeta {
  box: number;
  owner: string;
  name: string;
  uidValidity: number;
  uidNext: number;
  subscribed: boolean;
  keywords: string[];
  count = 0;
  uids: Uint32Array;
  seg: Uint32Array;
  off: Uint32Array;
  len: Uint32Array;
  size: Uint32Array;
  date: Uint32Array;
  flags: Uint32Array;

  /** Empty folders hold no arrays worth mentioning: most users have four of them (Sent, Drafts, Trash, Junk). */
  constructor(meta: FolderMeta, capacity = 0) {
    this.box = meta.box;
    this.owner = meta.owner;
    this.name = meta.name;
    this.uidValidity = meta.uidValidity;
    this.uidNext = meta.uidNext;
    this.subscribed = meta.subscribed;
    this.keywords = [...meta.keywords];
    this.uids = new Uint32Array(capacity);
    this.seg = new Uint32Array(capacity);
    this.off = new Uint32Array(capacity);
    this.len = new Uint32Array(capacity);
    this.size = new Uint32Array(capacity);
    this.date = new Uint32Array(capacity);
    this.flags = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.uids.length;
  }

  /** Bytes held by the typed arrays (what "index bytes per message" measures). */
  get bytes(): number {
    return this.capacity * 4 * FIELDS.length;
  }

  /** Slot of `uid`, or -1. */
  indexOf(uid: number): number {
    let lo = 0;
    let hi = this.count - 1;
    const uids = this.uids;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = uids[mid]!;
      if (v === uid) return mid;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Inserts (or relocates, when the uid is present) a message. Appends are O(1); out-of-order uids are rare (replay of rewritten records). */
  put(uid: number, loc: Location, size: number, dateMs: number, flagBits: number): void {
    const existing = this.indexOf(uid);
    if (existing >= 0) {
      this.seg[existing] = loc.seg;
      this.off[existing] = loc.off;
      this.len[existing] = loc.len;
      return;
    }
    if (this.count === this.capacity) this.grow(Math.max(8, Math.ceil(this.capacity * 1.5)));
    let at = this.count;
    if (at > 0 && this.uids[at - 1]! > uid) {
      at = this.lowerBound(uid);
      for (const f of FIELDS) this[f].copyWithin(at + 1, at, this.count);
    }
    this.uids[at] = uid;
    this.seg[at] = loc.seg;
    this.off[at] = loc.off;
    this.len[at] = loc.len;
    this.size[at] = size;
    this.date[at] = Math.floor(dateMs / 1000);
    this.flags[at] = flagBits;
    this.count++;
    if (uid >= this.uidNext) this.uidNext = uid + 1;
  }

  /** Removes the given uids (any order; unknown ones ignored) in one pass; returns the uids removed. */
  remove(uids: Iterable<number>): number[] {
    const doomed = new Set<number>();
    for (const u of uids) {
      if (this.indexOf(u) >= 0) doomed.add(u);
      if (u >= this.uidNext) this.uidNext = u + 1;
    }
    if (doomed.size === 0) return [];
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      if (doomed.has(this.uids[r]!)) continue;
      if (w !== r) for (const f of FIELDS) this[f][w] = this[f][r]!;
      w++;
    }
    this.count = w;
    if (this.capacity > 64 && w < this.capacity / 4) this.grow(Math.max(8, w * 2));
    return [...doomed].sort((a, b) => a - b);
  }

  /** Bits for flag names, allocating keyword bits as needed; null when the folder has no room for another keyword. */
  mask(names: readonly string[]): number | null {
    let bits = 0;
    for (const name of names) {
      const sys = SystemFlags.findIndex((s) => s.toLowerCase() === name.toLowerCase());
      if (sys >= 0) {
        bits |= 1 << sys;
        continue;
      }
      if (name.startsWith('\\')) continue; // \Recent and unknown system flags are not stored
      let k = this.keywords.findIndex((kw) => kw.toLowerCase() === name.toLowerCase());
      if (k < 0) {
        if (this.keywords.length >= MAX_KEYWORDS) return null;
        this.keywords.push(name);
        k = this.keywords.length - 1;
      }
      bits |= 1 << (SystemFlags.length + k);
    }
    return bits >>> 0;
  }

  /** True when `mask(names)` would succeed (room for any new keywords), without allocating. */
  canMask(names: readonly string[]): boolean {
    const fresh = new Set<string>();
    for (const name of names) {
      if (name.startsWith('\\')) continue;
      const lower = name.toLowerCase();
      if (!this.keywords.some((kw) => kw.toLowerCase() === lower)) fresh.add(lower);
    }
    return this.keywords.length + fresh.size <= MAX_KEYWORDS;
  }

  flagNames(bits: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < SystemFlags.length; i++) if (bits & (1 << i)) out.push(SystemFlags[i]!);
    for (let k = 0; k < this.keywords.length; k++) if (bits & (1 << (SystemFlags.length + k))) out.push(this.keywords[k]!);
    return out;
  }

  /** Number of messages with all bits of `mask` set (or, with `invert`, with none of them). */
  countFlag(mask: number, invert = false): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const has = (this.flags[i]! & mask) === mask;
      if (has !== invert) n++;
    }
    return n;
  }

  location(i: number): Location {
    return { seg: this.seg[i]!, off: this.off[i]!, len: this.len[i]! };
  }

  meta(): FolderMeta {
    return { box: this.box, owner: this.owner, name: this.name, uidValidity: this.uidValidity, uidNext: this.uidNext, subscribed: this.subscribed, keywords: [...this.keywords] };
  }

  /** Raw arrays trimmed to `count`, for checkpoints. */
  columns(): Record<Field, Uint32Array> {
    const out = {} as Record<Field, Uint32Array>;
    for (const f of FIELDS) out[f] = this[f].subarray(0, this.count);
    return out;
  }

  static fromColumns(meta: FolderMeta, count: number, columns: Record<Field, Uint8Array>): FolderIndex {
    const folder = new FolderIndex(meta, count);
    for (const f of FIELDS) {
      const bytes = columns[f];
      // Copy into a fresh, aligned Uint32Array (decoded buffers may be unaligned views).
      new Uint8Array(folder[f].buffer).set(bytes.subarray(0, count * 4));
    }
    folder.count = count;
    return folder;
  }

  private grow(capacity: number): void {
    for (const f of FIELDS) {
      const next = new Uint32Array(capacity);
      next.set(this[f].subarray(0, Math.min(this.count, capacity)));
      this[f] = next;
    }
  }

  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export const FOLDER_FIELDS = FIELDS;
export type FolderField = Field;
