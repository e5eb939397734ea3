/**
 * FETCH (RFC 3501 §6.4.5): renders the requested items of each message.
 *
 * Where each item comes from:
 * - UID, FLAGS, INTERNALDATE, RFC822.SIZE: the folder's typed arrays; a
 *   fetch of only these reads no record at all.
 * - ENVELOPE, BODY, BODYSTRUCTURE: the MIME structure stored at delivery
 *   (mailbox.readMimeInfo), never a body parse.
 * - BODY[...], RFC822*: the raw message (mailbox.readMessages). Sections
 *   other than the whole message also need the MIME structure to find their
 *   bytes (src/codec/mime/sections.ts).
 *
 * Records are read in batches (IMAP_LIMITS.batchMessages / batchBytes) so
 * the store can coalesce its preads, one batch ahead of the one being
 * written; bodies go out as the Buffers read (response prefix + literal
 * bytes), with socket backpressure, never as one huge string.
 *
 * Messages expunged by another session but not yet announced to this one
 * are left out: a FETCH by message number then ends in NO [EXPUNGEISSUED]
 * (RFC 2180 §4.1.2, RFC 5530), a UID FETCH just omits them.
 *
 * BODY[...] (not .PEEK), RFC822 and RFC822.TEXT set \Seen (read-write
 * folders only): that is one flag record for the whole command, written
 * before the bodies go out, and such messages get FLAGS in their response.
 */
import { astring, formatDateTime, type Command, type FetchItem, type Section as ImapSection } from '../../codec/imap/index.js';
import { bodyStructureString, envelopeString, partialBytes, sectionBytes, type MimeInfo, type Section as MimeSection } from '../../codec/mime/index.js';
import type { Logger } from '../../core/log.js';
import type { MailboxPort } from '../mailbox-port.js';
import { IMAP_LIMITS } from './limits.js';
import type { Output } from './output.js';
import { Done, type Completion } from './responses.js';
import type { SelectedFolder } from './selected.js';

export interface FetchContext {
  mailbox: MailboxPort;
  out: Output;
  logger: Logger;
  connId: string;
}

type FetchCommand = Extract<Command, { name: 'FETCH' }>;

interface Plan {
  items: FetchItem[];
  needRaw: boolean;
  needMime: boolean;
  setsSeen: boolean;
  hasFlags: boolean;
}

const FLAG_SEEN = 1;

function plan(items: FetchItem[], uid: boolean): Plan {
  let needRaw = false;
  let needMime = false;
  let setsSeen = false;
  const out = [...items];
  // RFC 3501 §6.4.8: a UID FETCH response always carries UID.
  if (uid && !out.some((i) => i.item === 'UID')) out.unshift({ item: 'UID' });
  for (const item of out) {
    switch (item.item) {
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE':
        needMime = true;
        break;
      case 'RFC822':
        needRaw = true;
        setsSeen = true;
        break;
      case 'RFC822.HEADER':
        needRaw = needMime = true;
        break;
      case 'RFC822.TEXT':
        needRaw = needMime = true;
        setsSeen = true;
        break;
      case 'BODY[]':
        needRaw = true;
        if (item.section.part.length > 0 || item.section.text !== null) needMime = true;
        if (!item.peek) setsSeen = true;
        break;
      default:
        break;
    }
  }
  return { items: out, needRaw, needMime, setsSeen, hasFlags: out.some((i) => i.item === 'FLAGS') };
}

function mimeSection(s: ImapSection): MimeSection {
  const t = s.text;
  if (t === null) return { part: s.part, kind: 'all' };
  switch (t.kind) {
    case 'HEADER':
      return { part: s.part, kind: 'header' };
    case 'TEXT':
      return { part: s.part, kind: 'text' };
    case 'MIME':
      return { part: s.part, kind: 'mime' };
    case 'HEADER.FIELDS':
      return { part: s.part, kind: t.not ? 'fields-not' : 'fields', fields: t.fields };
  }
}

/** The section as echoed in the response: BODY[1.HEADER.FIELDS (FROM TO)]. */
function sectionName(s: ImapSection): string {
  const part = s.part.join('.');
  const t = s.text;
  if (t === null) return part;
  const text = t.kind === 'HEADER.FIELDS' ? `HEADER.FIELDS${t.not ? '.NOT' : ''} (${t.fields.map((f) => astring(f.toUpperCase())).join(' ')})` : t.kind;
  return part.length > 0 ? `${part}.${text}` : text;
}

const HEADER: MimeSection = { part: [], kind: 'header' };
const TEXT: MimeSection = { part: [], kind: 'text' };

interface Batch {
  slots: number[];
  uids: number[];
  raw: (Buffer | null)[] | null;
  mime: (MimeInfo | null)[] | null;
  unreadable: boolean;
}

