/**
 * Parses one IMAP command frame (see framer.ts) into a typed Command. Pure
 * and total: any frame in, a value out, never a throw. The session owns state
 * and replies; this module only says what was sent.
 *
 * Supported: RFC 3501 IMAP4rev1, plus LITERAL+ (framing), IDLE, UIDPLUS
 * (UID EXPUNGE), MOVE, ENABLE, ID, NAMESPACE, UNSELECT, LIST-EXTENDED
 * selection/return options with SPECIAL-USE and LIST-STATUS, and
 * CREATE-SPECIAL-USE. Not supported, refused as syntax errors: BINARY
 * (literal8), MULTIAPPEND, CONDSTORE/QRESYNC modifiers (SELECT parameters
 * are read and listed, then left to the session), ESEARCH/SEARCHRES.
 *
 * Errors carry the tag when it could be read (reply `tag BAD message`;
 * otherwise `* BAD message`) and the command name when it was recognised.
 * kind 'bad-charset' means SEARCH CHARSET named a charset we do not search
 * in: RFC 3501 §6.4.4 wants `tag NO [BADCHARSET (US-ASCII UTF-8)]`.
 *
 * Mailbox names come out decoded from modified UTF-7 (RFC 3501 §5.1.3), with
 * INBOX in any case spelled INBOX; LIST/LSUB references and patterns are
 * decoded but otherwise left as sent.
 */
import { parseDateTime, type DateTime } from './datetime.js';
import { parseFetchItems, type FetchItem } from './fetch.js';
import type { Frame } from './framer.js';
import { DQUOTE, fail, LITERAL, LPAREN, ParseFailure, Reader, RPAREN, SP, type ParseErrorKind } from './reader.js';
import { parseSearchProgram, type SearchKey } from './search.js';
import type { SequenceSet } from './sequence.js';
import { isAtomChar, isTagChar, readTag } from './syntax.js';

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN';
export type StoreAction = 'replace' | 'add' | 'remove';
export type ListSelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
export type ListReturnOptions = { subscribed: boolean; children: boolean; specialUse: boolean; status: StatusItem[] | null };

type NoArgs = Record<never, never>;

/** Per command name, what it carries besides tag and name. */
export type CommandArgs = {
  CAPABILITY: NoArgs;
  NOOP: NoArgs;
  LOGOUT: NoArgs;
  STARTTLS: NoArgs;
  CHECK: NoArgs;
  CLOSE: NoArgs;
  UNSELECT: NoArgs;
  IDLE: NoArgs;
  NAMESPACE: NoArgs;
  /** initialResponse (SASL-IR, RFC 4959): null when absent, '' for "=", else base64 text. */
  AUTHENTICATE: { mechanism: string; initialResponse: string | null };
  LOGIN: { username: string; password: string };
  /** params: top-level names of a SELECT parameter list (e.g. CONDSTORE), otherwise ignored. */
  SELECT: { mailbox: string; params: string[] };
  EXAMINE: { mailbox: string; params: string[] };
  /** specialUse: CREATE-SPECIAL-USE (RFC 6154 §3) attributes, e.g. \Drafts. */
  CREATE: { mailbox: string; specialUse: string[] };
  DELETE: { mailbox: string };
  RENAME: { from: string; to: string };
  SUBSCRIBE: { mailbox: string };
  UNSUBSCRIBE: { mailbox: string };
  LIST: { reference: string; patterns: string[]; selectOptions: ListSelectOption[]; returnOptions: ListReturnOptions };
  LSUB: { reference: string; pattern: string };
  STATUS: { mailbox: string; items: StatusItem[] };
  /** message: the literal's bytes, shared with the frame. */
  APPEND: { mailbox: string; flags: string[]; date: DateTime | null; message: Buffer };
  /** set: only for UID EXPUNGE (UIDPLUS). */
  EXPUNGE: { uid: boolean; set: SequenceSet | null };
  SEARCH: { uid: boolean; charset: string | null; criteria: SearchKey };
  FETCH: { uid: boolean; set: SequenceSet; items: FetchItem[] };
  STORE: { uid: boolean; set: SequenceSet; action: StoreAction; silent: boolean; flags: string[] };
  COPY: { uid: boolean; set: SequenceSet; mailbox: string };
  MOVE: { uid: boolean; set: SequenceSet; mailbox: string };
  ENABLE: { capabilities: string[] };
  /** null for `ID NIL`. */
  ID: { params: Array<[field: string, value: string | null]> | null };
};

