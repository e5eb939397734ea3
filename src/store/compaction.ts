/**
 * Online compaction: rewrites sealed segments without the records nobody can
 * see any more, while the server keeps reading and appending.
 *
 * A segment keeps its number (log order is unchanged, so replay semantics
 * are too); only offsets inside it move. What is dropped:
 *   - message records with no live placement (all copies expunged, or their
 *     folders deleted);
 *   - flag records whose folder is gone or none of whose uids is still there;
 *   - damaged bytes (already reported by recovery and `log verify`).
 *   - queue entry and attempt records of messages that left the queue
 *     (every recipient delivered, bounced or deleted); a live entry's
 *     records stay, and its entry record's new offset goes to the queue
 *     index with the swap. queueDone records are always kept: the entry
 *     they finish may sit in a segment this pass does not rewrite, and
 *     without them a replay would bring the message back and send it again.
 * Expunge and folder records are kept: they are small, and a full replay
 * from an older checkpoint-less state needs them to keep UIDNEXT monotonic.
 */
import type { Log } from './log/log.js';
import { unpackMeta } from './log/encode.js';
import { RecordType, RECORD_HEADER_SIZE } from './log/record.js';
import { SEGMENT_HEADER_SIZE, scanRecords } from './log/segment.js';
import type { FlagsMeta, Mailboxes } from './mailbox/mailboxes.js';
import type { QueueIndex } from './queue-index.js';

export interface CompactionReport {
  segments: number;
  bytesBefore: number;
  bytesAfter: number;
}

interface LiveSet {
  offsets: Set<number>;
  bytes: number;
}

/** Live message records per sealed segment (offsets and their total bytes), in one pass over the index. */
function liveRecords(mailboxes: Mailboxes, sealed: Set<number>): Map<number, LiveSet> {
  const live = new Map<number, LiveSet>();
  for (const f of mailboxes.folders.values()) {
    for (let i = 0; i < f.count; i++) {
      const seg = f.seg[i]!;
      if (!sealed.has(seg)) continue;
      let set = live.get(seg);
      if (!set) live.set(seg, (set = { offsets: new Set(), bytes: 0 }));
      const off = f.off[i]!;
      // A record with several placements (multi-recipient delivery) counts once.
      if (!set.offsets.has(off)) {
        set.offsets.add(off);
        set.bytes += f.len[i]!;
      }
    }
  }
  return live;
}

export async function compactSegments(log: Log, mailboxes: Mailboxes, queue: QueueIndex, minGarbageRatio: number): Promise<CompactionReport> {
  const active = log.activeSegment;
  const sealedInfos = log.segmentList().filter((s) => s.number !== active && s.size > SEGMENT_HEADER_SIZE);
  const sealed = new Set(sealedInfos.map((s) => s.number));
  const live = liveRecords(mailboxes, sealed);
  // Live queue entries count as live bytes too, or a segment of undelivered mail would look like garbage.
  for (const item of queue.list()) {
    if (!sealed.has(item.loc.seg)) continue;
    let set = live.get(item.loc.seg);
    if (!set) live.set(item.loc.seg, (set = { offsets: new Set(), bytes: 0 }));
    set.bytes += item.loc.len;
  }
  const report: CompactionReport = { segments: 0, bytesBefore: 0, bytesAfter: 0 };

  for (const info of sealedInfos) {
    const { offsets, bytes } = live.get(info.number) ?? { offsets: new Set<number>(), bytes: 0 };
    const garbage = info.size - SEGMENT_HEADER_SIZE - bytes;
    if (garbage / info.size < minGarbageRatio) continue;

    const image = await log.readSegment(info.number);
    const kept: Uint8Array[] = [];
    const moved = new Map<number, number>();
    const movedEntries = new Map<string, number>();
    let at = SEGMENT_HEADER_SIZE;
    scanRecords(info.number, image, SEGMENT_HEADER_SIZE, log.salt, (header, buf, off) => {
      const len = RECORD_HEADER_SIZE + header.payloadLen;
      const metaBytes = buf.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + header.metaLen);
      if (header.type === RecordType.queueEntry || header.type === RecordType.queueAttempt) {
        const id = unpackMeta<{ i: string }>(metaBytes).i;
        const item = queue.get(id);
        if (!item) return;
        if (header.type === RecordType.queueEntry) {
          if (item.loc.seg !== info.number || item.loc.off !== off) return; // a stale duplicate
          movedEntries.set(id, at);
        }
      } else if (!keepRecord(header.type, metaBytes, offsets, mailboxes, off)) return;
      if (header.type === RecordType.message) moved.set(off, at);
      kept.push(buf.subarray(off, off + len));
      at += len;
    });

    const seg = info.number;
    const { before, after } = await log.replaceSegment(seg, kept, () => {
      // Runs in the same tick as the file handle swap: every index entry of
      // this segment moves to its new offset before any read can see it.
      for (const f of mailboxes.folders.values()) {
        for (let i = 0; i < f.count; i++) {
          if (f.seg[i] !== seg) continue;
          const next = moved.get(f.off[i]!);
          if (next !== undefined) f.off[i] = next;
        }
      }
      for (const [id, off] of movedEntries) {
        const item = queue.get(id);
        if (item) queue.relocate(id, { seg, off, len: item.loc.len });
      }
    });
    report.segments++;
    report.bytesBefore += before;
    report.bytesAfter += after;
  }
  return report;
}

function keepRecord(type: number, metaBytes: Buffer, liveMessages: Set<number>, mailboxes: Mailboxes, off: number): boolean {
  if (type === RecordType.message) return liveMessages.has(off);
  if (type === RecordType.flags) {
    const meta = unpackMeta<FlagsMeta>(metaBytes);
    const folder = mailboxes.folders.get(meta.x);
    return !!folder && meta.u.some((uid) => folder.indexOf(uid) >= 0);
  }
  return true;
}
