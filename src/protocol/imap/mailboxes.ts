/**
 * Handlers of the authenticated state that work on mailboxes as a whole
 * (RFC 3501 §6.3): SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE,
 * LIST, LSUB, STATUS, APPEND.
 *
 * Hierarchy decisions: CREATE "a/b/c" also creates missing "a" and "a/b"
 * (RFC 3501 §6.3.3 SHOULD); RENAME moves the inferiors along (§6.3.5);
 * DELETE leaves inferiors alone, the deleted name then shows as a \Noselect
 * node (§6.3.4). RENAME INBOX moves INBOX's messages to the new folder and
 * leaves INBOX empty, as §6.3.5 specifies.
 */
import type { Command, StatusItem } from '../../codec/imap/index.js';
import { isPostlineError } from '../../core/errors.js';
import type { FolderView } from '../mailbox-port.js';
import { FLAG_BITS } from '../mailbox-port.js';
import type { ImapContext } from './context.js';
import { canonicalPattern, DELIMITER, folderTree, listEntries, lsubEntries } from './list.js';
import { copyMessages, invalidFlag, storableFlags } from './messages.js';
import { Done, Untagged, type Completion } from './responses.js';
import { SelectedFolder } from './selected.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

const INBOX = 'INBOX';

/** Maps the store's expected refusals to replies; anything else is a server error (the dispatcher's). */
function refusal(err: unknown): Completion {
  if (isPostlineError(err, 'ERR_MAILBOX_NOT_FOUND')) return Done.noSuchMailbox;
  if (isPostlineError(err, 'ERR_MAILBOX_EXISTS')) return Done.alreadyExists;
  if (isPostlineError(err, 'ERR_MAILBOX_INVALID')) return Done.invalidName;
  throw err;
}

export function select(ctx: ImapContext, cmd: Cmd<'SELECT'> | Cmd<'EXAMINE'>): Completion {
  if (cmd.params.length > 0) return Done.selectParams;
  // RFC 3501 §6.3.1: a SELECT leaves the selected mailbox first, even if it then fails.
  ctx.select(null);
  const owner = ctx.user!;
  const live = ctx.deps.mailbox.folder(owner, cmd.mailbox);
  if (!live) return Done.noSuchMailbox;
  const readOnly = cmd.name === 'EXAMINE';
  const recentFrom = ctx.recentFrom(live.box) ?? (live.count > 0 ? live.uids[live.count - 1]! + 1 : 1);
  const sel = new SelectedFolder(live, { owner, name: live.name, box: live.box, readOnly, recentFrom });
  let text = Untagged.flags(sel.flagList()) + Untagged.exists(sel.count) + Untagged.recent(sel.recentCount());
  const unseen = sel.firstUnseen();
  if (unseen > 0) text += Untagged.unseen(unseen);
  text += Untagged.uidValidity(live.uidValidity) + Untagged.uidNext(live.uidNext) + Untagged.permanentFlags(sel.permanentFlags());
  ctx.out.push(text);
  ctx.select(sel);
  return Done.selected(readOnly, cmd.name);
}

export async function create(ctx: ImapContext, cmd: Cmd<'CREATE'>): Promise<Completion> {
  const owner = ctx.user!;
  const mailbox = ctx.deps.mailbox;
  // §6.3.3: a trailing delimiter only says the name is meant to hold children.
  let name = cmd.mailbox;
  while (name.endsWith(DELIMITER) && name.length > 1) name = name.slice(0, -1);
  if (cmd.specialUse.length > 0) return Done.useAttrUnsupported;
  if (name === INBOX || mailbox.folder(owner, name)) return Done.alreadyExists;
  try {
    await mailbox.createFolder(owner, name);
  } catch (err) {
    return refusal(err);
  }
  // Then the missing superiors (the name itself was valid, so its prefixes are).
  const parts = name.split(DELIMITER);
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join(DELIMITER);
    if (mailbox.folder(owner, parent)) continue;
    try {
      await mailbox.createFolder(owner, parent);
    } catch (err) {
      if (!isPostlineError(err, 'ERR_MAILBOX_EXISTS')) throw err; // created by another session meanwhile: fine
    }
  }
  return Done.create;
}

