/**
 * The store: the segmented log plus the mailbox index built from it.
 *
 * Writes go through `Log.append`; each record's index change runs in the
 * record's `apply` callback, after its fsync and in log order, so readers only
 * ever see durable state and a replay rebuilds exactly the same index.
 * Things that must be decided when a write is *queued* (the UID of a new
 * message, the id of a new folder) are taken from the folder objects at that
 * moment; everything else changes only in `apply`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { uncompressSync } from '../core/native.js';
import { PostlineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { WorkerPool } from '../pool/pool.js';
import { loadCheckpoint, encodeCheckpoint, writeCheckpoint } from './checkpoint.js';
import { compactSegments, type CompactionReport } from './compaction.js';
import { lockDataDir, type DirLock } from './lock.js';
import { unpackMeta, unpackMime } from './log/encode.js';
import { parseMessage, type MimeInfo } from '../codec/mime/index.js';
import { Log, type FsyncMode, type Location, type LogFaults } from './log/log.js';
import { readHeader, verifyRecord, RecordType, FLAG_COMPRESSED, RECORD_HEADER_SIZE } from './log/record.js';
import { checkedMessageHeader, decodeMessageRecord, type RecordHeader } from './message-record.js';
import type { Damage } from './log/segment.js';
import { RecordBatch } from './message-batch.js';
import { FLAG_DELETED, FolderIndex } from './mailbox/folder-index.js';
import { Mailboxes, folderKey, type Change, type MessageMeta } from './mailbox/mailboxes.js';
import { QueueIndex, type QueueAttemptMeta, type QueueDoneMeta, type QueueEntryMeta, type QueueItem, type QueueOutcome } from './queue-index.js';

export const DEFAULT_FOLDERS = ['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk'] as const;

/** readMimeInfo: messages parsed in the worker pool (one task) from this many on; fewer are parsed inline. */
const PARSE_IN_POOL_MIN = 16;
/** Parsed MIME structures kept in memory (~1–2 KB each as objects). */
const MIME_CACHE_ENTRIES = 20_000;
const SPECIAL_USE: Record<string, string> = { Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk' };

export interface StoreOptions {
  dataDir: string;
  segmentSize: number;
  fsync: FsyncMode;
  logger: Logger;
  /** A pool to share; without it the store makes its own with `threads`. */
  pool?: WorkerPool;
  threads?: number | 'auto';
  /** Open without locking or writing (CLI export/verify while a server runs). */
  readOnly?: boolean;
  /** Write a checkpoint after this many applied records (default 100,000). */
  checkpointEvery?: number;
  /** Also checkpoint this often when anything changed (default 30 s; 0 = never by timer). */
  checkpointIntervalMs?: number;
  /** Run compaction this often (default 10 min; 0 = only when called). */
  compactionIntervalMs?: number;
  /** After a full disk, try writing again this often (default 5 s). */
  fullDiskRetryMs?: number;
  /** Tests only: simulated write/fsync failures of the log. */
  faults?: LogFaults;
}

export interface Placement {
  address: string;
  folder: string;
  uid: number;
}

export interface DeliverInput {
  recipients: string[];
  body: Uint8Array;
  folder?: string;
  flags?: string[];
  internalDate?: number;
}

export interface QueueEntryInput {
  id: string;
  sender: string | null;
  recipients: string[];
  arrived: number;
  body: Uint8Array;
  /** DSN parameters (RFC 3461) as plain data. */
  dsn?: Record<string, unknown>;
  smtputf8?: boolean;
  body8bit?: boolean;
}

export interface FolderSummary {
  name: string;
  uidValidity: number;
  uidNext: number;
  messages: number;
  unseen: number;
  subscribed: boolean;
  specialUse: string | null;
}

export interface MessageSummary {
  uid: number;
  size: number;
  internalDate: number;
  flags: string[];
}

export interface StoreStats {
  segments: number;
  logBytes: number;
  messages: number;
  folders: number;
  indexBytes: number;
  appends: number;
  fsyncs: number;
}

export interface RecoveryReport {
  checkpoint: string;
  replayedRecords: number;
  damage: Damage[];
  ms: number;
}

export class Store {
  readonly dataDir: string;
  readonly mailboxes = new Mailboxes();
  recovery: RecoveryReport = { checkpoint: 'none', replayedRecords: 0, damage: [], ms: 0 };
  private readonly options: StoreOptions;
  private log!: Log;
  private pool: WorkerPool | null = null;
  private ownsPool = false;
  private lock: DirLock | null = null;
  /** Folders queued for creation whose record is not applied yet (uids may already be taken from them). */
  private readonly reserved = new Map<string, FolderIndex>();
  private folderOps: Promise<unknown> = Promise.resolve();
  private lastUidValidity = 0;
  private appliedSinceCheckpoint = 0;
  private checkpointing: Promise<void> | null = null;
  private compacting: Promise<CompactionReport> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Location of the record applied last (valid inside an append's result callback). */
  private lastLocation: Location | null = null;
  private readonly queue = new QueueIndex();

  private constructor(options: StoreOptions) {
    this.options = options;
    this.dataDir = options.dataDir;
  }

  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(options);
    try {
      await store.init();
    } catch (err) {
      await store.lock?.release();
      if (store.ownsPool) await store.pool?.destroy();
      throw err;
    }
    return store;
  }

  private get checkpointFile(): string {
    return join(this.dataDir, 'index', 'checkpoint');
  }

  private async init(): Promise<void> {
    const started = performance.now();
    const { readOnly = false } = this.options;
    if (!readOnly) {
      await mkdir(join(this.dataDir, 'index'), { recursive: true });
      this.lock = await lockDataDir(this.dataDir);
    }
    if (!readOnly) {
      this.pool = this.options.pool ?? new WorkerPool({ threads: this.options.threads ?? 'auto' });
      this.ownsPool = !this.options.pool;
    }
    this.log = await Log.open({
      dir: join(this.dataDir, 'log'),
      segmentSize: this.options.segmentSize,
      fsync: this.options.fsync,
      pool: this.pool,
      logger: this.options.logger,
      readOnly,
      fullDiskRetryMs: this.options.fullDiskRetryMs,
      faults: this.options.faults,
      onFsync: (records, seconds) => this.notifyFsync(records, seconds),
    });
    if (!readOnly) await this.log.removeTempFiles();

    const cp = await loadCheckpoint(this.checkpointFile, this.log.salt, this.log.segmentList());
    let from = null;
    if ('position' in cp) {
      for (const f of cp.folders) this.mailboxes.register(f);
      if (Array.isArray(cp.extra.queue)) this.queue.restore(cp.extra.queue as QueueItem[]);
      this.mailboxes.nextBox = Math.max(this.mailboxes.nextBox, cp.nextBox);
      from = cp.position;
      this.recovery.checkpoint = `segment ${cp.position.seg} offset ${cp.position.off}`;
    } else {
      this.recovery.checkpoint = cp.reason;
    }
    let replayed = 0;
    const damage = await this.log.replay(from, (seg, header, buf, at) => {
      const meta = unpackMeta(buf.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + header.metaLen));
      const loc = { seg, off: at, len: RECORD_HEADER_SIZE + header.payloadLen };
      if (!this.queue.apply(header.type, meta, loc)) this.mailboxes.apply(header.type, meta, loc);
      replayed++;
    });
    for (const d of damage) this.options.logger.error({ damage: d }, 'log damage found during recovery; damaged records are not served');
    for (const f of this.mailboxes.folders.values()) this.lastUidValidity = Math.max(this.lastUidValidity, f.uidValidity);
    this.recovery = { ...this.recovery, replayedRecords: replayed, damage, ms: performance.now() - started };
    this.appliedSinceCheckpoint = replayed;
    this.options.logger.info(
      { segments: this.log.segmentList().length, messages: this.mailboxes.messageCount, checkpoint: this.recovery.checkpoint, replayedRecords: replayed, damaged: damage.length, ms: Math.round(this.recovery.ms) },
      'store opened',
    );

    if (!readOnly) {
      await this.log.startAppending();
      const interval = this.options.checkpointIntervalMs ?? 30_000;
      if (interval > 0) this.timers.push(setInterval(() => void this.maybeCheckpoint(1), interval).unref());
      const compaction = this.options.compactionIntervalMs ?? 600_000;
      if (compaction > 0) this.timers.push(setInterval(() => void this.compact().catch((err) => this.options.logger.error({ err }, 'compaction failed')), compaction).unref());
    }
  }

  // ---------------------------------------------------------------- events

  onChange(listener: (c: Change) => void): () => void {
    return this.mailboxes.onChange(listener);
  }

  /** /metrics: called after every log fsync with the records it acknowledged and its duration. Returns an unsubscribe function. */
  observeFsync(observer: (records: number, seconds: number) => void): () => void {
    this.fsyncObservers.add(observer);
    return () => void this.fsyncObservers.delete(observer);
  }

  private readonly fsyncObservers = new Set<(records: number, seconds: number) => void>();

  private notifyFsync(records: number, seconds: number): void {
    for (const observe of this.fsyncObservers) {
      try {
        observe(records, seconds);
      } catch (err) {
        // An observer's bug must not fail a write that succeeded.
        this.options.logger.error({ err }, 'fsync observer failed');
      }
    }
  }

  // ---------------------------------------------------------------- writes

  /** Stores one message into a folder (INBOX by default) of each recipient; resolves after fsync. */
  deliver(input: DeliverInput): Promise<Placement[]> {
    // Not async: this is the hot path, and an async wrapper around the
    // append's promise costs extra microtask turns per message.
    try {
      return this.queueDelivery(input);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private queueDelivery(input: DeliverInput): Promise<Placement[]> {
    const folderName = input.folder ?? 'INBOX';
    const owners = input.recipients.length === 1 ? [input.recipients[0]!.toLowerCase()] : [...new Set(input.recipients.map((r) => r.toLowerCase()))];
    const waits: Promise<unknown>[] = [];
    const placements: number[] = [];
    const targets: { address: string; folder: FolderIndex; uid: number }[] = [];
    for (const owner of owners) {
      let folder = this.folderForWrite(owner, folderName);
      if (!folder && folderKey(folderName) === 'INBOX') {
        waits.push(...this.createDefaultFolders(owner));
        folder = this.folderForWrite(owner, folderName);
      }
      if (!folder) throw new PostlineError('ERR_MAILBOX_NOT_FOUND', `no folder ${folderName} for ${owner}`);
      if (input.flags && !folder.canMask(input.flags)) throw new PostlineError('ERR_MAILBOX_INVALID', 'too many keywords in this folder');
      const uid = folder.uidNext++;
      placements.push(folder.box, uid);
      targets.push({ address: owner, folder, uid });
    }
    if (targets.length === 0) return Promise.resolve([]);
    const meta: MessageMeta = { p: placements, d: input.internalDate ?? Date.now(), s: input.body.length };
    if (input.flags && input.flags.length) meta.f = input.flags;
    const done = this.append(RecordType.message, meta as unknown as Record<string, unknown>, input.body, () => {
      const out: Placement[] = [];
      // A folder deleted while the message was queued gets no placement.
      for (const t of targets) if (this.mailboxes.folders.get(t.folder.box) === t.folder) out.push({ address: t.address, folder: t.folder.name, uid: t.uid });
      return out;
    });
    // `done` inside the all(): when a folder write fails, the message's own failure must not go unhandled (a crash).
    return waits.length === 0 ? done : Promise.all([...waits, done]).then(() => done);
  }

  /**
   * Stores a message for remote recipients as a queue entry record (body +
   * envelope), durably. Outbound delivery reads these records; recovery
   * leaves them to the queue.
   */
  enqueue(entry: QueueEntryInput): Promise<Location> {
    const meta: QueueEntryMeta = { i: entry.id, f: entry.sender ?? '', r: entry.recipients, t: entry.arrived, s: entry.body.length };
    if (entry.dsn) meta.n = entry.dsn;
    if (entry.smtputf8) meta.u = 1;
    if (entry.body8bit) meta.b = 1;
    return this.append(RecordType.queueEntry, meta as unknown as Record<string, unknown>, entry.body, () => this.lastLocation!);
  }

  /** Undelivered queued messages (a snapshot). */
  queueItems(): QueueItem[] {
    return this.queue.snapshot();
  }

  queueItem(id: string): QueueItem | undefined {
    return this.queue.get(id);
  }

  /** Records a delivery attempt that left recipients pending (temporary failures), with the next attempt time. */
  recordQueueAttempt(id: string, attempts: number, nextAttempt: number, errors: [recipient: string, text: string][]): Promise<void> {
    const meta: QueueAttemptMeta = { i: id, a: attempts, x: nextAttempt, e: errors };
    return this.append(RecordType.queueAttempt, meta as unknown as Record<string, unknown>, null, () => undefined);
  }

  /** Records final outcomes (delivered, bounced, deleted) for some recipients; the entry is gone once all have one. */
  recordQueueDone(id: string, outcomes: [recipient: string, outcome: QueueOutcome, text: string][]): Promise<void> {
    const meta: QueueDoneMeta = { i: id, r: outcomes };
    return this.append(RecordType.queueDone, meta as unknown as Record<string, unknown>, null, () => undefined);
  }

  /** The queued message's bytes, checksum-verified. */
  async readQueueBody(id: string): Promise<Buffer> {
    const item = this.queue.get(id);
    if (!item) throw new PostlineError('ERR_MESSAGE_NOT_FOUND', `no queued message ${id}`);
    const loc = item.loc;
    const buf = await this.log.read(loc);
    const header = readHeader(buf, 0);
    if (typeof header === 'string' || header.type !== RecordType.queueEntry || RECORD_HEADER_SIZE + header.payloadLen !== loc.len || !verifyRecord(buf, 0, header, this.log.salt)) {
      throw new PostlineError('ERR_STORE_CRC', `queue record at segment ${loc.seg} offset ${loc.off} failed its checksum`);
    }
    const meta = unpackMeta<QueueEntryMeta>(buf.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + header.metaLen));
    if (meta.i !== id) throw new PostlineError('ERR_STORE_CORRUPT', `record at segment ${loc.seg} offset ${loc.off} is not queued message ${id}`);
    const blob = buf.subarray(RECORD_HEADER_SIZE + header.metaLen);
    const body = header.flags & FLAG_COMPRESSED ? uncompressSync(blob) : Buffer.from(blob);
    if (body.length !== meta.s) throw new PostlineError('ERR_STORE_CORRUPT', `queued message ${id}: size mismatch after decompression`);
    return body;
  }

  /** Creates the default folders of a user who has none yet. */
  async ensureUser(owner: string): Promise<void> {
    await Promise.all(this.createDefaultFolders(owner.toLowerCase()));
  }

  private createDefaultFolders(owner: string): Promise<unknown>[] {
    const waits: Promise<unknown>[] = [];
    for (const name of DEFAULT_FOLDERS) if (!this.folderForWrite(owner, name)) waits.push(this.queueFolderCreate(owner, name));
    return waits;
  }

  private folderForWrite(owner: string, name: string): FolderIndex | undefined {
    return this.mailboxes.folder(owner, name) ?? this.reserved.get(`${owner}\u0000${folderKey(name)}`);
  }

  private queueFolderCreate(owner: string, name: string): Promise<FolderIndex> {
    const box = this.mailboxes.nextBox++;
    this.lastUidValidity = Math.max(this.lastUidValidity + 1, Math.floor(Date.now() / 1000));
    const folder = new FolderIndex({ box, owner, name: folderKey(name), uidValidity: this.lastUidValidity, uidNext: 1, subscribed: true, keywords: [] });
    const key = `${owner}\u0000${folderKey(name)}`;
    this.reserved.set(key, folder);
    return this.append(RecordType.folderCreate, { x: box, o: owner, n: folder.name, v: folder.uidValidity }, null, () => folder, folder).finally(() => {
      if (this.reserved.get(key) === folder) this.reserved.delete(key);
    });
  }

  /** Folder structure changes run one at a time: validation sees every earlier change applied. */
  private serialFolderOp<T>(op: () => Promise<T>): Promise<T> {
    const run = this.folderOps.then(op, op);
    this.folderOps = run.catch(() => {});
    return run;
  }

  createFolder(owner: string, name: string): Promise<void> {
    return this.serialFolderOp(async () => {
      owner = owner.toLowerCase();
      validateFolderName(name);
      if (this.folderForWrite(owner, name)) throw new PostlineError('ERR_MAILBOX_EXISTS', `folder ${name} exists`);
      await this.queueFolderCreate(owner, name);
    });
  }

  deleteFolder(owner: string, name: string): Promise<void> {
    return this.serialFolderOp(async () => {
      owner = owner.toLowerCase();
      if (folderKey(name) === 'INBOX') throw new PostlineError('ERR_MAILBOX_INVALID', 'INBOX cannot be deleted');
      const folder = this.requireFolder(owner, name);
      await this.append(RecordType.folderDelete, { x: folder.box }, null, () => undefined);
    });
  }

  renameFolder(owner: string, from: string, to: string): Promise<void> {
    return this.serialFolderOp(async () => {
      owner = owner.toLowerCase();
      validateFolderName(to);
      if (folderKey(from) === 'INBOX') throw new PostlineError('ERR_MAILBOX_INVALID', 'INBOX cannot be renamed here');
      const folder = this.requireFolder(owner, from);
      if (this.folderForWrite(owner, to)) throw new PostlineError('ERR_MAILBOX_EXISTS', `folder ${to} exists`);
      await this.append(RecordType.folderRename, { x: folder.box, n: to }, null, () => undefined);
    });
  }

  subscribe(owner: string, name: string, subscribed: boolean): Promise<void> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    return this.append(RecordType.folderSubscribe, { x: folder.box, s: subscribed }, null, () => undefined);
  }

  /** Changes flags: '+' adds, '-' removes, '=' replaces. Resolves after fsync. */
  async setFlags(owner: string, name: string, uids: number[], op: '+' | '-' | '=', flags: string[]): Promise<void> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    if (!folder.canMask(flags)) throw new PostlineError('ERR_MAILBOX_INVALID', 'too many keywords in this folder');
    if (uids.length === 0) return;
    await this.append(RecordType.flags, { x: folder.box, o: op, f: flags, u: uids }, null, () => undefined);
  }

  /** Removes messages: the given uids, or every message flagged \Deleted. Returns the uids removed. */
  async expunge(owner: string, name: string, uids?: number[]): Promise<number[]> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    const doomed = uids ?? deletedUids(folder);
    if (doomed.length === 0) return [];
    return this.append(RecordType.expunge, { x: folder.box, u: doomed }, null, () => doomed.filter((u) => folder.indexOf(u) < 0));
  }

  /** Copies messages to another folder (of the same or another user); returns [sourceUid, newUid] pairs. */
  async copy(owner: string, from: string, uids: number[], toOwner: string, to: string): Promise<[number, number][]> {
    owner = owner.toLowerCase();
    const src = this.requireFolder(owner, from);
    const jobs = uids
      .map((uid) => ({ uid, i: src.indexOf(uid) }))
      .filter((j) => j.i >= 0)
      .map(async ({ uid, i }) => {
        const flags = src.flagNames(src.flags[i]!);
        const date = src.date[i]! * 1000;
        const body = await this.readMessage(owner, from, uid);
        const [placed] = await this.deliver({ recipients: [toOwner], folder: to, body, flags, internalDate: date });
        return [uid, placed?.uid ?? 0] as [number, number];
      });
    return Promise.all(jobs);
  }

  private append<T>(type: number, meta: Record<string, unknown>, body: Uint8Array | null, result: () => T, reserved?: FolderIndex): Promise<T> {
    if (this.closed) return Promise.reject(new PostlineError('ERR_STORE_CLOSED', 'store is closed'));
    return this.log.append({
      type,
      meta,
      body,
      apply: (loc: Location) => {
        this.lastLocation = loc;
        if (!this.queue.apply(type, meta, loc)) this.mailboxes.apply(type, meta, loc, reserved);
        if (++this.appliedSinceCheckpoint >= (this.options.checkpointEvery ?? 100_000)) void this.maybeCheckpoint(1);
        return result();
      },
    });
  }

  // ---------------------------------------------------------------- reads

  folder(owner: string, name: string): FolderIndex | undefined {
    return this.mailboxes.folder(owner.toLowerCase(), name);
  }

  listFolders(owner: string): FolderSummary[] {
    return this.mailboxes
      .foldersOf(owner.toLowerCase())
      .map((f) => ({
        name: f.name,
        uidValidity: f.uidValidity,
        uidNext: f.uidNext,
        messages: f.count,
        unseen: f.countFlag(1, true),
        subscribed: f.subscribed,
        specialUse: SPECIAL_USE[f.name] ?? null,
      }))
      .sort((a, b) => (a.name === 'INBOX' ? -1 : b.name === 'INBOX' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  listMessages(owner: string, name: string): MessageSummary[] {
    const f = this.requireFolder(owner.toLowerCase(), name);
    const out: MessageSummary[] = [];
    for (let i = 0; i < f.count; i++) out.push({ uid: f.uids[i]!, size: f.size[i]!, internalDate: f.date[i]! * 1000, flags: f.flagNames(f.flags[i]!) });
    return out;
  }

  /** Reads a message body, verifying the record's checksum and identity; damaged records are never returned. */
  async readMessage(owner: string, name: string, uid: number): Promise<Buffer> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    const i = folder.indexOf(uid);
    if (i < 0) throw new PostlineError('ERR_MESSAGE_NOT_FOUND', `no message ${uid} in ${name}`);
    return this.readBody(folder.location(i), folder.box, uid);
  }

  /**
   * Reads many messages of one folder at once (coalesced preads); null for
   * uids that are not (or no longer) in the folder. Bodies are verified like
   * readMessage's.
   */
  async readMessages(owner: string, name: string, uids: readonly number[]): Promise<(Buffer | null)[]> {
    // Decoded here, not in the worker pool: measured on 2 cores, a task per POP3 read-ahead window (64 × 4 KB)
    // made a retrieve-all 1.5–1.7× slower than the ~0.4 ms of checksums and snappy it moved (docs/decisions.md).
    // One native decompression call for the whole batch, not one per message.
    const batch = await this.readMessageBatch(owner, name, uids);
    return uids.map((_, k) => batch.body(k, uids.length));
  }

  /** readMessages, each body checked and decompressed when the caller first asks for it (see MessageBatch). */
  async readMessageBatch(owner: string, name: string, uids: readonly number[]): Promise<RecordBatch> {
    return new RecordBatch(await this.readRecords(owner, name, uids), this.log.salt);
  }

  /**
   * The MIME structure of many messages (ENVELOPE, BODYSTRUCTURE), stored
   * with each message at delivery: no body is decompressed or parsed, except
   * for records written before the structure was stored.
   */
  async readMimeInfo(owner: string, name: string, uids: readonly number[]): Promise<(MimeInfo | null)[]> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    const out: (MimeInfo | null)[] = new Array(uids.length).fill(null);
    const missing: number[] = [];
    uids.forEach((uid, at) => {
      const hit = this.mimeCache.get(`${folder.box}:${uid}`);
      if (hit) out[at] = hit;
      else missing.push(at);
    });
    if (missing.length === 0) return out;
    const records = await this.readRecords(owner, name, missing.map((at) => uids[at]!));
    const toParse: { at: number; body: Buffer }[] = [];
    records.forEach((r, k) => {
      if (!r) return;
      const header = this.checkedHeader(r.buf, r.loc);
      const stored = unpackMime(r.buf.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + header.metaLen));
      if (stored) out[missing[k]!] = stored;
      else toParse.push({ at: missing[k]!, body: this.bodyOf(r.buf, r.loc, r.box, r.uid) });
    });
    const parsed =
      toParse.length >= PARSE_IN_POOL_MIN && this.pool ? await this.pool.run('parseMime', { bodies: toParse.map((t) => t.body) }) : toParse.map((t) => parseMessage(t.body));
    toParse.forEach((t, k) => (out[t.at] = parsed[k]!));
    for (const at of missing) if (out[at]) this.rememberMime(`${folder.box}:${uids[at]}`, out[at]!);
    return out;
  }

  /**
   * MIME structures parsed on first use, kept for the messages clients look
   * at (a box and a uid never name another message, so nothing goes stale).
   * Parsing at delivery instead cost the 1 KB append rate more than half
   * (see docs/decisions.md).
   */
  private readonly mimeCache = new Map<string, MimeInfo>();

  private rememberMime(key: string, info: MimeInfo): void {
    this.mimeCache.set(key, info);
    while (this.mimeCache.size > MIME_CACHE_ENTRIES) this.mimeCache.delete(this.mimeCache.keys().next().value!);
  }

  private async readRecords(owner: string, name: string, uids: readonly number[]): Promise<({ buf: Buffer; loc: Location; box: number; uid: number } | null)[]> {
    const folder = this.requireFolder(owner.toLowerCase(), name);
    const wanted: { at: number; loc: Location; uid: number }[] = [];
    uids.forEach((uid, at) => {
      const i = folder.indexOf(uid);
      if (i >= 0) wanted.push({ at, loc: folder.location(i), uid });
    });
    const bufs = await this.log.readMany(wanted.map((w) => w.loc));
    const out: ({ buf: Buffer; loc: Location; box: number; uid: number } | null)[] = new Array(uids.length).fill(null);
    wanted.forEach((w, k) => {
      out[w.at] = { buf: bufs[k]!, loc: w.loc, box: folder.box, uid: w.uid };
    });
    return out;
  }

  private async readBody(loc: Location, box: number, uid: number): Promise<Buffer> {
    return this.bodyOf(await this.log.read(loc), loc, box, uid);
  }

  private checkedHeader(buf: Buffer, loc: Location): RecordHeader {
    return checkedMessageHeader(buf, loc, this.log.salt);
  }

  private bodyOf(buf: Buffer, loc: Location, box: number, uid: number): Buffer {
    return decodeMessageRecord(buf, loc, this.log.salt, box, uid);
  }

  private requireFolder(owner: string, name: string): FolderIndex {
    const folder = this.mailboxes.folder(owner, name);
    if (!folder) throw new PostlineError('ERR_MAILBOX_NOT_FOUND', `no folder ${name}`);
    return folder;
  }

  // ---------------------------------------------------------------- maintenance

  /** Why appends are refused (a failed write or fsync), or null while the store is writable. */
  get writeFailure(): Error | null {
    if (this.options.readOnly) return new PostlineError('ERR_STORE_CLOSED', 'store opened read-only');
    return this.log.writeFailure;
  }

  stats(): StoreStats {
    return {
      segments: this.log.segmentList().length,
      logBytes: this.log.totalBytes,
      messages: this.mailboxes.messageCount,
      folders: this.mailboxes.folders.size,
      indexBytes: this.mailboxes.indexBytes,
      appends: this.log.stats.appends,
      fsyncs: this.log.stats.fsyncs,
    };
  }

  /** Writes an index checkpoint now (waits for queued writes first). */
  async checkpoint(): Promise<void> {
    if (this.options.readOnly) return;
    await this.maybeCheckpoint(0);
  }

  private maybeCheckpoint(minChanges: number): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    if (this.appliedSinceCheckpoint < minChanges) return Promise.resolve();
    this.checkpointing = (async () => {
      try {
        await this.log.drain();
        const position = this.log.appliedEnd;
        const changes = this.appliedSinceCheckpoint;
        // Synchronous snapshot: nothing is applied between reading the position and copying the index.
        const bytes = encodeCheckpoint(this.mailboxes, position, this.log.salt, this.log.segmentList(), { queue: this.queue.snapshot() });
        this.appliedSinceCheckpoint -= changes;
        await writeCheckpoint(this.checkpointFile, bytes, this.options.fsync !== 'off');
      } catch (err) {
        this.options.logger.error({ err }, 'checkpoint failed; recovery will replay more of the log');
      } finally {
        this.checkpointing = null;
      }
    })();
    return this.checkpointing;
  }

  /** Rewrites sealed segments with much dead data, online. */
  compact(options: { minGarbageRatio?: number } = {}): Promise<CompactionReport> {
    if (this.options.readOnly) return Promise.resolve({ segments: 0, bytesBefore: 0, bytesAfter: 0 });
    if (this.compacting) return this.compacting;
    this.compacting = (async () => {
      try {
        const report = await compactSegments(this.log, this.mailboxes, this.queue, options.minGarbageRatio ?? 0.5);
        if (report.segments > 0) {
          this.options.logger.info(report, 'compaction done');
          // A fresh checkpoint, so the next restart need not replay everything (the old one is now invalid).
          this.appliedSinceCheckpoint++;
          await this.checkpoint();
        }
        return report;
      } finally {
        this.compacting = null;
      }
    })();
    return this.compacting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    if (!this.options.readOnly) {
      await this.compacting?.catch(() => {});
      await this.log.drain();
      await this.checkpoint();
    }
    this.closed = true;
    await this.log.close();
    if (!this.options.readOnly) this.options.logger.info({ ...this.log.stats }, 'store closed');
    if (this.ownsPool) await this.pool?.destroy();
    await this.lock?.release();
  }
}

function deletedUids(folder: FolderIndex): number[] {
  const out: number[] = [];
  for (let i = 0; i < folder.count; i++) if (folder.flags[i]! & FLAG_DELETED) out.push(folder.uids[i]!);
  return out;
}

function validateFolderName(name: string): void {
  const bad =
    name.length === 0 ||
    name.length > 255 ||
    /[\u0000-\u001f\u007f*%]/.test(name) ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.includes('//');
  if (bad) throw new PostlineError('ERR_MAILBOX_INVALID', `invalid folder name`);
}
