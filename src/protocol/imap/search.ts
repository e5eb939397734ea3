/**
 * SEARCH (RFC 3501 §6.4.4) over the selected folder.
 *
 * Two passes. The first evaluates the criteria for every message from the
 * folder's typed arrays alone (flags, UID, sequence number, size, internal
 * date), with three-valued logic: a key that needs the message's content
 * (FROM, SUBJECT, HEADER, BODY, TEXT, SENT*) is "unknown". Most messages are
 * decided there — `SEARCH UNSEEN` reads nothing. The messages still unknown
 * are read in batches (readMessages for the bytes, readMimeInfo for the
 * stored structure) and evaluated for real with the mime search helpers.
 *
 * Semantics worth stating:
 * - String keys match case-insensitively as substrings of the decoded
 *   (RFC 2047, charset, transfer encoding) text; HEADER with an empty value
 *   matches messages that have the field.
 * - BEFORE/ON/SINCE compare the INTERNALDATE's day in UTC (the zone is not
 *   stored); SENT* compare the Date header's day as written in its zone,
 *   "disregarding time and timezone"; a message without a readable Date
 *   matches no SENT* key.
 * - NEW is RECENT UNSEEN, OLD is NOT RECENT, with \Recent session-local.
 * - Messages expunged elsewhere but not yet announced match nothing.
 */
import type { Command, ImapDate, Interval, SearchKey, SequenceSet } from '../../codec/imap/index.js';
import { resolveSequenceSet } from '../../codec/imap/index.js';
import { bodyText, containsText, headerText, headerValue, parseRfc5322Date, type MimeInfo } from '../../codec/mime/index.js';
import type { Logger } from '../../core/log.js';
import { FLAG_BITS, type MailboxPort } from '../mailbox-port.js';
import { IMAP_LIMITS } from './limits.js';
import type { SelectedFolder } from './selected.js';

export interface SearchContext {
  mailbox: MailboxPort;
  logger: Logger;
  connId: string;
}

type SearchCommand = Extract<Command, { name: 'SEARCH' }>;

/** Three-valued truth: content keys are UNKNOWN until the message is read. */
const FALSE = 0;
const TRUE = 1;
const UNKNOWN = 2;
type Tri = typeof FALSE | typeof TRUE | typeof UNKNOWN;

interface Message {
  msn: number;
  uid: number;
  /** Slot in the live folder. */
  slot: number;
}

/** What a content key needs read; computed lazily per message and cached (TEXT reuses BODY's text). */
interface Content {
  raw: Buffer;
  info: MimeInfo;
  headerText?: string;
  bodyText?: string;
}

const DAY_MS = 86_400_000;

function dayNumber(d: ImapDate): number {
  const t = new Date(0);
  t.setUTCFullYear(d.year, d.month - 1, d.day);
  return Math.floor(t.getTime() / DAY_MS);
}

class Evaluator {
  private readonly sel: SelectedFolder;
  private readonly maxUid: number;
  private readonly count: number;
  /** Keyword bit by lower-cased name, built once per search. */
  private readonly keywordBits = new Map<string, number>();
  private readonly intervals = new Map<SearchKey, Interval[]>();

  constructor(sel: SelectedFolder) {
    this.sel = sel;
    this.count = sel.count;
    this.maxUid = sel.count > 0 ? sel.uidAt(sel.count) : 0;
    sel.live.keywords.forEach((k, i) => this.keywordBits.set(k.toLowerCase(), 1 << (5 + i)));
  }

