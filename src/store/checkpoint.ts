/**
 * Index checkpoints: the whole mailbox index (folder metadata + the typed
 * arrays) as of a log position, so a restart reads the checkpoint and replays
 * only the records after it.
 *
 *     0           8        12       16
 *     +-----------+--------+--------+------------------------------+
 *     | "PLCKPT01"| crc32c | length | msgpack body (length bytes)  |
 *     +-----------+--------+--------+------------------------------+
 *
 * The CRC covers the body. A checkpoint is trusted only when its salt matches
 * the log and every segment it covers still has the generation it recorded
 * (compaction rewrites bump the generation and change offsets); otherwise
 * recovery falls back to a full replay, which is slower but always correct.
 */
import { readFile } from 'node:fs/promises';
import { crc32c } from '../core/native.js';
import { Packr } from 'msgpackr';
import { writeFileAtomic } from './log/fsutil.js';
import type { Position, SegmentInfo } from './log/log.js';
import { FOLDER_FIELDS, FolderIndex, type FolderField, type FolderMeta } from './mailbox/folder-index.js';
import type { Mailboxes } from './mailbox/mailboxes.js';

const MAGIC = Buffer.from('PLCKPT01', 'latin1');
const packr = new Packr({ useRecords: false });

interface CheckpointBody {
  version: 1;
  salt: number;
  position: Position;
  generations: [number, number][];
  nextBox: number;
  folders: { meta: FolderMeta; count: number; columns: Record<FolderField, Uint8Array> }[];
  extra: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  position: Position;
  nextBox: number;
  folders: FolderIndex[];
  extra: Record<string, unknown>;
}

/** Snapshot the index synchronously (so it matches `position` exactly); returns the bytes to write. */
export function encodeCheckpoint(mailboxes: Mailboxes, position: Position, salt: number, segments: SegmentInfo[], extra: Record<string, unknown> = {}): Buffer {
  const body: CheckpointBody = {
    version: 1,
    salt,
    position,
    generations: segments.filter((s) => s.number <= position.seg).map((s) => [s.number, s.generation]),
    nextBox: mailboxes.nextBox,
    folders: [...mailboxes.folders.values()].map((f) => {
      const cols = f.columns();
      const columns = {} as Record<FolderField, Uint8Array>;
      // Copies: the live arrays keep changing while the file is written.
      for (const k of FOLDER_FIELDS) columns[k] = new Uint8Array(cols[k].buffer.slice(cols[k].byteOffset, cols[k].byteOffset + cols[k].byteLength));
      return { meta: f.meta(), count: f.count, columns };
    }),
    extra,
  };
  const payload = packr.pack(body);
  const head = Buffer.alloc(16);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(crc32c(payload) >>> 0, 8);
  head.writeUInt32LE(payload.length, 12);
  return Buffer.concat([head, payload]);
}

export async function writeCheckpoint(file: string, bytes: Buffer, durable: boolean): Promise<void> {
  await writeFileAtomic(file, bytes, durable);
}

/** Reads and validates a checkpoint; returns null (with the reason) when it cannot be trusted. */
export async function loadCheckpoint(file: string, salt: number, segments: SegmentInfo[]): Promise<LoadedCheckpoint | { reason: string }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    return { reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no checkpoint' : `cannot read checkpoint: ${(err as Error).message}` };
  }
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) return { reason: 'checkpoint: bad magic' };
  const len = buf.readUInt32LE(12);
  const payload = buf.subarray(16);
  if (payload.length !== len || (crc32c(payload) >>> 0) !== buf.readUInt32LE(8)) return { reason: 'checkpoint: checksum mismatch' };
  let body: CheckpointBody;
  try {
    body = packr.unpack(payload) as CheckpointBody;
  } catch {
    return { reason: 'checkpoint: undecodable' };
  }
  if (body.version !== 1) return { reason: `checkpoint: unknown version ${String(body.version)}` };
  if (body.salt !== salt) return { reason: 'checkpoint: belongs to another log' };
  const current = new Map(segments.map((s) => [s.number, s]));
  const at = current.get(body.position.seg);
  if (!at || at.size < body.position.off) return { reason: 'checkpoint: position is past the end of the log' };
  for (const [n, gen] of body.generations) {
    const seg = current.get(n);
    if (seg && seg.generation !== gen) return { reason: `checkpoint: segment ${n} was rewritten since` };
  }
  const folders = body.folders.map((f) => FolderIndex.fromColumns(f.meta, f.count, f.columns));
  return { position: body.position, nextBox: body.nextBox, folders, extra: body.extra ?? {} };
}
