/**
 * SEARCH criteria (RFC 3501 §6.4.4, §9 search-key) as a tree. The tree keeps
 * the client's keys (NEW stays NEW rather than becoming RECENT UNSEEN): the
 * evaluator interprets them, and tests can see what was sent.
 *
 * Several keys in a row, and a parenthesised group, mean AND; a group of one
 * key is that key. NOT and OR nest, so nesting (parentheses, NOT, OR
 * together) is capped at MAX_DEPTH: `((((…` ten thousand deep is a BAD, not a
 * stack overflow.
 */
import type { ImapDate } from './datetime.js';
import { parseDate } from './datetime.js';
import { DQUOTE, fail, LPAREN, MAX_DEPTH, RPAREN, SP, type Reader } from './reader.js';
import type { SequenceSet } from './sequence.js';
import { isDigit } from './syntax.js';

const FLAG_KEYS = [
  'ALL', 'ANSWERED', 'DELETED', 'DRAFT', 'FLAGGED', 'NEW', 'OLD', 'RECENT', 'SEEN',
  'UNANSWERED', 'UNDELETED', 'UNDRAFT', 'UNFLAGGED', 'UNSEEN',
] as const;
const STRING_KEYS = ['BCC', 'BODY', 'CC', 'FROM', 'SUBJECT', 'TEXT', 'TO'] as const;
const DATE_KEYS = ['BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE'] as const;
const SIZE_KEYS = ['LARGER', 'SMALLER'] as const;
const KEYWORD_KEYS = ['KEYWORD', 'UNKEYWORD'] as const;
const ARGUMENT_KEYS = [...STRING_KEYS, ...DATE_KEYS, ...SIZE_KEYS, ...KEYWORD_KEYS, 'HEADER', 'UID', 'NOT', 'OR'] as const;

export type SearchKey =
  | { key: (typeof FLAG_KEYS)[number] }
  | { key: (typeof STRING_KEYS)[number]; value: string }
  | { key: (typeof DATE_KEYS)[number]; date: ImapDate }
  | { key: (typeof SIZE_KEYS)[number]; size: number }
  | { key: (typeof KEYWORD_KEYS)[number]; flag: string }
  | { key: 'HEADER'; field: string; value: string }
  | { key: 'UID'; set: SequenceSet }
  /** A bare sequence set: message sequence numbers. */
  | { key: 'SEQ'; set: SequenceSet }
  | { key: 'NOT'; operand: SearchKey }
  | { key: 'OR'; left: SearchKey; right: SearchKey }
  | { key: 'AND'; operands: SearchKey[] };

/** Charsets we can search in (RFC 3501 §6.4.4: US-ASCII must be supported; UTF-8 is what clients use). */
export const SEARCH_CHARSETS = ['US-ASCII', 'UTF-8'] as const;

function oneOf<T extends string>(list: readonly T[], word: string): word is T {
  return (list as readonly string[]).includes(word);
}

/** `[CHARSET astring SP] search-key *(SP search-key)`, after "SEARCH SP". */
export function parseSearchProgram(r: Reader): { charset: string | null; criteria: SearchKey } {
  let charset: string | null = null;
  if (r.peekWord() === 'CHARSET') {
    r.word('CHARSET');
    r.sp();
    charset = r.astring('a charset name').toUpperCase();
    if (!oneOf(SEARCH_CHARSETS, charset)) fail(`unsupported charset ${charset.slice(0, 40)}`, 'bad-charset');
    r.sp();
  }
  const criteria = conjunction(keys(r, 0));
  r.end();
  return { charset, criteria };
}

/** search-key *(SP search-key) */
function keys(r: Reader, depth: number): SearchKey[] {
  const out = [searchKey(r, depth)];
  while (r.eat(SP)) out.push(searchKey(r, depth));
  return out;
}

function conjunction(operands: SearchKey[]): SearchKey {
  return operands.length === 1 ? operands[0]! : { key: 'AND', operands };
}

function searchKey(r: Reader, depth: number): SearchKey {
  if (depth > MAX_DEPTH) fail('search criteria nested too deeply');
  const b = r.peek();
  if (b === LPAREN) {
    r.eat(LPAREN);
    const group = keys(r, depth + 1);
    r.expect(RPAREN, '")" to close a search group');
    return conjunction(group);
  }
  if (isDigit(b) || b === 0x2a /* * */) return { key: 'SEQ', set: r.sequenceSet() };
  const key = r.word('a search key');
  if (oneOf(FLAG_KEYS, key)) return { key };
  if (!oneOf(ARGUMENT_KEYS, key)) fail(`unknown search key ${key.slice(0, 40)}`);
  r.sp();
  if (oneOf(STRING_KEYS, key)) return { key, value: r.astring(`a ${key} string`) };
  if (oneOf(DATE_KEYS, key)) return { key, date: date(r) };
  if (oneOf(SIZE_KEYS, key)) return { key, size: r.number(`a ${key} size`) };
  if (oneOf(KEYWORD_KEYS, key)) return { key, flag: r.atom('a keyword') };
  switch (key) {
    case 'HEADER': {
      const field = r.astring('a header field name');
      r.sp();
      return { key, field, value: r.astring('a header value') };
    }
    case 'UID':
      return { key, set: r.sequenceSet() };
    case 'NOT':
      return { key, operand: searchKey(r, depth + 1) };
    case 'OR': {
      const left = searchKey(r, depth + 1);
      r.sp();
      return { key, left, right: searchKey(r, depth + 1) };
    }
    default:
      return fail(`unknown search key ${key}`);
  }
}

/** date = date-text / DQUOTE date-text DQUOTE */
function date(r: Reader): ImapDate {
  const text = r.peek() === DQUOTE ? r.string('a date') : r.atom('a date');
  const parsed = parseDate(text);
  if (parsed === null) fail('invalid date (expected e.g. 1-Feb-1994)');
  return parsed;
}