export async function remove(ctx: ImapContext, cmd: Cmd<'DELETE'>): Promise<Completion> {
  const owner = ctx.user!;
  if (cmd.mailbox === INBOX) return Done.inboxDelete;
  const folder = ctx.deps.mailbox.folder(owner, cmd.mailbox);
  if (!folder) return Done.noSuchMailbox;
  // Deleting our own selected folder: leave it first, so the deletion is not mistaken for someone else's.
  if (ctx.selected?.box === folder.box) ctx.select(null);
  try {
    await ctx.deps.mailbox.deleteFolder(owner, cmd.mailbox);
  } catch (err) {
    return refusal(err);
  }
  return Done.delete;
}

export async function rename(ctx: ImapContext, cmd: Cmd<'RENAME'>): Promise<Completion> {
  const owner = ctx.user!;
  const mailbox = ctx.deps.mailbox;
  const { from, to } = cmd;
  const source = mailbox.folder(owner, from);
  if (!source) return Done.noSuchMailbox;
  if (to === INBOX || mailbox.folder(owner, to)) return Done.alreadyExists;
  if (to.startsWith(from + DELIMITER)) return Done.invalidName; // into its own subtree
  try {
    if (from === INBOX) return await renameInbox(ctx, source, to);
    const inferiors = mailbox.listFolders(owner).filter((f) => f.name.startsWith(from + DELIMITER));
    await mailbox.renameFolder(owner, from, to);
    for (const child of inferiors) await mailbox.renameFolder(owner, child.name, to + child.name.slice(from.length));
  } catch (err) {
    return refusal(err);
  }
  return Done.rename;
}

/** RFC 3501 §6.3.5: renaming INBOX moves its messages to a new folder; INBOX stays, empty. */
async function renameInbox(ctx: ImapContext, inbox: FolderView, to: string): Promise<Completion> {
  const owner = ctx.user!;
  const mailbox = ctx.deps.mailbox;
  await mailbox.createFolder(owner, to);
  const uids = [...inbox.uids.subarray(0, inbox.count)];
  if (uids.length > 0) {
    const pairs = await copyMessages(ctx, owner, INBOX, uids, to);
    await mailbox.expunge(owner, INBOX, pairs.filter(([, n]) => n > 0).map(([u]) => u));
  }
  return Done.rename;
}

export async function subscribe(ctx: ImapContext, cmd: Cmd<'SUBSCRIBE'> | Cmd<'UNSUBSCRIBE'>): Promise<Completion> {
  const owner = ctx.user!;
  if (!ctx.deps.mailbox.folder(owner, cmd.mailbox)) return Done.noSuchMailbox;
  try {
    await ctx.deps.mailbox.subscribe(owner, cmd.mailbox, cmd.name === 'SUBSCRIBE');
  } catch (err) {
    return refusal(err);
  }
  return cmd.name === 'SUBSCRIBE' ? Done.subscribe : Done.unsubscribe;
}

export function list(ctx: ImapContext, cmd: Cmd<'LIST'>): Completion {
  const patterns = cmd.patterns.filter((p) => p.length > 0).map((p) => canonicalPattern(cmd.reference, p));
  // §6.3.8: an empty pattern asks for the delimiter and the root.
  if (patterns.length === 0) {
    if (cmd.selectOptions.length === 0) ctx.out.push(Untagged.listRoot);
    return Done.list;
  }
  const owner = ctx.user!;
  const entries = listEntries(folderTree(ctx.deps.mailbox.listFolders(owner)), patterns, {
    selectOptions: cmd.selectOptions,
    returnSubscribed: cmd.returnOptions.subscribed,
  });
  let text = '';
  for (const e of entries) {
    text += Untagged.list('LIST', e.attributes, e.name, e.extra);
    // RFC 5819: STATUS for each selectable mailbox listed.
    const items = cmd.returnOptions.status;
    if (items !== null && e.exists) {
      const folder = ctx.deps.mailbox.folder(owner, e.name);
      if (folder) text += Untagged.status(e.name, statusPairs(ctx, folder, items));
    }
  }
  ctx.out.push(text);
  return Done.list;
}