  evaluate(key: SearchKey, m: Message, content: Content | null): Tri {
    const live = this.sel.live;
    const flags = live.flags[m.slot]!;
    const has = (bit: number): Tri => ((flags & bit) !== 0 ? TRUE : FALSE);
    switch (key.key) {
      case 'ALL':
        return TRUE;
      case 'ANSWERED':
        return has(FLAG_BITS.answered);
      case 'DELETED':
        return has(FLAG_BITS.deleted);
      case 'DRAFT':
        return has(FLAG_BITS.draft);
      case 'FLAGGED':
        return has(FLAG_BITS.flagged);
      case 'SEEN':
        return has(FLAG_BITS.seen);
      case 'UNANSWERED':
        return not(has(FLAG_BITS.answered));
      case 'UNDELETED':
        return not(has(FLAG_BITS.deleted));
      case 'UNDRAFT':
        return not(has(FLAG_BITS.draft));
      case 'UNFLAGGED':
        return not(has(FLAG_BITS.flagged));
      case 'UNSEEN':
        return not(has(FLAG_BITS.seen));
      case 'RECENT':
        return this.sel.isRecent(m.uid) ? TRUE : FALSE;
      case 'OLD':
        return this.sel.isRecent(m.uid) ? FALSE : TRUE;
      case 'NEW':
        return this.sel.isRecent(m.uid) && (flags & FLAG_BITS.seen) === 0 ? TRUE : FALSE;
      case 'KEYWORD':
      case 'UNKEYWORD': {
        const bit = this.keywordBits.get(key.flag.toLowerCase());
        const set = bit !== undefined && (flags & bit) !== 0;
        return set === (key.key === 'KEYWORD') ? TRUE : FALSE;
      }
      case 'LARGER':
        return live.size[m.slot]! > key.size ? TRUE : FALSE;
      case 'SMALLER':
        return live.size[m.slot]! < key.size ? TRUE : FALSE;
      case 'BEFORE':
      case 'ON':
      case 'SINCE': {
        const day = Math.floor(live.date[m.slot]! / 86_400);
        return compareDay(key.key, day, dayNumber(key.date));
      }
      case 'SENTBEFORE':
      case 'SENTON':
      case 'SENTSINCE': {
        if (content === null) return UNKNOWN;
        const parsed = content.info.envelope.date === null ? null : parseRfc5322Date(content.info.envelope.date);
        if (parsed === null) return FALSE;
        const day = Math.floor((parsed.time + parsed.offsetMinutes * 60_000) / DAY_MS);
        return compareDay(key.key === 'SENTBEFORE' ? 'BEFORE' : key.key === 'SENTON' ? 'ON' : 'SINCE', day, dayNumber(key.date));
      }
      case 'UID':
        return this.inSet(key, key.set, m.uid, this.maxUid) ? TRUE : FALSE;
      case 'SEQ':
        return this.inSet(key, key.set, m.msn, this.count) ? TRUE : FALSE;
      case 'BCC':
      case 'CC':
      case 'FROM':
      case 'SUBJECT':
      case 'TO':
        if (content === null) return UNKNOWN;
        return headerValue(content.raw, content.info, key.key).some((v) => containsText(v, key.value)) ? TRUE : FALSE;
      case 'HEADER': {
        if (content === null) return UNKNOWN;
        const values = headerValue(content.raw, content.info, key.field);
        return values.some((v) => containsText(v, key.value)) ? TRUE : FALSE;
      }
      case 'BODY':
        if (content === null) return UNKNOWN;
        return containsText(this.body(content), key.value) ? TRUE : FALSE;
      case 'TEXT':
        if (content === null) return UNKNOWN;
        content.headerText ??= headerText(content.raw, content.info);
        return containsText(content.headerText, key.value) || containsText(this.body(content), key.value) ? TRUE : FALSE;
      case 'NOT':
        return not(this.evaluate(key.operand, m, content));
      case 'OR': {
        const left = this.evaluate(key.left, m, content);
        if (left === TRUE) return TRUE;
        const right = this.evaluate(key.right, m, content);
        if (right === TRUE) return TRUE;
        return left === UNKNOWN || right === UNKNOWN ? UNKNOWN : FALSE;
      }
      case 'AND': {
        let result: Tri = TRUE;
        for (const operand of key.operands) {
          const t = this.evaluate(operand, m, content);
          if (t === FALSE) return FALSE;
          if (t === UNKNOWN) result = UNKNOWN;
        }
        return result;
      }
    }
  }