export type CommandName = keyof CommandArgs;
export type Command = { [N in CommandName]: { tag: string; name: N } & CommandArgs[N] }[CommandName];

export type ParseError = { ok: false; kind: ParseErrorKind; tag: string | null; name: CommandName | null; message: string };
export type ParseResult = { ok: true; command: Command } | ParseError;

/** Commands that may follow "UID" (RFC 3501 §6.4.8, RFC 4315, RFC 6851). */
const UID_COMMANDS: ReadonlySet<string> = new Set(['FETCH', 'STORE', 'COPY', 'MOVE', 'SEARCH', 'EXPUNGE']);
const STATUS_ITEMS: readonly StatusItem[] = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'];
const SELECT_OPTIONS: readonly ListSelectOption[] = ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'];
/** Canonical spelling of flags and special-use attributes that are compared case-insensitively. */
const CANONICAL = new Map(
  ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent', '\\All', '\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'].map((f) => [f.toLowerCase(), f]),
);
/** RFC 2971 §3.3: at most 30 field-value pairs. */
const MAX_ID_PAIRS = 30;

const BACKSLASH = 0x5c;

export function parseCommand(frame: Frame): ParseResult {
  let tag: string | null = null;
  let name: CommandName | null = null;
  try {
    const first: unknown = frame?.lines?.[0];
    if (first instanceof Uint8Array) tag = readTag(first, false);
    const r = new Reader(frame);
    if (r.atEnd()) fail('empty command line');
    if (tag === null) fail('invalid tag');
    r.run(isTagChar);
    if (r.atEnd()) fail('missing command name');
    r.sp();
    let word = r.word('a command name');
    let uid = false;
    if (word === 'UID') {
      r.sp();
      word = r.word('a command after UID');
      if (!UID_COMMANDS.has(word)) fail('UID must be followed by FETCH, STORE, COPY, MOVE, SEARCH or EXPUNGE');
      uid = true;
    }
    if (!Object.hasOwn(ARGS, word)) fail('unknown command', 'unknown-command');
    name = word as CommandName;
    const args = ARGS[name](r, uid);
    return { ok: true, command: { tag, name, ...args } as Command };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, kind: e.kind, tag, name, message: e.message };
    throw e; // a bug, not bad input: the property tests keep this unreachable
  }
}

/** The line that ends IDLE (RFC 2177): "DONE" in any case. Anything else is a protocol error the session answers. */
export function parseDone(frame: Frame): boolean {
  const lines: unknown = frame?.lines;
  if (!Array.isArray(lines) || lines.length !== 1 || !(lines[0] instanceof Uint8Array)) return false;
  return /^DONE *$/i.test(Buffer.from(lines[0]).toString('latin1'));
}

/** A client line during AUTHENTICATE (RFC 3501 §6.2.2): base64, or "*" to cancel. */
export type AuthenticateResponse = { kind: 'response'; base64: string } | { kind: 'cancel' } | { kind: 'invalid' };

export function parseAuthenticateResponse(frame: Frame): AuthenticateResponse {
  const lines: unknown = frame?.lines;
  if (!Array.isArray(lines) || lines.length !== 1 || !(lines[0] instanceof Uint8Array)) return { kind: 'invalid' };
  const text = Buffer.from(lines[0]).toString('latin1');
  if (text === '*') return { kind: 'cancel' };
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? { kind: 'response', base64: text } : { kind: 'invalid' };
}

/**
 * Tag and command name (upper-case; "UID FETCH" for UID commands) of a frame
 * in progress, without parsing the rest: for the framer's literalLimit
 * callback, which must pick a limit before the command is complete.
 */
export function peekCommand(frameSoFar: Frame): { tag: string | null; name: string | null } {
  const first: unknown = frameSoFar?.lines?.[0];
  if (!(first instanceof Uint8Array)) return { tag: null, name: null };
  const tag = readTag(first, true);
  if (tag === null) return { tag, name: null };
  const words: string[] = [];
  let i = tag.length + 1;
  while (words.length < 2) {
    const start = i;
    while (i < first.length && isAtomChar(first[i]!)) i++;
    if (i === start) break;
    words.push(Buffer.from(first.subarray(start, i)).toString('latin1').toUpperCase());
    if (words[0] !== 'UID' || first[i] !== SP) break;
    i++;
  }
  return { tag, name: words.length === 0 ? null : words.join(' ') };
}

