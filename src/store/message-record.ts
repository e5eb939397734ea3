/**
 * A stored message record → its body, checked: the record's checksum, that
 * it really is message `uid` of folder `box` (a stale index entry must never
 * serve another message), and its size after decompression. Pure functions
 * of the record's bytes, apart from the store.
 */
import { uncompressMany } from '../core/native.js';
import { PostlineError } from '../core/errors.js';
import { unpackMeta } from './log/encode.js';
import type { Location } from './log/log.js';
import { readHeader, verifyRecord, RecordType, FLAG_COMPRESSED, RECORD_HEADER_SIZE } from './log/record.js';
import type { MessageMeta } from './mailbox/mailboxes.js';

export type RecordHeader = Exclude<ReturnType<typeof readHeader>, string>;

export function checkedMessageHeader(buf: Buffer, loc: Location, salt: number): RecordHeader {
  const header = readHeader(buf, 0);
  if (typeof header === 'string' || header.type !== RecordType.message || RECORD_HEADER_SIZE + header.payloadLen !== loc.len || !verifyRecord(buf, 0, header, salt)) {
    throw new PostlineError('ERR_STORE_CRC', `record at segment ${loc.seg} offset ${loc.off} failed its checksum`);
  }
  return header;
}

export function decodeMessageRecord(buf: Buffer, loc: Location, salt: number, box: number, uid: number): Buffer {
  return decodeMessageRecords([{ buf, loc, box, uid }], salt)[0]!;
}

export interface StoredMessage {
  buf: Buffer;
  loc: Location;
  box: number;
  uid: number;
}

/**
 * decodeMessageRecord for many records, with the same checks, and the
 * compressed bodies decompressed in one native call (uncompressMany): for a
 * POP3 or IMAP window of 4 KB messages that is a third of the decoding time.
 * Bodies may share one buffer.
 */
export function decodeMessageRecords(records: readonly StoredMessage[], salt: number): Buffer[] {
  const stored = records.map((r) => checkedBody(r.buf, r.loc, salt, r.box, r.uid));
  const compressed = stored.flatMap((s) => (s.compressed ? [s.blob] : []));
  // A block that does not decode (its checksum passed, so not disk damage) fails the whole call: callers
  // that decode many (RecordBatch) then decode them one by one, so the error stays with its message.
  const decoded = uncompressMany(compressed);
  let next = 0;
  return stored.map((s, k) => sizeChecked(s.compressed ? decoded[next++]! : Buffer.from(s.blob), s.size, records[k]!.uid));
}

/** The record's body bytes as stored, after checking it is intact and really message `uid` of folder `box`. */
function checkedBody(buf: Buffer, loc: Location, salt: number, box: number, uid: number): { blob: Buffer; compressed: boolean; size: number } {
  const header = checkedMessageHeader(buf, loc, salt);
  const metaBytes = buf.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + header.metaLen);
  const meta = readPlacementMeta(metaBytes) ?? unpackMeta<MessageMeta>(metaBytes);
  let placed = false;
  for (let k = 0; k + 1 < meta.p.length; k += 2) if (meta.p[k] === box && meta.p[k + 1] === uid) placed = true;
  if (!placed) throw new PostlineError('ERR_STORE_CORRUPT', `record at segment ${loc.seg} offset ${loc.off} is not message ${uid}`);
  return { blob: buf.subarray(RECORD_HEADER_SIZE + header.metaLen), compressed: (header.flags & FLAG_COMPRESSED) !== 0, size: meta.s };
}

function sizeChecked(body: Buffer, size: number, uid: number): Buffer {
  if (body.length !== size) throw new PostlineError('ERR_STORE_CORRUPT', `message ${uid}: size mismatch after decompression`);
  return body;
}

// ---------------------------------------------------------------- meta fast path

/**
 * The `p` (placements) and `s` (size) of a message record's meta — the first
 * msgpack value of its meta section, a map written by packMeta — read
 * directly, for bodyOf on every message a FETCH or RETR serves. msgpackr's
 * unpack would do, but it decodes every string of the whole section (the
 * stored MIME structure follows the meta) before returning the first value:
 * that cost more than the CRC check. Only what packMeta writes for a
 * MessageMeta is understood (map of short string keys; integers, floats,
 * arrays of those and of strings); anything else returns null and the
 * caller falls back to unpackMeta, so an unexpected encoding is slower,
 * never misread.
 */
