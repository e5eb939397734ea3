/**
 * Log record framing. Every record in a segment is:
 *
 *     0              4      6       7      8              12             16
 *     +--------------+------+-------+------+--------------+--------------+
 *     | crc32c       | 'PL' | flags | type | payloadLen   | metaLen      |
 *     +--------------+------+-------+------+--------------+--------------+
 *     | payload: meta (msgpackr, metaLen bytes) | blob (payloadLen - metaLen) |
 *     +------------------------------------------------------------------+
 *
 * All integers little-endian. flags bit 0: the blob is snappy-compressed.
 * The blob is the message body; records without a body have an empty blob.
 * Keeping the body outside the msgpack meta lets recovery decode placements
 * without touching body bytes.
 *
 * The CRC32C covers everything after itself — header fields *and* payload (a
 * checksum over the value alone would let a torn length go unnoticed) — in
 * one contiguous run, and is seeded with the store's random salt: a
 * record-shaped byte string that arrives inside a mail body cannot pass as a
 * record when recovery resynchronises after damage, because its author does
 * not know the salt.
 */
import { crc32c } from '../../core/native.js';

export const RECORD_MAGIC_0 = 0x50; // 'P'
export const RECORD_MAGIC_1 = 0x4c; // 'L'
/** Offset of the magic inside a record (the CRC comes first). */
export const RECORD_MAGIC_OFFSET = 4;
export const RECORD_HEADER_SIZE = 16;
export const FLAG_COMPRESSED = 1;
const KNOWN_FLAGS = FLAG_COMPRESSED;
/** Largest payload we accept when reading; a larger length field is damage. */
export const MAX_PAYLOAD = 1024 * 1024 * 1024;

export const RecordType = {
  message: 1,
  flags: 2,
  expunge: 3,
  folderCreate: 4,
  folderRename: 5,
  folderDelete: 6,
  folderSubscribe: 7,
  queueEntry: 16,
  queueAttempt: 17,
  queueDone: 18,
} as const;
export type RecordTypeName = keyof typeof RecordType;
export type RecordTypeCode = (typeof RecordType)[RecordTypeName];

const typeNames = new Map<number, RecordTypeName>(
  (Object.entries(RecordType) as [RecordTypeName, number][]).map(([name, code]) => [code, name]),
);

export function recordTypeName(code: number): RecordTypeName | undefined {
  return typeNames.get(code);
}

/** Writes one framed record into `out` at `at`; returns the bytes written. */
export function frameRecord(out: Buffer, at: number, type: number, flags: number, meta: Uint8Array, blob: Uint8Array | null, salt: number): number {
  const blobLen = blob ? blob.length : 0;
  const payloadLen = meta.length + blobLen;
  out[at + 4] = RECORD_MAGIC_0;
  out[at + 5] = RECORD_MAGIC_1;
  out[at + 6] = flags;
  out[at + 7] = type;
  out.writeUInt32LE(payloadLen, at + 8);
  out.writeUInt32LE(meta.length, at + 12);
  out.set(meta, at + RECORD_HEADER_SIZE);
  if (blob) out.set(blob, at + RECORD_HEADER_SIZE + meta.length);
  const end = at + RECORD_HEADER_SIZE + payloadLen;
  out.writeUInt32LE(crc32c(out.subarray(at + 4, end), salt >>> 0) >>> 0, at);
  return end - at;
}

export interface RecordHeader {
  crc: number;
  flags: number;
  type: number;
  payloadLen: number;
  metaLen: number;
}

export type HeaderProblem = 'bad magic' | 'bad flags' | 'bad length' | 'unknown type';

/** Reads and sanity-checks a header (not the CRC: that needs the payload). */
export function readHeader(buf: Buffer, at: number): RecordHeader | HeaderProblem {
  if (buf[at + 4] !== RECORD_MAGIC_0 || buf[at + 5] !== RECORD_MAGIC_1) return 'bad magic';
  const flags = buf[at + 6]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) return 'bad flags';
  const type = buf[at + 7]!;
  const payloadLen = buf.readUInt32LE(at + 8);
  const metaLen = buf.readUInt32LE(at + 12);
  if (payloadLen > MAX_PAYLOAD || metaLen > payloadLen) return 'bad length';
  if (!typeNames.has(type)) return 'unknown type';
  return { crc: buf.readUInt32LE(at), flags, type, payloadLen, metaLen };
}

/** True when the record at `at` (whole record present in buf) has a matching CRC. */
export function verifyRecord(buf: Buffer, at: number, header: RecordHeader, salt: number): boolean {
  return crc32c(buf.subarray(at + 4, at + RECORD_HEADER_SIZE + header.payloadLen), salt >>> 0) >>> 0 === header.crc;
}
