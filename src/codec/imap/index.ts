/**
 * The IMAP command codec: framer (bytes → frames), parser (frame → Command),
 * serializer helpers for responses, and the small grammars they share
 * (sequence sets, dates, modified UTF-7 mailbox names).
 */
export { DEFAULT_MAX_DISCARD_BYTES, ImapFramer } from './framer.js';
export type { Frame, FramerEvent, FramerOptions, Literal, LiteralAnnouncement } from './framer.js';

export { parseAuthenticateResponse, parseCommand, parseDone, peekCommand } from './parser.js';
export type {
  AuthenticateResponse, Command, CommandArgs, CommandName, ListReturnOptions, ListSelectOption, ParseError, ParseResult,
  StatusItem, StoreAction,
} from './parser.js';
export type { ParseErrorKind } from './reader.js';
export { MAX_DEPTH } from './reader.js';

export { SEARCH_CHARSETS } from './search.js';
export type { SearchKey } from './search.js';
export type { FetchItem, Section, SectionText, SimpleFetchItem } from './fetch.js';

export { MAX_SEQ_NUMBER, messageNumbers, parseSequenceSet, resolveSequenceSet, selectUids, sequenceSetHas } from './sequence.js';
export type { Interval, SeqNumber, SeqRange, SequenceSet } from './sequence.js';

export { parseDate, parseDateTime } from './datetime.js';
export type { DateTime, ImapDate } from './datetime.js';

export { decodeMailboxName, encodeMailboxName } from './mutf7.js';

export {
  astring, compressUids, flagList, formatDateTime, formatSequenceSet, imapString, list, literalPrefix, mailboxName,
  MAX_QUOTED_CHARS, NIL, nstring,
} from './serialize.js';