export function lsub(ctx: ImapContext, cmd: Cmd<'LSUB'>): Completion {
  if (cmd.pattern.length === 0) return Done.lsub;
  const entries = lsubEntries(folderTree(ctx.deps.mailbox.listFolders(ctx.user!)), canonicalPattern(cmd.reference, cmd.pattern));
  ctx.out.push(entries.map((e) => Untagged.list('LSUB', e.attributes, e.name)).join(''));
  return Done.lsub;
}

export function status(ctx: ImapContext, cmd: Cmd<'STATUS'>): Completion {
  const folder = ctx.deps.mailbox.folder(ctx.user!, cmd.mailbox);
  if (!folder) return Done.noSuchMailbox;
  ctx.out.push(Untagged.status(folder.name, statusPairs(ctx, folder, cmd.items)));
  return Done.status;
}

function statusPairs(ctx: ImapContext, folder: FolderView & { box: number }, items: readonly StatusItem[]): string[] {
  return items.map((item) => {
    switch (item) {
      case 'MESSAGES':
        return `MESSAGES ${folder.count}`;
      case 'RECENT':
        return `RECENT ${recentIn(ctx, folder)}`;
      case 'UIDNEXT':
        return `UIDNEXT ${folder.uidNext}`;
      case 'UIDVALIDITY':
        return `UIDVALIDITY ${folder.uidValidity}`;
      case 'UNSEEN': {
        let unseen = 0;
        for (let i = 0; i < folder.count; i++) if ((folder.flags[i]! & FLAG_BITS.seen) === 0) unseen++;
        return `UNSEEN ${unseen}`;
      }
    }
  });
}

/** \Recent for STATUS: this session's view (see selected.ts); 0 for a folder it never selected. */
function recentIn(ctx: ImapContext, folder: FolderView & { box: number }): number {
  if (ctx.selected?.box === folder.box) return ctx.selected.recentCount();
  const from = ctx.recentFrom(folder.box);
  if (from === undefined) return 0;
  let n = 0;
  for (let i = folder.count - 1; i >= 0 && folder.uids[i]! >= from; i--) n++;
  return n;
}

export async function append(ctx: ImapContext, cmd: Cmd<'APPEND'>): Promise<Completion> {
  const owner = ctx.user!;
  const mailbox = ctx.deps.mailbox;
  const bad = invalidFlag(cmd.flags);
  if (bad !== null) return Done.badFlag(bad);
  // §6.3.11: no such mailbox → NO [TRYCREATE], so the client may CREATE and retry.
  if (!mailbox.folder(owner, cmd.mailbox)) return Done.tryCreate;
  let placed;
  try {
    placed = await mailbox.deliver({
      recipients: [owner],
      folder: cmd.mailbox,
      body: ownBytes(cmd.message),
      flags: storableFlags(cmd.flags),
      internalDate: cmd.date?.epochMs,
    });
  } catch (err) {
    if (isPostlineError(err, 'ERR_MAILBOX_NOT_FOUND')) return Done.tryCreate;
    if (isPostlineError(err, 'ERR_MAILBOX_INVALID')) return Done.tooManyKeywords;
    throw err;
  }
  const at = placed[0];
  const folder = mailbox.folder(owner, cmd.mailbox);
  if (!at || !folder) return Done.tryCreate; // deleted while the message was written
  return Done.appended(folder.uidValidity, at.uid);
}

/**
 * The literal may be a view into a larger input chunk (the framer shares
 * memory): copy it then, so the store never pins the rest of that chunk.
 * A literal assembled from several chunks is already its own buffer.
 */
function ownBytes(bytes: Buffer): Buffer {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : Buffer.from(bytes);
}
