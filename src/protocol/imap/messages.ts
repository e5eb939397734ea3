/**
 * Handlers of the selected state (RFC 3501 §6.4, RFC 3691 UNSELECT, RFC 4315
 * UID EXPUNGE and COPYUID, RFC 6851 MOVE). FETCH and SEARCH live in their
 * own modules; these are the short ones.
 *
 * EXPUNGE responses are never written here: the store reports what it
 * removed, SelectedFolder queues it, and the dispatcher's sync after the
 * command sends it (or holds it, for FETCH/STORE/SEARCH).
 */
import { compressUids, type Command } from '../../codec/imap/index.js';
import { isPostlineError } from '../../core/errors.js';
import { FLAG_BITS } from '../mailbox-port.js';
import type { ImapContext } from './context.js';
import { IMAP_LIMITS } from './limits.js';
import { fetch as fetchItems } from './fetch.js';
import { Done, Untagged, type Completion } from './responses.js';
import { search as searchMessages } from './search.js';
import { SYSTEM_FLAGS, type SelectedFolder } from './selected.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

/** UIDs of the sequence still in the live folder with \Deleted set, among `slots` (all when null). */
function deletedUids(sel: SelectedFolder, slots: readonly number[] | null): number[] {
  const live = sel.live;
  const liveSlots = sel.liveSlots();
  const out: number[] = [];
  const check = (i: number): void => {
    const s = liveSlots[i]!;
    if (s >= 0 && (live.flags[s]! & FLAG_BITS.deleted) !== 0) out.push(sel.uidAt(i + 1));
  };
  if (slots === null) for (let i = 0; i < sel.count; i++) check(i);
  else for (const i of slots) check(i);
  return out;
}

/** The UIDs of `slots` still present; `missing` counts the ones expunged elsewhere. */
function presentUids(sel: SelectedFolder, slots: readonly number[]): { uids: number[]; missing: number } {
  const liveSlots = sel.liveSlots();
  const uids: number[] = [];
  let missing = 0;
  for (const i of slots) {
    if (liveSlots[i]! >= 0) uids.push(sel.uidAt(i + 1));
    else missing++;
  }
  return { uids, missing };
}

/** A flag STORE/APPEND may set: the five system flags and keywords. \Recent is the server's and is ignored. Returns the bad flag, if any. */
export function invalidFlag(flags: readonly string[]): string | null {
  for (const f of flags) if (f.startsWith('\\') && f !== '\\Recent' && !(SYSTEM_FLAGS as readonly string[]).includes(f)) return f;
  return null;
}

export function storableFlags(flags: readonly string[]): string[] {
  return flags.filter((f) => f !== '\\Recent');
}

export async function close(ctx: ImapContext): Promise<Completion> {
  const sel = ctx.selected!;
  // RFC 3501 §6.4.2: expunge silently (no EXPUNGE responses), and not at all when read-only.
  if (!sel.readOnly) {
    const uids = deletedUids(sel, null);
    if (uids.length > 0) await ctx.deps.mailbox.expunge(sel.owner, sel.name, uids);
  }
  ctx.select(null);
  return Done.close;
}

export function unselect(ctx: ImapContext): Completion {
  ctx.select(null);
  return Done.unselect;
}

export function check(): Completion {
  // Every write is durable when it completes: there is nothing to checkpoint.
  return Done.check;
}

export async function expunge(ctx: ImapContext, cmd: Cmd<'EXPUNGE'>): Promise<Completion> {
  const sel = ctx.selected!;
  if (sel.readOnly) return Done.readOnly;
  let slots: number[] | null = null;
  if (cmd.set !== null) slots = sel.resolve(cmd.set, true);
  // Only messages this client knows of: one that arrived with \Deleted a moment ago stays until it has been seen.
  const uids = deletedUids(sel, slots);
  if (uids.length > 0) await ctx.deps.mailbox.expunge(sel.owner, sel.name, uids);
  return Done.expunge;
}

export async function search(ctx: ImapContext, cmd: Cmd<'SEARCH'>): Promise<Completion> {
  const numbers = await searchMessages({ mailbox: ctx.deps.mailbox, logger: ctx.deps.logger, connId: ctx.conn.id }, ctx.selected!, cmd);
  ctx.out.push(Untagged.search(numbers));
  return Done.search;
}

export function fetch(ctx: ImapContext, cmd: Cmd<'FETCH'>): Promise<Completion> {
  return fetchItems({ mailbox: ctx.deps.mailbox, out: ctx.out, logger: ctx.deps.logger, connId: ctx.conn.id }, ctx.selected!, cmd);
}

