/**
 * Batch encoding of records: snappy-compressed body, framed with header and
 * CRC. Runs inside the worker pool (workers/tasks.ts) for batches that carry
 * bodies, and inline on the main thread for small body-less batches (flag
 * changes, expunges), where a thread hop would cost more than the work. Both
 * paths produce identical bytes.
 *
 * The main thread packs each record's small meta with msgpackr while it
 * builds the batch: the batch then crosses the thread boundary as three flat
 * transferable buffers (metas, bodies, an index), with no per-record object
 * for structured clone to walk — that walk cost more than the packing.
 */
import { Packr } from 'msgpackr';
import { compressSync } from '../../core/native.js';
import type { MimeInfo } from '../../codec/mime/index.js';
import { frameRecord, FLAG_COMPRESSED, RECORD_HEADER_SIZE } from './record.js';

/**
 * One batch. For record i, index[i*5 .. i*5+4] = type, meta start, meta end,
 * body start, body end (offsets into `metas` and `bodies`).
 */
export interface EncodeBatchInput {
  salt: number;
  index: Uint32Array;
  metas: Uint8Array;
  bodies: Uint8Array;
}

/** All framed records back to back, in input order (record lengths are in their headers). */
export type EncodeBatchOutput = Uint8Array;

export const INDEX_STRIDE = 5;

/** Batches (and results) of at least this many bytes are transferred between threads, smaller ones copied. */
export const TRANSFER_MIN_BYTES = 512 * 1024;

/** Bodies that shrink less than this are stored raw: compressing them only costs CPU on every read. */
const MIN_SAVING = 0.97;

const packr = new Packr({ useRecords: false, moreTypes: false });

export function packMeta(meta: Record<string, unknown>): Uint8Array {
  return packr.pack(meta);
}

/**
 * The meta section of a record is one msgpack value — or, for message
 * records written by one development build, two: the meta, then the
 * message's MIME structure. Replay and most reads want only the first.
 * (Parsing at delivery was dropped: see docs/decisions.md.)
 */
export function unpackMeta<T>(bytes: Uint8Array): T {
  let first: unknown;
  packr.unpackMultiple(bytes as Buffer, (value: unknown) => {
    first = value;
    return false;
  });
  return first as T;
}

/** The MIME structure stored after a message record's meta, or null (records written before it existed). */
export function unpackMime(bytes: Uint8Array): MimeInfo | null {
  let n = 0;
  let mime: MimeInfo | null = null;
  packr.unpackMultiple(bytes as Buffer, (value: unknown) => {
    if (n++ === 1) {
      mime = value as MimeInfo;
      return false;
    }
    return true;
  });
  return mime;
}

export function encodeBatch(input: EncodeBatchInput): EncodeBatchOutput {
  const { index } = input;
  const n = index.length / INDEX_STRIDE;
  const bodies = Buffer.from(input.bodies.buffer, input.bodies.byteOffset, input.bodies.byteLength);
  const metas = Buffer.from(input.metas.buffer, input.metas.byteOffset, input.metas.byteLength);
  const blobs: (Uint8Array | null)[] = new Array(n);
  const flags = new Uint8Array(n);
  const metaParts: Uint8Array[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const k = i * INDEX_STRIDE;
    const bodyStart = index[k + 3]!;
    const bodyEnd = index[k + 4]!;
    let blob: Uint8Array | null = null;
    if (bodyEnd > bodyStart) {
      const raw = bodies.subarray(bodyStart, bodyEnd);
      const compressed = compressSync(raw);
      if (compressed.length < raw.length * MIN_SAVING) {
        blob = compressed;
        flags[i] = FLAG_COMPRESSED;
      } else {
        blob = raw;
      }
    }
    blobs[i] = blob;
    const meta = metas.subarray(index[k + 1]!, index[k + 2]!);
    metaParts[i] = meta;
    total += RECORD_HEADER_SIZE + meta.length + (blob ? blob.length : 0);
  }
  // allocUnsafeSlow: a buffer of its own (not a slice of the shared pool), so it can be transferred.
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const k = i * INDEX_STRIDE;
    at += frameRecord(out, at, index[k]!, flags[i]!, metaParts[i]!, blobs[i]!, input.salt);
  }
  return out;
}