export async function fetch(ctx: FetchContext, sel: SelectedFolder, cmd: FetchCommand): Promise<Completion> {
  const slots = sel.resolve(cmd.set, cmd.uid);
  if (slots === null) return Done.badSequence;
  const p = plan(cmd.items, cmd.uid);
  const live = sel.live;
  let liveSlots = sel.liveSlots();
  let missing = 0;

  // \Seen first, in one record, so the bodies go out with their new flags.
  let seenNow: Set<number> | null = null;
  if (p.setsSeen && !sel.readOnly) {
    const unseen: number[] = [];
    for (const i of slots) {
      const s = liveSlots[i]!;
      if (s >= 0 && (live.flags[s]! & FLAG_SEEN) === 0) unseen.push(sel.uidAt(i + 1));
    }
    if (unseen.length > 0) {
      await ctx.mailbox.setFlags(sel.owner, sel.name, unseen, '+', ['\\Seen']);
      sel.forgetFlagChanges(unseen);
      seenNow = new Set(unseen);
      liveSlots = sel.liveSlots(); // the write may have let other changes in
    }
  }

  const out = ctx.out;
  const threshold = IMAP_LIMITS.pendingOutputBytes;

  if (!p.needRaw && !p.needMime) {
    let rendered = 0;
    for (const i of slots) {
      let s = liveSlots[i]!;
      // The live folder may have changed while we waited for the socket: trust a slot only if it still holds the uid.
      if (s >= 0 && (s >= live.count || live.uids[s] !== sel.uidAt(i + 1))) s = live.indexOf(sel.uidAt(i + 1));
      if (s < 0) {
        missing++;
        continue;
      }
      out.push(renderSimple(sel, p, i, s, seenNow));
      if ((++rendered & 255) === 0) await out.flushWhenFull(threshold);
    }
    await out.flushWhenFull(0);
  } else {
    const batches = makeBatches(sel, slots, liveSlots);
    for (const i of slots) if (liveSlots[i]! < 0) missing++;
    let unreadable = false;
    let next = batches.length > 0 ? readBatch(ctx, sel, p, batches[0]!) : null;
    for (let b = 0; b < batches.length; b++) {
      const batch = await next!;
      // Read ahead while this batch is written.
      next = b + 1 < batches.length ? readBatch(ctx, sel, p, batches[b + 1]!) : null;
      if (batch.unreadable) unreadable = true;
      for (let k = 0; k < batch.slots.length; k++) {
        const i = batch.slots[k]!;
        const s = live.indexOf(batch.uids[k]!);
        const raw = batch.raw?.[k] ?? null;
        const mime = batch.mime?.[k] ?? null;
        if (s < 0 || (p.needRaw && raw === null) || (p.needMime && mime === null)) {
          missing++; // expunged while we read
          continue;
        }
        renderFull(out, sel, p, i, s, raw, mime, seenNow);
        // Written as it fills, not once per batch: the socket has the first bytes while the rest is rendered.
        if (out.queuedBytes >= threshold) {
          await out.flushWhenFull(threshold);
          if (out.isStopped) break;
        }
      }
      await out.flushWhenFull(threshold);
      if (out.isStopped) break;
    }
    await out.flushWhenFull(0);
    if (unreadable) return Done.unreadable;
  }
  if (missing > 0 && !cmd.uid) return Done.expungeIssued;
  return Done.fetch;
}

/** Groups the present messages into read batches by count and stored size. */
function makeBatches(sel: SelectedFolder, slots: number[], liveSlots: Int32Array): { slots: number[]; uids: number[] }[] {
  const batches: { slots: number[]; uids: number[] }[] = [];
  let cur: { slots: number[]; uids: number[] } = { slots: [], uids: [] };
  let bytes = 0;
  for (const i of slots) {
    const s = liveSlots[i]!;
    if (s < 0) continue;
    const size = sel.live.size[s]!;
    if (cur.slots.length > 0 && (cur.slots.length >= IMAP_LIMITS.batchMessages || bytes + size > IMAP_LIMITS.batchBytes)) {
      batches.push(cur);
      cur = { slots: [], uids: [] };
      bytes = 0;
    }
    cur.slots.push(i);
    cur.uids.push(sel.uidAt(i + 1));
    bytes += size;
  }
  if (cur.slots.length > 0) batches.push(cur);
  return batches;
}

/**
 * Reads one batch; never rejects (it runs ahead, unawaited for a while). A
 * batch the store cannot read as a whole (a damaged record) is read message
 * by message so the others still go out; the damaged ones are left out.
 */