// ---- argument parsers: each starts right after the command name and ends at the end of the command.

type ArgParser<N extends CommandName> = (r: Reader, uid: boolean) => CommandArgs[N];

const none = (r: Reader): NoArgs => {
  r.end();
  return {};
};

const oneMailbox = (r: Reader): { mailbox: string } => {
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { mailbox };
};

function selectArgs(r: Reader): { mailbox: string; params: string[] } {
  r.sp();
  const mailbox = r.mailbox();
  const params = r.eat(SP) ? r.opaqueList('SELECT parameters') : [];
  r.end();
  return { mailbox, params };
}

function copyArgs(r: Reader, uid: boolean): { uid: boolean; set: SequenceSet; mailbox: string } {
  r.sp();
  const set = r.sequenceSet();
  r.sp();
  const mailbox = r.mailbox();
  r.end();
  return { uid, set, mailbox };
}

/** flag = "\" atom (system flags in canonical case) / atom (keyword, as sent). */
function flag(r: Reader): string {
  if (!r.eat(BACKSLASH)) return r.atom('a flag');
  const flagName = '\\' + r.atom('a flag name');
  return CANONICAL.get(flagName.toLowerCase()) ?? flagName;
}

function statusItem(r: Reader): StatusItem {
  const item = r.word('a STATUS item');
  if (!(STATUS_ITEMS as readonly string[]).includes(item)) fail(`unknown STATUS item ${item.slice(0, 40)}`);
  return item as StatusItem;
}

