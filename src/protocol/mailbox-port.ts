import type { MimeInfo } from '../codec/mime/index.js';

/**
 * What the POP3 and IMAP sessions need from the store, as one port injected
 * by the composition root (the sessions never import src/store). The store
 * satisfies it structurally; see src/main.ts.
 *
 * Mailbox owners are lower-case addresses; folder names are IMAP names
 * (INBOX case-insensitive, the rest case-sensitive, '/' as the hierarchy
 * delimiter). Every write resolves after its record is fsynced.
 */

/**
 * A live, read-only view of one folder's index. Slot i (0-based, in UID
 * order) holds one message. Views change under the caller as records are
 * applied: sessions copy what they must keep stable (their sequence-number
 * map) and look messages up by UID with `indexOf`.
 */
export interface FolderView {
  readonly owner: string;
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly count: number;
  readonly uids: Uint32Array;
  /** Raw message size in octets, as stored (Received header included). */
  readonly size: Uint32Array;
  /** INTERNALDATE, seconds since the epoch. */
  readonly date: Uint32Array;
  /** Flag bits: FLAG_* below, keywords from bit 5 on (see flagNames). */
  readonly flags: Uint32Array;
  readonly keywords: readonly string[];
  /** Slot of `uid`, or -1. */
  indexOf(uid: number): number;
  flagNames(bits: number): string[];
}

export const FLAG_BITS = { seen: 1, answered: 2, flagged: 4, deleted: 8, draft: 16 } as const;

/** Messages read together by readMessageBatch, in the order asked. */
export interface MessageBatch {
  readonly length: number;
  /**
   * Message k: null when it is not in the folder. Decoded on first use,
   * together with up to `run` - 1 undecoded messages after it (one native
   * decompression call for the run). Throws for a damaged record: only that
   * message fails, the others of the batch stay readable.
   */
  body(k: number, run?: number): Buffer | null;
}

export interface FolderListing {
  name: string;
  subscribed: boolean;
}

/** One store change, as the store's onChange reports it (`box` identifies a folder; see boxOf). */
export type MailboxChange =
  | { kind: 'added'; box: number; uids: number[] }
  | { kind: 'flags'; box: number; uids: number[] }
  | { kind: 'expunged'; box: number; uids: number[] }
  | { kind: 'folders'; owner: string };

export interface AppendInput {
  recipients: string[];
  folder: string;
  body: Buffer;
  flags?: string[];
  /** ms since the epoch; default now. */
  internalDate?: number;
}

export interface MailboxPort {
  /** Creates the default folders (INBOX, Sent, Drafts, Trash, Junk) if the user has none yet. */
  ensureUser(owner: string): Promise<void>;
  listFolders(owner: string): FolderListing[];
  folder(owner: string, name: string): (FolderView & { box: number }) | undefined;
  createFolder(owner: string, name: string): Promise<void>;
  deleteFolder(owner: string, name: string): Promise<void>;
  renameFolder(owner: string, from: string, to: string): Promise<void>;
  subscribe(owner: string, name: string, subscribed: boolean): Promise<void>;
  /** op '+' adds, '-' removes, '=' replaces. Unknown uids are ignored. */
  setFlags(owner: string, name: string, uids: number[], op: '+' | '-' | '=', flags: string[]): Promise<void>;
  /** Removes the given uids (all \Deleted ones when omitted); resolves with the uids removed, ascending. */
  expunge(owner: string, name: string, uids?: number[]): Promise<number[]>;
  /** Copies messages (flags kept); resolves with [source uid, new uid] pairs. */
  copy(owner: string, from: string, uids: number[], toOwner: string, to: string): Promise<[number, number][]>;
  /** APPEND: stores a message into a folder; resolves with the new uid placements. */
  deliver(input: AppendInput): Promise<{ address: string; folder: string; uid: number }[]>;
  /** The raw message, checksum-verified. */
  readMessage(owner: string, name: string, uid: number): Promise<Buffer>;
  /**
   * Many raw messages at once, in the order asked (null: not in the folder).
   * Reads neighbouring records together; ask for a few hundred at a time.
   */
  readMessages(owner: string, name: string, uids: readonly number[]): Promise<(Buffer | null)[]>;
  /**
   * readMessages with the decoding left to the caller: the records are read
   * (coalesced preads) and each body is checked and decompressed only when
   * first asked for, so a reader can spread the work over its idle moments.
   */
  readMessageBatch(owner: string, name: string, uids: readonly number[]): Promise<MessageBatch>;
  /** The MIME structures (ENVELOPE/BODYSTRUCTURE material) stored at delivery; no body is read or parsed. */
  readMimeInfo(owner: string, name: string, uids: readonly number[]): Promise<(MimeInfo | null)[]>;
  onChange(listener: (change: MailboxChange) => void): () => void;
}
