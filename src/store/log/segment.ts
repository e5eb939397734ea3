/**
 * Segment files: dataDir/log/NNNNNNNNNN.seg. Each starts with a fixed header,
 * then framed records (record.ts) back to back.
 *
 *     0            8         12           16      20          28           60       64
 *     +------------+---------+------------+-------+-----------+------------+--------+
 *     | "PLSEG001" | number  | generation | salt  | created   | reserved 0 | crc32c |
 *     +------------+---------+------------+-------+-----------+------------+--------+
 *
 * `generation` counts compaction rewrites of this segment; index checkpoints
 * record it, so a checkpoint taken before a rewrite is never trusted after it.
 * `salt` seeds every record CRC of the store (same value in every segment).
 */
import { crc32c } from '../../core/native.js';
import { readHeader, verifyRecord, RECORD_HEADER_SIZE, RECORD_MAGIC_OFFSET, type RecordHeader } from './record.js';

export const SEGMENT_HEADER_SIZE = 64;
const SEGMENT_MAGIC = Buffer.from('PLSEG001', 'latin1');

export interface SegmentHeader {
  number: number;
  generation: number;
  salt: number;
  created: number;
}

export function segmentFileName(n: number): string {
  return `${String(n).padStart(10, '0')}.seg`;
}

export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{10})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_SIZE);
  SEGMENT_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(h.number, 8);
  buf.writeUInt32LE(h.generation, 12);
  buf.writeUInt32LE(h.salt >>> 0, 16);
  buf.writeDoubleLE(h.created, 20);
  buf.writeUInt32LE(crc32c(buf.subarray(0, 60)) >>> 0, 60);
  return buf;
}

export function decodeSegmentHeader(buf: Uint8Array): SegmentHeader | string {
  if (buf.length < SEGMENT_HEADER_SIZE) return 'segment header truncated';
  const b = Buffer.from(buf.buffer, buf.byteOffset, SEGMENT_HEADER_SIZE);
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'not a postline segment (bad magic)';
  if (crc32c(b.subarray(0, 60)) >>> 0 !== b.readUInt32LE(60)) return 'segment header checksum mismatch';
  return { number: b.readUInt32LE(8), generation: b.readUInt32LE(12), salt: b.readUInt32LE(16), created: b.readDoubleLE(20) };
}

export interface Damage {
  segment: number;
  offset: number;
  length: number;
  problem: string;
}

export interface ScanResult {
  /** Offset just past the last intact record (where appends may continue). */
  validEnd: number;
  /** True when the damage runs to the end of the buffer (a torn tail). */
  tornTail: boolean;
  damage: Damage[];
  records: number;
}

export type RecordVisitor = (header: RecordHeader, buf: Buffer, at: number) => void;

/**
 * Walks the records of one segment image from `start`. A record with a bad
 * header, a length running past the end, or a CRC mismatch is damage: the
 * scan looks for the next intact record after it (resynchronising on magic +
 * valid header + CRC); if none follows, the damage is a torn tail and
 * `validEnd` stops before it.
 */
export function scanRecords(segment: number, buf: Buffer, start: number, salt: number, visit: RecordVisitor): ScanResult {
  const damage: Damage[] = [];
  let at = start;
  let validEnd = start;
  let records = 0;
  let tornTail = false;
  while (at < buf.length) {
    const problem = checkRecordAt(buf, at, salt);
    if (typeof problem !== 'string') {
      visit(problem, buf, at);
      records++;
      at += RECORD_HEADER_SIZE + problem.payloadLen;
      validEnd = at;
      continue;
    }
    const next = resync(buf, at + 1, salt);
    damage.push({ segment, offset: at, length: (next ?? buf.length) - at, problem });
    if (next === null) {
      tornTail = true;
      break;
    }
    at = next;
  }
  return { validEnd, tornTail, damage, records };
}

function checkRecordAt(buf: Buffer, at: number, salt: number): RecordHeader | string {
  if (buf.length - at < RECORD_HEADER_SIZE) return 'truncated record header';
  const header = readHeader(buf, at);
  if (typeof header === 'string') return header;
  if (at + RECORD_HEADER_SIZE + header.payloadLen > buf.length) return 'truncated record';
  if (!verifyRecord(buf, at, header, salt)) return 'checksum mismatch';
  return header;
}

function resync(buf: Buffer, from: number, salt: number): number | null {
  for (let p = buf.indexOf('PL', from + RECORD_MAGIC_OFFSET, 'latin1'); p !== -1; p = buf.indexOf('PL', p + 1, 'latin1')) {
    const start = p - RECORD_MAGIC_OFFSET;
    if (typeof checkRecordAt(buf, start, salt) !== 'string') return start;
  }
  return null;
}