  /**
   * Set membership by binary search over the set's merged intervals,
   * resolved once per key: a 64 KB set of single numbers tested against
   * every message of a large folder stays cheap.
   */
  private inSet(key: SearchKey, set: SequenceSet, n: number, star: number): boolean {
    let intervals = this.intervals.get(key);
    if (intervals === undefined) this.intervals.set(key, (intervals = resolveSequenceSet(set, star)));
    let lo = 0;
    let hi = intervals.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const [a, b] = intervals[mid]!;
      if (n < a) hi = mid - 1;
      else if (n > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  private body(content: Content): string {
    content.bodyText ??= bodyText(content.raw, content.info);
    return content.bodyText;
  }
}

function not(t: Tri): Tri {
  return t === UNKNOWN ? UNKNOWN : t === TRUE ? FALSE : TRUE;
}

function compareDay(op: 'BEFORE' | 'ON' | 'SINCE', day: number, ref: number): Tri {
  const ok = op === 'BEFORE' ? day < ref : op === 'ON' ? day === ref : day >= ref;
  return ok ? TRUE : FALSE;
}

/** The matching message numbers (or UIDs with UID SEARCH), ascending. */
export async function search(ctx: SearchContext, sel: SelectedFolder, cmd: SearchCommand): Promise<number[]> {
  const evaluator = new Evaluator(sel);
  const liveSlots = sel.liveSlots();
  const matched: number[] = [];
  const undecided: Message[] = [];
  const flagMask = flagTest(cmd.criteria);
  if (flagMask !== null) {
    // A flag key or its negation (SEEN, UNSEEN, DELETED, …), the common client query: one pass over the flags array.
    const flags = sel.live.flags;
    const want = flagMask.set ? flagMask.bit : 0;
    for (let i = 0; i < sel.count; i++) {
      const slot = liveSlots[i]!;
      if (slot >= 0 && (flags[slot]! & flagMask.bit) === want) matched.push(i);
    }
    return cmd.uid ? matched.map((i) => sel.uidAt(i + 1)) : matched.map((i) => i + 1);
  }
  // One object reused for the first pass; only undecided messages keep theirs.
  const m: Message = { msn: 0, uid: 0, slot: 0 };
  for (let i = 0; i < sel.count; i++) {
    const slot = liveSlots[i]!;
    if (slot < 0) continue;
    m.msn = i + 1;
    m.uid = sel.uidAt(i + 1);
    m.slot = slot;
    const t = evaluator.evaluate(cmd.criteria, m, null);
    if (t === TRUE) matched.push(i);
    else if (t === UNKNOWN) undecided.push({ ...m });
  }
  if (undecided.length > 0) {
    const hits = await searchContent(ctx, sel, evaluator, cmd.criteria, undecided);
    for (const m of hits) matched.push(m.msn - 1);
    matched.sort((a, b) => a - b);
  }
  return matched.map((i) => (cmd.uid ? sel.uidAt(i + 1) : i + 1));
}

/** Second pass: reads the undecided messages in batches and evaluates them fully. */
async function searchContent(ctx: SearchContext, sel: SelectedFolder, evaluator: Evaluator, criteria: SearchKey, messages: Message[]): Promise<Message[]> {
  const hits: Message[] = [];
  // SENT* keys need only the stored structure (its Date); the others need the bytes too.
  const needRaw = needsBytes(criteria);
  let start = 0;
  while (start < messages.length) {
    let end = start;
    let bytes = 0;
    while (end < messages.length && end - start < IMAP_LIMITS.batchMessages && (end === start || bytes + sel.live.size[messages[end]!.slot]! <= IMAP_LIMITS.batchBytes)) {
      bytes += sel.live.size[messages[end]!.slot]!;
      end++;
    }
    const batch = messages.slice(start, end);
    start = end;
    const uids = batch.map((m) => m.uid);
    let raws: (Buffer | null)[];
    let infos: (MimeInfo | null)[];
    try {
      [raws, infos] = await Promise.all([
        needRaw ? ctx.mailbox.readMessages(sel.owner, sel.name, uids) : uids.map(() => EMPTY),
        ctx.mailbox.readMimeInfo(sel.owner, sel.name, uids),
      ]);
    } catch (err) {
      // A damaged record: search the rest of the batch one by one, leaving the damaged one out.
      ctx.logger.warn({ err, conn: ctx.connId, folder: sel.name }, 'search batch read failed; reading one by one');
      raws = [];
      infos = [];
      for (const uid of uids) {
        const [raw, info] = await Promise.all([
          needRaw ? ctx.mailbox.readMessages(sel.owner, sel.name, [uid]).then((r) => r[0] ?? null, () => null) : EMPTY,
          ctx.mailbox.readMimeInfo(sel.owner, sel.name, [uid]).then((r) => r[0] ?? null, () => null),
        ]);
        raws.push(raw);
        infos.push(info);
      }
    }
    batch.forEach((m, k) => {
      const raw = raws[k];
      const info = infos[k];
      if (!raw || !info) return; // expunged while we searched, or unreadable
      const slot = sel.live.indexOf(m.uid);
      if (slot < 0) return;
      m.slot = slot; // the folder may have shifted while we read
      if (evaluator.evaluate(criteria, m, { raw, info }) === TRUE) hits.push(m);
    });
  }
  return hits;
}

const EMPTY = Buffer.alloc(0);

/** The flag bit a key tests and whether it wants it set, for a lone system-flag key (or NOT of one); null for anything else. */
function flagTest(key: SearchKey): { bit: number; set: boolean } | null {
  switch (key.key) {
    case 'ANSWERED':
      return { bit: FLAG_BITS.answered, set: true };
    case 'DELETED':
      return { bit: FLAG_BITS.deleted, set: true };
    case 'DRAFT':
      return { bit: FLAG_BITS.draft, set: true };
    case 'FLAGGED':
      return { bit: FLAG_BITS.flagged, set: true };
    case 'SEEN':
      return { bit: FLAG_BITS.seen, set: true };
    case 'UNANSWERED':
      return { bit: FLAG_BITS.answered, set: false };
    case 'UNDELETED':
      return { bit: FLAG_BITS.deleted, set: false };
    case 'UNDRAFT':
      return { bit: FLAG_BITS.draft, set: false };
    case 'UNFLAGGED':
      return { bit: FLAG_BITS.flagged, set: false };
    case 'UNSEEN':
      return { bit: FLAG_BITS.seen, set: false };
    case 'NOT': {
      const inner = flagTest(key.operand);
      return inner === null ? null : { bit: inner.bit, set: !inner.set };
    }
    case 'AND':
      return key.operands.length === 1 ? flagTest(key.operands[0]!) : null;
    default:
      return null;
  }
}

/** Whether a key needs the message's bytes (header or body text), not just its stored structure. */
function needsBytes(key: SearchKey): boolean {
  switch (key.key) {
    case 'BCC':
    case 'CC':
    case 'FROM':
    case 'SUBJECT':
    case 'TO':
    case 'HEADER':
    case 'BODY':
    case 'TEXT':
      return true;
    case 'NOT':
      return needsBytes(key.operand);
    case 'OR':
      return needsBytes(key.left) || needsBytes(key.right);
    case 'AND':
      return key.operands.some(needsBytes);
    default:
      return false;
  }
}
