/**
 * The append-only segmented log with group commit.
 *
 * Appends queue up while the previous batch is being encoded or fsynced; the
 * writer takes everything ready, writes it with one writev, and one fdatasync
 * acknowledges the whole group. Records are encoded (msgpackr + snappy) in the
 * worker pool, a batch per task, and written strictly in append order, so the
 * log order is the order callers appended in. After the fsync, each append's
 * `apply` callback runs synchronously in log order (the store updates its index
 * there), then its promise resolves: an acknowledged append is durable.
 *
 * Durability modes (store.fsync):
 *   batch  — group commit; a process or machine crash loses only appends whose
 *            promise had not resolved.
 *   always — one fdatasync per record; same guarantee, far lower throughput.
 *   off    — no fsync (tests only): a process crash loses nothing the kernel
 *            got, a machine crash may lose any recent append.
 */
import { open, readdir, mkdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PostlineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { WorkerPool } from '../../pool/pool.js';
import { encodeBatch } from './encode.js';
import { buildEncodeInput, concat, RecordCursor } from './batch.js';
import {
  SEGMENT_HEADER_SIZE,
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentFileName,
  scanRecords,
  segmentFileName,
  type Damage,
  type RecordVisitor,
  type SegmentHeader,
} from './segment.js';
import { fsyncDir } from './fsutil.js';

export type FsyncMode = 'batch' | 'always' | 'off';

export interface Location {
  seg: number;
  off: number;
  len: number;
}

export interface Position {
  seg: number;
  off: number;
}

export interface AppendRequest<T> {
  type: number;
  meta: Record<string, unknown>;
  body?: Uint8Array | null;
  /** Runs synchronously after the record is durable, in log order; its result resolves the append. */
  apply: (loc: Location) => T;
}

interface Pending {
  type: number;
  meta: Record<string, unknown>;
  body: Uint8Array | null;
  apply: (loc: Location) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Records written and synced together, waiting for their acknowledgement. */
interface WrittenRun {
  items: Pending[];
  locs: Location[];
}

interface EncodedBatch {
  items: Pending[];
  bytes: Uint8Array;
}

export interface SegmentInfo {
  number: number;
  generation: number;
  size: number;
}

export interface LogOptions {
  dir: string;
  segmentSize: number;
  fsync: FsyncMode;
  pool: WorkerPool | null;
  logger: Logger;
  readOnly?: boolean;
  /** After a full disk, how long to wait before trying to write again (default 5 s). */
  fullDiskRetryMs?: number;
  /** Tests only: consulted before each write/fsync of the active segment; an error returned is thrown as if by the OS. */
  faults?: LogFaults;
  /** Observability (/metrics): after each successful fsync, the records it acknowledged and how long it took. Must not throw. */
  onFsync?(records: number, seconds: number): void;
}

/** Simulated I/O failures (ENOSPC, EIO) for tests: there is no portable way to fill a disk on demand. */
export interface LogFaults {
  beforeWrite?(): NodeJS.ErrnoException | null;
  beforeSync?(): NodeJS.ErrnoException | null;
  /** Before the next segment is created (rotation). */
  beforeRotate?(): NodeJS.ErrnoException | null;
}

const DEFAULT_FULL_DISK_RETRY_MS = 5000;

/** A disk or quota that is full: the write did not happen, and may succeed once space is freed. */
function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Batches are cut at this many records or bytes: big enough that a thread hop
 * (~0.1 ms here) is small beside the work, small enough that two encoders and
 * the writer overlap instead of taking turns on one huge batch.
 */
const BATCH_RECORDS = 128;
const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;
/** Groups on their way to the disk at once (batch mode). */
const MAX_WRITES_IN_FLIGHT = 2;
/** readMany: at most this many bytes per pread, and gaps up to this size are read through rather than split. */
const READ_SPAN_BYTES = 1024 * 1024;
const READ_GAP_BYTES = 16 * 1024;
/** A batch with at least this many body bytes may encode while another batch is encoding. */
const PARALLEL_ENCODE_BYTES = 1024 * 1024;
/** Body-less batches smaller than this are encoded inline: the thread hop costs more. */
const INLINE_ENCODE_BYTES = 64 * 1024;

/** readMany: the locations already sorted by segment, then offset (no sort needed). */
function inLogOrder(locs: readonly Location[]): boolean {
  for (let i = 1; i < locs.length; i++) {
    const a = locs[i - 1]!;
    const b = locs[i]!;
    if (a.seg > b.seg || (a.seg === b.seg && a.off > b.off)) return false;
  }
  return true;
}

export class Log {
  readonly dir: string;
  salt = 0;
  private readonly options: LogOptions;
  private readonly segments = new Map<number, SegmentInfo>();
  private active: { info: SegmentInfo; fh: FileHandle } | null = null;
  private readonly readers = new Map<number, FileHandle>();
  /** Handles of files replaced by compaction, closed a little later (reads may still use them). */
  private readonly retired = new Set<FileHandle>();
  private pending: Pending[] = [];
  private readonly encoded = new Map<number, EncodedBatch>();
  private nextEncodeSeq = 0;
  private nextWriteSeq = 0;
  private encodesInFlight = 0;
  private writing = false;
  private readonly inflightWrites: Promise<WrittenRun[]>[] = [];
  /** Where the next write in the active segment starts (reserved before the write completes). */
  private writeEnd = SEGMENT_HEADER_SIZE;
  private pumpScheduled = false;
  private readonly batchRecords = BATCH_RECORDS;
  private failed: Error | null = null;
  /** The failure was a full disk during write(): nothing unknown reached the disk, so writing may resume. */
  private failedRecoverably = false;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Just past the last record whose `apply` has run: what an index checkpoint covers. */
  appliedEnd: Position = { seg: 1, off: SEGMENT_HEADER_SIZE };
  /** Observability: sizes of the last fsync groups. */
  readonly stats = { appends: 0, fsyncs: 0, bytesWritten: 0, encodeTasks: 0 };

  /** The write or fsync error that made the log stop taking appends, or null while it is writable. */
  get writeFailure(): Error | null {
    return this.failed;
  }

  private constructor(options: LogOptions) {
    this.options = options;
    this.dir = options.dir;
  }

  /** Opens (or creates) the log directory and reads segment headers. Records are read by `replay`. */
  static async open(options: LogOptions): Promise<Log> {
    const log = new Log(options);
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).map(parseSegmentFileName).filter((n): n is number => n !== null);
    names.sort((a, b) => a - b);
    let salt: number | null = null;
    for (const n of names) {
      const fh = await open(join(options.dir, segmentFileName(n)), 'r');
      try {
        const { size } = await fh.stat();
        const head = Buffer.alloc(SEGMENT_HEADER_SIZE);
        await fh.read(head, 0, SEGMENT_HEADER_SIZE, 0);
        const header = decodeSegmentHeader(head.subarray(0, Math.min(size, SEGMENT_HEADER_SIZE)));
        if (typeof header === 'string') {
          throw new PostlineError('ERR_STORE_CORRUPT', `segment ${segmentFileName(n)}: ${header}`);
        }
        if (header.number !== n) throw new PostlineError('ERR_STORE_CORRUPT', `segment ${segmentFileName(n)}: header names segment ${header.number}`);
        if (salt !== null && header.salt !== salt) throw new PostlineError('ERR_STORE_CORRUPT', `segment ${segmentFileName(n)}: belongs to another store (salt differs)`);
        salt = header.salt;
        log.segments.set(n, { number: n, generation: header.generation, size });
      } finally {
        await fh.close();
      }
    }
    if (salt === null) {
      if (options.readOnly) throw new PostlineError('ERR_STORE_CORRUPT', `no log segments in ${options.dir}`);
      salt = randomBytes(4).readUInt32LE(0);
      log.salt = salt;
      await log.createSegment(1);
    }
    log.salt = salt;
    return log;
  }

  segmentList(): SegmentInfo[] {
    return [...this.segments.values()].sort((a, b) => a.number - b.number);
  }

  get activeSegment(): number {
    const list = this.segmentList();
    return list[list.length - 1]!.number;
  }

  /** The position just past the last record written. */
  get end(): Position {
    const seg = this.activeSegment;
    return { seg, off: this.segments.get(seg)!.size };
  }

  get totalBytes(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.size;
    return n;
  }

  /**
   * Visits every intact record from `from` to the end, in log order. Damage is
   * reported, not served; a torn tail of the newest segment is cut off so new
   * appends follow the last intact record.
   */
  async replay(from: Position | null, visit: (seg: number, header: Parameters<RecordVisitor>[0], buf: Buffer, at: number) => void): Promise<Damage[]> {
    const damage: Damage[] = [];
    const list = this.segmentList();
    const last = list[list.length - 1]!.number;
    for (const info of list) {
      if (from && info.number < from.seg) continue;
      const start = from && info.number === from.seg ? from.off : SEGMENT_HEADER_SIZE;
      const fh = await open(join(this.dir, segmentFileName(info.number)), 'r');
      let buf: Buffer;
      try {
        buf = await fh.readFile();
      } finally {
        await fh.close();
      }
      const result = scanRecords(info.number, buf, start, this.salt, (h, b, at) => visit(info.number, h, b, at));
      damage.push(...result.damage);
      if (result.tornTail && info.number === last && !this.options.readOnly) {
        // Order matters: truncate before anything is appended, so the torn bytes
        // can never end up between two acknowledged records.
        const fh2 = await open(join(this.dir, segmentFileName(info.number)), 'r+');
        try {
          await fh2.truncate(result.validEnd);
          await fh2.sync();
        } finally {
          await fh2.close();
        }
        this.options.logger.warn({ segment: info.number, offset: result.validEnd, bytes: buf.length - result.validEnd }, 'cut torn tail of the log');
        info.size = result.validEnd;
      }
    }
    this.appliedEnd = this.end;
    return damage;
  }

  /** Opens the newest segment for appending. Call after replay. */
  async startAppending(): Promise<void> {
    if (this.options.readOnly) throw new PostlineError('ERR_STORE_CLOSED', 'log opened read-only');
    const info = this.segments.get(this.activeSegment)!;
    const fh = await open(join(this.dir, segmentFileName(info.number)), 'r+');
    this.active = { info, fh };
    this.writeEnd = info.size;
  }

  append<T>(req: AppendRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      if (this.closed || !this.active) return reject(new PostlineError('ERR_STORE_CLOSED', 'store is not open for writing'));
      this.pending.push({ type: req.type, meta: req.meta, body: req.body ?? null, apply: req.apply, resolve: resolve as (v: unknown) => void, reject });
      this.stats.appends++;
      // A full batch goes to an encoder at once, so it works while the main
      // thread is still queueing the rest of a burst; smaller ones wait for
      // the end of the burst.
      if (this.pending.length >= this.batchRecords && this.encodesInFlight < this.maxEncodes) this.pump();
      else this.schedulePump();
    });
  }

  /**
   * Appends made in the same burst (say, 100 writers woken by one group's
   * acknowledgement) must travel as one batch: pumping on every call would
   * send the first of them alone to a free encoder. So the pump runs once,
   * after the current run of microtasks.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * How many batches may be encoding at once. Small-message batches are
   * bound by the main thread (it builds and acknowledges them), so a second
   * encoder would only take CPU from it; batches of big messages are bound by
   * compression, and there every worker helps.
   */
  private get maxEncodes(): number {
    const threads = Math.max(1, this.options.pool?.threads ?? 1);
    if (threads === 1 || this.encodesInFlight === 0) return threads;
    let bytes = 0;
    for (let i = 0; i < this.pending.length && i < this.batchRecords; i++) bytes += this.pending[i]!.body?.length ?? 0;
    return bytes >= PARALLEL_ENCODE_BYTES ? threads : 1;
  }

  /**
   * Whether a batch of pending appends should cross to an encoder now. A
   * full batch always goes. A smaller one waits until the writer could take
   * it: fewer than MAX_WRITES_IN_FLIGHT groups encoding, encoded or on their
   * way to the disk. Appends that arrive meanwhile join the next group, so
   * one encode task carries a whole fsync group. Sending each message alone
   * (SMTP sessions append one at a time) cost one thread crossing per
   * message — about 35 µs of main-thread time each, a quarter of the
   * per-message budget — for no gain in latency: the group could not be
   * written any earlier.
   */
  private shouldEncodeNow(): boolean {
    if (this.pending.length >= this.batchRecords) return true;
    let bytes = 0;
    for (const p of this.pending) {
      bytes += p.body?.length ?? 0;
      if (bytes >= MAX_BATCH_BODY_BYTES) return true;
    }
    const maxWrites = this.options.fsync === 'always' ? 1 : MAX_WRITES_IN_FLIGHT;
    return this.encodesInFlight + this.encoded.size + this.inflightWrites.length < maxWrites;
  }

  /** Hands pending appends to encoders, a batch per task, as long as encoders are free and the writer wants them. */
  private pump(): void {
    while (this.pending.length > 0 && this.encodesInFlight < this.maxEncodes && this.shouldEncodeNow()) {
      const batch = this.takeBatch();
      const seq = this.nextEncodeSeq++;
      const { input, transfer, bodyBytes } = buildEncodeInput(batch, this.salt);
      if (!this.options.pool || (bodyBytes === 0 && input.metas.length < INLINE_ENCODE_BYTES)) {
        this.encoded.set(seq, { items: batch, bytes: encodeBatch(input) });
        continue;
      }
      this.encodesInFlight++;
      this.stats.encodeTasks++;
      this.options.pool.run('encodeBatch', input, transfer).then(
        (bytes) => {
          this.encodesInFlight--;
          this.encoded.set(seq, { items: batch, bytes });
          this.pump();
        },
        (err) => {
          this.encodesInFlight--;
          // An encode failure (a bug, or a worker crash) must not stall the ordered writer.
          this.encoded.set(seq, { items: batch, bytes: new Uint8Array(0) });
          for (const p of batch) p.reject(new PostlineError('ERR_STORE_IO', 'encoding failed', { cause: err }));
          batch.length = 0;
          this.pump();
        },
      );
    }
    void this.writeLoop();
  }

  private takeBatch(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && n < this.batchRecords) {
      bytes += this.pending[n]!.body?.length ?? 0;
      n++;
      if (bytes >= MAX_BATCH_BODY_BYTES) break;
    }
    return this.pending.splice(0, n);
  }

  /**
   * The writer. Groups are written in order; up to two may be on their way to
   * the disk at once (two fdatasyncs in flight measured 0.55–0.8 ms per group
   * here against 0.85–1.2 ms for one at a time). Acknowledgements still run
   * strictly in log order, and the next group is sent to the disk *before*
   * the previous group's acknowledgements run: those wake up to a few hundred
   * callers whose new appends take the main thread for a while.
   */
  private async writeLoop(): Promise<void> {
    if (this.writing) {
      this.fillWrites();
      return;
    }
    this.writing = true;
    try {
      this.fillWrites();
      while (this.inflightWrites.length > 0) {
        // Stays in the list until done: fillWrites counts it as in flight.
        const done = await this.inflightWrites[0]!;
        this.inflightWrites.shift();
        this.fillWrites();
        for (const run of done) {
          // A later group must not be acknowledged after an earlier one failed.
          if (this.failed) for (const p of run.items) p.reject(this.failed);
          else this.finish(run.items, run.locs);
        }
        // Let encoders refill while we were writing.
        if (this.pending.length > 0) this.pump();
      }
    } finally {
      this.writing = false;
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private fillWrites(): void {
    const max = this.options.fsync === 'always' ? 1 : MAX_WRITES_IN_FLIGHT;
    while (this.inflightWrites.length < max) {
      const next = this.startNextGroup(this.inflightWrites.length > 0);
      if (!next) return;
      this.inflightWrites.push(next);
    }
  }

  /**
   * Takes every encoded batch that is next in order and starts writing it;
   * null when none is ready. With another write in flight (`alongside`), only
   * a group that fits the active segment starts: rotation waits for the disk
   * to be quiet.
   */
  private startNextGroup(alongside: boolean): Promise<WrittenRun[]> | null {
    if (alongside) {
      let total = 0;
      for (let seq = this.nextWriteSeq; this.encoded.has(seq); seq++) total += this.encoded.get(seq)!.bytes.length;
      if (total === 0 || this.writeEnd + total > this.options.segmentSize) return null;
    }
    const items: Pending[] = [];
    const chunks: Uint8Array[] = [];
    while (this.encoded.has(this.nextWriteSeq)) {
      const b = this.encoded.get(this.nextWriteSeq)!;
      this.encoded.delete(this.nextWriteSeq++);
      if (b.items.length === 0) continue;
      items.push(...b.items);
      chunks.push(b.bytes);
    }
    if (items.length === 0) return null;
    if (this.failed) {
      for (const p of items) p.reject(this.failed);
      return Promise.resolve([]);
    }
    return this.options.fsync === 'always' ? this.writeEachRecord(items, chunks) : this.writeGroup(items, chunks);
  }

  /**
   * Writes a group of records and fsyncs once per segment touched. Records of
   * one encoded batch are contiguous, so each write gets one buffer per batch
   * (not per record), cut only where the segment rotates.
   */
  private async writeGroup(items: Pending[], chunks: Uint8Array[]): Promise<WrittenRun[]> {
    const cursor = new RecordCursor(chunks);
    const runs: WrittenRun[] = [];
    let i = 0;
    while (i < items.length) {
      if (this.needsRotation(cursor.peekLength()) && !(await this.tryRotate())) {
        for (const p of items.slice(i)) p.reject(this.failed);
        return runs;
      }
      const active = this.active!;
      const start = this.writeEnd;
      const locs: Location[] = [];
      const first = i;
      let size = start;
      cursor.startRun();
      while (i < items.length && (i === first || size + cursor.peekLength() <= this.options.segmentSize)) {
        const len = cursor.take();
        locs.push({ seg: active.info.number, off: size, len });
        size += len;
        i++;
      }
      const parts = cursor.endRun();
      // Reserved before the first await, so a write started alongside lands after this one.
      this.writeEnd = size;
      if (!(await this.writeAndSync(parts, start, size - start, items.slice(first, i)))) {
        for (const p of items.slice(i)) p.reject(this.failed);
        return runs;
      }
      runs.push({ items: items.slice(first, i), locs });
    }
    return runs;
  }

  /** fsync=always: one write and one fsync per record, each acknowledged at once. */
  private async writeEachRecord(items: Pending[], chunks: Uint8Array[]): Promise<WrittenRun[]> {
    const cursor = new RecordCursor(chunks);
    for (let i = 0; i < items.length; i++) {
      if (this.needsRotation(cursor.peekLength()) && !(await this.tryRotate())) {
        for (const p of items.slice(i)) p.reject(this.failed);
        return [];
      }
      const active = this.active!;
      const start = this.writeEnd;
      cursor.startRun();
      const len = cursor.take();
      this.writeEnd = start + len;
      if (!(await this.writeAndSync(cursor.endRun(), start, len, [items[i]!]))) {
        for (const p of items.slice(i + 1)) p.reject(this.failed);
        return [];
      }
      this.finish([items[i]!], [{ seg: active.info.number, off: start, len }]);
    }
    return [];
  }

  /** Returns false (and fails the log) on an I/O error; the caller's items are rejected. */
  private async writeAndSync(parts: Uint8Array[], position: number, length: number, items: Pending[]): Promise<boolean> {
    const active = this.active!;
    let syncing = false;
    try {
      let written = 0;
      let bufs = parts;
      while (written < length) {
        const fault = this.options.faults?.beforeWrite?.();
        if (fault) throw fault;
        const { bytesWritten } = await active.fh.writev(bufs as NodeJS.ArrayBufferView[] as Buffer[], position + written);
        written += bytesWritten;
        if (written < length) bufs = [concat(parts).subarray(written)];
      }
      // Two writes may be in flight: the size only ever grows.
      active.info.size = Math.max(active.info.size, position + length);
      if (this.options.fsync !== 'off') {
        syncing = true;
        const fault = this.options.faults?.beforeSync?.();
        if (fault) throw fault;
        const syncStart = performance.now();
        await active.fh.datasync();
        this.stats.fsyncs++;
        this.options.onFsync?.(items.length, (performance.now() - syncStart) / 1000);
      }
      this.stats.bytesWritten += length;
      return true;
    } catch (err) {
      this.failWrites(err, active.info.number, !syncing && isNoSpace(err));
      try {
        await active.fh.truncate(position);
      } catch {
        /* recovery will cut the tail by checksum */
      }
      for (const p of items) p.reject(this.failed);
      return false;
    }
  }

  /**
   * Stops taking appends. A full disk during write() is recoverable: the
   * kernel took none of the failed bytes, so once the unacknowledged tail is
   * cut off, writing can resume (tried every fullDiskRetryMs). After a failed
   * fsync the page cache state is unknown (a later fsync may report success
   * for data that was dropped), so the log stays read-only until a restart
   * re-validates it from disk.
   */
  private failWrites(err: unknown, segment: number, recoverable: boolean): void {
    if (this.failed) {
      // A second failure of the same burst; an unrecoverable one wins.
      if (!recoverable) this.failedRecoverably = false;
      return;
    }
    const message = (err as Error).message;
    this.failed = recoverable
      ? new PostlineError('ERR_STORE_FULL', `log write failed, disk full: ${message}`, { cause: err })
      : new PostlineError('ERR_STORE_IO', `log write failed: ${message}`, { cause: err });
    this.failedRecoverably = recoverable;
    if (recoverable) {
      this.options.logger.error({ err, segment }, 'disk full: refusing new mail until space is freed');
      this.scheduleRecovery();
    } else {
      this.options.logger.error({ err, segment }, 'log write failed; store is now read-only until restart');
    }
  }

  private scheduleRecovery(): void {
    if (this.recoveryTimer || this.closed) return;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = null;
      void this.recover();
    }, this.options.fullDiskRetryMs ?? DEFAULT_FULL_DISK_RETRY_MS);
    this.recoveryTimer.unref();
  }

  /**
   * After a full disk: once no write is in flight, cut the active segment
   * back to the end of the last acknowledged record (anything after it was
   * refused to its caller) and take appends again. If the disk is still
   * full, the next write fails the same way and we come back here.
   */
  private async recover(): Promise<void> {
    if (!this.failed || !this.failedRecoverably || this.closed || !this.active) return;
    if (this.writing || this.inflightWrites.length > 0) return this.scheduleRecovery();
    const active = this.active;
    let keep: number;
    try {
      keep = await this.cutUnacknowledgedTail();
    } catch (err) {
      this.options.logger.warn({ err, segment: active.info.number }, 'disk still not writable');
      return this.scheduleRecovery();
    }
    this.failed = null;
    this.failedRecoverably = false;
    this.options.logger.info({ segment: active.info.number, offset: keep }, 'log writable again');
  }

  private finish(items: Pending[], locs: Location[]): void {
    for (let k = 0; k < items.length; k++) {
      const p = items[k]!;
      let result: unknown;
      try {
        result = p.apply(locs[k]!);
      } catch (err) {
        p.reject(err);
        continue;
      }
      p.resolve(result);
    }
    const last = locs[locs.length - 1];
    if (last) this.appliedEnd = { seg: last.seg, off: last.off + last.len };
  }

  private needsRotation(nextRecordLength: number): boolean {
    return this.writeEnd > SEGMENT_HEADER_SIZE && this.writeEnd + nextRecordLength > this.options.segmentSize;
  }

  /**
   * Cuts the active segment back to the end of the last acknowledged record:
   * what follows was refused to its callers (they will retry), so it must not
   * come back on replay as a second copy.
   */
  private async cutUnacknowledgedTail(): Promise<number> {
    const active = this.active!;
    const keep = this.appliedEnd.seg === active.info.number ? this.appliedEnd.off : SEGMENT_HEADER_SIZE;
    await active.fh.truncate(keep);
    if (this.options.fsync !== 'off') await active.fh.datasync();
    active.info.size = keep;
    this.writeEnd = keep;
    return keep;
  }

  /** rotate(), with its failure turned into a failed log (false) instead of an exception. */
  private async tryRotate(): Promise<boolean> {
    try {
      await this.rotate();
      return true;
    } catch (err) {
      // Creating the next segment on a full disk is recoverable; the old one is still active.
      this.failWrites(err, this.active!.info.number, err instanceof RotationError && isNoSpace(err.cause));
      return false;
    }
  }

  /**
   * Seals the active segment and starts the next one. Only called with no
   * other write in flight. The old segment stays active until the new one
   * exists, so a failure (a full disk) leaves the log as it was.
   */
  private async rotate(): Promise<void> {
    const active = this.active!;
    // Order matters: the sealed segment is synced before the next one exists,
    // so a crash never leaves a newer segment after an unsynced older tail.
    if (this.options.fsync !== 'off') await active.fh.sync();
    const next = active.info.number + 1;
    let fh: FileHandle;
    try {
      const fault = this.options.faults?.beforeRotate?.();
      if (fault) throw fault;
      await this.createSegment(next);
      fh = await open(join(this.dir, segmentFileName(next)), 'r+');
    } catch (err) {
      this.segments.delete(next);
      await unlink(join(this.dir, `${segmentFileName(next)}.tmp`)).catch(() => {});
      await unlink(join(this.dir, segmentFileName(next))).catch(() => {});
      throw new RotationError(err);
    }
    this.active = { info: this.segments.get(next)!, fh };
    this.writeEnd = SEGMENT_HEADER_SIZE;
    await active.fh.close().catch(() => {});
  }

  /** Creates segment `n` atomically: header into a temp file, fsync, rename, fsync the directory. */
  private async createSegment(n: number, generation = 0): Promise<void> {
    const header: SegmentHeader = { number: n, generation, salt: this.salt, created: Date.now() };
    const tmp = join(this.dir, `${segmentFileName(n)}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.write(encodeSegmentHeader(header), 0, SEGMENT_HEADER_SIZE, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, segmentFileName(n)));
    await fsyncDir(this.dir);
    this.segments.set(n, { number: n, generation, size: SEGMENT_HEADER_SIZE });
  }

  /** Reads one record's bytes. */
  async read(loc: Location): Promise<Buffer> {
    const fh = await this.reader(loc.seg);
    const buf = Buffer.allocUnsafe(loc.len);
    const { bytesRead } = await fh.read(buf, 0, loc.len, loc.off);
    if (bytesRead !== loc.len) throw new PostlineError('ERR_STORE_CORRUPT', `short read at segment ${loc.seg} offset ${loc.off}`);
    return buf;
  }

  /**
   * Reads many records' bytes (results in input order). Records that lie
   * close together in a segment — the usual case for one folder's mail — are
   * read with one pread per span of up to READ_SPAN_BYTES, not one per
   * record: a bulk IMAP FETCH or POP3 retrieval of thousands of small
   * messages is then a few dozen reads.
   */
  async readMany(locs: readonly Location[]): Promise<Buffer[]> {
    const out: Buffer[] = new Array(locs.length);
    const order = locs.map((_, i) => i);
    // One folder's messages are usually asked for in log order already.
    if (!inLogOrder(locs)) order.sort((a, b) => locs[a]!.seg - locs[b]!.seg || locs[a]!.off - locs[b]!.off);
    let i = 0;
    while (i < order.length) {
      const first = locs[order[i]!]!;
      let end = first.off + first.len;
      let j = i + 1;
      while (j < order.length) {
        const next = locs[order[j]!]!;
        if (next.seg !== first.seg || next.off - end > READ_GAP_BYTES || next.off + next.len - first.off > READ_SPAN_BYTES) break;
        end = Math.max(end, next.off + next.len);
        j++;
      }
      if (j === i + 1) {
        out[order[i]!] = await this.read(first);
      } else {
        const span = await this.read({ seg: first.seg, off: first.off, len: end - first.off });
        for (let k = i; k < j; k++) {
          const loc = locs[order[k]!]!;
          out[order[k]!] = span.subarray(loc.off - first.off, loc.off - first.off + loc.len);
        }
      }
      i = j;
    }
    return out;
  }

  private async reader(seg: number): Promise<FileHandle> {
    let fh = this.readers.get(seg);
    if (!fh) {
      if (!this.segments.has(seg)) throw new PostlineError('ERR_STORE_CORRUPT', `segment ${seg} does not exist`);
      fh = await open(join(this.dir, segmentFileName(seg)), 'r');
      const raced = this.readers.get(seg);
      if (raced) {
        await fh.close();
        return raced;
      }
      this.readers.set(seg, fh);
    }
    return fh;
  }

  /**
   * Replaces sealed segment `seg` with a rewritten image (compaction). The new
   * file is fully written and synced under a temp name, then renamed over the
   * old one. Reads that started on the old file keep their handle (the old
   * inode lives until closed); the handle cache switches in the same tick as
   * the caller remaps its index (`onSwap`), so no read mixes old offsets with
   * the new file.
   */
  async replaceSegment(seg: number, records: Uint8Array[], onSwap: () => void): Promise<{ before: number; after: number }> {
    const info = this.segments.get(seg);
    if (!info || seg === this.activeSegment) throw new PostlineError('ERR_STORE_CORRUPT', `segment ${seg} is not a sealed segment`);
    const generation = info.generation + 1;
    const tmp = join(this.dir, `${segmentFileName(seg)}.compact`);
    const fh = await open(tmp, 'w');
    let size = SEGMENT_HEADER_SIZE;
    try {
      await fh.write(encodeSegmentHeader({ number: seg, generation, salt: this.salt, created: Date.now() }), 0, SEGMENT_HEADER_SIZE, 0);
      if (records.length > 0) {
        const body = concat(records);
        await fh.write(body, 0, body.length, SEGMENT_HEADER_SIZE);
        size += body.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const oldReader = await this.reader(seg);
    const newReader = await open(tmp, 'r');
    await rename(tmp, join(this.dir, segmentFileName(seg)));
    await fsyncDir(this.dir);
    const before = info.size;
    // Synchronous from here: index remap and handle swap happen together.
    this.readers.set(seg, newReader);
    info.generation = generation;
    info.size = size;
    onSwap();
    // Reads already in flight on the old handle finish first; closing is not urgent.
    this.retired.add(oldReader);
    setTimeout(() => {
      if (this.retired.delete(oldReader)) void oldReader.close().catch(() => {});
    }, 5000).unref();
    return { before, after: size };
  }

  /** Reads a whole sealed segment image (for compaction and verification). */
  async readSegment(seg: number): Promise<Buffer> {
    const fh = await open(join(this.dir, segmentFileName(seg)), 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.encodesInFlight === 0 && this.encoded.size === 0 && !this.writing;
  }

  /** Resolves when every append made so far has been written (or failed). */
  async drain(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    if (this.active) {
      if (this.failedRecoverably) await this.cutUnacknowledgedTail().catch(() => {});
      if (this.options.fsync !== 'off' && !this.failed) await this.active.fh.sync().catch(() => {});
      await this.active.fh.close();
      this.active = null;
    }
    for (const fh of [...this.readers.values(), ...this.retired]) await fh.close().catch(() => {});
    this.readers.clear();
    this.retired.clear();
  }

  /** Removes leftovers of interrupted segment creation or compaction. */
  async removeTempFiles(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.seg.tmp') || name.endsWith('.seg.compact')) await unlink(join(this.dir, name)).catch(() => {});
    }
  }
}

/** Creating the next segment failed; the sealed one is still the active one. */
class RotationError extends Error {
  constructor(cause: unknown) {
    super(`could not start the next segment: ${(cause as Error).message}`, { cause });
  }
}