async function readBatch(ctx: FetchContext, sel: SelectedFolder, p: Plan, b: { slots: number[]; uids: number[] }): Promise<Batch> {
  const { mailbox } = ctx;
  try {
    const [raw, mime] = await Promise.all([
      p.needRaw ? mailbox.readMessages(sel.owner, sel.name, b.uids) : null,
      p.needMime ? mailbox.readMimeInfo(sel.owner, sel.name, b.uids) : null,
    ]);
    return { ...b, raw, mime, unreadable: false };
  } catch (err) {
    ctx.logger.warn({ err, conn: ctx.connId, folder: sel.name }, 'batch read failed; reading messages one by one');
  }
  let unreadable = false;
  const one = async <T>(read: () => Promise<T[]>): Promise<T | null> => {
    try {
      return (await read())[0] ?? null;
    } catch (err) {
      unreadable = true;
      ctx.logger.error({ err, conn: ctx.connId, folder: sel.name }, 'message unreadable');
      return null;
    }
  };
  const raw: (Buffer | null)[] = [];
  const mime: (MimeInfo | null)[] = [];
  for (const uid of b.uids) {
    if (p.needRaw) raw.push(await one(() => mailbox.readMessages(sel.owner, sel.name, [uid])));
    if (p.needMime) mime.push(await one(() => mailbox.readMimeInfo(sel.owner, sel.name, [uid])));
  }
  return { ...b, raw: p.needRaw ? raw : null, mime: p.needMime ? mime : null, unreadable };
}

/** A FETCH line of array-backed items only. */
function renderSimple(sel: SelectedFolder, p: Plan, i: number, s: number, seenNow: Set<number> | null): string {
  const uid = sel.uidAt(i + 1);
  let line = `* ${i + 1} FETCH (`;
  let first = true;
  for (const item of p.items) {
    if (!first) line += ' ';
    first = false;
    line += simpleItem(sel, item.item, uid, s);
  }
  if (!p.hasFlags && seenNow?.has(uid)) line += ` FLAGS ${sel.flagsOf(sel.live.flags[s]!, uid)}`;
  return line + ')\r\n';
}

function simpleItem(sel: SelectedFolder, item: FetchItem['item'], uid: number, s: number): string {
  const live = sel.live;
  switch (item) {
    case 'UID':
      return `UID ${uid}`;
    case 'FLAGS':
      return `FLAGS ${sel.flagsOf(live.flags[s]!, uid)}`;
    case 'INTERNALDATE':
      return `INTERNALDATE "${formatDateTime(live.date[s]! * 1000)}"`;
    case 'RFC822.SIZE':
      return `RFC822.SIZE ${live.size[s]}`;
    default:
      return ''; // not reached: plan() routes every other item to renderFull
  }
}

function renderFull(
  out: Output,
  sel: SelectedFolder,
  p: Plan,
  i: number,
  s: number,
  raw: Buffer | null,
  mime: MimeInfo | null,
  seenNow: Set<number> | null,
): void {
  const uid = sel.uidAt(i + 1);
  let text = `* ${i + 1} FETCH (`;
  let first = true;
  const literal = (name: string, bytes: Uint8Array): void => {
    out.push(`${text}${name} {${bytes.length}}\r\n`);
    text = '';
    out.pushBytes(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  };
  for (const item of p.items) {
    if (!first) text += ' ';
    first = false;
    switch (item.item) {
      case 'ENVELOPE':
        text += `ENVELOPE ${envelopeString(mime!)}`;
        break;
      case 'BODY':
        text += `BODY ${bodyStructureString(mime!, false)}`;
        break;
      case 'BODYSTRUCTURE':
        text += `BODYSTRUCTURE ${bodyStructureString(mime!, true)}`;
        break;
      case 'RFC822':
        literal('RFC822', raw!);
        break;
      case 'RFC822.HEADER':
        literal('RFC822.HEADER', sectionBytes(raw!, mime!, HEADER));
        break;
      case 'RFC822.TEXT':
        literal('RFC822.TEXT', sectionBytes(raw!, mime!, TEXT));
        break;
      case 'BODY[]': {
        const whole = item.section.part.length === 0 && item.section.text === null;
        let bytes: Uint8Array = whole ? raw! : sectionBytes(raw!, mime!, mimeSection(item.section));
        let name = `BODY[${sectionName(item.section)}]`;
        if (item.partial !== null) {
          bytes = partialBytes(bytes, item.partial.offset, item.partial.length);
          name += `<${item.partial.offset}>`;
        }
        literal(name, bytes);
        break;
      }
      default:
        text += simpleItem(sel, item.item, uid, s);
    }
  }
  if (!p.hasFlags && seenNow?.has(uid)) text += ` FLAGS ${sel.flagsOf(sel.live.flags[s]!, uid)}`;
  out.push(text + ')\r\n');
}