export async function store(ctx: ImapContext, cmd: Cmd<'STORE'>): Promise<Completion> {
  const sel = ctx.selected!;
  const slots = sel.resolve(cmd.set, cmd.uid);
  if (slots === null) return Done.badSequence;
  const bad = invalidFlag(cmd.flags);
  if (bad !== null) return Done.badFlag(bad);
  if (sel.readOnly) return Done.readOnly;
  const { uids, missing } = presentUids(sel, slots);
  const op = cmd.action === 'add' ? '+' : cmd.action === 'remove' ? '-' : '=';
  try {
    await ctx.deps.mailbox.setFlags(sel.owner, sel.name, uids, op, storableFlags(cmd.flags));
  } catch (err) {
    if (isPostlineError(err, 'ERR_MAILBOX_INVALID')) return Done.tooManyKeywords;
    throw err;
  }
  // This reply reports the new flags; no unsolicited FETCH for them afterwards.
  sel.forgetFlagChanges(uids);
  ctx.out.push(sel.announceKeywords());
  if (!cmd.silent) {
    const live = sel.live;
    let text = '';
    for (const uid of uids) {
      const s = live.indexOf(uid);
      if (s >= 0) text += Untagged.fetchFlags(sel.msnOf(uid), sel.flagsOf(live.flags[s]!, uid), cmd.uid ? uid : null);
    }
    ctx.out.push(text);
  }
  return missing > 0 && !cmd.uid ? Done.expungeIssued : Done.store;
}

/** COPY and MOVE (MOVE = copy, then expunge the originals: RFC 6851 §3.3 allows exactly that). */
export async function copy(ctx: ImapContext, cmd: Cmd<'COPY'> | Cmd<'MOVE'>): Promise<Completion> {
  const sel = ctx.selected!;
  const mailbox = ctx.deps.mailbox;
  const slots = sel.resolve(cmd.set, cmd.uid);
  if (slots === null) return Done.badSequence;
  const move = cmd.name === 'MOVE';
  if (move && sel.readOnly) return Done.readOnly;
  if (!mailbox.folder(sel.owner, cmd.mailbox)) return Done.tryCreate;
  const { uids, missing } = presentUids(sel, slots);
  // RFC 2180 §4.4.1: a COPY naming an expunged message copies nothing.
  if (missing > 0 && !cmd.uid) return Done.expungeIssued;
  if (uids.length === 0) return move ? Done.moved : Done.nothingCopied;
  let pairs: [number, number][];
  try {
    pairs = await copyMessages(ctx, sel.owner, sel.name, uids, cmd.mailbox);
  } catch (err) {
    if (isPostlineError(err, 'ERR_MAILBOX_NOT_FOUND')) return Done.tryCreate;
    if (isPostlineError(err, 'ERR_MAILBOX_INVALID')) return Done.tooManyKeywords;
    throw err;
  }
  const placed = pairs.filter(([, to]) => to > 0).sort((a, b) => a[0] - b[0]);
  const dest = mailbox.folder(sel.owner, cmd.mailbox);
  const code = dest && placed.length > 0 ? `COPYUID ${dest.uidValidity} ${compressUids(placed.map((p) => p[0]))} ${compressUids(placed.map((p) => p[1]))}` : null;
  if (!move) return Done.copied(code);
  // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
  if (code !== null) ctx.out.push(Untagged.copyUid(code));
  await mailbox.expunge(sel.owner, sel.name, placed.map((p) => p[0]));
  return Done.moved;
}

/**
 * Copies messages (flags and INTERNALDATE kept) into another folder of the
 * same user: [source uid, new uid] pairs, in source order. Composed from the
 * port's batched reads and deliveries rather than mailbox.copy, so the
 * bodies are read a batch at a time (coalesced preads) and the copies get
 * their UIDs in the order of the originals — deliveries are issued in order
 * and the store assigns UIDs as they are queued, one group commit per batch.
 */
export async function copyMessages(ctx: ImapContext, owner: string, from: string, uids: readonly number[], to: string): Promise<[number, number][]> {
  const mailbox = ctx.deps.mailbox;
  const source = mailbox.folder(owner, from);
  if (!source) return [];
  const pairs: [number, number][] = [];
  let start = 0;
  while (start < uids.length) {
    let end = start;
    let bytes = 0;
    while (end < uids.length && end - start < IMAP_LIMITS.batchMessages && bytes <= IMAP_LIMITS.batchBytes) {
      const slot = source.indexOf(uids[end]!);
      bytes += slot >= 0 ? source.size[slot]! : 0;
      end++;
    }
    const batch = uids.slice(start, end);
    start = end;
    const bodies = await mailbox.readMessages(owner, from, batch);
    const copies: Promise<[number, number]>[] = [];
    batch.forEach((uid, k) => {
      const body = bodies[k];
      const slot = source.indexOf(uid);
      if (!body || slot < 0) return; // expunged meanwhile
      const flags = source.flagNames(source.flags[slot]!);
      const internalDate = source.date[slot]! * 1000;
      copies.push(mailbox.deliver({ recipients: [owner], folder: to, body, flags, internalDate }).then((placed) => [uid, placed[0]?.uid ?? 0]));
    });
    pairs.push(...(await Promise.all(copies)));
  }
  return pairs;
}