export function readPlacementMeta(b: Uint8Array): Pick<MessageMeta, 'p' | 's'> | null {
  const len = b.length;
  if (len < 1) return null;
  // msgpackr writes a map16 header even for small maps (it reserves the room before it knows the count).
  const head = b[0]!;
  let entries: number;
  if (head >= 0x80 && head <= 0x8f) {
    entries = head - 0x80;
    cur = 1;
  } else if (head === 0xde && len >= 3) {
    entries = (b[1]! << 8) | b[2]!;
    cur = 3;
  } else return null;
  let p: number[] | null = null;
  let size = NaN;
  for (let k = entries; k > 0; k--) {
    // MessageMeta keys are one letter: fixstr of length 1.
    if (cur + 2 > len || b[cur] !== 0xa1) return null;
    const key = b[cur + 1]!;
    cur += 2;
    if (key === 0x70 /* p */) {
      const n = arrayHeader(b);
      if (n < 0) return null;
      p = new Array<number>(n);
      for (let i = 0; i < n; i++) if (Number.isNaN((p[i] = msgpackNumber(b)))) return null;
    } else if (key === 0x73 /* s */) {
      size = msgpackNumber(b);
    } else if (key === 0x66 /* f */) {
      const n = arrayHeader(b);
      if (n < 0) return null;
      for (let i = 0; i < n; i++) {
        const l = stringHeader(b);
        if (l < 0) return null;
        cur += l;
      }
    } else if (!skipNumber(b)) return null; // d (the date, a float64): not needed here, and not decoded
  }
  if (p === null || Number.isNaN(size) || cur > len) return null;
  return { p, s: size };
}

/** readPlacementMeta's read position (module state rather than closures: it runs once per message served). */
let cur = 0;

/** The integer or float at `cur` (advancing), or NaN when the value is something else or truncated. */
function msgpackNumber(b: Uint8Array): number {
  if (cur >= b.length) return NaN;
  const t = b[cur++]!;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  const width = numberWidth(t);
  if (width === 0 || cur + width > b.length) return NaN;
  const o = cur;
  cur += width;
  if (t === 0xcc) return b[o]!;
  if (t === 0xcd) return (b[o]! << 8) | b[o + 1]!;
  if (t === 0xce) return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (t) {
    case 0xcf:
      return Number(dv.getBigUint64(o));
    case 0xd0:
      return dv.getInt8(o);
    case 0xd1:
      return dv.getInt16(o);
    case 0xd2:
      return dv.getInt32(o);
    case 0xd3:
      return Number(dv.getBigInt64(o));
    case 0xca:
      return dv.getFloat32(o);
    default:
      return dv.getFloat64(o);
  }
}

/** Bytes after the type byte of a msgpack int or float, or 0 when `t` is not one (or a fixint, which has none). */
function numberWidth(t: number): number {
  return t === 0xcc || t === 0xd0 ? 1 : t === 0xcd || t === 0xd1 ? 2 : t === 0xce || t === 0xd2 || t === 0xca ? 4 : t === 0xcf || t === 0xd3 || t === 0xcb ? 8 : 0;
}

/**
 * Moves `cur` past the number there without decoding it; false when it is
 * something else or truncated. (Decoding a float64 needs a DataView over the
 * buffer: per message read, that showed in the profile.)
 */
function skipNumber(b: Uint8Array): boolean {
  if (cur >= b.length) return false;
  const t = b[cur++]!;
  if (t <= 0x7f || t >= 0xe0) return true;
  const width = numberWidth(t);
  cur += width;
  return width !== 0 && cur <= b.length;
}

/** Length of the string at `cur` (advancing past its header), or -1. */
function stringHeader(b: Uint8Array): number {
  if (cur >= b.length) return -1;
  const t = b[cur++]!;
  if (t >= 0xa0 && t <= 0xbf) return t - 0xa0;
  if (t === 0xd9 && cur < b.length) return b[cur++]!;
  return -1;
}

/** Length of the array at `cur` (advancing past its header), or -1. */
function arrayHeader(b: Uint8Array): number {
  if (cur >= b.length) return -1;
  const t = b[cur++]!;
  if (t >= 0x90 && t <= 0x9f) return t - 0x90;
  if (t === 0xdc && cur + 2 <= b.length) {
    const n = (b[cur]! << 8) | b[cur + 1]!;
    cur += 2;
    return n;
  }
  return -1;
}