const ARGS: { [N in CommandName]: ArgParser<N> } = {
  CAPABILITY: none,
  NOOP: none,
  LOGOUT: none,
  STARTTLS: none,
  CHECK: none,
  CLOSE: none,
  UNSELECT: none,
  IDLE: none,
  NAMESPACE: none,

  AUTHENTICATE(r) {
    r.sp();
    const mechanism = r.word('a SASL mechanism');
    // sasl-mech = 1*20 (UPPER-ALPHA / DIGIT / "-" / "_") (RFC 4422 §3.1)
    if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism)) fail('invalid SASL mechanism name');
    let initialResponse: string | null = null;
    if (r.eat(SP)) {
      const ir = r.atom('an initial response');
      if (ir !== '=' && !/^[A-Za-z0-9+/]+={0,2}$/.test(ir)) fail('initial response is not base64');
      initialResponse = ir === '=' ? '' : ir;
    }
    r.end();
    return { mechanism, initialResponse };
  },

  LOGIN(r) {
    r.sp();
    const username = r.astring('a user name');
    r.sp();
    const password = r.astring('a password');
    r.end();
    return { username, password };
  },

  SELECT: selectArgs,
  EXAMINE: selectArgs,

  CREATE(r) {
    r.sp();
    const mailbox = r.mailbox();
    let specialUse: string[] = [];
    if (r.eat(SP)) {
      r.expect(LPAREN, '"(" to open CREATE parameters');
      if (r.word('a CREATE parameter') !== 'USE') fail('unsupported CREATE parameter');
      r.sp();
      specialUse = r.list('a USE list', () => {
        if (r.peek() !== BACKSLASH) fail('expected a special-use attribute such as \\Drafts');
        return flag(r);
      });
      r.expect(RPAREN, '")" to close CREATE parameters');
    }
    r.end();
    return { mailbox, specialUse };
  },

  DELETE: oneMailbox,
  SUBSCRIBE: oneMailbox,
  UNSUBSCRIBE: oneMailbox,

  RENAME(r) {
    r.sp();
    const from = r.mailbox();
    r.sp();
    const to = r.mailbox();
    r.end();
    return { from, to };
  },

  LIST(r) {
    r.sp();
    let selectOptions: ListSelectOption[] = [];
    if (r.peek() === LPAREN) {
      selectOptions = r.list(
        'LIST selection options',
        () => {
          const option = r.word('a LIST selection option');
          if (!(SELECT_OPTIONS as readonly string[]).includes(option)) fail(`unknown LIST selection option ${option.slice(0, 40)}`);
          return option as ListSelectOption;
        },
        true,
      );
      // RFC 5258 §3.1: RECURSIVEMATCH only qualifies another option.
      if (selectOptions.includes('RECURSIVEMATCH') && !selectOptions.some((o) => o !== 'RECURSIVEMATCH' && o !== 'REMOTE')) {
        fail('RECURSIVEMATCH needs another selection option');
      }
      r.sp();
    }
    const reference = r.mailbox('a reference name', false);
    r.sp();
    const patterns = r.peek() === LPAREN ? r.list('mailbox patterns', () => r.listMailbox()) : [r.listMailbox()];
    const returnOptions: ListReturnOptions = { subscribed: false, children: false, specialUse: false, status: null };
    if (r.eat(SP)) {
      if (r.word('RETURN') !== 'RETURN') fail('expected RETURN');
      r.sp();
      r.list(
        'LIST return options',
        () => {
          const option = r.word('a LIST return option');
          if (option === 'SUBSCRIBED') returnOptions.subscribed = true;
          else if (option === 'CHILDREN') returnOptions.children = true;
          else if (option === 'SPECIAL-USE') returnOptions.specialUse = true;
          else if (option === 'STATUS') {
            r.sp();
            returnOptions.status = r.list('STATUS items', () => statusItem(r));
          } else fail(`unknown LIST return option ${option.slice(0, 40)}`);
        },
        true,
      );
    }
    r.end();
    return { reference, patterns, selectOptions, returnOptions };
  },

  LSUB(r) {
    r.sp();
    const reference = r.mailbox('a reference name', false);
    r.sp();
    const pattern = r.listMailbox();
    r.end();
    return { reference, pattern };
  },

  STATUS(r) {
    r.sp();
    const mailbox = r.mailbox();
    r.sp();
    const items = r.list('STATUS items', () => statusItem(r));
    r.end();
    return { mailbox, items };
  },

  APPEND(r) {
    r.sp();
    const mailbox = r.mailbox();
    r.sp();
    let flags: string[] = [];
    let date: DateTime | null = null;
    if (r.peek() === LPAREN) {
      flags = r.list('a flag list', () => flag(r), true);
      r.sp();
    }
    if (r.peek() === DQUOTE) {
      date = parseDateTime(r.string('a date-time'));
      if (r.atEnd()) fail('the message must be sent as a literal'); // a quoted "message"
      if (date === null) fail('invalid date-time (expected e.g. "17-Jul-1996 02:44:25 -0700")');
      r.sp();
    }
    if (r.peek() !== LITERAL) fail('the message must be sent as a literal');
    const message = r.literal().data;
    r.end(); // a second message would be MULTIAPPEND (RFC 3502), not offered
    return { mailbox, flags, date, message };
  },

  EXPUNGE(r, uid) {
    let set: SequenceSet | null = null;
    if (uid) {
      r.sp();
      set = r.sequenceSet();
    }
    r.end();
    return { uid, set };
  },

  SEARCH(r, uid) {
    r.sp();
    return { uid, ...parseSearchProgram(r) };
  },

  FETCH(r, uid) {
    r.sp();
    const set = r.sequenceSet();
    r.sp();
    const items = parseFetchItems(r);
    r.end();
    return { uid, set, items };
  },

  STORE(r, uid) {
    r.sp();
    const set = r.sequenceSet();
    r.sp();
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(r.word('FLAGS, +FLAGS or -FLAGS'));
    if (m === null) fail('expected FLAGS, +FLAGS or -FLAGS');
    const action: StoreAction = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
    r.sp();
    let flags: string[];
    if (r.peek() === LPAREN) {
      flags = r.list('a flag list', () => flag(r), true);
    } else {
      flags = [flag(r)];
      while (r.eat(SP)) flags.push(flag(r));
    }
    r.end();
    return { uid, set, action, silent: m[2] !== undefined, flags };
  },

  COPY: copyArgs,
  MOVE: copyArgs,

  ENABLE(r) {
    const capabilities: string[] = [];
    do {
      r.sp();
      capabilities.push(r.word('a capability name'));
    } while (!r.atEnd());
    return { capabilities };
  },

  ID(r) {
    r.sp();
    let params: Array<[string, string | null]> | null = null;
    if (r.peek() === LPAREN) {
      params = r.list(
        'ID parameters',
        (): [string, string | null] => {
          const field = r.string('an ID field name');
          r.sp();
          return [field, r.nstring('an ID value')];
        },
        true, // "ID ()" is not in the grammar, but clients send it and it means nothing else
      );
      if (params.length > MAX_ID_PAIRS) fail(`at most ${MAX_ID_PAIRS} ID fields`);
    } else if (r.word('an ID parameter list or NIL') !== 'NIL') {
      fail('expected an ID parameter list or NIL');
    }
    r.end();
    return { params };
  },
};
