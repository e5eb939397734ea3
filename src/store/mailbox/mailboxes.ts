/**
 * All folders of all users, and the one function that turns a log record into
 * an index change (`apply`). Recovery replays the log through `apply`, and the
 * live store calls the same `apply` after each record's fsync, so the index is
 * always a function of the log.
 */
import type { Location } from '../log/log.js';
import { RecordType } from '../log/record.js';
import { FolderIndex } from './folder-index.js';

/** Record metas (msgpack payloads). Short keys: they are written once per record. */
export interface MessageMeta {
  /** placements, flattened: box, uid, box, uid, … */
  p: number[];
  /** internal date, ms */
  d: number;
  /** raw size, bytes */
  s: number;
  /** flags at delivery/APPEND */
  f?: string[];
}
export interface FlagsMeta {
  x: number;
  o: '+' | '-' | '=';
  f: string[];
  u: number[];
}
export interface ExpungeMeta {
  x: number;
  u: number[];
}
export interface FolderCreateMeta {
  x: number;
  o: string;
  n: string;
  v: number;
}
export interface FolderRenameMeta {
  x: number;
  n: string;
}
export interface FolderDeleteMeta {
  x: number;
}
export interface FolderSubscribeMeta {
  x: number;
  s: boolean;
}

export type Change =
  | { kind: 'added'; box: number; uids: number[] }
  | { kind: 'flags'; box: number; uids: number[] }
  | { kind: 'expunged'; box: number; uids: number[] }
  | { kind: 'folders'; owner: string };

/** IMAP: INBOX is case-insensitive; every other name is case-sensitive. */
export function folderKey(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

export class Mailboxes {
  readonly folders = new Map<number, FolderIndex>();
  private readonly owners = new Map<string, Map<string, FolderIndex>>();
  nextBox = 1;
  private listeners: ((c: Change) => void)[] = [];

  onChange(listener: (c: Change) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private emit(c: Change): void {
    for (const l of this.listeners) l(c);
  }

  folder(owner: string, name: string): FolderIndex | undefined {
    return this.owners.get(owner)?.get(folderKey(name));
  }

  foldersOf(owner: string): FolderIndex[] {
    return [...(this.owners.get(owner)?.values() ?? [])];
  }

  ownerList(): string[] {
    return [...this.owners.keys()];
  }

  /** Registers a folder object (from a checkpoint, or from a create record). */
  register(folder: FolderIndex): void {
    this.folders.set(folder.box, folder);
    let byName = this.owners.get(folder.owner);
    if (!byName) this.owners.set(folder.owner, (byName = new Map()));
    byName.set(folderKey(folder.name), folder);
    if (folder.box >= this.nextBox) this.nextBox = folder.box + 1;
  }

  /**
   * Applies one record. `reserved` supplies folder objects created ahead of
   * their record by the live store (uids were assigned from them); replay
   * passes nothing and builds them from the record.
   */
  apply(type: number, meta: unknown, loc: Location, reserved?: FolderIndex): void {
    switch (type) {
      case RecordType.message: {
        const m = meta as MessageMeta;
        let touched: Map<number, number[]> | null = null;
        for (let i = 0; i + 1 < m.p.length; i += 2) {
          const folder = this.folders.get(m.p[i]!);
          if (!folder) continue; // folder deleted after the message was queued
          const uid = m.p[i + 1]!;
          folder.put(uid, loc, m.s, m.d, m.f ? (folder.mask(m.f) ?? 0) : 0);
          if (this.listeners.length === 0) continue;
          touched ??= new Map();
          const list = touched.get(folder.box);
          if (list) list.push(uid);
          else touched.set(folder.box, [uid]);
        }
        if (touched) for (const [box, uids] of touched) this.emit({ kind: 'added', box, uids });
        return;
      }
      case RecordType.flags: {
        const m = meta as FlagsMeta;
        const folder = this.folders.get(m.x);
        if (!folder) return;
        const bits = folder.mask(m.f) ?? 0;
        const changed: number[] = [];
        for (const uid of m.u) {
          const i = folder.indexOf(uid);
          if (i < 0) continue;
          const old = folder.flags[i]!;
          const next = m.o === '+' ? old | bits : m.o === '-' ? old & ~bits : bits;
          if (next >>> 0 !== old) {
            folder.flags[i] = next >>> 0;
            changed.push(uid);
          }
        }
        if (changed.length) this.emit({ kind: 'flags', box: folder.box, uids: changed });
        return;
      }
      case RecordType.expunge: {
        const m = meta as ExpungeMeta;
        const folder = this.folders.get(m.x);
        if (!folder) return;
        const removed = folder.remove(m.u);
        if (removed.length) this.emit({ kind: 'expunged', box: folder.box, uids: removed });
        return;
      }
      case RecordType.folderCreate: {
        const m = meta as FolderCreateMeta;
        if (this.folders.has(m.x)) return;
        const folder = reserved ?? new FolderIndex({ box: m.x, owner: m.o, name: m.n, uidValidity: m.v, uidNext: 1, subscribed: true, keywords: [] });
        this.register(folder);
        this.emit({ kind: 'folders', owner: m.o });
        return;
      }
      case RecordType.folderRename: {
        const m = meta as FolderRenameMeta;
        const folder = this.folders.get(m.x);
        if (!folder) return;
        this.owners.get(folder.owner)?.delete(folderKey(folder.name));
        folder.name = m.n;
        this.owners.get(folder.owner)?.set(folderKey(m.n), folder);
        this.emit({ kind: 'folders', owner: folder.owner });
        return;
      }
      case RecordType.folderDelete: {
        const m = meta as FolderDeleteMeta;
        const folder = this.folders.get(m.x);
        if (!folder) return;
        this.folders.delete(m.x);
        this.owners.get(folder.owner)?.delete(folderKey(folder.name));
        this.emit({ kind: 'folders', owner: folder.owner });
        return;
      }
      case RecordType.folderSubscribe: {
        const m = meta as FolderSubscribeMeta;
        const folder = this.folders.get(m.x);
        if (folder) folder.subscribed = m.s;
        return;
      }
      default:
        // Queue records and future types do not touch mailboxes.
        return;
    }
  }

  /** Total bytes of all folder index arrays. */
  get indexBytes(): number {
    let n = 0;
    for (const f of this.folders.values()) n += f.bytes;
    return n;
  }

  get messageCount(): number {
    let n = 0;
    for (const f of this.folders.values()) n += f.count;
    return n;
  }
}
